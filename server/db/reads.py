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
import time
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


# A read on the event loop's own SQLite connection: a small read takes tens of microseconds,
# less than the hop to a connection thread and back. So that no read can hold the loop up,
# SQLite is asked every few thousand steps whether LOOP_BUDGET_S is spent; if so the read
# is interrupted and run again in a connection thread. A reader never waits for a writer in
# WAL mode; should the file still be busy, the read waits at most LOOP_BUSY_S, then goes the
# threaded way too.
LOOP_BUDGET_S = 0.002
LOOP_BUSY_S = 0.05
_PROGRESS_STEPS = 2000
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
    """Close this thread's read connection to `path` (at shutdown)."""
    connection = _loop_connections.pop((threading.get_ident(), path), None)
    if connection is not None:
        connection.close()


def read_on_loop(path: str, sql: str, args: tuple) -> Sequence[Mapping[str, Any]] | None:
    """The rows, or None when the read took too long or the file was busy."""
    connection = _loop_connection(path)
    deadline = time.perf_counter() + LOOP_BUDGET_S
    connection.set_progress_handler(lambda: time.perf_counter() > deadline, _PROGRESS_STEPS)
    try:
        return connection.execute(sql, args).fetchall()
    except sqlite3.OperationalError as error:
        message = str(error)
        if "interrupted" in message or "locked" in message or "busy" in message:
            return None
        raise
    finally:
        connection.set_progress_handler(None, 0)


async def fetch_quick(sql: str, *args: Any) -> Sequence[Mapping[str, Any]]:
    """Like `fetch`, for the reads every page makes (the session, the board's stamp, a page
    of the register): on SQLite, outside a transaction, first tried on the event loop."""
    engine = _engine()
    if not isinstance(engine, PostgresEngine) and engine.current_transaction.get() is None:
        rows = read_on_loop(engine.path, sql, args)
        if rows is not None:
            return rows
    return await fetch(sql, *args)
