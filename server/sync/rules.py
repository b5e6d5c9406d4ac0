"""The rules of the sync actions (sync-protocol §4): who may send them, when a fact is kept as
a conflict, how an edit merges, the reason codes and their messages. Pure functions, no I/O.
The arguments of each action are checked in server/sync/arguments.py.

Regulations behind them: the technician records departure, arrival, diagnosis (听/看/查),
parts used, labour and photos on site (seed 000 §8–§19, domain §3.4); the customer signs the
service record only after the work and never before it (seed 003 "售后服务流程"); the
customer rates attitude, skill, arrival time and keeping promises on 4 levels (seed 000 §25);
a product that cannot be fixed on site is carried back against a product receipt (seed 000
§11–§14).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from server.i18n import N_
from server.sync.arguments import (  # noqa: F401  (the actions' arguments, used as rules.X)
    ACTIONS, COMPLETION_FIELDS, DIAGNOSIS_FIELDS, FACT, MAX_INT4, MUTABLE, PROBLEMS, ActionSpec, Problem,
    blob_named, check_args, parse_time,
)

CLOCK_FLAG_MS = 5 * 60 * 1000  # sync-protocol §2: an offset over 5 minutes is flagged

# Conflict kinds (sync-protocol §4) and where an order stands for a technician.
REASSIGNED, CANCELLED, CLOSED = "reassigned", "cancelled", "closed"
STALE_EDIT, SIGNED_CONTENT_DIFFERS, DUPLICATE_RATING = "stale_edit", "signed_content_differs", "duplicate_rating"
CONFLICT_KINDS = (REASSIGNED, CANCELLED, CLOSED, STALE_EDIT, SIGNED_CONTENT_DIFFERS, DUPLICATE_RATING)

MESSAGES = {  # reason code → English source message (translated where shown)
    "unknown_action": N_("This version of the app sent an action the server does not know: %(name)s."),
    "invalid_args": N_("The action's details are incomplete or wrong."),
    "not_assigned": N_("Work order %(work_order_id)s is not assigned to you."),
    "unknown_part": N_("There is no part with the code %(part_code)s."),
    "unknown_line": N_("There is no part line %(line_id)s on this work order."),
    "already_voided": N_("This part line was already voided."),
    "duplicate_id": N_("This record (%(id)s) was already received; it is kept once."),
    "signoff_before_completion": N_("The customer can sign only after the work is completed."),
    REASSIGNED: N_("The work order was given to another technician meanwhile. Your record is kept; a supervisor will review it."),
    CANCELLED: N_("The work order was cancelled meanwhile. Your record is kept; a supervisor will review it."),
    CLOSED: N_("The work order was closed meanwhile. Your record is kept; a supervisor will review it."),
    STALE_EDIT: N_("Someone else changed the same details meanwhile. The office's version stays and yours is kept beside it for a supervisor to review."),
    SIGNED_CONTENT_DIFFERS: N_("What the customer signed differs from the record the server holds. The signature is kept; a supervisor will review it."),
    DUPLICATE_RATING: N_("This work order already has a rating. The second one is kept; a supervisor will review it."),
}


def corrected(moment: datetime, clock_offset_ms: int) -> datetime:
    """sync-protocol §2: a device time on the server's clock (offset = device − server)."""
    try:
        return moment - timedelta(milliseconds=clock_offset_ms)
    except OverflowError:
        return moment


def clock_flagged(clock_offset_ms: int) -> bool:
    return abs(clock_offset_ms) > CLOCK_FLAG_MS


# --- who may send an action, and when it is kept as a conflict -----------------------------

def may_act(exists: bool, assigned_to: int | None, was_assigned: bool, technician_id: int) -> bool:
    """sync-protocol §4: the order exists and is or was assigned to this technician."""
    return exists and (assigned_to == technician_id or was_assigned)


def assignment_conflict(status: str, assigned_to: int | None, technician_id: int) -> str | None:
    """The order is now cancelled, closed or someone else's, though it was this technician's."""
    if status == "cancelled":
        return CANCELLED
    if status == "closed":
        return CLOSED
    if assigned_to != technician_id:
        return REASSIGNED
    return None


@dataclass(frozen=True)
class FieldChangeSeen:
    field: str
    version: int  # the version the change made
    device_id: str  # "" for a change made in the office
    previous: str  # the value before the change


def merge_edit(wanted: dict[str, str], current: dict[str, str], base_version: int | None,
               changes: Iterable[FieldChangeSeen], device_id: str) -> tuple[dict[str, str], list[str]]:
    """sync-protocol §4: a three-way merge of an edit made on `base_version`.

    A field the device left as it saw it is not an edit. A field it changed applies, unless
    another device or user changed that same field after `base_version` (`stale_edit`: the
    server keeps its value). Returns (fields to apply, stale fields). No base_version saw nothing."""
    seen = base_version if base_version is not None else 0
    later: dict[str, list[FieldChangeSeen]] = {}
    for change in sorted(changes, key=lambda c: c.version):
        if change.version > seen:
            later.setdefault(change.field, []).append(change)
    apply, stale = {}, []
    for name, value in wanted.items():
        after = later.get(name, [])
        value_seen = after[0].previous if after else current.get(name, "")
        if value == value_seen or value == current.get(name, ""):
            continue  # not edited on the device, or already so on the server
        if any(change.device_id != device_id for change in after):
            stale.append(name)
        else:
            apply[name] = value
    return apply, stale


def next_status_on_visit(status: str) -> str:
    """Departure or arrival starts the work: a dispatched order is now in progress."""
    return "in_progress" if status == "dispatched" else status


def next_status_on_completion(status: str) -> str:
    return "completed" if status in ("dispatched", "in_progress") else status


def receipt_number(order_number: str, count_before: int) -> str:
    """The product receipt number (客户商品领取收据) of a carry-back: the order's number and
    a running count, e.g. "PR-WO-20261122-0007-1"."""
    return f"PR-{order_number}-{count_before + 1}"
