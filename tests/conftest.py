"""Test harness: one suite, two engines.

FS_TEST_PG_URL (an admin URL of a running PostgreSQL cluster, set by `make test`) switches the
suite to PostgreSQL: a fresh database is created for the run. Without it, SQLite files in a
temporary folder. Integration tests talk to the real app served by uvicorn in a subprocess
(`live_server`); tests may also read and write the same database directly (`db`).
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN_URL = os.environ.get("FS_TEST_PG_URL", "")
ENGINE = "postgres" if PG_ADMIN_URL else "sqlite"


def pytest_report_header(config):
    return f"database engine: {ENGINE}" + (f" ({PG_ADMIN_URL})" if PG_ADMIN_URL else "")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_pg_database() -> str:
    import asyncpg

    name = f"fs_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def create():
        conn = await asyncpg.connect(PG_ADMIN_URL)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return _with_db(PG_ADMIN_URL, name)


def _with_db(url: str, name: str) -> str:
    head, sep, query = url.partition("?")
    scheme, rest = head.split("://", 1)
    hostpart = rest.split("/", 1)[0]
    return f"{scheme}://{hostpart}/{name}" + (sep + query if sep else "")


def make_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FS_")}
    env.update(FS_DATA_DIR=str(data_dir), FS_DATABASE_URL=database_url, FS_DEMO="1",
               FS_LOG_LEVEL="warning", FS_BOARD_POLL_SECONDS="1", FS_PUSH_RETRY_BASE_SECONDS="0.2",
               PICCOLO_CONF="server.db.piccolo_conf", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "server.cli", *args], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_server(env: dict[str, str], log: Path, port: int | None = None) -> Server:
    """Start the app with uvicorn, wait until it answers."""
    port = port or free_port()
    handle = log.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "server.app:app_from_env",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-3000:]}")
        try:
            httpx.get(url + "/login", timeout=1)
            return Server(url, env, process, log)
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def database_settings(tmp_path_factory) -> Settings:
    data_dir = tmp_path_factory.mktemp("data")
    database_url = _create_pg_database() if PG_ADMIN_URL else ""
    env = make_env(data_dir, database_url)
    run_cli(env, "migrate")
    run_cli(env, "demo")
    return Settings.from_env(env)


@pytest.fixture(scope="session")
def live_server(database_settings, tmp_path_factory):
    env = make_env(database_settings.data_dir, database_settings.database_url)
    server = start_server(env, tmp_path_factory.mktemp("logs") / "server.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def db(database_settings):
    """The same database as the live server, bound in the test process."""
    from server.db import bind_engine

    engine = bind_engine(database_settings)
    if database_settings.is_postgres:
        await engine.start_connection_pool(min_size=1, max_size=4)
    yield engine
    if database_settings.is_postgres:
        await engine.close_connection_pool()
    else:
        await engine.close_pool()


class Client(httpx.Client):
    """A signed-in browser session: sends the CSRF header on unsafe requests."""

    csrf_token: str = ""

    def request(self, method, url, **kwargs):
        if method.upper() not in ("GET", "HEAD", "OPTIONS") and self.csrf_token:
            headers = dict(kwargs.pop("headers", None) or {})
            headers.setdefault("X-CSRF-Token", self.csrf_token)
            kwargs["headers"] = headers
        return super().request(method, url, **kwargs)


def sign_in(base_url: str, username: str, password: str = "demo", **kwargs) -> Client:
    client = Client(base_url=base_url, follow_redirects=False, timeout=30, **kwargs)
    page = client.get("/login")
    token = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"username": username, "password": password, "_csrf": token})
    assert response.status_code == 303, response.text
    client.csrf_token = client.get("/api/me").json()["csrf_token"]
    return client


@pytest.fixture(scope="session")
def login(live_server):
    """login("clerk") -> a signed-in Client for that demo user."""
    clients: list[Client] = []

    def _login(username: str, password: str = "demo", **kwargs) -> Client:
        client = sign_in(live_server.url, username, password, **kwargs)
        clients.append(client)
        return client

    yield _login
    for client in clients:
        client.close()
