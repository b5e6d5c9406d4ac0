"""Reads for the technician's screens: the day, one order, the parts, the day's summary.

A technician sees only the orders assigned to them now (sync-protocol §7).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from server.accounts.rules import CurrentUser
from server.accounts.tables import Branch
from server.dispatch.calendar import WorkingCalendar, local_date, sla_state
from server.parts.tables import Part, VanStock
from server.sync.readback import facts_for, without_private_keys
from server.tech import rules
from server.workorders.tables import WorkOrder

_ORDER_COLUMNS = (
    WorkOrder.all_columns(),
    WorkOrder.call.number.as_alias("call_number"),
    WorkOrder.call.fault.as_alias("fault"),
    WorkOrder.call.model_text.as_alias("model_text"),
    WorkOrder.call.serial_text.as_alias("serial_text"),
    WorkOrder.call.sold_unit.as_alias("sold_unit_id"),
    WorkOrder.call.customer.name.as_alias("customer_name"),
    WorkOrder.call.customer.phone.as_alias("customer_phone"),
    WorkOrder.call.customer.address.as_alias("customer_address"),
    WorkOrder.call.customer.customer_class.as_alias("customer_class"),
    WorkOrder.call.sold_unit.serial.as_alias("serial"),
    WorkOrder.call.sold_unit.warranty_end.as_alias("warranty_end"),
    WorkOrder.call.sold_unit.sale_date.as_alias("sale_date"),
    WorkOrder.call.sold_unit.model.code.as_alias("model_code"),
    WorkOrder.call.sold_unit.model.name.as_alias("model_name"),
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


async def branch_calendar(branch_id: int | None, tz: str) -> WorkingCalendar:
    row = await Branch.select(Branch.calendar, Branch.timezone).where(Branch.id == branch_id).output(
        load_json=True).first() if branch_id else None
    return WorkingCalendar.from_settings((row or {}).get("calendar") or {}, (row or {}).get("timezone") or tz)


def _with_clock(order: dict, cal: WorkingCalendar, now: datetime) -> dict:
    for key in ("sla_due_at", "arrived_at", "completed_at", "received_at", "started_travel_at",
                "dispatched_at", "updated_at", "closed_at"):
        order[key] = _aware(order.get(key))
    due = order.get("sla_due_at")
    if due and order["status"] in rules.OPEN_STATUSES and not order.get("arrived_at"):
        state, left = sla_state(due, now, cal)
        order["sla_state"], order["minutes_left"] = state, left
    else:
        order["sla_state"], order["minutes_left"] = None, None
    return order


async def day_orders(user: CurrentUser, now: datetime | None = None) -> list[dict]:
    """Today's orders of `user`: open ones and those completed today, SLA due first."""
    now = now or utcnow()
    cal = await branch_calendar(user.branch_id, user.timezone)
    rows = await WorkOrder.select(*_ORDER_COLUMNS).where(
        (WorkOrder.assigned_to == user.id)
        & WorkOrder.status.is_in(list(rules.OPEN_STATUSES + rules.DONE_STATUSES))
    )
    today = local_date(now, cal)
    day = []
    for row in rows:
        row = _with_clock(row, cal, now)
        done_on = local_date(row["completed_at"], cal) if row.get("completed_at") else None
        if rules.belongs_to_day(row["status"], done_on, today):
            day.append(row)
    return rules.sort_day(day)


async def order_for(user: CurrentUser, order_id: int, now: datetime | None = None) -> dict | None:
    """One order assigned to `user` now, with its customer, product and recorded facts."""
    row = await WorkOrder.select(*_ORDER_COLUMNS).where(
        (WorkOrder.id == order_id) & (WorkOrder.assigned_to == user.id)
    ).first()
    if row is None:
        return None
    cal = await branch_calendar(user.branch_id, user.timezone)
    order = _with_clock(row, cal, now or utcnow())
    order["facts"] = _normalised(await facts_for(order_id))
    codes = {p.get("part_code") for p in order["facts"].get("parts", [])}
    names = await Part.select(Part.code, Part.name).where(Part.code.is_in(list(codes))) if codes else []
    order["part_names"] = {row["code"]: row["name"] for row in names}
    order["history"] = await service_history(order.get("sold_unit_id"), order_id)
    return order


async def service_history(sold_unit_id: int | None, except_order: int) -> list[dict]:
    """The service voucher's history: earlier work on the same sold unit, newest first."""
    if not sold_unit_id:
        return []
    rows = await WorkOrder.select(
        WorkOrder.id, WorkOrder.number, WorkOrder.received_at, WorkOrder.status,
        WorkOrder.description, WorkOrder.outcome, WorkOrder.work_done,
        WorkOrder.assigned_to.display_name.as_alias("technician"),
    ).where((WorkOrder.call.sold_unit == sold_unit_id) & (WorkOrder.id != except_order)).order_by(
        WorkOrder.received_at, ascending=False).limit(20)
    for row in rows:
        row["received_at"] = _aware(row["received_at"])
    return rows


def _qty(value) -> str:
    number = Decimal(str(value or 0)).normalize()
    text = format(number, "f")
    return text


async def parts_with_stock(user: CurrentUser) -> list[dict]:
    """The parts catalogue, with what this technician carries in the van."""
    parts = await Part.select(Part.id, Part.code, Part.name, Part.name_en, Part.unit,
                              Part.unit_price_cents, Part.version).order_by(Part.code)
    stock = {row["part"]: row["qty"] for row in await VanStock.select(VanStock.part, VanStock.qty).where(
        VanStock.technician == user.id)}
    for part in parts:
        qty = stock.get(part["id"])
        part["van_qty"] = _qty(qty) if qty is not None else "0"
        part["in_van"] = qty is not None and Decimal(str(qty)) > 0
    return parts


def _moment(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return _aware(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _normalised(facts: dict) -> dict:
    """Labour times as aware datetimes, whatever form the read-back gives them in; the
    server's own bookkeeping keys left out."""
    facts = without_private_keys(facts)
    for entry in facts.get("labour", []):
        entry["started_at"], entry["ended_at"] = _moment(entry.get("started_at")), _moment(entry.get("ended_at"))
    facts["labour"] = [e for e in facts.get("labour", []) if e["started_at"] and e["ended_at"]]
    return facts


def _seconds(started, ended) -> float:
    start, end = _moment(started), _moment(ended)
    return max(0.0, (end - start).total_seconds()) if start and end else 0.0


async def day_summary(user: CurrentUser, now: datetime | None = None) -> dict:
    """The day's summary: orders done and open, labour time, parts used, fees collected."""
    orders = await day_orders(user, now)
    labour_s, fees, parts_used = 0.0, 0, 0
    for order in orders:
        facts = _normalised(await facts_for(order["id"]))
        order["facts"] = facts
        labour_s += sum(_seconds(e.get("started_at"), e.get("ended_at")) for e in facts.get("labour", []))
        fees += sum(int(p.get("amount_cents") or 0) for p in facts.get("payments", []))
        parts_used += sum(1 for p in facts.get("parts", []) if not p.get("voided"))
    done = [o for o in orders if o["status"] in rules.DONE_STATUSES]
    return {"orders": orders, "done": len(done), "open": len(orders) - len(done),
            "labour_minutes": int(labour_s // 60), "fees_cents": fees, "part_lines": parts_used,
            "tz": ZoneInfo(user.timezone).key}
