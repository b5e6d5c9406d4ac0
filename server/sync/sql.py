"""A push's database work in one writing transaction on one connection, on SQLite and
PostgreSQL, with few round trips.

SQL is written once with `?` placeholders; for PostgreSQL they become `$1, $2, …` and the
work runs on the asyncpg connection of a Piccolo transaction. On SQLite every call through
aiosqlite is a hop to its thread and back, several per push; instead the whole unit of work
runs in one worker thread on a plain `sqlite3` connection (same file, same pragmas: WAL,
synchronous=FULL, foreign keys, busy timeout), inside `BEGIN IMMEDIATE … COMMIT`. The work is
written as a coroutine for both engines; on SQLite its awaits never suspend, so the thread
drives it to the end in one step.
"""

from __future__ import annotations

import abc
import asyncio
import queue
import sqlite3
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from server.db.engine import BUSY_TIMEOUT_S
from server.db.reads import marks, numbered as _numbered  # noqa: F401  (marks: re-exported)
from server.workorders.tables import WorkOrder

T = TypeVar("T")
_IDLE_MAX = 8  # SQLite connections kept open between pushes




class Sql(abc.ABC):
    """Queries on the connection of the current writing transaction (one subclass per engine)."""

    postgres = False

    @abc.abstractmethod
    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        """Rows readable by column name (`row["id"]`)."""

    @abc.abstractmethod
    async def execute(self, sql: str, *args: Any) -> None:
        """Run one statement."""

    @abc.abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement for each row."""

    async def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            names = ", ".join(f'"{c}"' for c in columns)
            await self.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks(len(columns))})", rows)

    async def insert_returning_id(self, table: str, values: dict[str, Any]) -> int:
        names = ", ".join(f'"{c}"' for c in values)
        rows = await self.fetch(
            f"INSERT INTO {table} ({names}) VALUES ({marks(len(values))}) RETURNING id", *values.values())
        return int(rows[0]["id"])


class PostgresSql(Sql):
    postgres = True

    def __init__(self, connection: Any):
        self.connection = connection

    async def fetch(self, sql: str, *args: Any) -> list[dict]:
        return [dict(row) for row in await self.connection.fetch(_numbered(sql), *args)]

    async def execute(self, sql: str, *args: Any) -> None:
        await self.connection.execute(_numbered(sql), *args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            await self.connection.executemany(_numbered(sql), rows)


def as_time(value: Any) -> datetime | None:
    """A timestamp read by `Sql.fetch`: a datetime on PostgreSQL, Piccolo's text on SQLite."""
    if value is None or isinstance(value, datetime):
        return value
    from piccolo.engine.sqlite import convert_timestamptz_out

    return convert_timestamptz_out(value)


class SqliteSql(Sql):
    """Synchronous underneath: used only inside the worker thread of `run_write`. Rows are
    `sqlite3.Row` (read by column name, like the dicts of PostgreSQL)."""

    def __init__(self, connection: sqlite3.Connection):
        self.connection = connection

    async def fetch(self, sql: str, *args: Any) -> list[dict]:
        return self.connection.execute(sql, args).fetchall()

    async def execute(self, sql: str, *args: Any) -> None:
        self.connection.execute(sql, args)

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.connection.executemany(sql, rows)


def engine_of_tables() -> Any:
    """The engine every table is bound to (server.db.bind_engine sets it)."""
    return WorkOrder._meta.db


def _drive(work: Awaitable[T]) -> T:
    """Run a coroutine that never suspends (its awaits are synchronous underneath)."""
    coroutine = work.__await__()
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return finished.value
    coroutine.close()
    raise RuntimeError("SQLite work waited on something outside its connection")


_idle: dict[str, queue.SimpleQueue] = {}


def _connect(path: str) -> sqlite3.Connection:
    import piccolo.engine.sqlite  # noqa: F401  (registers the adapters and converters Piccolo uses)

    # No type detection: rows come back as SQLite stores them (times as text; see as_time),
    # which spares a Python conversion of every value read.
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA foreign_keys = 1")
    connection.execute("PRAGMA synchronous = FULL")
    return connection


def _run_sqlite(path: str, work: Callable[[Sql], Awaitable[T]]) -> T:
    idle = _idle.setdefault(path, queue.SimpleQueue())
    try:
        connection = idle.get_nowait()
    except queue.Empty:
        connection = _connect(path)
    try:
        connection.execute("BEGIN IMMEDIATE")  # waits up to the busy timeout for the writer lock
        try:
            result = _drive(work(SqliteSql(connection)))
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
    except BaseException:
        connection.close()
        raise
    if idle.qsize() < _IDLE_MAX:
        idle.put(connection)
    else:
        connection.close()
    return result


async def run_write(work: Callable[[Sql], Awaitable[T]]) -> T:
    """Run `work(sql)` in one writing transaction and return its result after the commit.

    SQLite: `BEGIN IMMEDIATE` in a worker thread (one writer at a time; others wait on the
    busy timeout instead of failing with "database is locked"). PostgreSQL: a transaction on a
    pooled connection; callers lock the rows they change (SELECT … FOR UPDATE)."""
    engine = engine_of_tables()
    if getattr(engine, "engine_type", "") == "postgres":
        async with engine.transaction() as transaction:
            return await work(PostgresSql(transaction.connection))
    return await asyncio.to_thread(_run_sqlite, engine.path, work)
