"""Database engines: SQLite (embedded, default) or PostgreSQL, chosen by FS_DATABASE_URL.

SQLite runs in WAL mode with synchronous=FULL on every connection so that an acknowledged
write survives a crash (sync-protocol §6); writers wait on a busy timeout instead of failing
with "database is locked".
"""

from __future__ import annotations

import sqlite3
from typing import Any

import aiosqlite
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, dict_factory

from server.settings import Settings

BUSY_TIMEOUT_S = 30.0
_PRAGMAS = ("PRAGMA foreign_keys = 1", "PRAGMA synchronous = FULL")


class DurableSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with the pragmas every connection needs."""

    async def get_connection(self) -> aiosqlite.Connection:
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        for pragma in _PRAGMAS:
            await connection.execute(pragma)
        return connection

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None,
                                     query_type: str = "generic", table: Any = None):
        async with aiosqlite.connect(**self.connection_kwargs) as connection:
            for pragma in _PRAGMAS:
                await connection.execute(pragma)
            connection.row_factory = dict_factory  # type: ignore[assignment]
            async with connection.execute(query, args or []) as cursor:
                await connection.commit()
                return await cursor.fetchall()


def make_engine(settings: Settings):
    if settings.is_postgres:
        return PostgresEngine(config={"dsn": settings.database_url})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = str(settings.sqlite_path)
    # WAL is a property of the file: set it once, before any connection of the app.
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA journal_mode = WAL")
    return DurableSQLiteEngine(path=path, timeout=BUSY_TIMEOUT_S)
