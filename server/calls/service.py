"""Registering a service call with its triage, and overriding its category.

seed 000 §8–§9: the call is registered with the customer, product, fault, channel, time
received and first-contact owner; a call solved by phone or remote diagnosis is closed with a
note (seed 002 第九条); otherwise a work order waits for dispatch with its SLA clock (§19).
Everything of one registration is written in one transaction; the event follows the commit.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from piccolo.engine.sqlite import TransactionType

from server import events
from server.accounts.rules import CurrentUser
from server.accounts.service import utcnow
from server.accounts.tables import AuditEntry, Branch
from server.calls import rules
from server.calls.rules import Category, Problem, Registration
from server.calls.tables import ServiceCall
from server.customers import service as customers
from server.customers.service import DuplicateCustomer
from server.dispatch.calendar import WorkingCalendar, sla_due
from server.i18n import N_
from server.workorders.tables import DispatchEvent, WorkOrder

NUMBER_ATTEMPTS = 10


class Refused(Exception):
    """The registration or override cannot be done as asked: what is wrong, per field."""

    def __init__(self, problems: dict[str, Problem], duplicate: dict | None = None):
        super().__init__(", ".join(problems))
        self.problems = problems
        self.duplicate = duplicate  # the existing customer when a duplicate phone was caught


def write_transaction():
    """A writing transaction: IMMEDIATE on SQLite so writers queue instead of failing."""
    engine = ServiceCall._meta.db
    if engine.engine_type == "sqlite":
        return engine.transaction(transaction_type=TransactionType.immediate)
    return engine.transaction()


def is_unique_clash(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - asyncpg is installed with piccolo[postgres]
        return False
    return isinstance(exc, asyncpg.exceptions.UniqueViolationError)


def calendar_of(branch: dict) -> WorkingCalendar:
    settings = branch.get("calendar") or {}
    if isinstance(settings, str):
        settings = json.loads(settings or "{}")
    return WorkingCalendar.from_settings(settings, branch.get("timezone") or "Asia/Shanghai")


async def branches_for(user: CurrentUser) -> list[dict]:
    query = Branch.select(Branch.id, Branch.code, Branch.name, Branch.name_en, Branch.timezone).order_by(Branch.code)
    if not user.sees_all_branches:
        query = query.where(Branch.id == (user.branch_id or 0))
    return await query


async def resolve_branch(user: CurrentUser, wanted: Any) -> tuple[dict | None, dict[str, Problem]]:
    """The clerk's own branch; the service department (no branch of its own) picks one."""
    text = "" if wanted is None else str(wanted).strip()
    branch_id = user.branch_id
    if user.sees_all_branches and text:
        branch_id = int(text) if text.isdigit() and len(text) < 12 else None
    if branch_id is None:
        return None, {"branch_id": (N_("Choose the branch that takes the call."), {})}
    branch = await Branch.select().where(Branch.id == branch_id).first()
    if branch is None:
        return None, {"branch_id": (N_("Choose the branch that takes the call."), {})}
    return branch, {}


async def derive_for(customer_id: int | None, unit: dict | None, day) -> Category:
    """The category of a call from the voucher's warranty and the customer's contracts."""
    contracts = customers.covers(await customers.contracts_of(customer_id)) if customer_id else []
    covering = rules.contracts_for_unit(contracts, unit["id"] if unit else None)
    return rules.derive_category(day, unit["warranty_end"] if unit else None, covering)


async def resolve_product(reg: Registration, customer_id: int | None) -> tuple[dict | None, dict[str, Problem]]:
    """The sold unit (voucher) of the call: picked from the customer's units or found by
    serial; it must be the customer's. Unknown serial: the model and serial are kept as told."""
    unit = None
    if reg.sold_unit_id:
        unit = await customers.unit(reg.sold_unit_id)
        if unit is None or unit["customer"] != customer_id:
            return None, {"sold_unit_id": (N_("This product is not one of the customer's."), {})}
    elif reg.serial:
        unit = await customers.unit_by_serial(reg.serial)
        if unit is not None and unit["customer"] != customer_id:
            return None, {"serial": (N_("This serial number is registered to another customer."), {})}
    if unit is None and not reg.model_text:
        return None, {"model_text": (N_("Pick the product model, or give a known serial number."), {})}
    return unit, {}


async def _next(column, prefix: str) -> str:
    numbers = await column._meta.table.select(column).where(column.like(prefix + "%")).output(as_list=True)
    return rules.next_number(prefix, numbers)


