"""Work order rules: states, what a supervisor may do in each, and the read-back record.

Pure functions, no I/O (seed 000 §8–§19; sync-protocol §4 and §7).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from server.i18n import N_

WAITING = "waiting"
DISPATCHED = "dispatched"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
CLOSED = "closed"
CANCELLED = "cancelled"
STATUSES = (WAITING, DISPATCHED, IN_PROGRESS, COMPLETED, CLOSED, CANCELLED)
STATUS_LABELS = {
    WAITING: N_("Waiting for dispatch"),
    DISPATCHED: N_("Dispatched"),
    IN_PROGRESS: N_("In progress"),
    COMPLETED: N_("Completed"),
    CLOSED: N_("Closed"),
    CANCELLED: N_("Cancelled"),
}
OPEN_ASSIGNED = (DISPATCHED, IN_PROGRESS)  # a technician's open work
FINISHED = (COMPLETED, CLOSED, CANCELLED)
ZONES = ("urban", "suburban")
# The lists of the read-back, in the order of sync-protocol §7 (the keys are exactly these).
READBACK_LISTS = ("parts", "labour", "notes", "photos", "payments", "signoffs", "ratings", "conflicts")
MAX_REASON_LENGTH = 500
MAX_ID = 2**31 - 1  # ids are 32-bit serials: a larger number names nothing (and must not reach SQL)
MAX_DESCRIPTION_LENGTH = 2000

# Why a dispatch, re-dispatch or cancellation is refused in a given state (English source).
_REFUSED = {
    COMPLETED: N_("Work order %(number)s is already completed: it can no longer be dispatched or cancelled."),
    CLOSED: N_("Work order %(number)s is closed: it can no longer be dispatched or cancelled."),
    CANCELLED: N_("Work order %(number)s was cancelled: it can no longer be dispatched or cancelled."),
}


def dispatch_action(status: str) -> str | None:
    """seed 000 §18: a waiting order is dispatched; one dispatched or being worked on may be
    re-dispatched to another technician; finished orders stay as they are. None = refused."""
    if status == WAITING:
        return "dispatch"
    if status in OPEN_ASSIGNED:
        return "redispatch"
    return None


def valid_id(value: object) -> bool:
    """A number that can be a row id (1 … 2**31 - 1)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def may_cancel(status: str) -> bool:
    """An order may be cancelled (with a reason) until its work is completed."""
    return status in (WAITING, DISPATCHED, IN_PROGRESS)


def refusal_message(status: str) -> str:
    """The English source message for an action refused in `status` (placeholder: number)."""
    return _REFUSED.get(status, N_("Work order %(number)s cannot be changed in its present state."))


def clean_reason(value: object) -> str | None:
    """A cancellation reason: required, trimmed, at most 500 characters. None when unusable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text if 0 < len(text) <= MAX_REASON_LENGTH else None


def rfc3339(moment: datetime | None) -> str | None:
    """A time as RFC 3339 in UTC ("2026-11-22T09:30:00Z"); None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _as_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return None


def report_record(order_id: int, outcome: str, work_done: str, facts: dict[str, list]) -> dict:
    """The service record of sync-protocol §4 with signer_name null (§7's "report"), built by
    the same function that checks sign-offs, so anyone can recompute a sign-off's hash."""
    from server.sync.report import build_report

    from server.sync.readback import paid_before_last_signoff

    labour = [(_as_time(e.get("started_at")), _as_time(e.get("ended_at"))) for e in facts.get("labour", [])]
    paid = paid_before_last_signoff(facts.get("payments", []), facts.get("signoffs", []))
    return build_report(
        order_id, outcome, work_done, facts.get("parts", []),
        [(a, b) for a, b in labour if a and b],
        (int(p.get("amount_cents") or 0) for p in paid), None)


def json_ready(value: object) -> object:
    """Facts as JSON: times become RFC 3339 strings, decimals strings; the rest as it is."""
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, Decimal):
        from server.sync.report import normalise_qty

        return normalise_qty(format(value, "f"))
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    return value
