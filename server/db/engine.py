"""Database engines: SQLite (embedded, default) or PostgreSQL, chosen by FS_DATABASE_URL.

SQLite runs in WAL mode with synchronous=FULL on every connection so that an acknowledged
write survives a crash (sync-protocol §6); writers wait on a busy timeout instead of failing
with "database is locked".
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import aiosqlite
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

from server.settings import Settings

BUSY_TIMEOUT_S = 30.0
_PRAGMAS = ("PRAGMA foreign_keys = 1", "PRAGMA synchronous = FULL")


class DurableSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with the pragmas every connection needs, and a small pool of
    open connections for queries outside a transaction (Piccolo opens a new connection, and
    a thread, for each of them: most of a page's time on SQLite)."""

    POOL_SIZE = 8

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pools: dict[int, asyncio.Queue] = {}
        self._opened: dict[int, int] = {}

    async def _acquire(self) -> aiosqlite.Connection:
        loop = id(asyncio.get_running_loop())
        pool = self._pools.setdefault(loop, asyncio.Queue())
        if pool.empty() and self._opened.get(loop, 0) < self.POOL_SIZE:
            self._opened[loop] = self._opened.get(loop, 0) + 1
            try:
                return await self.get_connection()
            except BaseException:
                self._opened[loop] -= 1
                raise
        return await pool.get()

    async def close_pool(self) -> None:
        """Close the pooled connections of the running event loop (at shutdown)."""
        from server.db.reads import close_loop_connections

        close_loop_connections(self.path)
        loop = id(asyncio.get_running_loop())
        pool = self._pools.pop(loop, None)
        self._opened.pop(loop, None)
        while pool is not None and not pool.empty():
            await pool.get_nowait().close()

    def _release(self, connection: aiosqlite.Connection, broken: bool) -> None:
        loop = id(asyncio.get_running_loop())
        if broken:
            self._opened[loop] -= 1
            asyncio.get_running_loop().create_task(connection.close())
        else:
            self._pools[loop].put_nowait(connection)

    async def get_connection(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(**self.connection_kwargs)
        thread = getattr(pending, "_thread", None)
        if thread is not None:
            # A pooled connection's worker thread must not keep a finished process alive.
            thread.daemon = True
        connection = await pending
        connection.row_factory = dict_factory  # type: ignore[assignment]
        for pragma in _PRAGMAS:
            await connection.execute(pragma)
        return connection

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None,
                                     query_type: str = "generic", table: Any = None):
        if query.lstrip()[:6].upper() == "SELECT":
            # A read outside a transaction is tried on the event loop first (reads.py says
            # why, and how a long one is cut short and sent to a connection thread).
            from server.db.reads import read_on_loop

            rows = read_on_loop(self.path, query, tuple(args or ()))
            if rows is not None:
                return rows
        connection = await self._acquire()
        broken = True
        try:
            # isolation_level=None: each statement outside a transaction commits by itself.
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
            broken = connection.in_transaction  # never hand back a connection mid-transaction
            return rows
        except sqlite3.Error:
            broken = connection.in_transaction
            raise
        finally:
            if broken and connection.in_transaction:
                await connection.rollback()
                broken = False
            self._release(connection, broken)


def make_engine(settings: Settings):
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.database_url})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = str(settings.sqlite_path)
    # WAL is a property of the file: set it once, before any connection of the app.
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA journal_mode = WAL")
    return DurableSQLiteEngine(path=path, timeout=BUSY_TIMEOUT_S)
