"""Pull (sync-protocol §5): scope, cursor, removed, pages with etags."""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import httpx

from server.accounts.service import create_user
from tests.conftest import sign_in

PASSWORD = "pull-pass-1"
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def register(url: str, username: str) -> dict:
    response = httpx.post(url + "/sync/devices", json={"username": username, "password": PASSWORD,
                                                       "device_name": "pull test"})
    assert response.status_code == 201, response.text
    return response.json()


def pull(url: str, device: dict, cursor: str | None = "") -> dict:
    params = {"cursor": cursor} if cursor is not None else {}
    response = httpx.get(url + "/sync/pull", params=params, headers={"Authorization": f"Bearer {device['token']}"})
    assert response.status_code == 200, response.text
    return response.json()


async def user_id(username: str) -> int:
    from server.accounts.tables import User

    return (await User.select(User.id).where(User.username == username).first())["id"]


async def new_technician() -> tuple[str, int]:
    name = f"pull_{secrets.token_hex(4)}"
    await create_user(name, PASSWORD, "technician", branch_code="SH-C")
    return name, await user_id(name)


async def new_order(technician: int | None, status: str = "dispatched", closed_days_ago: float | None = None) -> int:
    from server.accounts.tables import Branch
    from server.workorders.tables import WorkOrder

    branch = await Branch.select(Branch.id).where(Branch.code == "SH-C").first()
    now = datetime.now(timezone.utc)
    closed_at = now - timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    order = WorkOrder(number=f"WO-PULL-{secrets.token_hex(4)}", branch=branch["id"], category="C", zone="urban",
                      description="pull test", status=status, assigned_to=technician, received_at=now,
                      dispatched_at=now, closed_at=closed_at, created_at=now, updated_at=now)
    await order.save()
    return order.id


async def change(order_id: int, **values) -> None:
    from server.workorders.tables import WorkOrder

    updates = {getattr(WorkOrder, k): v for k, v in values.items()}
    updates[WorkOrder.version] = WorkOrder.version + 1
    updates[WorkOrder.updated_at] = datetime.now(timezone.utc)
    await WorkOrder.update(updates).where(WorkOrder.id == order_id)


def urls(reply: dict) -> dict[str, str]:
    return {page["url"]: page["etag"] for page in reply["pages"]}


async def test_a_first_pull_lists_the_technicians_scope_with_pages_and_etags(live_server, db):
    name, tech = await new_technician()
    other_name, other = await new_technician()
    open_ids = [await new_order(tech, "dispatched"), await new_order(tech, "in_progress"),
                await new_order(tech, "completed")]
    recently_closed = await new_order(tech, "closed", closed_days_ago=3)
    long_closed = await new_order(tech, "closed", closed_days_ago=8)
    cancelled = await new_order(tech, "cancelled")
    someone_elses = await new_order(other, "dispatched")
    waiting = await new_order(None, "waiting")

    device = register(live_server.url, name)
    reply = pull(live_server.url, device, cursor=None)
    assert set(reply) == {"cursor", "work_orders", "removed", "pages", "last_seq", "server_time"}
    listed = {o["id"]: o for o in reply["work_orders"]}
    assert set(listed) == {*open_ids, recently_closed}
    assert not {long_closed, cancelled, someone_elses, waiting} & set(listed)
    first = listed[open_ids[0]]
    assert first["version"] == 1 and first["status"] == "dispatched" and RFC3339_Z.match(first["updated_at"])
    assert listed[recently_closed]["status"] == "closed"
    assert reply["removed"] == [] and reply["last_seq"] == 0
    assert RFC3339_Z.match(reply["server_time"])
    assert isinstance(reply["cursor"], str) and reply["cursor"]
    pages = urls(reply)
    assert {"/tech", "/tech/parts"} <= set(pages)
    for order_id in listed:
        assert pages[f"/tech/orders/{order_id}"] == '"v1"'
    assert all(re.match(r'^"[^"]+"$', etag) for etag in pages.values())
    assert len(pages) == len(listed) + 2


async def test_with_a_cursor_only_what_changed_is_listed(live_server, db):
    name, tech = await new_technician()
    a, b = await new_order(tech), await new_order(tech)
    device = register(live_server.url, name)
    first = pull(live_server.url, device)
    nothing = pull(live_server.url, device, first["cursor"])
    assert nothing["work_orders"] == [] and nothing["removed"] == [] and nothing["pages"] == []

    await change(b, status="in_progress")
    second = pull(live_server.url, device, nothing["cursor"])
    assert [(o["id"], o["version"], o["status"]) for o in second["work_orders"]] == [(b, 2, "in_progress")]
    pages = urls(second)
    assert pages == {f"/tech/orders/{b}": '"v2"', "/tech": pages["/tech"]}
    assert pages["/tech"] != urls(first)["/tech"]
    assert second["removed"] == []

    # the reply got lost: the device asks again with its old cursor and gets the same news
    again = pull(live_server.url, device, nothing["cursor"])
    assert [o["id"] for o in again["work_orders"]] == [b] and urls(again) == pages
    assert pull(live_server.url, device, second["cursor"])["work_orders"] == []
    # an empty cursor lists the whole scope again
    assert {o["id"] for o in pull(live_server.url, device)["work_orders"]} == {a, b}


