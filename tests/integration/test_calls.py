"""The call register's pages against the live server: register a call on one screen (customer
found or created, category derived, triage), the call page, the override, the register."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, timezone

import pytest

from server.calls.service import calendar_of
from server.calls.tables import ServiceCall
from server.customers.tables import Customer
from server.dispatch.calendar import sla_due
from server.workorders.tables import DispatchEvent, WorkOrder
from tests.integration.call_data import EN, clerk, supervisor, TZ, branch, make_customer, today, unique_phone, user_id  # noqa: F401 (fixtures)



def register(client, **fields):
    data = {"channel": "phone", "triage": "dispatch", "fault": "灯不亮", **fields}
    return client.post("/calls/new", data=data)


def call_id_of(response) -> int:
    assert response.status_code == 303, response.text[:2000]
    return int(re.match(r"/calls/(\d+)\?registered=1", response.headers["location"]).group(1))


def count_of(page) -> int:
    """The register's "Calls found: N" line."""
    return int(re.search(r'<p class="muted">Calls found: (\d+)', page.text).group(1))


def local_input(moment: datetime) -> str:
    return moment.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


async def test_a_new_customer_call_gets_a_waiting_work_order_with_its_sla(db, clerk):
    phone = unique_phone()
    received = datetime.combine(today() - timedelta(days=2), time(16, 20), TZ)
    response = register(clerk, phone=phone, name="新客户张三", address="上海市黄浦区南京东路1号", zone="urban",
                        customer_class="A", model_text="LED-PL40 LED 平板灯 40W", serial="UNKNOWN-1",
                        channel="letter", received_at=local_input(received))
    call_id = call_id_of(response)
    call = await ServiceCall.select().where(ServiceCall.id == call_id).first()
    sh_c = await branch("SH-C")
    assert call["status"] == "dispatching" and call["branch"] == sh_c["id"]
    assert call["owner"] == await user_id("clerk") and call["channel"] == "letter"
    assert call["received_at"] == received.astimezone(timezone.utc)
    assert re.fullmatch(rf"SH-C-{received.strftime('%Y%m%d')}-\d{{4}}", call["number"])
    assert (call["model_text"], call["serial_text"], call["sold_unit"]) == ("LED-PL40 LED 平板灯 40W", "UNKNOWN-1", None)
    assert (call["category"], call["category_reason"]) == ("A", "unknown_unit")
    customer = await Customer.select().where(Customer.phone == phone).first()
    assert customer["id"] == call["customer"] and customer["branch"] == sh_c["id"] and customer["customer_class"] == "A"
    order = await WorkOrder.select().where(WorkOrder.call == call_id).first()
    assert order["status"] == "waiting" and order["category"] == "A" and order["zone"] == "urban"
    assert order["received_at"] == call["received_at"]
    assert order["sla_due_at"] == sla_due(call["received_at"], "urban", calendar_of(sh_c))
    assert re.fullmatch(rf"WO-{received.strftime('%Y%m%d')}-\d{{4}}", order["number"])
    page = clerk.get(f"/calls/{call_id}?registered=1")
    assert page.status_code == 200 and order["number"] in page.text and "新客户张三" in page.text
    assert "waits for dispatch" in page.text


async def test_a_duplicate_phone_is_caught_and_the_existing_customer_reused(db, clerk):
    existing = await make_customer()
    spaced = f"{existing['phone'][:3]}-{existing['phone'][3:7]} {existing['phone'][7:]}"
    response = register(clerk, phone=spaced, name="另一个名字", address="别处", zone="urban", model_text="X")
    assert response.status_code == 422
    assert "already exists" in response.text and existing["name"] in response.text
    assert f'name="customer_id" value="{existing["id"]}"' in response.text
    assert await Customer.count().where(Customer.name == "另一个名字") == 0
    call_id = call_id_of(register(clerk, phone=spaced, customer_id=str(existing["id"]), model_text="X"))
    call = await ServiceCall.select(ServiceCall.customer).where(ServiceCall.id == call_id).first()
    assert call["customer"] == existing["id"]
    assert await Customer.count().where(Customer.phone == existing["phone"]) == 1