async def register(user: CurrentUser, raw: Mapping[str, Any], now: datetime | None = None) -> dict:
    """Register a call (and its work order unless solved remotely). Raises Refused."""
    now = now or utcnow()
    branch, problems = await resolve_branch(user, raw.get("branch_id"))
    reg, more = rules.check_registration(raw, now, branch["timezone"] if branch else user.timezone)
    problems.update(more)
    if problems or reg is None:
        raise Refused(problems)
    customer = None
    if reg.customer_id is not None:
        customer = await customers.get(reg.customer_id)
        if customer is None or not customers.may_use(user, customer, reg.phone):
            raise Refused({"customer_id": (N_("This customer was not found."), {})})
    else:
        existing = await customers.by_phone(reg.phone)
        if existing:
            raise Refused({"phone": (N_("A customer with this phone number already exists: the call is "
                                        "registered for that customer. Check and send again."), {})},
                          duplicate=existing)
    unit, problems = await resolve_product(reg, customer["id"] if customer else None)
    if problems:
        raise Refused(problems)
    cal = calendar_of(branch)
    local_day = reg.received_at.astimezone(ZoneInfo(cal.timezone)).date()
    for attempt in range(NUMBER_ATTEMPTS):
        try:
            async with write_transaction():
                if ServiceCall._meta.db.engine_type == "postgres":
                    # Numbers are "max + 1" per day: registrations take turns, as on SQLite.
                    await ServiceCall.raw("SELECT pg_advisory_xact_lock(20261125)")
                call = await _write(user, reg, branch, customer, unit, cal, local_day, now)
            break
        except DuplicateCustomer as exc:
            raise Refused({"phone": (N_("A customer with this phone number already exists: the call is "
                                        "registered for that customer. Check and send again."), {})},
                          duplicate=exc.customer)
        except Exception as exc:
            if not is_unique_clash(exc) or attempt == NUMBER_ATTEMPTS - 1:
                raise
    events.publish("call_registered", call_id=call["id"], branch_id=branch["id"])
    return call


async def _write(user, reg: Registration, branch, customer, unit, cal, local_day, now) -> dict:
    customer_id = customer["id"] if customer else await customers.create(reg.new_customer, branch["id"], now)
    zone = customer["zone"] if customer else reg.new_customer.zone
    category = await derive_for(customer_id, unit, local_day)
    stamp = local_day.strftime("%Y%m%d")
    call = ServiceCall(
        number=await _next(ServiceCall.number, f"{branch['code']}-{stamp}-"), branch=branch["id"],
        customer=customer_id, sold_unit=unit["id"] if unit else None,
        model_text="" if unit else reg.model_text, serial_text="" if unit else reg.serial,
        fault=reg.fault, channel=reg.channel, received_at=reg.received_at, owner=user.id, zone=zone,
        category=category.code, category_reason=category.reason,
        status="solved_remotely" if reg.remote else "dispatching",
        triage_note=reg.triage_note, created_at=now, updated_at=now)
    await call.save()
    work_order = None
    if not reg.remote:
        work_order = WorkOrder(
            number=await _next(WorkOrder.number, f"WO-{stamp}-"), call=call.id, branch=branch["id"],
            category=category.code, zone=zone, description=reg.fault, status="waiting",
            received_at=reg.received_at, sla_due_at=sla_due(reg.received_at, zone, cal),
            created_at=now, updated_at=now)
        await work_order.save()
    await AuditEntry(user=user.id, action="call_registered", subject=f"call:{call.id}",
                     detail={"number": call.number, "category": category.code,
                             "work_order": work_order.number if work_order else None}, at=now).save()
    return {"id": call.id, "number": call.number, "branch": branch["id"], "status": call.status,
            "work_order_id": work_order.id if work_order else None}


async def override_category(user: CurrentUser, call: dict, wanted: str, reason: str,
                            now: datetime | None = None) -> None:
    """seed 000 §6: a supervisor overrides the derived category with a reason. The reason is
    kept on the call, the change is copied to its unfinished work order and logged."""
    now = now or utcnow()
    wanted, reason = (wanted or "").strip().upper(), (reason or "").strip()
    problem = rules.override_problem(call["category"], wanted, reason)
    if problem:
        raise Refused(dict([problem]))
    async with write_transaction():
        await ServiceCall.update({
            ServiceCall.category: wanted, ServiceCall.category_reason: "override",
            ServiceCall.category_override_reason: reason, ServiceCall.category_overridden_by: user.id,
            ServiceCall.updated_at: now,
        }).where(ServiceCall.id == call["id"])
        orders = await WorkOrder.select(WorkOrder.id, WorkOrder.status).where(WorkOrder.call == call["id"])
        for order in orders:
            if order["status"] in rules.WORK_ORDER_FINISHED:
                continue
            await WorkOrder.update({WorkOrder.category: wanted, WorkOrder.version: WorkOrder.version + 1,
                                    WorkOrder.updated_at: now}).where(WorkOrder.id == order["id"])
            await DispatchEvent(work_order=order["id"], action="category", by_user=user.id,
                                reason=f"{call['category']} → {wanted}: {reason}", at=now).save()
        await AuditEntry(user=user.id, action="category_override", subject=f"call:{call['id']}",
                         detail={"from": call["category"], "to": wanted, "reason": reason}, at=now).save()

