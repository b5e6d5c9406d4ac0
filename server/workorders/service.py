"""Work orders: reading them within the caller's rights, and changing their dispatch state.

Every change (dispatch, re-dispatch, cancel, a new internal order) writes the work order
(version + 1) and its DispatchEvent in one transaction; events are announced after commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone

from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server import events
from server.accounts.rules import TECHNICIAN, VIEW_WORK_ORDERS, CurrentUser
from server.accounts.tables import Branch, User
from server.calls.tables import ServiceCall
from server.i18n import gettext as _
from server.sync import readback
from server.workorders import rules
from server.workorders.tables import DispatchEvent, WorkOrder


class WorkOrderError(Exception):
    """A refused change: HTTP-like status (404, 409, 422), a translated message, the form field."""

    def __init__(self, status: int, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.message, self.field = status, message, field


@dataclass(frozen=True)
class Change:
    order_id: int
    number: str
    action: str  # dispatch | redispatch | cancel | create | unchanged
    technician: str | None = None  # display name of the technician now assigned


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def write_transaction():
    """A writing transaction: IMMEDIATE on SQLite (architecture.md), plain on PostgreSQL."""
    engine = WorkOrder._meta.db
    if isinstance(engine, SQLiteEngine):
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def not_found() -> WorkOrderError:
    return WorkOrderError(404, _("There is no such work order, or it is not yours to see."))


async def _order_for_change(order_id: int, user: CurrentUser) -> dict:
    if not rules.valid_id(order_id):
        raise not_found()
    row = await WorkOrder.select(
        WorkOrder.id, WorkOrder.number, WorkOrder.status, WorkOrder.branch,
        WorkOrder.assigned_to, WorkOrder.version, WorkOrder.call,
    ).where(WorkOrder.id == order_id).first()
    if row is None or not user.may_see_branch(row["branch"]):
        raise not_found()
    return row


async def _technician(username: object, branch_id: int) -> dict:
    """The active technician `username` of branch `branch_id`, or a 422 saying what is wrong."""
    name = username.strip() if isinstance(username, str) else ""
    if not name:
        raise WorkOrderError(422, _("Choose a technician."), "technician")
    row = await User.select(User.id, User.username, User.display_name, User.role, User.branch).where(
        (User.username == name) & (User.active == True)  # noqa: E712
    ).first()
    if row is None:
        raise WorkOrderError(422, _("There is no user %(name)s.", name=name), "technician")
    if row["role"] != TECHNICIAN:
        raise WorkOrderError(422, _("%(name)s is not a technician.", name=name), "technician")
    if row["branch"] != branch_id:
        raise WorkOrderError(422, _("%(name)s works for another branch: choose a technician of this order's branch.",
                                    name=name), "technician")
    return row


def _stale(number: str) -> WorkOrderError:
    return WorkOrderError(409, _("Work order %(number)s was changed by someone else just now. Look at it again.",
                                 number=number))


async def dispatch(order_id: int, technician: object, user: CurrentUser, reason: str = "") -> Change:
    """seed 000 §18: dispatch a waiting order to a technician of its branch, or re-dispatch a
    dispatched / in-progress one to another technician."""
    order = await _order_for_change(order_id, user)
    tech = await _technician(technician, order["branch"])
    action = rules.dispatch_action(order["status"])
    if action is None:
        raise WorkOrderError(409, _(rules.refusal_message(order["status"]), number=order["number"]))
    if action == "redispatch" and order["assigned_to"] == tech["id"]:
        return Change(order_id, order["number"], "unchanged", tech["display_name"])
    now = utcnow()
    async with write_transaction():
        updated = await WorkOrder.update({
            WorkOrder.status: rules.DISPATCHED, WorkOrder.assigned_to: tech["id"],
            WorkOrder.dispatched_at: now, WorkOrder.version: order["version"] + 1,
            WorkOrder.updated_at: now,
        }).where((WorkOrder.id == order_id) & (WorkOrder.version == order["version"])).returning(WorkOrder.id)
        if not updated:
            raise _stale(order["number"])
        await DispatchEvent.insert(DispatchEvent(
            work_order=order_id, action=action, from_user=order["assigned_to"], to_user=tech["id"],
            by_user=user.id, reason=(reason or "").strip()[: rules.MAX_REASON_LENGTH], at=now))
    events.publish("work_order_dispatched", work_order_id=order_id, technician_id=tech["id"],
                   branch_id=order["branch"])
    return Change(order_id, order["number"], action, tech["display_name"])


async def cancel(order_id: int, reason: object, user: CurrentUser) -> Change:
    """Cancel an order not yet completed; the reason is required and kept with the order."""
    order = await _order_for_change(order_id, user)
    text = rules.clean_reason(reason)
    if text is None:
        raise WorkOrderError(422, _("Give the reason for cancelling (at most 500 characters)."), "reason")
    if not rules.may_cancel(order["status"]):
        raise WorkOrderError(409, _(rules.refusal_message(order["status"]), number=order["number"]))
    now = utcnow()
    async with write_transaction():
        updated = await WorkOrder.update({
            WorkOrder.status: rules.CANCELLED, WorkOrder.cancel_reason: text,
            WorkOrder.version: order["version"] + 1, WorkOrder.updated_at: now,
        }).where((WorkOrder.id == order_id) & (WorkOrder.version == order["version"])).returning(WorkOrder.id)
        if not updated:
            raise _stale(order["number"])
        await DispatchEvent.insert(DispatchEvent(
            work_order=order_id, action="cancel", from_user=order["assigned_to"], to_user=None,
            by_user=user.id, reason=text, at=now))
        if order["call"] is not None:  # the call has no other work order: it ends with it
            await ServiceCall.update({ServiceCall.status: "cancelled", ServiceCall.updated_at: now}).where(
                (ServiceCall.id == order["call"]) & ServiceCall.status.is_in(["registered", "dispatching"]))
    return Change(order_id, order["number"], "cancel")


async def _branch_for_new_order(user: CurrentUser, branch: object) -> dict:
    if branch in (None, "") and not user.sees_all_branches:
        branch = user.branch_id
    try:
        branch_id = int(branch)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        branch_id = 0
    if not rules.valid_id(branch_id):
        raise WorkOrderError(422, _("Choose the branch the work belongs to."), "branch")
    row = await Branch.select(Branch.id, Branch.code, Branch.default_zone).where(Branch.id == branch_id).first()
    if row is None or not user.may_see_branch(branch_id):
        raise WorkOrderError(422, _("Choose the branch the work belongs to."), "branch")
    return row


async def create_internal(user: CurrentUser, description: object, zone: object, branch: object = None) -> Change:
    """seed 000 §6 category D: internal work (inspections, parts management, tool maintenance,
    training): no customer, no call, no SLA due time; it waits on the board for dispatch."""
    text = description.strip() if isinstance(description, str) else ""
    if not text or len(text) > rules.MAX_DESCRIPTION_LENGTH:
        raise WorkOrderError(422, _("Describe the work (at most 2000 characters)."), "description")
    row = await _branch_for_new_order(user, branch)
    zone = (zone.strip() if isinstance(zone, str) else "") or row["default_zone"]
    if zone not in rules.ZONES:
        raise WorkOrderError(422, _("Choose urban or suburban."), "zone")
    now = utcnow()
    stamp = now.strftime("%Y%m%d")
    prefix = f"WO-{stamp}-D"
    for attempt in range(5):
        try:
            async with write_transaction():
                taken = await WorkOrder.count().where(WorkOrder.number.like(f"{prefix}%"))
                number = f"{prefix}{taken + 1 + attempt:03d}"
                inserted = await WorkOrder.insert(WorkOrder(
                    number=number, call=None, branch=row["id"], category="D", zone=zone, description=text,
                    status=rules.WAITING, received_at=now, sla_due_at=None, created_at=now, updated_at=now,
                )).returning(WorkOrder.id)
            return Change(inserted[0]["id"], number, "create")
        except Exception as exc:  # two supervisors took the same number at once: take the next
            if "unique" not in str(exc).lower() or attempt == 4:
                raise
    raise AssertionError("unreachable")


async def visible_order(order_id: int, user: CurrentUser) -> dict:
    """The order's row when `user` may read it: a technician only orders assigned to them now
    (sync-protocol §7), other staff the orders of the branches they see. Else 404."""
    if not rules.valid_id(order_id):
        raise not_found()
    row = await WorkOrder.select(
        *WorkOrder.all_columns(),
        WorkOrder.assigned_to.username.as_alias("assigned_username"),
    ).where(WorkOrder.id == order_id).first()
    if row is None or user.role not in VIEW_WORK_ORDERS:
        raise not_found()
    if user.role == TECHNICIAN:
        if row["assigned_to"] != user.id:
            raise not_found()
    elif not user.may_see_branch(row["branch"]):
        raise not_found()
    return row


async def work_order_detail(order_id: int, user: CurrentUser) -> dict:
    """GET /api/work-orders/{id}: the shape of sync-protocol §7, and the depot repairs its
    carry-backs opened (each device-made `receipt_id` appears once, with the receipt number)."""
    row = await visible_order(order_id, user)
    facts = rules.json_ready(await readback.facts_for(order_id))
    lists = {name: list(facts.get(name, [])) for name in rules.READBACK_LISTS}  # type: ignore[union-attr]
    report = rules.report_record(row["id"], row["outcome"], row["work_done"], lists)
    lists = readback.without_private_keys(lists)
    return {
        "id": row["id"],
        "version": row["version"],
        "status": row["status"],
        "category": row["category"],
        "assigned_to": row["assigned_username"],
        "arrived_at": rules.rfc3339(row["arrived_at"]),
        "sla_due_at": rules.rfc3339(row["sla_due_at"]),
        "report": report,
        **lists,
        "depot_repairs": [{"receipt_id": d["receipt_id"], "receipt_no": d["receipt_no"],
                           "condition": d["condition"], "accessories": d["accessories"],
                           "status": d["status"]} for d in facts.get("depot_repairs", [])],
    }


def summary(row: dict) -> dict:
    """One order in the list of GET /api/work-orders."""
    return {
        "id": row["id"], "number": row["number"], "version": row["version"], "status": row["status"],
        "category": row["category"], "zone": row["zone"], "branch": row["branch_code"],
        "assigned_to": row["assigned_username"], "description": row["description"],
        "received_at": rules.rfc3339(row["received_at"]), "sla_due_at": rules.rfc3339(row["sla_due_at"]),
        "dispatched_at": rules.rfc3339(row["dispatched_at"]), "arrived_at": rules.rfc3339(row["arrived_at"]),
        "updated_at": rules.rfc3339(row["updated_at"]),
    }


async def list_orders(user: CurrentUser, statuses: list[str], branch_id: int | None,
                      limit: int, offset: int) -> list[dict]:
    """Orders within the caller's rights, newest first: a technician's own; else by branch."""
    query = WorkOrder.select(
        WorkOrder.id, WorkOrder.number, WorkOrder.version, WorkOrder.status, WorkOrder.category,
        WorkOrder.zone, WorkOrder.description, WorkOrder.received_at, WorkOrder.sla_due_at,
        WorkOrder.dispatched_at, WorkOrder.arrived_at, WorkOrder.updated_at,
        WorkOrder.branch.code.as_alias("branch_code"),
        WorkOrder.assigned_to.username.as_alias("assigned_username"),
    )
    conditions = []
    if user.role == TECHNICIAN:
        conditions.append(WorkOrder.assigned_to == user.id)
    elif not user.sees_all_branches:
        conditions.append(WorkOrder.branch == (user.branch_id or -1))
    if branch_id is not None:
        conditions.append(WorkOrder.branch == branch_id)
    if statuses:
        conditions.append(WorkOrder.status.is_in(statuses))
    for condition in conditions:
        query = query.where(condition)
    rows = await query.order_by(WorkOrder.id, ascending=False).limit(limit).offset(offset)
    return [summary(row) for row in rows]


async def branch_id_for(value: str, user: CurrentUser) -> int | None:
    """A branch filter given as id or code; None when there is no such branch for `user`."""
    value = value.strip()
    if value.isdigit() and not rules.valid_id(int(value)):
        return None
    where = Branch.id == int(value) if value.isdigit() else Branch.code == value
    row = await Branch.select(Branch.id).where(where).first()
    if row is None or not (user.role == TECHNICIAN or user.may_see_branch(row["id"])):
        return None
    return row["id"]


def calendar_of(raw: object) -> dict:
    """A Branch.calendar value as a dict (Piccolo hands JSON columns back as text)."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
