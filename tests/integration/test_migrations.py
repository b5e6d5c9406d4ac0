"""The Piccolo migrations alone build every table the code uses, on the engine under test."""

import subprocess
import sys

from tests.conftest import PG_ADMIN_URL, ROOT, _create_pg_database, make_env

FORWARDS_ONLY = """
import asyncio
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.table import Table
from server.db import all_tables, bind_engine
from server.settings import Settings

async def main():
    result = await run_forwards(app_name="fieldservice", migration_id="all", fake=False)
    assert result.success, result.message
    engine = bind_engine(Settings.from_env())
    if engine.engine_type == "postgres":
        rows = await engine.run_querystring(__import__("piccolo.querystring", fromlist=["QueryString"]).QueryString(
            "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'"))
    else:
        rows = await engine.run_querystring(__import__("piccolo.querystring", fromlist=["QueryString"]).QueryString(
            "SELECT name FROM sqlite_master WHERE type = 'table'"))
    present = {r["name"] for r in rows}
    missing = sorted(t._meta.tablename for t in all_tables() if t._meta.tablename not in present)
    print("MISSING:" + ",".join(missing))
    if engine.engine_type == "sqlite":
        await engine.close_pool()

asyncio.run(main())
"""


def test_migrations_create_every_table(tmp_path):
    database_url = _create_pg_database() if PG_ADMIN_URL else ""
    env = make_env(tmp_path, database_url)
    out = subprocess.run([sys.executable, "-c", FORWARDS_ONLY], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    missing = out.stdout.strip().splitlines()[-1].removeprefix("MISSING:")
    assert missing == "", f"tables without a migration: {missing}"
