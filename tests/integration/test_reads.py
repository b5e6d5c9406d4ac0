"""Reads on the hot path (server/db/reads.py): on SQLite they are tried on the event loop's
own connection, and one that runs long is cut short and read again in a thread, so no read
holds the loop up for more than a couple of milliseconds; the answer is the same either way."""

from __future__ import annotations

import time

from server.db import reads
from server.workorders.tables import WorkOrder
from tests.integration.test_dispatch import make_order

LONG = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) "
        "SELECT count(*) AS n, max(x) AS top FROM c")


async def test_a_long_read_is_cut_short_on_the_loop_and_answered_from_a_thread(db):
    rows = await reads.fetch_quick(LONG, 400_000)
    assert (rows[0]["n"], rows[0]["top"]) == (400_000, 400_000)
    if db.engine_type != "sqlite":
        print("PostgreSQL reads go through asyncpg: nothing runs on the loop to cut short")
        return
    started = time.perf_counter()
    assert reads.read_on_loop(db.path, LONG, (400_000,)) is None
    # Cut short after the budget, not after the whole read (which takes far longer).
    assert time.perf_counter() - started < 0.2


async def test_a_short_read_on_the_loop_sees_what_was_just_committed(db):
    count = "SELECT count(*) AS n FROM work_order"
    before = (await reads.fetch_quick(count))[0]["n"]
    await make_order(customer="刚提交的客户")
    assert (await reads.fetch_quick(count))[0]["n"] == before + 1
    assert await WorkOrder.count() == before + 1  # Piccolo's reads take the same way


async def test_placeholders_are_numbered_for_postgresql():
    assert reads.numbered("SELECT ? WHERE a = ? AND b IN (?, ?)") == "SELECT $1 WHERE a = $2 AND b IN ($3, $4)"
