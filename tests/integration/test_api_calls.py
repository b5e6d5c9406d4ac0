"""The JSON API of the call register, parts and users, against the live server: shapes,
guards, branch scoping, and bad input answered 4xx with a translated message, never 5xx."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from server.calls.tables import ServiceCall
from server.customers.tables import Customer
from server.workorders.tables import WorkOrder
from tests.integration.call_data import EN, clerk, supervisor, branch, make_customer, unique_phone  # noqa: F401 (fixtures)

ZH = {"Accept-Language": "zh-CN"}


def new_customer(**extra) -> dict:
    return {"name": "接口客户", "phone": unique_phone(), "address": "上海市长宁区测试路2号", "zone": "urban", **extra}


async def test_register_read_and_list_a_call(db, clerk):
    body = {"customer": new_customer(customer_class="A"), "fault": "监护仪报警", "channel": "web", "model_text": "MED-PM12"}
    created = clerk.post("/api/calls", json=body)
    assert created.status_code == 201, created.text
    call = created.json()
    assert call["number"].startswith("SH-C-") and call["status"] == "dispatching" and call["branch_code"] == "SH-C"
    assert call["customer"]["phone"] == body["customer"]["phone"] and call["customer"]["customer_class"] == "A"
    assert call["product"] == {"on_file": False, "sold_unit_id": None, "model": "MED-PM12", "model_code": "",
                               "serial": "", "sale_date": None, "warranty_end": None}
    assert call["category"]["code"] == "A" and call["category"]["reason"] == "unknown_unit"
    assert call["category"]["explanation"] and call["owner"] == "李娜"
    order = call["work_order"]
    assert order["status"] == "waiting" and order["sla_due_at"] and order["technician"] is None
    assert clerk.get(f"/api/calls/{call['id']}").json() == call
    listed = clerk.get("/api/calls", params={"q": body["customer"]["phone"]}).json()
    assert listed["total"] == 1 and listed["per_page"] == 25 and listed["items"][0]["number"] == call["number"]
    assert listed["items"][0]["work_order_status"] == "waiting"
    found = clerk.get("/api/customers", params={"phone": body["customer"]["phone"]}).json()
    assert [c["exact"] for c in found] == [True] and found[0]["id"] == call["customer"]["id"]


async def test_a_duplicate_customer_answers_409_in_both_languages(db, clerk, login):
    existing = await make_customer()
    body = {"customer": new_customer(phone=existing["phone"]), "fault": "x", "channel": "phone", "model_text": "M"}
    en = clerk.post("/api/calls", json=body)
    assert en.status_code == 409 and en.json()["error"] == "conflict"
    assert f"customer_id {existing['id']}" in en.json()["message"]
    zh = login("clerk", headers=ZH).post("/api/calls", json=body)
    assert zh.status_code == 409 and "已存在" in zh.json()["message"]
    assert await Customer.count().where(Customer.phone == existing["phone"]) == 1
    again = clerk.post("/api/calls", json={"customer_id": existing["id"], "fault": "x", "channel": "phone", "model_text": "M"})
    assert again.status_code == 201 and again.json()["customer"]["id"] == existing["id"]


async def test_triage_and_category_through_the_api(db, clerk):
    customer = await make_customer(units=(-30, 90), contracts=((0, -100, 100, "active"),))
    contract_unit, warranty_unit = customer["units"]
    remote = clerk.post("/api/calls", json={"customer_id": customer["id"], "serial": contract_unit["serial"],
                                            "fault": "x", "channel": "email", "triage": "remote", "triage_note": "远程复位"})
    assert remote.status_code == 201
    assert remote.json()["status"] == "solved_remotely" and remote.json()["work_order"] is None
    assert remote.json()["category"]["code"] == "B" and remote.json()["contracts"][0]["covers_call"] is True
    in_warranty = clerk.post("/api/calls", json={"customer_id": customer["id"], "sold_unit_id": warranty_unit["id"],
                                                 "fault": "x", "channel": "walk_in"}).json()
    assert in_warranty["category"]["code"] == "C" and in_warranty["product"]["warranty_end"] == warranty_unit["warranty_end"].isoformat()
    missing_note = clerk.post("/api/calls", json={"customer_id": customer["id"], "sold_unit_id": warranty_unit["id"],
                                                  "fault": "x", "channel": "phone", "triage": "remote"})
    assert missing_note.status_code == 422 and "triage_note" in missing_note.json()["message"]
    other = await make_customer(units=(10,))
    foreign = clerk.post("/api/calls", json={"customer_id": customer["id"], "sold_unit_id": other["units"][0]["id"],
                                             "fault": "x", "channel": "phone"})
    assert foreign.status_code == 422 and "not one of the customer" in foreign.json()["message"]
    foreign_serial = clerk.post("/api/calls", json={"customer_id": customer["id"], "serial": other["units"][0]["serial"],
                                                    "fault": "x", "channel": "phone"})
    assert foreign_serial.status_code == 422 and "another customer" in foreign_serial.json()["message"]


async def test_override_through_the_api(db, clerk, supervisor, login):
    customer = await make_customer(units=(-30,))
    call = clerk.post("/api/calls", json={"customer_id": customer["id"], "sold_unit_id": customer["units"][0]["id"],
                                          "fault": "x", "channel": "phone"}).json()
    path = f"/api/calls/{call['id']}/category"
    assert clerk.post(path, json={"category": "B", "reason": "r"}).status_code == 403
    assert supervisor.post(path, json={"category": "D", "reason": "r"}).status_code == 400
    assert supervisor.post(path, json={"category": "B"}).status_code == 400
    assert supervisor.post(path, json={"category": "A", "reason": "同类"}).status_code == 422
    done = supervisor.post(path, json={"category": "B", "reason": "合同补签"})
    assert done.status_code == 200
    category = done.json()["category"]
    assert (category["code"], category["reason"], category["override_reason"]) == ("B", "override", "合同补签")
    assert category["derived"] == "A" and category["overridden_by"] == "王建国"
    assert [(o["from_category"], o["to_category"]) for o in category["overrides"]] == [("A", "B")]
    order = await WorkOrder.select().where(WorkOrder.call == call["id"]).first()
    assert order["category"] == "B" and order["version"] == call["work_order"]["version"] + 1
    assert login("supervisor2").post(path, json={"category": "C", "reason": "r"}).status_code == 404


MALFORMED = [
    ("not json", "text/plain"),
    ("{not json", "application/json"),
    ("", "application/json"),
    ("[1, 2]", "application/json"),
    ('{"fault": 1, "channel": "phone", "customer_id": 1}', "application/json"),
    ('{"channel": "phone", "customer_id": 1}', "application/json"),
    ('{"fault": "x", "channel": "fax", "customer_id": 1}', "application/json"),
    ('{"fault": "x", "channel": "phone", "customer_id": "one"}', "application/json"),
    ('{"fault": "x", "channel": "phone", "customer_id": 99999999999999999999999}', "application/json"),
    ('{"fault": "x", "channel": "phone", "customer_id": 1, "received_at": "yesterday"}', "application/json"),
    ('{"fault": "x", "channel": "phone", "customer_id": 1, "surprise": true}', "application/json"),
    (json.dumps({"fault": "坏" * 5000, "channel": "phone", "customer_id": 1}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer": {"name": "n" * 500, "phone": "1", "address": "a", "zone": "urban"}}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer": {"name": "n", "address": "a", "zone": "mars"}}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone"}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer_id": 1, "customer": new_customer()}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer": new_customer(phone="abc")}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer_id": 987654321, "model_text": "M"}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer_id": 1, "model_text": "M",
                 "received_at": (datetime.now(timezone.utc) + timedelta(hours=3)).isoformat()}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer_id": 1, "model_text": "M",
                 "received_at": "1999-01-01T08:00:00+08:00"}), "application/json"),
    (json.dumps({"fault": "x", "channel": "phone", "customer_id": 1, "model_text": "M", "serial": "S" * 81}), "application/json"),
    (json.dumps({"fault": "  ", "channel": "phone", "customer_id": 1, "model_text": "M"}), "application/json"),
]


@pytest.mark.parametrize("body, content_type", MALFORMED)
def test_bad_bodies_answer_4xx_with_a_translated_message(login, clerk, body, content_type):
    response = clerk.post("/api/calls", content=body.encode(), headers={"Content-Type": content_type})
    assert response.status_code in (400, 409, 415, 422), response.text
    answer = response.json()
    assert set(answer) >= {"error", "message"} and answer["message"]
    zh = login("clerk", headers=ZH).post("/api/calls", content=body.encode(), headers={"Content-Type": content_type})
    assert zh.status_code == response.status_code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh.json()["message"]), zh.json()


@pytest.mark.parametrize("path", [
    "/api/calls?page=0", "/api/calls?page=abc", "/api/calls?status=bogus", "/api/calls?date_from=2026-02-30",
    "/api/calls?date_from=2026-03-05&date_to=2026-03-01", "/api/calls?q=" + "x" * 300, "/api/calls/abc",
    "/api/calls/0", "/api/customers", "/api/customers?phone=" + "1" * 31, "/api/users?role=king",
])
def test_bad_queries_answer_4xx(supervisor, path):
    response = supervisor.get(path)
    assert 400 <= response.status_code < 500, response.text
    assert set(response.json()) >= {"error", "message"}


def test_the_parts_catalogue_for_every_signed_in_role(live_server, login):
    for username in ("clerk", "tech1", "supervisor", "hq"):
        parts = login(username).get("/api/parts")
        assert parts.status_code == 200
        items = parts.json()
        assert len(items) >= 20 and all({"code", "name", "unit_price_cents"} <= set(p) for p in items)
        assert all(isinstance(p["unit_price_cents"], int) for p in items)
    assert {"code": "LED-40W", "name": "LED 灯板 40W", "unit_price_cents": 6800}.items() <= next(
        p for p in items if p["code"] == "LED-40W").items()
    assert httpx.get(live_server.url + "/api/parts").status_code == 401


def test_users_of_the_branch(login, supervisor):
    technicians = {u["username"] for u in supervisor.get("/api/users", params={"role": "technician"}).json()}
    assert {"tech1", "tech2"} <= technicians and "tech3" not in technicians
    everyone = supervisor.get("/api/users").json()
    assert all(u["branch_code"] == "SH-C" for u in everyone) and "clerk2" not in {u["username"] for u in everyone}
    hq = {u["username"] for u in login("hq").get("/api/users", params={"role": "technician"}).json()}
    assert {"tech1", "tech2", "tech3"} <= hq
    songjiang = {u["username"] for u in login("hq").get("/api/users", params={"branch": "SH-S"}).json()}
    assert "clerk2" in songjiang and "clerk" not in songjiang
    assert login("clerk").get("/api/users").status_code == 403
    assert login("tech1").get("/api/users").status_code == 403


async def test_the_api_list_is_scoped_and_filtered(db, clerk, login):
    customer = await make_customer(branch_code="SH-S", zone="suburban")
    clerk2 = login("clerk2", headers=EN)
    made = clerk2.post("/api/calls", json={"customer_id": customer["id"], "fault": "x", "channel": "phone", "model_text": "M"})
    assert made.status_code == 201 and made.json()["number"].startswith("SH-S-")
    assert made.json()["work_order"]["sla_due_at"]
    assert clerk.get("/api/calls", params={"q": customer["phone"]}).json()["total"] == 0
    assert clerk.get(f"/api/calls/{made.json()['id']}").status_code == 404
    assert clerk2.get("/api/calls", params={"q": customer["phone"], "zone": "suburban"}).json()["total"] == 1
    assert clerk2.get("/api/calls", params={"q": customer["phone"], "status": "solved_remotely"}).json()["total"] == 0
    hq = login("hq")
    assert hq.get("/api/calls", params={"q": customer["phone"], "branch": "SH-S"}).json()["total"] == 1
    assert hq.get("/api/calls", params={"q": customer["phone"], "branch": "SH-C"}).json()["total"] == 0
    # a clerk may not attach a call to another branch's customer found only by id
    stolen = clerk.post("/api/calls", json={"customer_id": customer["id"], "fault": "x", "channel": "phone", "model_text": "M"})
    assert stolen.status_code == 422
    told = clerk.post("/api/calls", json={"customer_id": customer["id"], "phone": customer["phone"], "fault": "x",
                                          "channel": "phone", "model_text": "M"})
    assert told.status_code == 201 and told.json()["branch_code"] == "SH-C"  # the caller told the number
    sh_s = await branch("SH-S")
    assert await ServiceCall.count().where((ServiceCall.customer == customer["id"]) & (ServiceCall.branch != sh_s["id"])) == 1


def test_the_api_is_documented_in_openapi(live_server):
    schema = httpx.get(live_server.url + "/schema/openapi.json").json()
    for path in ("/api/calls", "/api/calls/{call_id}", "/api/calls/{call_id}/category", "/api/customers",
                 "/api/parts", "/api/users"):
        assert path in schema["paths"], path
    body = schema["components"]["schemas"]["RegisterCallBody"]
    assert {"fault", "channel"} <= set(body["required"])
    assert "walk_in" in json.dumps(body["properties"]["channel"])


async def test_simultaneous_registrations_get_distinct_numbers(db, login):
    from concurrent.futures import ThreadPoolExecutor

    customer = await make_customer()
    clients = [login("clerk", headers=EN) for _ in range(6)]
    body = {"customer_id": customer["id"], "fault": "同时登记", "channel": "phone", "model_text": "M"}
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda client: client.post("/api/calls", json=body), clients))
    assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
    numbers = {a.json()["number"] for a in answers}
    orders = {a.json()["work_order"]["number"] for a in answers}
    assert len(numbers) == 6 and len(orders) == 6