async def test_the_customer_is_found_as_the_clerk_types(db, login, clerk):
    customer = await make_customer(units=(100,))
    partial = clerk.get("/calls/new/preview", params={"phone": customer["phone"][:8]})
    assert partial.status_code == 200 and customer["name"] in partial.text
    assert 'name="customer_id"' in partial.text and "data-existing" not in partial.text
    exact = clerk.get("/calls/new/preview", params={"phone": customer["phone"]})
    assert "data-existing" in exact.text and f'value="{customer["id"]}"' in exact.text
    assert customer["units"][0]["serial"] in exact.text and 'hx-swap-oob="true"' in exact.text
    other_branch = login("clerk2", headers=EN)
    assert customer["name"] not in other_branch.get("/calls/new/preview", params={"phone": customer["phone"][:8]}).text
    assert customer["name"] in other_branch.get("/calls/new/preview", params={"phone": customer["phone"]}).text


@pytest.mark.parametrize("units, contracts, pick, expected", [
    ((200,), (), 0, ("C", "warranty", "Within the free warranty period")),
    ((-30,), ((0, -300, 60, "active"),), 0, ("B", "contract", "Covered by maintenance contract")),
    ((-30,), ((None, -10, 10, "active"),), 0, ("B", "contract", "Covered by maintenance contract")),
    ((-30,), (), 0, ("A", "paid", "Out of warranty and not under contract")),
    ((-30,), ((0, -300, -1, "active"),), 0, ("A", "paid", "Out of warranty")),
    ((-30,), ((0, -300, 60, "terminated"),), 0, ("A", "paid", "Out of warranty")),
    ((-30,), ((None, -10, 10, "active"),), None, ("B", "contract", "Covered by maintenance contract")),
])
async def test_the_category_is_derived_and_shown_with_its_reason(db, clerk, units, contracts, pick, expected):
    customer = await make_customer(units=units, contracts=contracts)
    fields = {"phone": customer["phone"], "customer_id": str(customer["id"])}
    if pick is None:
        fields["model_text"] = "不在档的产品"
    else:
        fields["serial"] = customer["units"][pick]["serial"].lower()  # found ignoring case
    preview = clerk.get("/calls/new/preview", params=fields)
    code, reason, words = expected
    assert f'cat-box-{code}' in preview.text and words in preview.text
    call_id = call_id_of(register(clerk, **fields))
    call = await ServiceCall.select().where(ServiceCall.id == call_id).first()
    assert (call["category"], call["category_reason"]) == (code, reason)
    assert call["sold_unit"] == (customer["units"][pick]["id"] if pick is not None else None)
    order = await WorkOrder.select(WorkOrder.category).where(WorkOrder.call == call_id).first()
    assert order["category"] == code
    page = clerk.get(f"/calls/{call_id}")
    assert words in page.text
    if reason == "contract":
        assert customer["contracts"][0]["number"] in page.text


async def test_solved_by_phone_closes_the_call_without_a_work_order(db, clerk):
    customer = await make_customer(units=(50,))
    base = {"phone": customer["phone"], "customer_id": str(customer["id"]), "sold_unit_id": str(customer["units"][0]["id"]),
            "triage": "remote"}
    refused = register(clerk, **base)
    assert refused.status_code == 422 and "Say how the call was solved" in refused.text
    call_id = call_id_of(register(clerk, **base, triage_note="指导客户复位后恢复正常"))
    call = await ServiceCall.select().where(ServiceCall.id == call_id).first()
    assert call["status"] == "solved_remotely" and call["triage_note"] == "指导客户复位后恢复正常"
    assert await WorkOrder.count().where(WorkOrder.call == call_id) == 0
    assert "solved remotely" in clerk.get(f"/calls/{call_id}?registered=1").text


