"""Web Push end to end: real encrypted messages from the running server to a local push service.

The stand-in (tests/pushstandin.py) decrypts every message with the subscriber's private key
and checks the VAPID header, as a browser vendor's push service and the browser would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import timedelta

import httpx
import pytest

from server.accounts.service import utcnow
from server.push.tables import PushSubscription
from server.workorders.tables import WorkOrder
from tests.conftest import ROOT, make_env, start_server
from tests.pushstandin import PushStandIn, Subscriber

WAIT_S = 20.0


@pytest.fixture(scope="module")
def standin(live_server, login):
    service = PushStandIn()
    service.expected_key = login("clerk").get("/api/push/key").json()["public_key"]
    yield service
    service.close()


@pytest.fixture(scope="module")
def users(login):
    return {name: login(name) for name in ("clerk", "supervisor", "clerk2", "supervisor2", "tech1", "tech2",
                                           "manager")}


@pytest.fixture(scope="module")
def subscribe(standin, users):
    """subscribe("clerk") -> a new browser subscription of that user, stored by the server.
    Every subscription made here is dropped again at the end (the server is shared)."""
    made: list[tuple[str, Subscriber]] = []

    def _subscribe(username: str) -> Subscriber:
        sub = standin.subscriber()
        response = users[username].post("/api/push/subscriptions", json=sub.subscription())
        assert response.status_code == 201, response.text
        sub.id = response.json()["id"]
        made.append((username, sub))
        return sub

    yield _subscribe
    for username, sub in made:
        users[username].request("DELETE", "/api/push/subscriptions", json={"endpoint": sub.endpoint})


def register_call(client: httpx.Client, zone: str = "urban") -> tuple[dict, dict]:
    """A new call through the API, for a new customer with a unique name, phone and address.
    Returns the call as the API answers it and the customer as entered."""
    tag = secrets.token_hex(3)
    customer = {"name": f"推送测试客户{tag}", "phone": "139" + str(secrets.randbelow(10**8)).zfill(8),
                "address": f"上海市黄浦区推送路 {secrets.randbelow(900) + 100} 号 {tag}", "zone": zone,
                "customer_class": "B"}
    response = client.post("/api/calls", json={"customer": customer, "model_text": "LED 平板灯 40W",
                                               "fault": "灯具不亮，闪烁", "channel": "phone"})
    assert response.status_code == 201, response.text
    return response.json(), customer


def about(messages: list[dict], number: str) -> list[dict]:
    return [m for m in messages if number in m.get("title", "") + m.get("body", "")]


def requests_about(standin: PushStandIn, sub: Subscriber, number: str):
    """What the push service got for `sub` about one call (other events may reach it too)."""
    return [r for r in standin.requests_for(sub) if r.payload and number in r.payload["title"]]


def assert_no_personal_data(message: dict, customer: dict) -> None:
    assert set(message) == {"kind", "title", "body", "url", "tag"}
    raw = json.dumps(message, ensure_ascii=False)
    for field in ("name", "phone", "address"):
        assert customer[field] not in raw, f"the notice carries the customer's {field}"
    assert customer["phone"][-8:] not in raw


def test_the_public_key_is_made_once_kept_and_served(live_server, users):
    key = users["clerk"].get("/api/push/key").json()["public_key"]
    raw = base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))
    assert len(raw) == 65 and raw[0] == 4 and "=" not in key
    assert os.path.isfile(os.path.join(live_server.env["FS_DATA_DIR"], "vapid_private.pem"))
    shown = subprocess.run([sys.executable, "-m", "server.cli", "vapid"], env=live_server.env, cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert shown == key  # `fieldservice vapid` shows the same, kept key
    assert users["tech1"].get("/api/push/key").json()["public_key"] == key
    assert httpx.get(live_server.url + "/api/push/key").status_code == 401


def test_a_new_call_notifies_the_clerks_and_supervisors_of_its_branch_only(standin, users, subscribe):
    clerk, supervisor = subscribe("clerk"), subscribe("supervisor")
    clerk2, supervisor2 = subscribe("clerk2"), subscribe("supervisor2")
    tech, manager = subscribe("tech1"), subscribe("manager")

    call, customer = register_call(users["clerk"])
    number = call["number"]
    assert number.startswith("SH-C-")
    assert standin.wait_for(lambda: about(standin.messages_for(clerk), number)
                            and about(standin.messages_for(supervisor), number), WAIT_S), standin.problems()
    for sub in (clerk, supervisor):
        [message] = about(standin.messages_for(sub), number)
        assert message["kind"] == "call_registered"
        assert message["url"] == f"/calls/{call['id']}"
        assert "新叫修" in message["title"] and "New service call" in message["title"]
        assert "市区" in message["body"] and "urban" in message["body"]
        assert message["body"].split(" ")[0] in "ABCD"
        assert_no_personal_data(message, customer)

    # A call of the other branch reaches clerk2 and supervisor2; they never got the first one.
    other, _ = register_call(users["clerk2"], zone="suburban")
    assert other["number"].startswith("SH-S-")
    assert standin.wait_for(lambda: about(standin.messages_for(clerk2), other["number"])
                            and about(standin.messages_for(supervisor2), other["number"]), WAIT_S)
    for sub in (clerk2, supervisor2):
        assert about(standin.messages_for(sub), number) == []
        assert "郊区" in about(standin.messages_for(sub), other["number"])[0]["body"]
    for sub in (tech, manager):  # technicians and managers are not told about new calls
        assert about(standin.messages_for(sub), number) == []
        assert about(standin.messages_for(sub), other["number"]) == []
    assert about(standin.messages_for(clerk), other["number"]) == []
    assert standin.problems() == []


def test_a_dispatch_notifies_the_technician(standin, users, subscribe):
    tech1, tech2 = subscribe("tech1"), subscribe("tech2")
    call, customer = register_call(users["clerk"])
    order_id = call["work_order"]["id"]
    response = users["supervisor"].post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech1"})
    assert response.status_code == 200, response.text
    assert standin.wait_for(lambda: standin.messages_for(tech1), WAIT_S), standin.problems()
    [message] = [m for m in standin.messages_for(tech1) if m["url"] == f"/tech/orders/{order_id}"]
    assert message["kind"] == "work_order_dispatched"
    assert "派工" in message["title"] and "dispatched to you" in message["title"]
    assert_no_personal_data(message, customer)

    # re-dispatched to tech2: tech2 is told; tech1 got the one notice only
    response = users["supervisor"].post(f"/api/work-orders/{order_id}/dispatch", json={"technician": "tech2"})
    assert response.status_code == 200, response.text
    assert standin.wait_for(lambda: standin.messages_for(tech2), WAIT_S)
    assert [m["url"] for m in standin.messages_for(tech2)] == [f"/tech/orders/{order_id}"]
    assert len([m for m in standin.messages_for(tech1) if m["url"] == f"/tech/orders/{order_id}"]) == 1
    assert standin.problems() == []


async def test_an_order_at_risk_notifies_the_supervisors(standin, users, subscribe, db, database_settings,
                                                         tmp_path):
    supervisor, supervisor2, clerk = subscribe("supervisor"), subscribe("supervisor2"), subscribe("clerk")
    call, customer = register_call(users["clerk"])
    order_id = call["work_order"]["id"]
    # the order was received long ago: its SLA due time has passed and nobody has arrived
    now = utcnow()
    await WorkOrder.update({WorkOrder.sla_due_at: now - timedelta(minutes=5),
                            WorkOrder.received_at: now - timedelta(hours=30)}).where(WorkOrder.id == order_id)

    def told(sub):
        return [m for m in standin.messages_for(sub) if m["tag"] == f"risk-{order_id}"]

    # a second app server on the same database whose at-risk monitor looks often
    env = make_env(database_settings.data_dir, database_settings.database_url, FS_MONITOR_SECONDS="0.3")
    server = start_server(env, tmp_path / "monitor.log")
    try:
        delivered = await asyncio.to_thread(standin.wait_for, lambda: told(supervisor), WAIT_S)
    finally:
        server.stop()
    assert delivered, standin.problems()
    [message] = told(supervisor)
    assert message["kind"] == "work_order_at_risk" and message["url"] == "/dispatch"
    assert "即将超时" in message["title"] and "at risk" in message["title"]
    assert_no_personal_data(message, customer)
    assert told(supervisor2) == [] and told(clerk) == []


async def test_a_gone_subscription_is_deleted(standin, users, subscribe, db):
    gone, missing, alive = subscribe("supervisor"), subscribe("supervisor"), subscribe("supervisor")
    standin.answer(gone, 410)
    standin.answer(missing, 404)
    call, _ = register_call(users["clerk"])
    def answered(sub):
        return [r for r in standin.requests_for(sub) if r.status]

    assert await asyncio.to_thread(standin.wait_for, lambda: answered(gone) and answered(missing)
                                   and about(standin.messages_for(alive), call["number"]), WAIT_S)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        left = await PushSubscription.select(PushSubscription.id).where(
            PushSubscription.id.is_in([gone.id, missing.id]))
        if not left:
            break
        await asyncio.sleep(0.1)
    assert left == []
    assert await PushSubscription.exists().where(PushSubscription.id == alive.id)
    # the next call is not sent to the deleted endpoints
    second, _ = register_call(users["clerk"])
    await asyncio.to_thread(standin.wait_for, lambda: about(standin.messages_for(alive), second["number"]), WAIT_S)
    assert requests_about(standin, gone, second["number"]) == []
    assert requests_about(standin, missing, second["number"]) == []


def test_a_busy_push_service_is_tried_again_with_backoff(standin, users, subscribe):
    limited, unavailable = subscribe("supervisor"), subscribe("clerk")
    standin.answer(limited, (429, {"Retry-After": "1"}))
    standin.answer(unavailable, 503, 503)
    call, _ = register_call(users["clerk"])
    assert standin.wait_for(lambda: about(standin.messages_for(limited), call["number"])
                            and about(standin.messages_for(unavailable), call["number"]), WAIT_S)
    first, second = requests_about(standin, limited, call["number"])
    assert (first.status, second.status) == (429, 201)
    assert second.received_at - first.answered_at >= 0.95  # Retry-After: 1 was honoured
    assert [r.status for r in requests_about(standin, unavailable, call["number"])] == [503, 503, 201]


async def test_a_push_service_that_keeps_failing_is_given_up_after_five_attempts(standin, users, subscribe,
                                                                                 live_server):
    failing = subscribe("supervisor")
    standin.answer(failing, *([503] * 10))
    call, _ = register_call(users["clerk"])
    line = f"push call_registered to subscription {failing.id} at {standin.origin} gave up after 5 attempts"

    def logged() -> bool:
        return line in live_server.log.read_text(errors="replace")

    deadline = time.monotonic() + WAIT_S
    while not logged() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert logged()
    assert [r.status for r in requests_about(standin, failing, call["number"])] == [503] * 5
    assert await PushSubscription.exists().where(PushSubscription.id == failing.id)  # kept: not gone
    users["supervisor"].request("DELETE", "/api/push/subscriptions", json={"endpoint": failing.endpoint})


def test_the_request_does_not_wait_for_the_push_service(standin, users, subscribe):
    slow = subscribe("clerk")
    release = standin.hold(slow)
    try:
        call, _ = register_call(users["clerk"])  # answered while the push service holds
        number = call["number"]
        assert all(r.answered_at is None for r in requests_about(standin, slow, number))
        # the push was under way (and still unanswered) after the request had been answered
        assert standin.wait_for(lambda: requests_about(standin, slow, number), WAIT_S)
        assert requests_about(standin, slow, number)[0].answered_at is None
    finally:
        release.set()
    assert standin.wait_for(lambda: about(standin.messages_for(slow), number), WAIT_S)


def test_a_browser_handed_to_another_user_notifies_the_new_user(standin, users, subscribe):
    shared = subscribe("clerk")
    again = users["clerk2"].post("/api/push/subscriptions", json=shared.subscription())
    assert again.status_code == 200 and again.json()["id"] == shared.id
    witness = subscribe("clerk")
    first, _ = register_call(users["clerk"])
    assert standin.wait_for(lambda: about(standin.messages_for(witness), first["number"]), WAIT_S)
    second, _ = register_call(users["clerk2"])
    assert standin.wait_for(lambda: about(standin.messages_for(shared), second["number"]), WAIT_S)
    assert about(standin.messages_for(shared), first["number"]) == []
    users["clerk2"].request("DELETE", "/api/push/subscriptions", json={"endpoint": shared.endpoint})


@pytest.mark.parametrize("body,problem_en,problem_zh", [
    ({}, "no endpoint", "缺少推送地址"),
    ({"endpoint": "ftp://push.example.net/x"}, "https address", "https"),
    ({"endpoint": "http://push.example.net/x"}, "https address", "https"),
    ({"endpoint": "http://10.0.0.8/x"}, "https address", "https"),
    ({"endpoint": "https://"}, "not a valid address", "不是有效的网址"),
    ({"endpoint": "https://push.example.net/" + "x" * 3000}, "too long", "过长"),
    ({"endpoint": "https://push.example.net/x"}, "no keys", "缺少密钥"),
    ({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "!!!", "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
     "base64url", "base64url"),
    ({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "BA" + "A" * 41, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
     "65 bytes", "65 字节"),
    ({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "BA" + "A" * 85, "auth": "AAAAAAAAAAAAAAAAAAAAAA"}},
     "65 bytes", "65 字节"),  # 65 bytes, but not a point on the curve
    ({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "VALID", "auth": "AAAAAAAAAAAAAAAAAAAA"}},
     "16 bytes", "16 字节"),
    ({"endpoint": "https://push.example.net/x", "keys": {"p256dh": "VALID", "auth": 12}}, "base64url", "base64url"),
    ([1, 2], "JSON object", "JSON 对象"),
    ("not json", "JSON object", "JSON 对象"),
])
def test_a_bad_subscription_is_refused_with_a_clear_message(standin, users, body, problem_en, problem_zh):
    if isinstance(body, dict) and body.get("keys", {}).get("p256dh") == "VALID":
        body = {**body, "keys": {**body["keys"], "p256dh": standin.subscriber().p256dh}}
    send = {"content": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, str) else {"json": body}
    for language, expected in (("en", problem_en), ("zh-CN", problem_zh)):
        response = users["clerk"].post("/api/push/subscriptions",
                                       **{**send, "headers": {**send.get("headers", {}), "Accept-Language": language}})
        assert response.status_code in (400, 422), response.text
        assert expected in response.json()["message"], response.json()


def test_subscribing_and_unsubscribing_a_browser(live_server, standin, users):
    sub = standin.subscriber().subscription()
    sub["endpoint"] = f"https://push.example.net/wpush/v2/{secrets.token_urlsafe(24)}"
    manager = users["manager"]  # nothing is sent to managers: this endpoint is never called
    created = manager.post("/api/push/subscriptions", json=sub)
    assert created.status_code == 201 and created.json()["endpoint"] == sub["endpoint"]
    again = manager.post("/api/push/subscriptions", json=sub)
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert manager.request("DELETE", "/api/push/subscriptions", json={"endpoint": sub["endpoint"]}).status_code == 204
    assert manager.request("DELETE", "/api/push/subscriptions", json={"endpoint": sub["endpoint"]}).status_code == 204
    assert manager.request("DELETE", "/api/push/subscriptions", json={}).status_code == 422
    # signed-in users only, and a browser session needs its CSRF token
    assert httpx.post(live_server.url + "/api/push/subscriptions", json=sub).status_code == 401
    token, manager.csrf_token = manager.csrf_token, ""
    try:
        assert manager.post("/api/push/subscriptions", json=sub).status_code == 403
    finally:
        manager.csrf_token = token


@pytest.mark.parametrize("username,shown", [("clerk", True), ("supervisor", True), ("tech1", True),
                                            ("manager", False)])
def test_the_header_offers_notifications_to_clerks_supervisors_and_technicians(users, username, shown):
    client = users[username]
    home = client.get("/", headers={"Accept-Language": "zh-CN"}).headers["location"]
    zh = client.get(home, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    assert ("data-push" in zh.text) is shown
    assert ("/static/js/push.js?v=" in zh.text) is shown
    if shown:
        assert "开启通知" in zh.text and "通知已被浏览器阻止" in zh.text
        en = client.get(home, headers={"Accept-Language": "en"})
        assert "Enable notifications" in en.text and "blocked by the browser" in en.text
        script = client.get("/static/js/push.js")
        assert script.status_code == 200 and "pushManager.subscribe" in script.text

