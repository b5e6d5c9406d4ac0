"""Customers and their sold units (service vouchers): look-ups and creation.

Customer data is personal (seed 001 第三章): partial look-ups only show the customers of the
branches the user may see; an exact phone number finds its customer wherever it is, since
the caller has just told it.
"""

from __future__ import annotations

from datetime import datetime

from piccolo.columns.combination import WhereRaw

from server.accounts.rules import CurrentUser
from server.calls.rules import ContractCover, NewCustomer
from server.contracts.tables import MaintenanceContract
from server.customers.rules import LOOKUP_MIN_DIGITS, digits_of, phone_key
from server.customers.tables import Customer, ProductModel, SoldUnit

_KEY_SQL = "replace(replace(phone, '-', ''), ' ', '')"
CUSTOMER_COLUMNS = (Customer.all_columns(), Customer.branch.code, Customer.branch.name)
UNIT_COLUMNS = (SoldUnit.all_columns(), SoldUnit.model.code, SoldUnit.model.name, SoldUnit.customer.name)


class DuplicateCustomer(Exception):
    """A new customer was entered with the phone number of an existing one."""

    def __init__(self, customer: dict):
        super().__init__(customer["phone"])
        self.customer = customer


async def by_phone(phone: str) -> dict | None:
    """The customer with exactly this phone number (hyphens and spaces ignored)."""
    key = phone_key(phone)
    if not key:
        return None
    return await Customer.select(*CUSTOMER_COLUMNS).where(WhereRaw(f"{_KEY_SQL} = {{}}", key)).first()


async def phone_candidates(phone: str, user: CurrentUser, limit: int = 5) -> list[dict]:
    """Customers of the user's branches whose phone contains what was typed so far."""
    digits = digits_of(phone)
    if len(digits) < LOOKUP_MIN_DIGITS:
        return []
    query = Customer.select(*CUSTOMER_COLUMNS).where(WhereRaw(f"{_KEY_SQL} LIKE {{}}", f"%{digits}%"))
    if not user.sees_all_branches:
        query = query.where(Customer.branch == user.branch_id)
    return await query.order_by(Customer.name).limit(limit)


async def get(customer_id: int) -> dict | None:
    return await Customer.select(*CUSTOMER_COLUMNS).where(Customer.id == customer_id).first()


def may_use(user: CurrentUser, customer: dict, phone: str) -> bool:
    """A customer of the user's branches, or one whose phone number the user gave."""
    return user.may_see_branch(customer["branch"]) or (bool(phone) and phone_key(phone) == phone_key(customer["phone"]))


async def create(new: NewCustomer, branch_id: int, now: datetime) -> int:
    """A new customer (call inside the registration's transaction). The phone is checked
    first; the unique index on phone stays the last word when two clerks race."""
    existing = await by_phone(new.phone)
    if existing:
        raise DuplicateCustomer(existing)
    customer = Customer(name=new.name, phone=new.phone, address=new.address, zone=new.zone,
                        customer_class=new.customer_class, branch=branch_id, created_at=now)
    await customer.save()
    return customer.id


async def units_of(customer_id: int) -> list[dict]:
    return await SoldUnit.select(*UNIT_COLUMNS).where(SoldUnit.customer == customer_id).order_by(SoldUnit.sale_date, ascending=False)


async def unit(unit_id: int) -> dict | None:
    return await SoldUnit.select(*UNIT_COLUMNS).where(SoldUnit.id == unit_id).first()


async def unit_by_serial(serial: str) -> dict | None:
    """The sold unit with this serial (exact, else ignoring case)."""
    serial = serial.strip()
    if not serial:
        return None
    found = await SoldUnit.select(*UNIT_COLUMNS).where(SoldUnit.serial == serial).first()
    if found is None and serial.upper() != serial:
        found = await SoldUnit.select(*UNIT_COLUMNS).where(SoldUnit.serial == serial.upper()).first()
    return found


async def contracts_of(customer_id: int) -> list[dict]:
    return await MaintenanceContract.select().where(
        MaintenanceContract.customer == customer_id).order_by(MaintenanceContract.ends_on, ascending=False)


def covers(contracts: list[dict]) -> list[tuple[int | None, ContractCover]]:
    """(named sold unit or None, cover) for calls.rules.contracts_for_unit."""
    return [(c["sold_unit"], ContractCover(c["number"], c["starts_on"], c["ends_on"], c["status"]))
            for c in contracts]


async def product_models() -> list[dict]:
    return await ProductModel.select(ProductModel.code, ProductModel.name).order_by(ProductModel.code)