async def test_bad_input_rerenders_the_form_with_what_was_typed(db, clerk):
    phone = unique_phone()
    future = datetime.now(timezone.utc) + timedelta(days=1)
    response = register(clerk, phone=phone, name="王五", address="", zone="urban", fault="",
                        received_at=local_input(future), channel="fax", model_text="M")
    assert response.status_code == 422
    for words in ("cannot be in the future", "Enter the customer&#39;s address", "Describe the fault",
                  "Choose how the call came in"):
        assert words in response.text
    assert 'value="王五"' in response.text and phone in response.text
    assert await Customer.count().where(Customer.phone == phone) == 0
    zh = clerk.post("/calls/new", data={"phone": phone, "fault": "", "channel": "phone"},
                    headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 422 and "请按客户所述填写故障" in zh.text


async def test_a_supervisor_overrides_the_category_with_a_reason(db, clerk, supervisor, login):
    customer = await make_customer(units=(-30,))
    call_id = call_id_of(register(clerk, phone=customer["phone"], customer_id=str(customer["id"]),
                                  sold_unit_id=str(customer["units"][0]["id"])))
    order = await WorkOrder.select().where(WorkOrder.call == call_id).first()
    assert clerk.post(f"/calls/{call_id}/category", data={"category": "B", "reason": "x"}).status_code == 403
    no_reason = supervisor.post(f"/calls/{call_id}/category", data={"category": "B", "reason": " "})
    assert no_reason.status_code == 422 and "Give the reason for the override" in no_reason.text
    done = supervisor.post(f"/calls/{call_id}/category", data={"category": "B", "reason": "合同续签中，按合同服务"})
    assert done.status_code == 303
    call = await ServiceCall.select().where(ServiceCall.id == call_id).first()
    assert (call["category"], call["category_reason"]) == ("B", "override")
    assert call["category_override_reason"] == "合同续签中，按合同服务"
    assert call["category_overridden_by"] == await user_id("supervisor")
    changed = await WorkOrder.select().where(WorkOrder.id == order["id"]).first()
    assert changed["category"] == "B" and changed["version"] == order["version"] + 1
    event = await DispatchEvent.select().where((DispatchEvent.work_order == order["id"]) & (DispatchEvent.action == "category")).first()
    assert event["by_user"] == await user_id("supervisor") and "合同续签中" in event["reason"]
    page = supervisor.get(f"/calls/{call_id}")
    assert "合同续签中，按合同服务" in page.text and "A → B" in page.text and "Override the category" in page.text
    assert "Override the category" not in clerk.get(f"/calls/{call_id}").text
    # a completed work order keeps its category
    await WorkOrder.update({WorkOrder.status: "completed"}).where(WorkOrder.id == order["id"])
    assert supervisor.post(f"/calls/{call_id}/category", data={"category": "C", "reason": "保修凭证补交"}).status_code == 303
    kept = await WorkOrder.select().where(WorkOrder.id == order["id"]).first()
    assert kept["category"] == "B" and kept["version"] == changed["version"]
    assert (await ServiceCall.select(ServiceCall.category).where(ServiceCall.id == call_id).first())["category"] == "C"
    assert login("supervisor2").post(f"/calls/{call_id}/category", data={"category": "A", "reason": "x"}).status_code == 404


async def test_branches_are_kept_apart(db, clerk, login):
    customer = await make_customer()
    call_id = call_id_of(register(clerk, phone=customer["phone"], customer_id=str(customer["id"]), model_text="M"))
    number = (await ServiceCall.select(ServiceCall.number).where(ServiceCall.id == call_id).first())["number"]
    clerk2 = login("clerk2", headers=EN)
    assert clerk2.get(f"/calls/{call_id}").status_code == 404
    assert clerk2.get(f"/api/calls/{call_id}").status_code == 404
    assert number not in clerk2.get("/calls", params={"q": customer["phone"]}).text
    hq = login("hq", headers=EN)
    assert hq.get(f"/calls/{call_id}").status_code == 200
    assert number in hq.get("/calls", params={"q": customer["phone"], "branch": "SH-C"}).text
    assert number not in hq.get("/calls", params={"q": customer["phone"], "branch": "SH-S"}).text
    assert login("tech1").get("/calls").status_code == 403


async def test_the_service_department_picks_the_branch(db, login):
    hq = login("hq", headers=EN)
    customer = await make_customer(branch_code="SH-S", zone="suburban")
    fields = {"phone": customer["phone"], "customer_id": str(customer["id"]), "model_text": "M"}
    assert "Choose the branch that takes the call" in register(hq, **fields).text
    sh_s = await branch("SH-S")
    call_id = call_id_of(register(hq, **fields, branch_id=str(sh_s["id"])))
    call = await ServiceCall.select().where(ServiceCall.id == call_id).first()
    assert call["number"].startswith("SH-S-") and call["zone"] == "suburban"
    order = await WorkOrder.select().where(WorkOrder.call == call_id).first()
    assert order["branch"] == sh_s["id"] and order["sla_due_at"] == sla_due(call["received_at"], "suburban", calendar_of(sh_s))


async def test_the_register_filters_searches_and_pages(db, clerk):
    customer = await make_customer(units=(-30,), name="翻页客户")
    unit = customer["units"][0]
    old = datetime.combine(today() - timedelta(days=3), time(9, 0), TZ)
    ids = []
    for n in range(26):
        received = old if n == 0 else datetime.now(timezone.utc) - timedelta(minutes=30 - n)
        fields = {"phone": customer["phone"], "customer_id": str(customer["id"]), "sold_unit_id": str(unit["id"]),
                  "received_at": local_input(received)}
        if n % 5 == 0:
            fields.update(triage="remote", triage_note="电话解决")
        ids.append(call_id_of(register(clerk, **fields)))
    numbers = {i: (await ServiceCall.select(ServiceCall.number).where(ServiceCall.id == i).first())["number"] for i in ids}
    first = clerk.get("/calls", params={"q": customer["phone"]})
    assert count_of(first) == 26 and "page 1 of 2" in first.text
    shown = re.findall(r'<a href="/calls/(\d+)">', first.text)
    assert len(shown) == 25 and int(shown[0]) == ids[-1] and str(ids[0]) not in shown  # newest first
    second = clerk.get("/calls", params={"q": customer["phone"], "page": "2"})
    assert re.findall(r'<a href="/calls/(\d+)">', second.text) == [str(ids[0])]
    for q in (customer["name"], unit["serial"], customer["phone"][-6:]):
        assert count_of(clerk.get("/calls", params={"q": q})) == 26
    remote = clerk.get("/calls", params={"q": customer["phone"], "status": "solved_remotely"})
    assert count_of(remote) == 6
    assert count_of(clerk.get("/calls", params={"q": customer["phone"], "category": "B"})) == 0
    assert count_of(clerk.get("/calls", params={"q": customer["phone"], "category": "A", "zone": "urban"})) == 26
    assert count_of(clerk.get("/calls", params={"q": customer["phone"], "zone": "suburban"})) == 0
    day = old.date().isoformat()
    ranged = clerk.get("/calls", params={"q": customer["phone"], "date_from": day, "date_to": day})
    assert count_of(ranged) == 1 and numbers[ids[0]] in ranged.text
    fragment = clerk.get("/calls", params={"q": customer["phone"], "page": "2"},
                         headers={"HX-Request": "true", "HX-Target": "call-results"})
    assert fragment.text.lstrip().startswith('<div id="call-results"') and "<html" not in fragment.text
    assert numbers[ids[0]] in fragment.text
    bad = clerk.get("/calls", params={"status": "nonsense", "date_from": "2026-02-31", "page": "-3"})
    assert bad.status_code == 200 and "This choice is not valid" in bad.text and "Not a date" in bad.text


async def test_opening_a_call_is_logged(login, db):
    """seed 001 第三章: access to customer data is logged."""
    from server.accounts.tables import AuditEntry
    from server.calls.tables import ServiceCall

    supervisor = login("supervisor")
    call = await ServiceCall.select(ServiceCall.id).where(ServiceCall.number.like("SH-C-%")).first()
    before = await AuditEntry.count().where((AuditEntry.action == "call_viewed") & (AuditEntry.subject == f"call:{call['id']}"))
    assert supervisor.get(f"/calls/{call['id']}").status_code == 200
    after = await AuditEntry.count().where((AuditEntry.action == "call_viewed") & (AuditEntry.subject == f"call:{call['id']}"))
    assert after == before + 1
    # a call the user may not see is neither shown nor logged as seen
    other = login("clerk2")
    assert other.get(f"/calls/{call['id']}").status_code == 404
    assert await AuditEntry.count().where((AuditEntry.action == "call_viewed") & (AuditEntry.subject == f"call:{call['id']}")) == after
