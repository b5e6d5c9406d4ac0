"""The push: exactly once, by a ledger written in the same transaction as the effects
(sync-protocol §2 and §6).

Per request, one writing transaction: the device row is read (and locked on PostgreSQL) so a
device's pushes run one after the other; the ledger rows of the request's ids and sequence
numbers are read in one query; each mutation is then, in seq order, a `duplicate` (same id
and payload as the ledger holds), a stop (`seq_reused`, `gap`, `blob_missing`), or handled:
`rejected`, `conflict` or `applied`. The ledger rows, the effects and the device's `last_seq`
commit together; the reply is built only after the commit.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from server.accounts.service import utcnow
from server.sync import rules
from server.sync.actions import handle
from server.sync.batch import Batch, Outcome, table
from server.sync.envelope import Envelope, Mutation, is_int
from server.sync.sql import Sql, as_time, marks, run_write
from server.sync.tables import Device, LedgerEntry

LEDGER_COLUMNS = ("device_id", "device_seq", "mutation_id", "seq", "name", "payload_sha256", "payload",
                  "technician", "work_order", "status", "reason", "detail", "conflict_id", "version",
                  "captured_at", "clock_offset_ms", "clock_flagged", "received_at")


UNIQUE_VIOLATIONS = (asyncpg.UniqueViolationError, sqlite3.IntegrityError)
LAST_SYNC_PRECISION = timedelta(minutes=1)  # how often a push of resends alone notes the time


class DeviceGone(Exception):
    """The device was revoked (or removed) after its token was checked."""


@dataclass
class Handled:
    mutation: Mutation
    outcome: Outcome
    prepared: Any


@dataclass
class PushResult:
    results: list[dict]  # reason codes untranslated; `message_for` fills the messages
    last_seq: int
    stopped: dict | None
    committed_at: datetime


def device_seq(device_id: str, seq: int) -> str:
    return f"{device_id}/{seq}"


def prepare(mutation: Mutation) -> dict | rules.Problem | None:
    """The cleaned arguments; a Problem; None for an action the server does not know."""
    if mutation.name not in rules.ACTIONS:
        return None
    try:
        return rules.check_args(mutation.name, mutation.args, mutation.base_version, mutation.captured_at)
    except rules.Problem as problem:
        return problem


async def missing_blobs(envelope: Envelope) -> set[str]:
    """The blobs named by the push that the server does not hold (blobs are never deleted,
    so asking before the transaction is safe: at worst a blob arriving meanwhile is asked for
    again)."""
    from server.sync.blobs import blobs_present  # the blobs feature owns the store

    named = {sha for m in envelope.mutations if (sha := rules.blob_named(m.name, m.args))}
    if not named:
        return set()
    return named - await blobs_present(sorted(named))


async def _device(sql: Sql, device_id: str) -> dict:
    lock = " FOR UPDATE" if sql.postgres else ""
    rows = await sql.fetch(
        f'SELECT id, "user", last_seq, last_sync_at, revoked_at FROM {table(Device)} WHERE device_id = ?{lock}', device_id)
    if not rows or rows[0]["revoked_at"] is not None:
        raise DeviceGone()
    return rows[0]


async def _ledger_rows(sql: Sql, device_id: str, envelope: Envelope, last_seq: int) -> tuple[dict, dict]:
    """The ledger's rows for this request: by seq for the mutations at or below last_seq (a
    resend: their originals), by id for the others (is the id already taken?)."""
    seqs = [device_seq(device_id, m.seq) for m in envelope.mutations if m.seq <= last_seq]
    ids = [m.key for m in envelope.mutations if m.seq > last_seq]
    where = [f"device_seq IN ({marks(len(seqs))})"] if seqs else []
    if ids:
        where.append(f"mutation_id IN ({marks(len(ids))})")
    if not where:
        return {}, {}
    rows = await sql.fetch(
        "SELECT device_id, seq, mutation_id, payload_sha256, status, reason, detail, conflict_id, version "
        f"FROM {table(LedgerEntry)} WHERE {' OR '.join(where)}", *seqs, *ids)
    by_seq = {row["seq"]: row for row in rows if row["device_id"] == device_id}
    by_id = {row["mutation_id"]: row for row in rows}
    return by_seq, by_id


def _original(row: dict) -> dict:
    original: dict[str, Any] = {"status": row["status"]}
    if row["reason"]:
        original["reason"] = row["reason"]
    if row["conflict_id"] is not None:
        original["conflict_id"] = row["conflict_id"]
    if row["version"] is not None:
        original["version"] = row["version"]
    if row["detail"] and row["detail"] != "{}":
        original["detail"] = json.loads(row["detail"])
    return original


def _result(mutation: Mutation, outcome: Outcome) -> dict:
    result: dict[str, Any] = {"id": mutation.id, "seq": mutation.seq, "status": outcome.status}
    if outcome.reason:
        result["reason"] = outcome.reason
    if outcome.conflict is not None:
        result["conflict_id"] = outcome.conflict.id
    if outcome.version is not None:
        result["version"] = outcome.version
    if outcome.detail:
        result["detail"] = outcome.detail
    return result


def _evaluate(batch: Batch, mutation: Mutation, prepared: Any) -> Outcome:
    if prepared is None:
        return Outcome("rejected", "unknown_action", {"name": mutation.name.replace("\x00", "")[:80]})
    if isinstance(prepared, rules.Problem):
        work_order = mutation.args.get("work_order_id")
        return Outcome("rejected", "invalid_args", {"problem": prepared.key, **prepared.values},
                       work_order=work_order if is_int(work_order) else None)
    return handle(batch, mutation, prepared)


def _ledger_row(device_id: str, technician_id: int, envelope: Envelope, handled: Handled,
                now: datetime) -> tuple:
    m, outcome = handled.mutation, handled.outcome
    captured = handled.prepared.get("_captured_at") if isinstance(handled.prepared, dict) else \
        rules.parse_time(m.captured_at)
    work_order = outcome.work_order if outcome.work_order and 0 < outcome.work_order <= rules.MAX_INT4 else None
    return (device_id, device_seq(device_id, m.seq), m.key, m.seq, m.name.replace("\x00", "")[:40], m.payload_sha256,
            m.payload, technician_id, work_order, outcome.status, outcome.reason,
            json.dumps(outcome.detail, ensure_ascii=False) if outcome.detail else "{}",
            outcome.conflict.id if outcome.conflict else None, outcome.version, captured,
            envelope.clock_offset_ms, rules.clock_flagged(envelope.clock_offset_ms), now)


async def push(envelope: Envelope, technician_id: int) -> PushResult:
    """Handle one push; returns after the commit."""
    missing = await missing_blobs(envelope)
    device_id = envelope.device_id

    async def work(sql: Sql) -> tuple[list, list[Handled], int, dict | None]:
        now = utcnow()
        device = await _device(sql, device_id)
        last_seq = device["last_seq"]
        by_seq, by_id = await _ledger_rows(sql, device_id, envelope, last_seq)
        candidates = [m for m in envelope.mutations if m.seq > last_seq]
        prepared = {m.key: prepare(m) for m in candidates}
        batch = Batch(sql, device_id, device["user"], envelope.clock_offset_ms, now)
        await batch.preload([(m.name, prepared[m.key]) for m in candidates if isinstance(prepared[m.key], dict)])

        results: list = []
        handled: list[Handled] = []
        seen: set[str] = set()
        stopped = None
        for m in envelope.mutations:
            if m.seq <= last_seq:
                row = by_seq.get(m.seq)
                if row and row["mutation_id"] == m.key and row["payload_sha256"] == m.payload_sha256:
                    results.append({"id": m.id, "seq": m.seq, "status": "duplicate", "original": _original(row)})
                    continue
                stopped = "seq_reused"
            # §2's table, in its order: an id the ledger holds under another seq is a reused
            # seq even beyond a gap; a missing blob stops before the arguments are judged.
            elif m.key in by_id or m.key in seen:
                stopped = "seq_reused"
            elif m.seq > last_seq + 1:
                stopped = "gap"
            elif m.name in rules.ACTIONS and rules.blob_named(m.name, m.args) in missing:
                stopped = "blob_missing"
            if stopped:
                stopped = {"seq": m.seq, "reason": stopped}
                break
            outcome = _evaluate(batch, m, prepared[m.key])
            handled.append(Handled(m, outcome, prepared[m.key]))
            results.append(handled[-1])  # its result is made once conflicts have ids
            seen.add(m.key)
            last_seq = m.seq

        if handled:
            await batch.flush()
            await sql.insert(table(LedgerEntry), LEDGER_COLUMNS,
                             [_ledger_row(device_id, device["user"], envelope, h, now) for h in handled])
            await batch.save_orders()
        last_sync = as_time(device["last_sync_at"])
        seen_lately = last_sync is not None and now - last_sync < LAST_SYNC_PRECISION
        if handled or not seen_lately:  # a push of resends alone writes nothing (but the time, now and then)
            await sql.execute(f"UPDATE {table(Device)} SET last_seq = ?, last_sync_at = ? WHERE id = ?",
                              last_seq, now, device["id"])
        return results, handled, last_seq, stopped

    try:
        results, handled, last_seq, stopped = await run_write(work)
    except UNIQUE_VIOLATIONS:
        # PostgreSQL: another push committed the same mutation id (or device-made fact id)
        # after this one read the ledger; handled again, it now sees that row.
        results, handled, last_seq, stopped = await run_write(work)
    if stopped:
        stopped["resend_from"] = last_seq + 1
    return PushResult(
        results=[_result(r.mutation, r.outcome) if isinstance(r, Handled) else r for r in results],
        last_seq=last_seq, stopped=stopped, committed_at=utcnow())


