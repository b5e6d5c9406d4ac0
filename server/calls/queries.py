"""Reading the call register: the list with its filters, one call with everything around it,
and the registration form's live look-ups. Every read is scoped to the user's branches.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from server.accounts.rules import CurrentUser
from server.accounts.service import utcnow
from server.accounts.tables import AuditEntry
from server.calls import register_query, rules
from server.calls.filters import Filters
from server.calls.service import derive_for, resolve_branch
from server.calls.tables import ServiceCall
from server.customers import service as customers
from server.customers.rules import LOOKUP_MIN_DIGITS, digits_of
from server.i18n import gettext
from server.workorders.tables import WorkOrder


def _scope(query, user: CurrentUser):
    if not user.sees_all_branches:
        query = query.where(ServiceCall.branch == (user.branch_id or 0))
    return query


async def list_calls(user: CurrentUser, filters: Filters) -> tuple[list[dict], int]:
    """One page of the register, newest first, and how many calls match in all."""
    return await register_query.list_page(user, filters)


async def visible_call(user: CurrentUser, call_id: int) -> dict | None:
    """The call when the user may see it (their branch, or every branch), else None."""
    if call_id < 1 or call_id > 2**62:
        return None
    return await _scope(ServiceCall.select(
        ServiceCall.all_columns(), ServiceCall.branch.code, ServiceCall.branch.name,
        ServiceCall.branch.timezone, ServiceCall.owner.display_name,
        ServiceCall.category_overridden_by.display_name,
    ).where(ServiceCall.id == call_id), user).first()


async def call_detail(user: CurrentUser, call_id: int) -> dict | None:
    """Everything the call page shows: customer, voucher, contracts, category and its
    reason, overrides, work order and technician, and the voucher's service history."""
    call = await visible_call(user, call_id)
    if call is None:
        return None
    customer = await customers.get(call["customer"])
    unit = await customers.unit(call["sold_unit"]) if call["sold_unit"] else None
    tz = call["branch.timezone"] or "Asia/Shanghai"
    call_day = call["received_at"].astimezone(ZoneInfo(tz)).date()
    derived = await derive_for(call["customer"], unit, call_day)
    contracts = [c for c in await customers.contracts_of(call["customer"])
                 if c["sold_unit"] is None or (unit and c["sold_unit"] == unit["id"])]
    for contract in contracts:
        contract["covers_call"] = contract["status"] == "active" and contract["starts_on"] <= call_day <= contract["ends_on"]
    overrides = await AuditEntry.select(AuditEntry.detail, AuditEntry.at, AuditEntry.user.display_name).where(
        (AuditEntry.subject == f"call:{call_id}") & (AuditEntry.action == "category_override")
    ).order_by(AuditEntry.at).output(load_json=True)
    orders = await WorkOrder.select(WorkOrder.all_columns(), WorkOrder.assigned_to.display_name).where(
        WorkOrder.call == call_id).order_by(WorkOrder.id)
    history = []
    if unit:
        history = await ServiceCall.select(
            ServiceCall.id, ServiceCall.number, ServiceCall.received_at, ServiceCall.fault, ServiceCall.status,
            ServiceCall.category, ServiceCall.branch, ServiceCall.triage_note,
        ).where((ServiceCall.sold_unit == unit["id"]) & (ServiceCall.id != call_id)).order_by(
            ServiceCall.received_at, ascending=False).limit(20)
        if history:
            done = await WorkOrder.select(WorkOrder.call, WorkOrder.status, WorkOrder.work_done).where(
                WorkOrder.call.is_in([h["id"] for h in history]))
            by_call = {d["call"]: d for d in done}
            for item in history:
                item["work_order"] = by_call.get(item["id"])
                item["visible"] = user.may_see_branch(item["branch"])
    return {"call": call, "customer": customer, "unit": unit, "derived": derived, "contracts": contracts,
            "overrides": overrides, "work_orders": orders, "history": history, "tz": tz}


def _received_day(value: str, tz: str, now: datetime):
    moment, _problem = rules.parse_received_at(value.strip(), tz, now)
    return (moment or now).astimezone(ZoneInfo(tz)).date()


async def form_state(user: CurrentUser, params: Mapping[str, str], now: datetime | None = None) -> dict:
    """What the registration form shows around what was typed: the customer found by phone
    (or the candidates so far), the customer's products, the serial's product, and the
    category that would be derived, with its reason."""
    now = now or utcnow()
    branch, _problems = await resolve_branch(user, params.get("branch_id"))
    tz = branch["timezone"] if branch else user.timezone
    phone = (params.get("phone") or "").strip()[:40]
    exact = await customers.by_phone(phone) if len(digits_of(phone)) >= LOOKUP_MIN_DIGITS else None
    candidates = [] if exact else await customers.phone_candidates(phone, user)
    chosen_id = (params.get("customer_id") or "").strip()
    customer = exact or next((c for c in candidates if str(c["id"]) == chosen_id), None)
    units = await customers.units_of(customer["id"]) if customer else []
    serial = (params.get("serial") or "").strip()[:rules.MAX_LENGTHS["serial"]]
    serial_unit = await customers.unit_by_serial(serial) if serial else None
    serial_elsewhere = serial_unit is not None and (customer is None or serial_unit["customer"] != customer["id"])
    unit_id = (params.get("sold_unit_id") or "").strip()
    unit = next((u for u in units if str(u["id"]) == unit_id), None)
    if unit is None and serial_unit is not None and not serial_elsewhere:
        unit = serial_unit
    day = _received_day(params.get("received_at") or "", tz, now)
    category = await derive_for(customer["id"] if customer else None, unit, day)
    return {"exact": exact, "candidates": candidates, "customer": customer, "units": units,
            "serial": serial, "serial_unit": serial_unit, "serial_elsewhere": serial_elsewhere,
            "unit": unit, "category": category, "explanation": category.explain(gettext), "call_day": day,
            "branch": branch}
