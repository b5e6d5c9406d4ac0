"""Test data of our own for the call register tests: customers with sold units and contracts,
with unique phone numbers and serials (the demo database is shared by every test)."""

from __future__ import annotations

import pytest

import secrets
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from server.accounts.tables import Branch, User
from server.contracts.tables import MaintenanceContract
from server.customers.tables import Customer, ProductModel, SoldUnit

TZ = ZoneInfo("Asia/Shanghai")


def today() -> date:
    return datetime.now(timezone.utc).astimezone(TZ).date()


def unique_phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def unique_serial(prefix: str = "T") -> str:
    return f"{prefix}-{secrets.token_hex(5).upper()}"


async def branch(code: str) -> dict:
    return await Branch.select().where(Branch.code == code).first()


async def user_id(username: str) -> int:
    return (await User.select(User.id).where(User.username == username).first())["id"]


async def make_customer(branch_code: str = "SH-C", zone: str = "urban", name: str = "测试客户",
                        units: tuple[int, ...] = (), contracts: tuple[tuple, ...] = ()) -> dict:
    """A customer with sold units whose warranty ends `units[i]` days from today (negative:
    ended), and contracts (unit index or None, starts in days, ends in days, status)."""
    model = await ProductModel.select(ProductModel.id, ProductModel.name).first()
    customer = Customer(name=f"{name}{secrets.token_hex(2)}", phone=unique_phone(), address="上海市测试路1号",
                        zone=zone, customer_class="B", branch=(await branch(branch_code))["id"],
                        created_at=datetime.now(timezone.utc))
    await customer.save()
    sold = []
    for ends_in in units:
        unit = SoldUnit(customer=customer.id, model=model["id"], serial=unique_serial(),
                        sale_date=today() + timedelta(days=ends_in - 730), warranty_end=today() + timedelta(days=ends_in))
        await unit.save()
        sold.append({"id": unit.id, "serial": unit.serial, "warranty_end": unit.warranty_end})
    made = []
    for unit_index, starts_in, ends_in, status in contracts:
        contract = MaintenanceContract(
            number=f"MC-T-{secrets.token_hex(4)}", customer=customer.id,
            sold_unit=sold[unit_index]["id"] if unit_index is not None else None,
            starts_on=today() + timedelta(days=starts_in), ends_on=today() + timedelta(days=ends_in), status=status)
        await contract.save()
        made.append({"id": contract.id, "number": contract.number})
    return {"id": customer.id, "name": customer.name, "phone": customer.phone, "zone": zone, "units": sold,
            "contracts": made, "model": model["name"]}


EN = {"Accept-Language": "en"}


@pytest.fixture(scope="module")
def clerk(login):
    """The clerk of SH-C, answered in English."""
    return login("clerk", headers=EN)


@pytest.fixture(scope="module")
def supervisor(login):
    """The supervisor of SH-C, answered in English."""
    return login("supervisor", headers=EN)
