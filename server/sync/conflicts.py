"""The supervisor's conflict queue and the technician's view of their refused actions.

A conflict is a fact or edit the server kept although the order changed meanwhile
(sync-protocol §4). A supervisor of the order's branch reviews it side by side — the
server's value and the device's — and resolves it: keep the server's value, take the
device's (applied to the order, whose version goes up), or dismiss it with a note. Every
resolution is audited (who, when, which choice, the note).
"""

from __future__ import annotations

import json
from typing import Any

from server.accounts.rules import CurrentUser
from server.accounts.service import utcnow
from server.i18n import N_
from server.sync import rules
from server.sync.batch import ORDER_FIELDS, table
from server.sync.sql import Sql, run_write
from server.sync.tables import Conflict, ConflictResolution, Device, FieldChange, LedgerEntry, Rating

CHOICES = ("keep_server", "take_device", "dismiss")
CHOICE_LABELS = {"keep_server": N_("Keep the server's value"), "take_device": N_("Take the device's value"),
                 "dismiss": N_("Dismiss with a note")}
KIND_LABELS = {
    rules.REASSIGNED: N_("Order given to another technician"),
    rules.CANCELLED: N_("Order cancelled"),
    rules.CLOSED: N_("Order closed"),
    rules.STALE_EDIT: N_("Changed by someone else meanwhile"),
    rules.SIGNED_CONTENT_DIFFERS: N_("Signed record differs"),
    rules.DUPLICATE_RATING: N_("Second rating"),
}
STATUS_LABELS = {"open": N_("Conflict open"), "resolved": N_("Conflict resolved"), "dismissed": N_("Conflict dismissed")}
MAX_NOTE = 2000
LIST_LIMIT = 200


class ConflictNotFound(Exception):
    pass


class AlreadyResolved(Exception):
    pass


def resolution_problem(choice: Any, note: Any) -> tuple[str, str] | None:
    """(field, English message) when a resolution cannot be accepted as given."""
    if choice not in CHOICES:
        return "choice", N_("Choose how to resolve the conflict.")
    if not isinstance(note, str):
        return "note", N_("The note must be text.")
    if len(note) > MAX_NOTE:
        return "note", N_("The note is too long (at most 2000 characters).")
    if choice == "dismiss" and not note.strip():
        return "note", N_("Say why the conflict is dismissed.")
    return None


def _scoped(query, user: CurrentUser):
    return query if user.sees_all_branches else query.where(Conflict.work_order.branch == user.branch_id)


def _columns():
    return (*Conflict.all_columns(), Conflict.work_order.number, Conflict.work_order.branch,
            Conflict.work_order.status, Conflict.technician.display_name, Conflict.technician.username,
            Conflict.resolved_by.display_name)


def _decode(row: dict, devices: dict[str, str]) -> dict:
    out = dict(row)
    for key in ("server_value", "device_value", "apply_fields"):
        try:
            out[key] = json.loads(row[key])
        except (TypeError, ValueError):
            out[key] = row[key]
    out["device_name"] = devices.get(row["device_id"], "")
    return out


async def _device_names(rows: list[dict]) -> dict[str, str]:
    ids = sorted({r["device_id"] for r in rows if r["device_id"]})
    if not ids:
        return {}
    found = await Device.select(Device.device_id, Device.name).where(Device.device_id.is_in(ids))
    return {d["device_id"]: d["name"] for d in found}


async def list_conflicts(user: CurrentUser, status: str = "open") -> list[dict]:
    """Conflicts of the orders the user may see; "open", "resolved", "dismissed" or "all"."""
    query = _scoped(Conflict.select(*_columns()), user)
    if status in STATUS_LABELS:
        query = query.where(Conflict.status == status)
    rows = await query.order_by(Conflict.id, ascending=False).limit(LIST_LIMIT)
    devices = await _device_names(rows)
    return [_decode(r, devices) for r in rows]


async def get_conflict(user: CurrentUser, conflict_id: int) -> dict:
    if not 0 < conflict_id <= rules.MAX_INT4:
        raise ConflictNotFound()
    row = await _scoped(Conflict.select(*_columns()), user).where(Conflict.id == conflict_id).first()
    if row is None:
        raise ConflictNotFound()
    return _decode(row, await _device_names([row]))


async def open_conflict_count(user: CurrentUser) -> int:
    """Open conflicts in the user's branch (every branch for head office): the board's count."""
    return await _scoped(Conflict.count(), user).where(Conflict.status == "open")