async def test_orders_leaving_the_scope_are_removed(live_server, db):
    name, tech = await new_technician()
    other_name, other = await new_technician()
    stays, redispatched, cancelled, closed_long_ago = (await new_order(tech), await new_order(tech),
                                                       await new_order(tech), await new_order(tech, "completed"))
    closed_recently = await new_order(tech, "completed")
    device = register(live_server.url, name)
    other_device = register(live_server.url, other_name)
    start = pull(live_server.url, device)
    other_start = pull(live_server.url, other_device)
    assert other_start["work_orders"] == []

    await change(redispatched, assigned_to=other)
    await change(cancelled, status="cancelled")
    await change(closed_long_ago, status="closed", closed_at=datetime.now(timezone.utc) - timedelta(days=7, hours=1))
    await change(closed_recently, status="closed", closed_at=datetime.now(timezone.utc) - timedelta(days=6))
    reply = pull(live_server.url, device, start["cursor"])
    assert reply["removed"] == sorted([redispatched, cancelled, closed_long_ago])
    assert [o["id"] for o in reply["work_orders"]] == [closed_recently]
    assert f"/tech/orders/{redispatched}" not in urls(reply) and "/tech" in urls(reply)
    assert stays not in reply["removed"]
    # said once per cursor; said again to a device that did not get the reply
    assert pull(live_server.url, device, reply["cursor"])["removed"] == []
    assert pull(live_server.url, device, start["cursor"])["removed"] == sorted([redispatched, cancelled, closed_long_ago])
    # the order arrives on the other technician's device
    taken = pull(live_server.url, other_device, other_start["cursor"])
    assert [o["id"] for o in taken["work_orders"]] == [redispatched]

    # and comes back when it is dispatched back
    await change(redispatched, assigned_to=tech)
    back = pull(live_server.url, device, reply["cursor"])
    assert [(o["id"], o["version"]) for o in back["work_orders"]] == [(redispatched, 3)]
    assert pull(live_server.url, other_device, taken["cursor"])["removed"] == [redispatched]


async def test_parts_page_changes_with_the_catalogue_and_the_van_stock(live_server, db):
    from server.parts.tables import Part, VanStock

    name, tech = await new_technician()
    device = register(live_server.url, name)
    start = pull(live_server.url, device)
    etag = urls(start)["/tech/parts"]
    part = Part(code=f"PULL-{secrets.token_hex(3)}", name="测试件", unit_price_cents=100)
    await part.save()
    catalogue = pull(live_server.url, device, start["cursor"])
    assert set(urls(catalogue)) == {"/tech/parts"} and urls(catalogue)["/tech/parts"] != etag
    stock = VanStock(technician=tech, part=part.id, qty=Decimal("2"))
    await stock.save()
    van = pull(live_server.url, device, catalogue["cursor"])
    assert set(urls(van)) == {"/tech/parts"}
    await VanStock.update({VanStock.qty: Decimal("1.5")}).where(VanStock.id == stock.id)
    used = pull(live_server.url, device, van["cursor"])
    assert set(urls(used)) == {"/tech/parts"} and urls(used)["/tech/parts"] != urls(van)["/tech/parts"]
    await Part.update({Part.version: Part.version + 1}).where(Part.id == part.id)
    priced = pull(live_server.url, device, used["cursor"])
    assert set(urls(priced)) == {"/tech/parts"}
    assert pull(live_server.url, device, priced["cursor"])["pages"] == []


async def test_cursors_belong_to_one_device(live_server, db):
    name, tech = await new_technician()
    order = await new_order(tech)
    phone, tablet = register(live_server.url, name), register(live_server.url, name)
    phone_cursor = pull(live_server.url, phone)["cursor"]
    # the tablet never got anything: another device's cursor lists the whole scope
    assert [o["id"] for o in pull(live_server.url, tablet, phone_cursor)["work_orders"]] == [order]
    for garbage in ("not base64!", base64.urlsafe_b64encode(b'{"x": 1}').decode(), "e30"):
        response = httpx.get(live_server.url + "/sync/pull", params={"cursor": garbage},
                             headers={"Authorization": f"Bearer {phone['token']}", "Accept-Language": "en"})
        assert response.status_code == 400 and "cursor" in response.json()["message"]


async def test_pull_needs_a_device_token(live_server, db):
    name, _tech = await new_technician()
    session = sign_in(live_server.url, name, PASSWORD)
    response = session.get("/sync/pull")
    assert response.status_code == 401 and response.json()["error"] == "unauthorized"


async def test_pull_reports_the_devices_last_seq_and_records_the_sync(live_server, db):
    from server.sync.tables import Device

    name, _tech = await new_technician()
    device = register(live_server.url, name)
    await Device.update({Device.last_seq: 7}).where(Device.device_id == device["device_id"])
    assert pull(live_server.url, device)["last_seq"] == 7
    row = await Device.select(Device.last_sync_at).where(Device.device_id == device["device_id"]).first()
    assert row["last_sync_at"] is not None
