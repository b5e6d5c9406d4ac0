"""The JSON shapes of the call register's API (documented in the OpenAPI schema at /schema)."""

from __future__ import annotations

from datetime import date, datetime

import msgspec

from server.calls.rules import CATEGORY_LABELS, explain_reason
from server.i18n import gettext as _


class UnitOut(msgspec.Struct):
    """A sold unit: the service voucher."""

    id: int
    serial: str
    model_code: str
    model_name: str
    sale_date: date
    warranty_end: date


class CustomerOut(msgspec.Struct):
    id: int
    name: str
    phone: str
    address: str
    zone: str
    customer_class: str
    branch_code: str
    exact: bool = False  # the phone number asked for, exactly
    units: list[UnitOut] = []


class ProductOut(msgspec.Struct):
    on_file: bool  # a sold unit on file (voucher); else model and serial as told
    sold_unit_id: int | None
    model: str
    model_code: str
    serial: str
    sale_date: date | None
    warranty_end: date | None


class ContractOut(msgspec.Struct):
    number: str
    starts_on: date
    ends_on: date
    status: str
    sold_unit_id: int | None  # None: covers all the customer's units
    covers_call: bool


class OverrideOut(msgspec.Struct):
    at: datetime
    by: str
    from_category: str
    to_category: str
    reason: str


class CategoryOut(msgspec.Struct):
    code: str  # A paid | B contract | C free (warranty) | D internal
    label: str
    reason: str  # warranty | contract | paid | unknown_unit | override
    explanation: str
    derived: str  # what the rules derive today
    override_reason: str
    overridden_by: str | None
    overrides: list[OverrideOut]


class WorkOrderOut(msgspec.Struct):
    id: int
    number: str
    status: str
    technician: str | None
    received_at: datetime
    sla_due_at: datetime | None
    dispatched_at: datetime | None
    version: int


class CallOut(msgspec.Struct):
    id: int
    number: str
    branch_code: str
    status: str  # registered | solved_remotely | dispatching | closed | cancelled
    received_at: datetime
    channel: str
    zone: str
    fault: str
    triage_note: str
    owner: str  # first-contact owner
    customer: CustomerOut
    product: ProductOut
    category: CategoryOut
    contracts: list[ContractOut]
    work_order: WorkOrderOut | None


class CallListItem(msgspec.Struct):
    id: int
    number: str
    branch_code: str
    received_at: datetime
    status: str
    category: str
    zone: str
    customer_name: str
    customer_phone: str
    model: str
    serial: str
    work_order_number: str | None
    work_order_status: str | None
    technician: str | None


class CallPage(msgspec.Struct):
    items: list[CallListItem]
    page: int
    per_page: int
    total: int


def unit_out(unit: dict) -> UnitOut:
    return UnitOut(id=unit["id"], serial=unit["serial"], model_code=unit["model.code"], model_name=unit["model.name"],
                   sale_date=unit["sale_date"], warranty_end=unit["warranty_end"])


def customer_out(customer: dict, units: list[dict] = (), exact: bool = False) -> CustomerOut:
    return CustomerOut(id=customer["id"], name=customer["name"], phone=customer["phone"], address=customer["address"],
                       zone=customer["zone"], customer_class=customer["customer_class"],
                       branch_code=customer.get("branch.code") or "", exact=exact, units=[unit_out(u) for u in units])


def call_out(detail: dict) -> CallOut:
    call, unit, derived = detail["call"], detail["unit"], detail["derived"]
    if unit:
        product = ProductOut(True, unit["id"], unit["model.name"], unit["model.code"], unit["serial"],
                             unit["sale_date"], unit["warranty_end"])
    else:
        product = ProductOut(False, None, call["model_text"], "", call["serial_text"], None, None)
    orders = detail["work_orders"]
    order = orders[-1] if orders else None
    category = CategoryOut(
        code=call["category"], label=_(CATEGORY_LABELS.get(call["category"], call["category"])),
        reason=call["category_reason"], explanation=explain_reason(call["category_reason"], derived, _), derived=derived.code,
        override_reason=call["category_override_reason"], overridden_by=call["category_overridden_by.display_name"],
        overrides=[OverrideOut(o["at"], o["user.display_name"] or "", str(o["detail"].get("from", "")),
                               str(o["detail"].get("to", "")), str(o["detail"].get("reason", "")))
                   for o in detail["overrides"]])
    return CallOut(
        id=call["id"], number=call["number"], branch_code=call["branch.code"], status=call["status"],
        received_at=call["received_at"], channel=call["channel"], zone=call["zone"], fault=call["fault"],
        triage_note=call["triage_note"], owner=call["owner.display_name"] or "",
        customer=customer_out(detail["customer"]), product=product, category=category,
        contracts=[ContractOut(c["number"], c["starts_on"], c["ends_on"], c["status"], c["sold_unit"], c["covers_call"])
                   for c in detail["contracts"]],
        work_order=WorkOrderOut(order["id"], order["number"], order["status"], order["assigned_to.display_name"],
                                order["received_at"], order["sla_due_at"], order["dispatched_at"], order["version"])
        if order else None)


def list_item(row: dict) -> CallListItem:
    order = row.get("work_order") or {}
    return CallListItem(
        id=row["id"], number=row["number"], branch_code=row["branch.code"], received_at=row["received_at"],
        status=row["status"], category=row["category"], zone=row["zone"], customer_name=row["customer.name"],
        customer_phone=row["customer.phone"], model=row["sold_unit.model.name"] or row["model_text"],
        serial=row["sold_unit.serial"] or row["serial_text"], work_order_number=order.get("number"),
        work_order_status=order.get("status"), technician=order.get("assigned_to.display_name"))
