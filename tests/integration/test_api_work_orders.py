"""The work orders JSON API: the read-back shape of sync-protocol §7, who may read what,
dispatch / re-dispatch / cancel / internal work from the API, and clear 4xx answers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from server.accounts.rules import CurrentUser
from server.sync import readback
from server.workorders import service
from server.workorders.tables import DispatchEvent, WorkOrder
from tests.integration.test_dispatch import branch_row, make_order, order_row, user_id

REPORT_KEYS = {"fee_cents", "labour_minutes", "outcome", "parts", "signer_name", "work_done", "work_order_id"}
DETAIL_KEYS = {"id", "version", "status", "category", "assigned_to", "arrived_at", "sla_due_at", "report",
               "parts", "labour", "notes", "photos", "payments", "signoffs", "ratings", "conflicts",
               "depot_repairs"}


def rfc3339(value: str) -> datetime:
    assert "T" in value and (value.endswith("Z") or value[-6] in "+-"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_read_back_has_exactly_the_shape_of_sync_protocol_section_7(db, login):
    order_id = await make_order()
    supervisor = login("supervisor", headers={"Accept-Language": "en"})
    body = supervisor.get(f"/api/work-orders/{order_id}").json()
    assert set(body) == DETAIL_KEYS
    assert body["id"] == order_id and body["version"] == 1 and body["status"] == "waiting"
    assert body["category"] == "A" and body["assigned_to"] is None and body["arrived_at"] is None
    row = await order_row(order_id)
    assert rfc3339(body["sla_due_at"]) == row["sla_due_at"]
    assert body["report"] == {"fee_cents": 0, "labour_minutes": 0, "outcome": None, "parts": [],
                              "signer_name": None, "work_done": None, "work_order_id": order_id}
    for name in ("parts", "labour", "notes", "photos", "payments", "signoffs", "ratings", "conflicts",
                 "depot_repairs"):
        assert body[name] == []

    dispatched = supervisor.post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech1"})
    assert dispatched.status_code == 200
    assert set(dispatched.json()) == DETAIL_KEYS
    assert dispatched.json()["assigned_to"] == "tech1" and dispatched.json()["version"] == 2
    assert dispatched.json()["status"] == "dispatched"


async def test_a_technician_reads_only_orders_assigned_to_them_now(db, login):
    order_id = await make_order()
    supervisor = login("supervisor")
    tech1, tech2 = login("tech1"), login("tech2")
    assert tech1.get(f"/api/work-orders/{order_id}").status_code == 404  # not assigned yet
    supervisor.post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech1"})
    assert tech1.get(f"/api/work-orders/{order_id}").json()["assigned_to"] == "tech1"
    assert tech2.get(f"/api/work-orders/{order_id}").status_code == 404
    listed = tech1.get("/api/work-orders").json()
    assert order_id in [o["id"] for o in listed] and {o["assigned_to"] for o in listed} == {"tech1"}

    redispatched = supervisor.post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech2"})
    assert redispatched.status_code == 200 and redispatched.json()["version"] == 3
    missing = tech1.get(f"/api/work-orders/{order_id}")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert order_id not in [o["id"] for o in tech1.get("/api/work-orders").json()]
    assert tech2.get(f"/api/work-orders/{order_id}").json()["assigned_to"] == "tech2"
    assert [(e["action"]) for e in await DispatchEvent.select(DispatchEvent.action).where(
        DispatchEvent.work_order == order_id).order_by(DispatchEvent.id)] == ["dispatch", "redispatch"]


async def test_dispatch_answers_404_422_and_409_with_clear_messages(db, login):
    supervisor = login("supervisor", headers={"Accept-Language": "en"})
    order_id = await make_order()
    unknown = supervisor.post("/api/work-orders/987654321/dispatch", json={"technician": "tech1"})
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"
    for body, words in (({"technician": "nobody-at-all"}, "There is no user"),
                        ({"technician": "clerk"}, "is not a technician"),
                        ({"technician": "tech3"}, "works for another branch"),
                        ({}, "Choose a technician"),
                        ({"technician": "  "}, "Choose a technician")):
        response = supervisor.post(f"/api/work-orders/{order_id}/dispatch", json=body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_input" and words in response.json()["message"]
    malformed = supervisor.post(f"/api/work-orders/{order_id}/dispatch", content=b"{not json",
                                headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and set(malformed.json()) >= {"error", "message"}
    wrong_type = supervisor.post(f"/api/work-orders/{order_id}/dispatch", json=["tech1"])
    assert 400 <= wrong_type.status_code < 500 and "message" in wrong_type.json()
    assert (await order_row(order_id))["version"] == 1

    completed = await make_order(status="completed", assigned="tech1", arrived=datetime.now(timezone.utc))
    response = supervisor.post(f"/api/work-orders/{completed}/dispatch", json={"technician": "tech2"})
    assert response.status_code == 409 and "already completed" in response.json()["message"]

    chinese = login("supervisor", headers={"Accept-Language": "zh-CN"})
    response = chinese.post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech3"})
    assert response.status_code == 422 and "其他" in response.json()["message"]


async def test_redispatch_to_the_same_technician_changes_nothing(db, login):
    supervisor = login("supervisor")
    order_id = await make_order()
    supervisor.post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech2"})
    again = supervisor.post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech2"})
    assert again.status_code == 200 and again.json()["version"] == 2
    assert await DispatchEvent.count().where(DispatchEvent.work_order == order_id) == 1


async def test_cancel_needs_a_reason_and_ends_the_order(db, login):
    supervisor = login("supervisor", headers={"Accept-Language": "en"})
    order_id = await make_order(assigned="tech1", status="dispatched")
    for body in ({}, {"reason": ""}, {"reason": "x" * 501}):
        response = supervisor.post(f"/api/work-orders/{order_id}/cancel", json=body)
        assert response.status_code == 422 and "reason" in response.json()["message"]
    response = supervisor.post(f"/api/work-orders/{order_id}/cancel", json={"reason": "客户取消"})
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled" and response.json()["version"] == 2
    assert (await order_row(order_id))["cancel_reason"] == "客户取消"
    again = supervisor.post(f"/api/work-orders/{order_id}/cancel", json={"reason": "再次"})
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    # the technician it was assigned to sees that it was cancelled
    assert login("tech1").get(f"/api/work-orders/{order_id}").json()["status"] == "cancelled"


async def test_internal_work_order_from_the_api(db, login):
    supervisor = login("supervisor", headers={"Accept-Language": "en"})
    created = supervisor.post("/api/work-orders", json={"description": "季度工具检查", "zone": "urban"})
    assert created.status_code == 201
    body = created.json()
    assert set(body) == DETAIL_KEYS
    assert body["category"] == "D" and body["sla_due_at"] is None and body["status"] == "waiting"
    row = await order_row(body["id"])
    assert row["call"] is None and row["branch"] == (await branch_row("SH-C"))["id"]
    for bad, words in (({"description": ""}, "Describe the work"), ({}, "Describe the work"),
                       ({"description": "x", "zone": "moon"}, "urban or suburban")):
        response = supervisor.post("/api/work-orders", json=bad)
        assert response.status_code == 422 and words in response.json()["message"]
    hq = login("hq", headers={"Accept-Language": "en"})
    assert hq.post("/api/work-orders", json={"description": "培训"}).status_code == 422
    songjiang = (await branch_row("SH-S"))["id"]
    made = hq.post("/api/work-orders", json={"description": "培训", "branch": songjiang})
    assert made.status_code == 201 and (await order_row(made.json()["id"]))["zone"] == "suburban"
    assert supervisor.post("/api/work-orders", json={"description": "x", "branch": songjiang}).status_code == 422


async def test_list_filters_by_status_and_branch_within_rights(db, login):
    mine = await make_order()
    theirs = await make_order("SH-S", zone="suburban")
    supervisor = login("supervisor", headers={"Accept-Language": "en"})
    waiting = supervisor.get("/api/work-orders", params={"status": "waiting", "limit": 500}).json()
    assert {o["status"] for o in waiting} == {"waiting"} and {o["branch"] for o in waiting} == {"SH-C"}
    assert mine in [o["id"] for o in waiting] and theirs not in [o["id"] for o in waiting]
    both = supervisor.get("/api/work-orders", params={"status": "waiting,dispatched"}).json()
    assert {o["status"] for o in both} <= {"waiting", "dispatched"}
    assert supervisor.get("/api/work-orders", params={"branch": "SH-S"}).status_code == 403
    bad = supervisor.get("/api/work-orders", params={"status": "lost"})
    assert bad.status_code == 422 and "lost" in bad.json()["message"]
    assert supervisor.get("/api/work-orders", params={"limit": 0}).status_code == 422
    hq = login("hq")
    songjiang = hq.get("/api/work-orders", params={"branch": "SH-S", "status": "waiting", "limit": 500}).json()
    assert theirs in [o["id"] for o in songjiang] and {o["branch"] for o in songjiang} == {"SH-S"}


async def test_roles_and_branches_guard_every_work_order_route(db, login, live_server):
    sh_c = await make_order()
    for username in ("clerk", "tech1"):
        client = login(username)
        assert client.post(f"/api/work-orders/{sh_c}/dispatch", json={"technician": "tech1"}).status_code == 403
        assert client.post(f"/api/work-orders/{sh_c}/cancel", json={"reason": "x"}).status_code == 403
        assert client.post("/api/work-orders", json={"description": "x"}).status_code == 403
    assert login("clerk").get(f"/api/work-orders/{sh_c}").status_code == 200  # clerks read their branch's
    supervisor2 = login("supervisor2")
    assert supervisor2.get(f"/api/work-orders/{sh_c}").status_code == 404
    assert supervisor2.post(f"/api/work-orders/{sh_c}/dispatch", json={"technician": "tech3"}).status_code == 404
    assert supervisor2.post(f"/api/work-orders/{sh_c}/cancel", json={"reason": "x"}).status_code == 404
    anonymous = httpx.get(f"{live_server.url}/api/work-orders/{sh_c}")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "unauthorized"
    no_csrf = login("supervisor")
    no_csrf.csrf_token = ""
    assert no_csrf.post(f"/api/work-orders/{sh_c}/dispatch", json={"technician": "tech1"}).status_code == 403
    assert (await order_row(sh_c))["status"] == "waiting"


async def test_report_is_built_from_what_the_technician_recorded(db, monkeypatch):
    """sync-protocol §4/§7: parts not voided sorted by line_id with the shortest quantity,
    labour seconds // 60, fee = the payments; times in the lists as RFC 3339."""
    order_id = await make_order(status="completed", assigned="tech1", arrived=datetime.now(timezone.utc))
    await WorkOrder.update({WorkOrder.outcome: "fixed", WorkOrder.work_done: "更换驱动电源"}).where(
        WorkOrder.id == order_id)
    start = datetime(2026, 11, 25, 1, 0, tzinfo=timezone.utc)
    facts = {name: [] for name in readback.FACT_LISTS}
    facts["parts"] = [
        {"line_id": "b-line", "part_code": "LED-DRV-40", "qty": "2.50", "voided": False},
        {"line_id": "a-line", "part_code": "LED-40W", "qty": "2.0", "voided": False},
        {"line_id": "c-line", "part_code": "GEN-SCREW", "qty": "1", "voided": True},
    ]
    facts["labour"] = [{"entry_id": "l1", "started_at": start, "ended_at": start + timedelta(minutes=50, seconds=59)},
                       {"entry_id": "l2", "started_at": "2026-11-25T03:00:00Z", "ended_at": "2026-11-25T03:45:30Z"}]
    facts["payments"] = [{"payment_id": "p1", "amount_cents": 5000}, {"payment_id": "p2", "amount_cents": 1500}]

    async def recorded(work_order_id):
        assert work_order_id == order_id
        return facts

    monkeypatch.setattr(readback, "facts_for", recorded)
    supervisor = CurrentUser(id=await user_id("supervisor"), username="supervisor", display_name="王建国",
                             role="supervisor", branch_id=(await branch_row("SH-C"))["id"])
    body = await service.work_order_detail(order_id, supervisor)
    assert body["report"] == {
        "fee_cents": 6500, "labour_minutes": 96, "outcome": "fixed",
        "parts": [{"line_id": "a-line", "part_code": "LED-40W", "qty": "2"},
                  {"line_id": "b-line", "part_code": "LED-DRV-40", "qty": "2.5"}],
        "signer_name": None, "work_done": "更换驱动电源", "work_order_id": order_id,
    }
    assert body["labour"][0]["started_at"] == "2026-11-25T01:00:00Z"
    assert len(body["parts"]) == 3 and body["assigned_to"] == "tech1"
    other = CurrentUser(id=await user_id("tech2"), username="tech2", display_name="刘洋", role="technician",
                        branch_id=supervisor.branch_id)
    with pytest.raises(service.WorkOrderError) as refused:
        await service.work_order_detail(order_id, other)
    assert refused.value.status == 404


