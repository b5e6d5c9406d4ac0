"""Hot read paths in plain SQL, for SQLite and PostgreSQL alike.

Building a Piccolo select with joins costs more than running it on SQLite, so the queries
that run on every request (the session, the board's change stamp) are written once as SQL
with `?` placeholders; on PostgreSQL they become `$1, $2, …`. The statement runs on the
current transaction's connection if there is one, otherwise on the engine's pool.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from piccolo.engine.postgres import PostgresEngine

_PLACEHOLDER = re.compile(r"\?")


@lru_cache(maxsize=512)
def numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, …`."""
    counter = iter(range(1, 100_000))
    return _PLACEHOLDER.sub(lambda _m: f"${next(counter)}", sql)


def marks(count: int) -> str:
    """`?, ?, ?` for an IN list of `count` values."""
    return ", ".join("?" * count)


def _engine():
    from server.workorders.tables import WorkOrder  # every table shares the bound engine

    return WorkOrder._meta.db


async def fetch(sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
    """The rows of one read statement, readable by column name."""
    engine = _engine()
    transaction = engine.current_transaction.get()
    if isinstance(engine, PostgresEngine):
        sql = numbered(sql)
        if transaction is not None:
            return await transaction.connection.fetch(sql, *args)
        if engine.pool:
            return await engine._run_in_pool(sql, args)
        return await engine._run_in_new_connection(sql, args)
    if transaction is not None:
        async with transaction.connection.execute(sql, args) as cursor:
            return await cursor.fetchall()
    return await engine._run_in_new_connection(sql, list(args))
