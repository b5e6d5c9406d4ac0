"""Push throughput of the sync server against a raw sqlite3 baseline, measured in one run.

A technician's device (tech1) pushes a mixed workload through the real code path: uvicorn on
a temporary SQLite database, over loopback, POST /sync/push with 100 mutations per request.
The workload is one sequence per work order, as a visit goes: start_travel, arrive,
record_diagnosis, add_part (1–4), sometimes void_part, add_labour (1–3), add_note (1–4),
attach_photo (0–2), complete_work, sometimes carry_back, often collect_fee,
customer_signoff (with the report hash computed here by the rule of sync-protocol §4) and
rate_service: all thirteen actions in realistic proportions.

Figures:
- mutations/s of the first apply;
- ratio_vs_raw: those mutations/s divided by the mutations/s of a raw `sqlite3` writer that
  puts the same rows (every row the pushes inserted, every order and device row they
  updated, read back from the pushed database) into a copy of the database as it was before
  the pushes, with `executemany`, one transaction per push-sized batch, with the same pragmas
  (WAL, synchronous=FULL) — target ≥ 0.25;
- resend_ratio: the time to resend every already-applied batch (all `duplicate`) divided by
  the time of its first apply — target ≤ 0.2. The resend is byte for byte, as a device sends
  a batch whose reply it lost, and is answered from the reply the server wrote down at the
  first apply (server/sync/resends.py); the same batches in other bytes, which take the full
  path, are timed too and printed as a figure;
- the same workload on PostgreSQL when FS_TEST_PG_URL or --pg gives a server (figure only).

Ends with one line `ratio_vs_raw=<x> resend_ratio=<y> mutations_per_s=<z>` (SQLite).

    .venv/bin/python bench/sync.py [--mutations 3000] [--pg postgresql://…/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.conftest import make_env, run_cli, start_server  # noqa: E402

BATCH = 100
CST = timezone(timedelta(hours=8))
VAN_PARTS = ["LED-40W", "LED-DRV-40", "LED-DRV-150", "LED-LENS-ST", "LED-SPD", "LED-SENSOR",
             "BAT-CELL-100", "BAT-BMS-48", "BAT-FUSE-200", "BAT-CABLE"]
NOTES = ["客户反映夜间灯具频闪", "已检查电源线路，接线牢固", "更换驱动后通电测试正常", "建议客户定期清洁散热片"]


# ---------------------------------------------------------------- the workload

def canonical(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def shortest(qty: str) -> str:
    text = format(Decimal(qty).normalize(), "f")
    return text


class Workload:
    """Mutations of one device, one visit sequence per work order."""

    def __init__(self, rng: random.Random, signature: str, photos: list[str]):
        self.rng, self.signature, self.photos = rng, signature, photos
        self.mutations: list[dict] = []
        self.seq = 0

    def add(self, name: str, args: dict, at: datetime, base_version: int | None = None) -> None:
        self.seq += 1
        self.mutations.append({"id": str(uuid.uuid4()), "seq": self.seq, "name": name, "args": args,
                               "base_version": base_version, "captured_at": at.astimezone(CST).isoformat()})

    def visit(self, order_id: int, start: datetime) -> None:
        rng, t = self.rng, start
        oid = {"work_order_id": order_id}
        self.add("start_travel", {**oid, "at": t.isoformat()}, t)
        t += timedelta(minutes=rng.randint(15, 60))
        self.add("arrive", {**oid, "at": t.isoformat()}, t)
        self.add("record_diagnosis", {**oid, "reported": "灯具不亮", "observed": "驱动电源无输出",
                                      "cause": "驱动电源损坏", "severity": "general"}, t, base_version=1)
        lines = []
        for _ in range(rng.randint(1, 4)):
            line = {"line_id": str(uuid.uuid4()), "part_code": rng.choice(VAN_PARTS),
                    "qty": rng.choice(["1", "1", "2", "0.5", "1.50"])}
            lines.append(line)
            self.add("add_part", {**oid, **line, "source": rng.choice(["van", "van", "requisition"]),
                                  "old_part_returned": rng.random() < 0.7}, t)
        if len(lines) > 1 and rng.random() < 0.15:
            voided = lines.pop(rng.randrange(len(lines)))
            self.add("void_part", {**oid, "line_id": voided["line_id"], "reason": "型号不符，退回车上库存"}, t)
        seconds = 0
        for _ in range(rng.randint(1, 3)):
            length = timedelta(minutes=rng.randint(10, 90), seconds=rng.randint(0, 59))
            self.add("add_labour", {**oid, "entry_id": str(uuid.uuid4()), "started_at": t.isoformat(),
                                    "ended_at": (t + length).isoformat()}, t + length)
            t += length
            seconds += int(length.total_seconds())
        for _ in range(rng.randint(1, 4)):
            self.add("add_note", {**oid, "note_id": str(uuid.uuid4()), "text": rng.choice(NOTES)}, t)
        for _ in range(rng.randint(0, 2)):
            self.add("attach_photo", {**oid, "photo_id": str(uuid.uuid4()), "sha256": rng.choice(self.photos),
                                      "caption": "故障部件"}, t)
        carried = rng.random() < 0.08
        outcome = "carry_back" if carried else "fixed"
        work_done = "更换驱动电源，通电测试正常" if not carried else "现场无法修复，带回维修"
        self.add("complete_work", {**oid, "outcome": outcome, "work_done": work_done}, t, base_version=1)
        if carried:
            self.add("carry_back", {**oid, "receipt_id": str(uuid.uuid4()), "condition": "外壳完好",
                                    "accessories": ["电源线", "遥控器"]}, t)
        fee = 0
        if rng.random() < 0.4:
            fee = rng.choice([5000, 8000, 12000])
            self.add("collect_fee", {**oid, "payment_id": str(uuid.uuid4()), "amount_cents": fee,
                                     "method": rng.choice(["cash", "wechat", "alipay"]),
                                     "receipt_no": f"R{rng.randint(100000, 999999)}"}, t)
        signer = rng.choice(["王芳", "陈明", "李经理"])
        record = {"fee_cents": fee, "labour_minutes": seconds // 60, "outcome": outcome,
                  "parts": sorted(({"line_id": ln["line_id"], "part_code": ln["part_code"],
                                    "qty": shortest(ln["qty"])} for ln in lines), key=lambda p: p["line_id"]),
                  "signer_name": signer, "work_done": work_done, "work_order_id": order_id}
        self.add("customer_signoff", {**oid, "signoff_id": str(uuid.uuid4()), "signer_name": signer,
                                      "signature_sha256": self.signature,
                                      "report_sha256": hashlib.sha256(canonical(record)).hexdigest(),
                                      "signed_at": t.isoformat()}, t)
        self.add("rate_service", {**oid, "rating_id": str(uuid.uuid4()), "attitude": 4, "skill": rng.choice([3, 4]),
                                  "arrival": rng.choice([2, 3, 4]), "promises": 4, "comment": "服务很好",
                                  "complaint": None}, t)


def png_bytes(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 32), (seed % 256, 40, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_bytes(seed: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (96, 64), (seed % 256, 120, 60)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


# ---------------------------------------------------------------- the server side

async def add_orders(env: dict, count: int) -> list[int]:
    """`count` dispatched orders for tech1 (in the bench process, on the same database)."""
    from server.accounts.tables import Branch, User
    from server.db import bind_engine
    from server.settings import Settings
    from server.workorders.tables import DispatchEvent, WorkOrder

    settings = Settings.from_env(env)
    engine = bind_engine(settings)
    if settings.is_postgres:
        await engine.start_connection_pool(min_size=1, max_size=2)
    try:
        branch = await Branch.select(Branch.id).where(Branch.code == "SH-C").first()
        tech = await User.select(User.id).where(User.username == "tech1").first()
        boss = await User.select(User.id).where(User.username == "supervisor").first()
        now = datetime.now(timezone.utc)
        rows = [WorkOrder(number=f"WO-SYNC-BENCH-{i:05d}", branch=branch["id"], category="A", zone="urban",
                          description="bench", status="dispatched", assigned_to=tech["id"],
                          received_at=now - timedelta(hours=2), sla_due_at=now + timedelta(hours=4),
                          dispatched_at=now - timedelta(hours=1), created_at=now, updated_at=now)
                for i in range(count)]
        await WorkOrder.insert(*rows)
        ids = [r["id"] for r in await WorkOrder.select(WorkOrder.id).where(
            WorkOrder.number.like("WO-SYNC-BENCH-%")).order_by(WorkOrder.id)]
        await DispatchEvent.insert(*[DispatchEvent(work_order=i, action="dispatch", to_user=tech["id"],
                                                   by_user=boss["id"], at=now) for i in ids])
        return ids
    finally:
        if settings.is_postgres:
            await engine.close_connection_pool()


def prepare(env: dict, data: Path, mutations: int, rng: random.Random):
    """Database with orders, a registered device and its blobs; returns the workload."""
    data.mkdir(parents=True, exist_ok=True)
    run_cli(env, "migrate")
    run_cli(env, "demo")
    # In a process of its own: this one must hold no connection to the database file it
    # copies (closing any descriptor of the file drops the process's SQLite locks on it).
    made = subprocess.run([sys.executable, __file__, "--add-orders", str(mutations // 12 + 10)], env=env,
                          cwd=ROOT, check=True, capture_output=True, text=True)
    orders = json.loads(made.stdout.strip().splitlines()[-1])
    server = start_server(env, data / "app.log")
    try:
        device = httpx.post(server.url + "/sync/devices", json={"username": "tech1", "password": "demo",
                                                               "device_name": "bench"}).json()
        auth = {"Authorization": f"Bearer {device['token']}"}
        signature = png_bytes(rng.randrange(1 << 20))
        photos = [jpeg_bytes(rng.randrange(1 << 20) + i) for i in range(5)]
        for kind, blob, content_type in [("signature", signature, "image/png")] + [
                ("photo", p, "image/jpeg") for p in photos]:
            response = httpx.put(f"{server.url}/sync/blobs/{hashlib.sha256(blob).hexdigest()}",
                                 params={"kind": kind}, content=blob, headers={**auth, "Content-Type": content_type})
            assert response.status_code in (200, 201), response.text
    finally:
        server.stop()
    workload = Workload(rng, hashlib.sha256(signature).hexdigest(),
                        [hashlib.sha256(p).hexdigest() for p in photos])
    start = datetime.now(timezone.utc) - timedelta(days=1)
    for order in orders:
        if len(workload.mutations) >= mutations:
            break
        workload.visit(order, start)
        start += timedelta(minutes=7)
    return device, workload.mutations[:mutations]


def push_all(url: str, device: dict, batches: list[list[dict]], indent: int | None = None,
             ) -> tuple[float, list[float], Counter]:
    statuses: Counter = Counter()
    times = []
    with httpx.Client(base_url=url, timeout=120, headers={"Authorization": f"Bearer {device['token']}"}) as client:
        # Encoded beforehand: the device's JSON encoding is not the server's cost.
        bodies = [json.dumps({"device_id": device["device_id"], "schema_version": 1, "clock_offset_ms": 0,
                              "mutations": batch}, ensure_ascii=False, indent=indent).encode() for batch in batches]
        for body in bodies:
            started = time.perf_counter()
            response = client.post("/sync/push", content=body, headers={"Content-Type": "application/json"})
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:2000]
            reply = response.json()
            assert reply["stopped"] is None, reply["stopped"]
            for result in reply["results"]:
                statuses[(result["status"], result.get("reason", ""))] += 1
    return sum(times), times, statuses


def run_pushes(env: dict, data: Path, device: dict, mutations: list[dict]) -> dict:
    batches = [mutations[i:i + BATCH] for i in range(0, len(mutations), BATCH)]
    server = start_server(env, data / "app.log")
    try:
        # Warm the server up (first imports, first connections) with a read.
        httpx.get(server.url + "/api/me", headers={"Authorization": f"Bearer {device['token']}"})
        first, first_times, statuses = push_all(server.url, device, batches)
        resend, resend_times, resent = push_all(server.url, device, batches)
        # The same batches in other bytes: not answered from the remembered replies, so the
        # whole path runs (read the batch, hash each payload, read the ledger).
        resend_full, _times, resent_full = push_all(server.url, device, batches, indent=1)
    finally:
        server.stop()
    assert set(s for s, _ in resent) == {"duplicate"}, resent
    assert set(s for s, _ in resent_full) == {"duplicate"}, resent_full
    return {"batches": len(batches), "mutations": len(mutations), "first": first, "resend": resend,
            "resend_full": resend_full,
            "statuses": statuses, "first_times": first_times}


# ---------------------------------------------------------------- the raw baseline

def _tables(connection: sqlite3.Connection) -> list[str]:
    return [r[0] for r in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]


def written_rows(before: Path, after: Path, batches: int) -> tuple[dict, dict]:
    """Rows the pushes inserted (per table, in id order) and rows they updated (per table)."""
    old = sqlite3.connect(before)
    new = sqlite3.connect(after)
    inserted: dict[str, tuple[list[str], list[tuple]]] = {}
    updated: dict[str, tuple[list[str], list[tuple]]] = {}
    try:
        for table in _tables(new):
            columns = [r[1] for r in new.execute(f'PRAGMA table_info("{table}")')]
            if "id" not in columns:
                continue
            top = old.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"').fetchone()[0]
            quoted = ", ".join(f'"{c}"' for c in columns)
            rows = new.execute(f'SELECT {quoted} FROM "{table}" WHERE id > ? ORDER BY id', (top,)).fetchall()
            if rows:
                inserted[table] = (columns, rows)
            previous = {r[0]: r for r in old.execute(f'SELECT {quoted} FROM "{table}" ORDER BY id')}
            changed = [r for r in new.execute(f'SELECT {quoted} FROM "{table}" WHERE id <= ? ORDER BY id', (top,))
                       if previous.get(r[columns.index("id")]) != r]
            if changed:
                updated[table] = (columns, changed)
    finally:
        old.close()
        new.close()
    return inserted, updated


def raw_apply(database: Path, inserted: dict, updated: dict, batches: int) -> float:
    """executemany of the same rows into the same schema, one transaction per batch."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA foreign_keys = 1")

    def chunk(rows: list, k: int) -> list:
        size = -(-len(rows) // batches)
        return rows[k * size:(k + 1) * size]

    started = time.perf_counter()
    for k in range(batches):
        connection.execute("BEGIN IMMEDIATE")
        for table, (columns, rows) in inserted.items():
            part = chunk(rows, k)
            if part:
                marks = ", ".join("?" * len(columns))
                names = ", ".join(f'"{c}"' for c in columns)
                connection.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', part)
        for table, (columns, rows) in updated.items():
            part = chunk(rows, k) if len(rows) >= batches else (rows if k == batches - 1 else [])
            if part:
                others = [c for c in columns if c != "id"]
                assignments = ", ".join(f'"{c}" = ?' for c in others)
                index = columns.index("id")
                connection.executemany(f'UPDATE "{table}" SET {assignments} WHERE id = ?',
                                       [tuple(r[columns.index(c)] for c in others) + (r[index],) for r in part])
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def checkpoint(database: Path) -> None:
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()


def copy_database(source: Path, target: Path) -> None:
    """Through SQLite's backup API, never a plain file copy of a database in use."""
    origin, copy = sqlite3.connect(source), sqlite3.connect(target)
    try:
        origin.backup(copy)
    finally:
        copy.close()
        origin.close()


# ---------------------------------------------------------------- main

def sqlite_run(mutations: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = make_env(data, "", FS_LOG_LEVEL="warning")
        device, workload = prepare(env, data, mutations, random.Random(seed))
        database = data / "fieldservice.sqlite3"
        checkpoint(database)
        before = Path(tmp) / "before.sqlite3"
        copy_database(database, before)
        result = run_pushes(env, data, device, workload)
        checkpoint(database)
        # The rows of the first apply only: the resend writes none (checked: all duplicates).
        inserted, updated = written_rows(before, database, result["batches"])
        raw_times = []
        for attempt in range(3):  # the median of three, each on a fresh copy
            raw_db = Path(tmp) / f"raw{attempt}.sqlite3"
            copy_database(before, raw_db)
            raw_times.append(raw_apply(raw_db, inserted, updated, result["batches"]))
        result["raw"] = sorted(raw_times)[1]
        result["raw_times"] = raw_times
        result["rows_inserted"] = {t: len(rows) for t, (_, rows) in inserted.items()}
        result["rows_updated"] = {t: len(rows) for t, (_, rows) in updated.items()}
        return result


def postgres_run(admin_url: str, mutations: int, seed: int) -> dict:
    import asyncpg

    from tests.conftest import _with_db

    name = f"fs_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    async def admin(sql: str):
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            env = make_env(data, _with_db(admin_url, name), FS_LOG_LEVEL="warning")
            device, workload = prepare(env, data, mutations, random.Random(seed))
            return run_pushes(env, data, device, workload)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}"'))


def describe(label: str, result: dict) -> None:
    rate = result["mutations"] / result["first"]
    times = sorted(result["first_times"])
    print(f"{label}: {result['mutations']} mutations in {result['batches']} pushes of ≤ {BATCH}: "
          f"{result['first']:.2f} s, {rate:.0f} mutations/s (median push {times[len(times) // 2] * 1000:.0f} ms); "
          f"resend of every batch {result['resend']:.2f} s (byte for byte, as a device that lost the "
          f"reply sends it), {result['resend_full']:.2f} s in other bytes (ratio "
          f"{result['resend_full'] / result['first']:.3f}, the full path)")
    print("  results: " + ", ".join(f"{s}{'/' + r if r else ''} {n}" for (s, r), n in sorted(result["statuses"].items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mutations", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--pg", default=os.environ.get("FS_TEST_PG_URL", ""),
                        help="admin URL of a PostgreSQL server (default: FS_TEST_PG_URL)")
    parser.add_argument("--add-orders", type=int, help=argparse.SUPPRESS)  # internal: setup step
    args = parser.parse_args()
    if args.add_orders:
        print(json.dumps(asyncio.run(add_orders(dict(os.environ), args.add_orders))))
        return

    lite = sqlite_run(args.mutations, args.seed)
    describe("SQLite", lite)
    print(f"  raw sqlite3 executemany of the same rows ({sum(lite['rows_inserted'].values())} inserted in "
          f"{len(lite['rows_inserted'])} tables, {sum(lite['rows_updated'].values())} updated), "
          f"{lite['batches']} transactions: {lite['raw']:.3f} s (median of "
          f"{', '.join(f'{t:.3f}' for t in lite['raw_times'])}), {lite['mutations'] / lite['raw']:.0f} mutations/s")
    print("  rows inserted: " + ", ".join(f"{t} {n}" for t, n in sorted(lite["rows_inserted"].items())))
    if args.pg:
        pg = postgres_run(args.pg, args.mutations, args.seed)
        describe("PostgreSQL", pg)
        print(f"  PostgreSQL resend_ratio={pg['resend'] / pg['first']:.3f} "
              f"mutations_per_s={pg['mutations'] / pg['first']:.0f}")
    else:
        print("PostgreSQL: not measured (give --pg URL or FS_TEST_PG_URL)")
    rate = lite["mutations"] / lite["first"]
    print(f"ratio_vs_raw={lite['raw'] / lite['first']:.3f} resend_ratio={lite['resend'] / lite['first']:.3f} "
          f"mutations_per_s={rate:.0f}")


if __name__ == "__main__":
    main()
