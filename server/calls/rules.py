"""Service call rules: the category of a call (seed 000 §6, seed 004 第六条), the checks of a
registration (seed 000 §8) and the register's numbers. Pure functions, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from server.customers.rules import clean_phone, phone_problem
from server.i18n import N_
from server.workorders import rules as workorder_rules

CHANNELS = ("phone", "letter", "email", "web", "walk_in")
CHANNEL_LABELS = {"phone": N_("Phone"), "letter": N_("Letter"), "email": N_("E-mail"), "web": N_("Web"),
                  "walk_in": N_("Walk-in")}
ZONES = ("urban", "suburban")
ZONE_LABELS = {"urban": N_("Urban"), "suburban": N_("Suburban")}
CUSTOMER_CLASSES = ("A", "B", "C")
CATEGORIES = ("A", "B", "C", "D")
CATEGORY_LABELS = {"A": N_("Paid service"), "B": N_("Contract service"), "C": N_("Free service"),
                   "D": N_("Internal work")}
REASON_LABELS = {
    "warranty": N_("Within the free warranty period (until %(until)s)"),
    "contract": N_("Covered by maintenance contract %(contract)s (until %(until)s)"),
    "paid": N_("Out of warranty and not under contract"),
    "unknown_unit": N_("Product not identified: paid until a warranty or contract is shown"),
    "internal": N_("Internal work, no customer"),
    "override": N_("Set by a supervisor"),
}


@dataclass(frozen=True)
class ContractCover:
    number: str
    starts_on: date
    ends_on: date
    status: str = "active"

    def covers(self, day: date) -> bool:
        return self.status == "active" and self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class Category:
    code: str  # A | B | C | D
    reason: str  # a key of REASON_LABELS
    detail: dict  # values for the reason's message

    def explain(self, gettext) -> str:
        return gettext(REASON_LABELS[self.reason], **self.detail) if self.detail else gettext(REASON_LABELS[self.reason])


def explain_reason(stored_reason: str, derived: Category, gettext) -> str:
    """Why a call has its stored category: the derivation's words while it still agrees,
    else the stored reason's plain label (empty when that label needs values)."""
    if stored_reason == derived.reason:
        return derived.explain(gettext)
    label = REASON_LABELS.get(stored_reason, "")
    return gettext(label) if label and "%(" not in label else ""


def derive_category(call_date: date, warranty_end: date | None,
                    contracts: list[ContractCover] = (), internal: bool = False) -> Category:
    """seed 000 §6 / seed 004 第六条: D for internal work; C while the free warranty runs;
    B when an active maintenance contract covers the product; otherwise A (paid).
    Warranty is checked first: free service needs no contract."""
    if internal:
        return Category("D", "internal", {})
    if warranty_end is not None and call_date <= warranty_end:
        return Category("C", "warranty", {"until": warranty_end.isoformat()})
    for contract in sorted(contracts, key=lambda c: c.ends_on, reverse=True):
        if contract.covers(call_date):
            return Category("B", "contract", {"contract": contract.number,
                                                "until": contract.ends_on.isoformat()})
    if warranty_end is None:
        return Category("A", "unknown_unit", {})
    return Category("A", "paid", {})


def contracts_for_unit(contracts: list[tuple[int | None, ContractCover]], unit_id: int | None) -> list[ContractCover]:
    """The contracts that can cover a unit: those naming it, and those covering all the
    customer's units (no unit named). `contracts` are (sold unit id or None, cover) pairs."""
    return [cover for named, cover in contracts if named is None or (unit_id is not None and named == unit_id)]


# --- The call register: statuses, registration input, numbers (seed 000 §8–§9) ---------

CALL_STATUSES = ("registered", "solved_remotely", "dispatching", "closed", "cancelled")
CALL_STATUS_LABELS = {"registered": N_("Newly registered"), "solved_remotely": N_("Solved remotely"),
                      "dispatching": N_("Sent to dispatch"), "closed": N_("Closed"),
                      "cancelled": N_("Cancelled")}
WORK_ORDER_STATUS_LABELS = workorder_rules.STATUS_LABELS
# A category override reaches the work order only while the work is not finished.
WORK_ORDER_FINISHED = frozenset(workorder_rules.FINISHED)
OVERRIDE_CATEGORIES = ("A", "B", "C")  # D is internal work: never a customer's call
TRIAGE_DISPATCH, TRIAGE_REMOTE = "dispatch", "remote"
PER_PAGE = 25
MAX_PAST_DAYS = 366  # a call received more than a year ago is a typing mistake
FUTURE_TOLERANCE = timedelta(minutes=2)  # clocks of the clerk's PC and the server differ a little
MAX_LENGTHS = {"name": 100, "address": 300, "model_text": 200, "serial": 80, "fault": 4000,
               "triage_note": 2000, "reason": 1000}

Problem = tuple[str, dict]  # an English source message and its values, translated where shown


@dataclass(frozen=True)
class NewCustomer:
    name: str
    phone: str
    address: str
    zone: str
    customer_class: str