async def resolve(user: CurrentUser, conflict_id: int, choice: str, note: str) -> dict:
    """Resolve an open conflict. Taking the device's value sets the order fields it wanted (the
    order's version goes up) or, for a second rating, makes that rating the one that counts."""
    if not 0 < conflict_id <= rules.MAX_INT4:
        raise ConflictNotFound()
    now = utcnow()

    async def work(sql: Sql) -> None:
        lock = " FOR UPDATE" if sql.postgres else ""
        rows = await sql.fetch(
            f"SELECT c.id, c.status, c.kind, c.apply_fields, c.device_value, c.work_order, wo.branch, "
            f"wo.version FROM {table(Conflict)} c JOIN work_order wo ON wo.id = c.work_order "
            f"WHERE c.id = ?{lock}", conflict_id)
        if not rows or not user.may_see_branch(rows[0]["branch"]):
            raise ConflictNotFound()
        row = rows[0]
        if row["status"] != "open":
            raise AlreadyResolved()
        if choice == "take_device":
            await _take_device(sql, user, row, now)
        status = "dismissed" if choice == "dismiss" else "resolved"
        await sql.execute(
            f"UPDATE {table(Conflict)} SET status = ?, resolution = ?, resolved_by = ?, resolved_at = ?, "
            "note = ? WHERE id = ?", status, choice, user.id, now, note.strip(), conflict_id)
        await sql.insert(table(ConflictResolution), ("conflict", "choice", "note", "by_user", "at"),
                         [(conflict_id, choice, note.strip(), user.id, now)])

    await run_write(work)
    return await get_conflict(user, conflict_id)


async def _take_device(sql: Sql, user: CurrentUser, row: dict, now) -> None:
    fields = {k: v for k, v in json.loads(row["apply_fields"] or "{}").items()
              if k in ORDER_FIELDS and isinstance(v, str)}
    order_id, version = row["work_order"], row["version"] + 1
    if fields:
        names = ", ".join(fields)
        before = (await sql.fetch(f"SELECT {names} FROM work_order WHERE id = ?", order_id))[0]
        sets = ", ".join(f"{name} = ?" for name in fields)
        await sql.execute(f"UPDATE work_order SET {sets}, version = ?, updated_at = ? WHERE id = ?",
                          *fields.values(), version, now, order_id)
        await sql.insert(table(FieldChange),
                         ("work_order", "field", "version", "previous", "device_id", "changed_by", "at"),
                         [(order_id, name, version, before[name] or "", "", user.id, now) for name in fields])
    elif row["kind"] == rules.DUPLICATE_RATING:
        rating_id = json.loads(row["device_value"]).get("rating_id")
        await sql.execute(f"UPDATE {table(Rating)} SET counted = (rating_id = ?) WHERE work_order = ?",
                          rating_id, order_id)
        await sql.execute("UPDATE work_order SET version = ?, updated_at = ? WHERE id = ?", version, now, order_id)


async def outcomes_for(user: CurrentUser, limit: int = LIST_LIMIT) -> list[dict]:
    """The technician's own rejected and conflicting actions, newest first."""
    rows = await LedgerEntry.select(
        LedgerEntry.mutation_id, LedgerEntry.seq, LedgerEntry.device_id, LedgerEntry.name,
        LedgerEntry.work_order, LedgerEntry.status, LedgerEntry.reason, LedgerEntry.detail,
        LedgerEntry.conflict_id, LedgerEntry.captured_at, LedgerEntry.received_at,
    ).where((LedgerEntry.technician == user.id) & LedgerEntry.status.is_in(["rejected", "conflict"])
            ).order_by(LedgerEntry.id, ascending=False).limit(limit)
    conflict_ids = [r["conflict_id"] for r in rows if r["conflict_id"]]
    statuses = {}
    if conflict_ids:
        statuses = {c["id"]: c for c in await Conflict.select(
            Conflict.id, Conflict.status, Conflict.resolution, Conflict.note).where(Conflict.id.is_in(conflict_ids))}
    for row in rows:
        row["detail"] = json.loads(row["detail"] or "{}")
        conflict = statuses.get(row["conflict_id"])
        row["conflict_status"] = conflict["status"] if conflict else None
        row["resolution"] = conflict["resolution"] if conflict else None
        row["resolution_note"] = conflict["note"] if conflict else None
    return rows