async def test_simultaneous_dispatches_never_lose_a_change(db, login):
    """Two supervisors at once: each change is a version and a history row, or a clear 409."""
    from concurrent.futures import ThreadPoolExecutor

    order_id = await make_order()
    clients = [login("supervisor", headers={"Accept-Language": "en"}) for _ in range(2)]

    def send(i: int):
        return clients[i % 2].post(f"/api/work-orders/{order_id}/dispatch",
                                   json={"technician": ("tech1", "tech2")[i % 2]})

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(send, range(6)))
    assert {a.status_code for a in answers} <= {200, 409}
    assert any(a.status_code == 200 for a in answers)
    for answer in answers:
        if answer.status_code == 409:
            assert "changed by someone else" in answer.json()["message"]
    row = await order_row(order_id)
    history = await DispatchEvent.count().where(DispatchEvent.work_order == order_id)
    assert row["version"] == 1 + history and row["status"] == "dispatched"


async def test_numbers_too_large_for_an_id_are_not_found_not_server_errors(db, login):
    supervisor = login("supervisor", headers={"Accept-Language": "en"})
    huge = "9" * 25
    for method, path, body in (("GET", f"/api/work-orders/{huge}", None),
                               ("POST", f"/api/work-orders/{huge}/dispatch", {"technician": "tech1"}),
                               ("POST", f"/api/work-orders/{huge}/cancel", {"reason": "x"}),
                               ("GET", f"/api/branches/{huge}/calendar", None)):
        response = supervisor.request(method, path, json=body)
        assert response.status_code == 404, path
        assert set(response.json()) >= {"error", "message"}
    assert supervisor.get("/api/work-orders", params={"offset": huge}).status_code == 422
    assert supervisor.post("/api/work-orders", json={"description": "x", "branch": int(huge)}).status_code == 422
    assert supervisor.post(f"/dispatch/orders/{huge}/dispatch", data={"technician": "tech1"}).status_code == 404