@dataclass(frozen=True)
class Registration:
    """A call's registration input, checked: what the service stores."""

    phone: str
    customer_id: int | None
    new_customer: NewCustomer | None
    sold_unit_id: int | None
    serial: str
    model_text: str
    fault: str
    channel: str
    received_at: datetime  # UTC
    remote: bool
    triage_note: str


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def _id(raw: Mapping[str, Any], key: str, problems: dict[str, Problem]) -> int | None:
    value = _text(raw, key)
    if not value:
        return None
    if not value.isdigit() or len(value) > 12:
        problems[key] = (N_("This choice is not valid."), {})
        return None
    return int(value)


def parse_received_at(value: str, tz: str, now: datetime) -> tuple[datetime | None, Problem | None]:
    """The time received, as UTC. A time without an offset is in the branch's zone
    (what a datetime-local field sends); empty means now. Never in the future."""
    if not value:
        return now.astimezone(timezone.utc), None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None, (N_("Enter the time received as date and time, e.g. 2026-03-02 09:30."), {})
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz))
    try:
        moment = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None, (N_("Enter the time received as date and time, e.g. 2026-03-02 09:30."), {})
    if moment > now + FUTURE_TOLERANCE:
        return None, (N_("The time received cannot be in the future."), {})
    if moment < now - timedelta(days=MAX_PAST_DAYS):
        return None, (N_("The time received cannot be more than a year ago."), {})
    return moment, None


def check_length(problems: dict[str, Problem], field: str, value: str) -> None:
    limit = MAX_LENGTHS[field]
    if len(value) > limit:
        problems[field] = (N_("At most %(n)s characters."), {"n": limit})


def check_registration(raw: Mapping[str, Any], now: datetime, tz: str) -> tuple[Registration | None, dict[str, Problem]]:
    """Check what the clerk entered (seed 000 §8: customer, address, phone, product, fault,
    channel, time received). Returns the registration or, per field, what is wrong.
    `raw` holds the form's fields as text (ids may be numbers)."""
    problems: dict[str, Problem] = {}
    customer_id = _id(raw, "customer_id", problems)
    phone = clean_phone(_text(raw, "phone"))
    new_customer = None
    if customer_id is None:
        problem = phone_problem(phone)
        if problem:
            problems["phone"] = (problem, {})
        name, address = _text(raw, "name"), _text(raw, "address")
        zone, klass = _text(raw, "zone"), _text(raw, "customer_class").upper() or "B"
        if not name:
            problems["name"] = (N_("Enter the customer's name."), {})
        if not address:
            problems["address"] = (N_("Enter the customer's address."), {})
        for field, value in (("name", name), ("address", address)):
            check_length(problems, field, value)
        if zone not in ZONES:
            problems["zone"] = (N_("Choose urban or suburban."), {})
        if klass not in CUSTOMER_CLASSES:
            problems["customer_class"] = (N_("Choose class A, B or C."), {})
        new_customer = NewCustomer(name, phone, address, zone, klass)
    sold_unit_id = _id(raw, "sold_unit_id", problems)
    serial, model_text = _text(raw, "serial"), _text(raw, "model_text")
    check_length(problems, "serial", serial)
    check_length(problems, "model_text", model_text)
    fault = _text(raw, "fault")
    if not fault:
        problems["fault"] = (N_("Describe the fault as the customer told it."), {})
    check_length(problems, "fault", fault)
    channel = _text(raw, "channel")
    if channel not in CHANNELS:
        problems["channel"] = (N_("Choose how the call came in."), {})
    received_at, problem = parse_received_at(_text(raw, "received_at"), tz, now)
    if problem:
        problems["received_at"] = problem
    triage = _text(raw, "triage") or TRIAGE_DISPATCH
    triage_note = _text(raw, "triage_note")
    if triage not in (TRIAGE_DISPATCH, TRIAGE_REMOTE):
        problems["triage"] = (N_("Choose: solved remotely or send to dispatch."), {})
    elif triage == TRIAGE_REMOTE and not triage_note:
        problems["triage_note"] = (N_("Say how the call was solved by phone or remote diagnosis."), {})
    check_length(problems, "triage_note", triage_note)
    if problems:
        return None, problems
    return Registration(phone=phone, customer_id=customer_id, new_customer=new_customer,
                        sold_unit_id=sold_unit_id, serial=serial, model_text=model_text, fault=fault,
                        channel=channel, received_at=received_at, remote=triage == TRIAGE_REMOTE,
                        triage_note=triage_note), {}


def next_number(prefix: str, existing: list[str]) -> str:
    """`prefix` + the next 4-digit sequence after the highest of `existing` numbers with
    that prefix: call "SH-C-20260302-0007", work order "WO-20260302-0012"."""
    highest = 0
    for number in existing:
        tail = number[len(prefix):] if number.startswith(prefix) else ""
        if tail.isdigit():
            highest = max(highest, int(tail))
    return f"{prefix}{highest + 1:04d}"


def override_problem(current: str, wanted: str, reason: str) -> tuple[str, Problem] | None:
    """seed 000 §6: a supervisor may override the derived category, with a reason.
    Returns (field, problem) when the override cannot be done."""
    if wanted not in OVERRIDE_CATEGORIES:
        return "category", (N_("Choose category A, B or C."), {})
    if wanted == current:
        return "category", (N_("The call already has this category."), {})
    if not reason.strip():
        return "reason", (N_("Give the reason for the override."), {})
    if len(reason) > MAX_LENGTHS["reason"]:
        return "reason", (N_("At most %(n)s characters."), {"n": MAX_LENGTHS["reason"]})
    return None
