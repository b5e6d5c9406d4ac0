"""Hot read paths in plain SQL, for SQLite and PostgreSQL alike.

Building a Piccolo select with joins costs more than running it on SQLite, so the queries
that run on every request (the session, the board's change stamp) are written once as SQL
with `?` placeholders; on PostgreSQL they become `$1, $2, …`. The statement runs on the
current transaction's connection if there is one, otherwise on the engine's pool.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import dict_factory

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


# A look-up on the event loop's own SQLite connection: for an indexed read of a few rows this
# takes tens of microseconds, less than the hop to a connection thread and back. A reader
# never waits for a writer in WAL mode; should the file still be busy, the look-up waits at
# most LOOP_BUSY_S and then goes the threaded way.
LOOP_BUSY_S = 0.05
_loop_connections: dict[tuple[int, str], sqlite3.Connection] = {}


def _loop_connection(path: str) -> sqlite3.Connection:
    key = (threading.get_ident(), path)
    connection = _loop_connections.get(key)
    if connection is None:
        connection = sqlite3.connect(path, timeout=LOOP_BUSY_S, isolation_level=None,
                                     detect_types=sqlite3.PARSE_DECLTYPES | sqlite3.PARSE_COLNAMES)
        connection.row_factory = dict_factory
        connection.execute("PRAGMA query_only = 1")  # only reads come this way
        _loop_connections[key] = connection
    return connection


def close_loop_connections(path: str) -> None:
    """Close this thread's look-up connection to `path` (at shutdown)."""
    connection = _loop_connections.pop((threading.get_ident(), path), None)
    if connection is not None:
        connection.close()


async def fetch_small(sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
    """Like `fetch`, for indexed look-ups of a few rows that run on every request (the
    session, the board's stamp): on SQLite outside a transaction, on the event loop."""
    engine = _engine()
    if isinstance(engine, PostgresEngine) or engine.current_transaction.get() is not None:
        return await fetch(sql, *args)
    try:
        return _loop_connection(engine.path).execute(sql, args).fetchall()
    except sqlite3.OperationalError as error:
        if "locked" not in str(error) and "busy" not in str(error):
            raise
        return await fetch(sql, *args)
