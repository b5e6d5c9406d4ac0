"""Devices and bearer tokens (sync-protocol §1), against the real server."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

import httpx
import pytest

from server.accounts.service import create_user
from tests.conftest import sign_in

PASSWORD = "device-pass-1"
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def register(url: str, username: str, password: str = PASSWORD, name: str = "Pad 1", **headers) -> httpx.Response:
    return httpx.post(url + "/sync/devices", json={"username": username, "password": password,
                                                   "device_name": name}, headers=headers, timeout=30)


def bearer(token: str, **extra) -> dict:
    return {"Authorization": f"Bearer {token}", **extra}


@pytest.fixture(scope="module")
async def people(db):
    """Two technicians of SH-C made for this module (their passwords are ours to use)."""
    names = {}
    for key in ("tech", "other"):
        names[key] = f"dev_{key}_{secrets.token_hex(3)}"
        await create_user(names[key], PASSWORD, "technician", display_name=f"设备测试{key}", branch_code="SH-C")
    return names


async def test_registering_answers_a_device_and_a_token_stored_only_hashed(live_server, people, db):
    from server.sync.tables import Device

    response = register(live_server.url, people["tech"], name="张工的平板")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"device_id", "token", "last_seq", "server_time"}
    assert uuid.UUID(body["device_id"])
    assert body["last_seq"] == 0
    assert RFC3339_Z.match(body["server_time"])
    assert len(body["token"]) >= 22  # base64url: ≥ 128 bits
    row = await Device.select().where(Device.device_id == body["device_id"]).first()
    assert row["name"] == "张工的平板"
    assert row["token_hash"] == hashlib.sha256(body["token"].encode()).hexdigest()
    assert body["token"] not in {str(v) for v in row.values()}
    # each registration is a new device with a new token
    again = register(live_server.url, people["tech"]).json()
    assert again["device_id"] != body["device_id"] and again["token"] != body["token"]


def test_wrong_password_is_401_in_the_users_language(live_server, people):
    zh = register(live_server.url, people["tech"], password="wrong-one")
    assert zh.status_code == 401
    assert zh.json() == {"error": "unauthorized", "message": "用户名或密码错误。"}
    en = register(live_server.url, people["tech"], password="wrong-one", **{"Accept-Language": "en"})
    assert en.status_code == 401 and en.json()["message"] == "Wrong username or password."


async def test_more_than_ten_failures_from_one_address_answer_429(live_server, db):
    username = f"dev_limited_{secrets.token_hex(3)}"
    await create_user(username, PASSWORD, "technician", branch_code="SH-C")
    statuses = [register(live_server.url, username, password=f"bad-{i}").status_code for i in range(10)]
    assert statuses == [401] * 10
    limited = register(live_server.url, username, **{"Accept-Language": "en"})  # even the right password
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert "Too many failed sign-ins" in limited.json()["message"]


@pytest.mark.parametrize("content, status", [
    (b"not json at all", 400),
    (b"[1, 2]", 422),
    (b'{"username": "tech1", "password": "demo"}', 422),
    (b'{"username": 5, "password": "demo", "device_name": "x"}', 422),
    (b'{"username": "tech1", "password": null, "device_name": "x"}', 422),
    (b'{"username": "tech1", "password": "demo", "device_name": ""}', 422),
    (b'{"username": "' + b"u" * 5000 + b'", "password": "demo", "device_name": "x"}', 422),
    (b'{"username": "tech1", "password": "demo", "device_name": "' + b"d" * 300 + b'"}', 422),
    (b'{"username": "tech\\u0000", "password": "demo", "device_name": "x"}', 422),
    (b'{"username": "tech1", "password": "demo", "device_name": "pad\\u0000"}', 422),
    (b'{"username": "tech1", "password": "demo", "device_name": "x"', 400),
])
def test_bad_bodies_answer_4xx_with_a_translated_message(live_server, content, status):
    response = httpx.post(live_server.url + "/sync/devices", content=content,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] in ("bad_request", "invalid_input")
    assert re.search(r"[\u4e00-\u9fff]", body["message"])  # Chinese by default


def test_a_huge_body_is_refused_with_413(live_server):
    response = httpx.post(live_server.url + "/sync/devices", content=b'{"username": "' + b"x" * 100_000 + b'"}',
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 413


def test_the_token_is_accepted_by_the_api_within_the_users_rights(live_server, people):
    token = register(live_server.url, people["tech"]).json()["token"]
    me = httpx.get(live_server.url + "/api/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["username"] == people["tech"] and me.json()["role"] == "technician"
    assert me.json()["csrf_token"] is None  # a token is not a browser session
    # a technician's token does not open the supervisors' pages
    assert httpx.get(live_server.url + "/dispatch/devices", headers=bearer(token)).status_code == 403


@pytest.mark.parametrize("token", [None, "not-a-token", secrets.token_urlsafe(32)])
def test_unknown_tokens_answer_401_json_everywhere(live_server, token):
    headers = bearer(token, **{"Accept-Language": "en"}) if token else {"Accept-Language": "en"}
    for method, path in (("GET", "/sync/pull"), ("GET", "/api/me"),
                         ("PUT", "/sync/blobs/" + "0" * 64 + "?kind=photo"),
                         ("DELETE", f"/sync/devices/{uuid.uuid4()}")):
        response = httpx.request(method, live_server.url + path, headers=headers)
        assert response.status_code == 401, (method, path, response.text)
        assert response.json()["error"] == "unauthorized"


def test_a_device_revokes_itself_without_csrf_and_its_token_stops_working(live_server, people):
    device = register(live_server.url, people["tech"]).json()
    headers = bearer(device["token"])
    assert httpx.get(live_server.url + "/sync/pull", headers=headers).status_code == 200
    response = httpx.delete(live_server.url + f"/sync/devices/{device['device_id']}", headers=headers)
    assert response.status_code == 204
    for method, path in (("GET", "/sync/pull"), ("GET", "/api/me"),
                         ("DELETE", f"/sync/devices/{device['device_id']}")):
        assert httpx.request(method, live_server.url + path, headers=headers).status_code == 401


def test_the_user_revokes_with_a_session_or_another_of_their_tokens(live_server, people):
    first = register(live_server.url, people["tech"], name="old phone").json()
    second = register(live_server.url, people["tech"], name="new phone").json()
    # with another of their tokens
    assert httpx.delete(live_server.url + f"/sync/devices/{first['device_id']}",
                        headers=bearer(second["token"])).status_code == 204
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(first["token"])).status_code == 401
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(second["token"])).status_code == 200
    # with a browser session (which needs its CSRF header)
    session = sign_in(live_server.url, people["tech"], PASSWORD)
    csrf = session.csrf_token
    session.csrf_token = ""
    assert session.delete(f"/sync/devices/{second['device_id']}").status_code == 403
    session.csrf_token = csrf
    assert session.delete(f"/sync/devices/{second['device_id']}").status_code == 204
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(second["token"])).status_code == 401
    # revoking again changes nothing
    assert session.delete(f"/sync/devices/{second['device_id']}").status_code == 204


def test_only_a_supervisor_of_the_users_branch_revokes_someone_elses_device(live_server, people, login):
    device = register(live_server.url, people["tech"]).json()
    path = f"/sync/devices/{device['device_id']}"
    other_tech = register(live_server.url, people["other"]).json()
    assert httpx.delete(live_server.url + path, headers=bearer(other_tech["token"])).status_code == 403
    assert login("supervisor2").delete(path).status_code == 403  # another branch
    assert login("clerk").delete(path).status_code == 403  # same branch, not a supervisor
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(device["token"])).status_code == 200
    assert login("supervisor").delete(path).status_code == 204
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(device["token"])).status_code == 401
    assert login("supervisor").delete(f"/sync/devices/{uuid.uuid4()}").status_code == 404
    assert login("supervisor").delete("/sync/devices/not-a-uuid").status_code == 404


def test_the_user_sees_their_devices_and_revokes_one_from_the_page(live_server, people):
    device = register(live_server.url, people["other"], name="巡检手机").json()
    httpx.get(live_server.url + "/sync/pull", headers=bearer(device["token"]))  # a sync: last sync is shown
    client = sign_in(live_server.url, people["other"], PASSWORD)
    page = client.get("/account/devices")
    assert page.status_code == 200
    assert "我的设备" in page.text and "巡检手机" in page.text and "最近同步" in page.text
    row = re.search(r'<tr id="device-%s".*?</tr>' % device["device_id"], page.text, re.S).group(0)
    assert "使用中" in row and "从未" not in row
    english = client.get("/account/devices", headers={"Accept-Language": "en"})
    assert "My devices" in english.text and "Revoke" in english.text
    # the revoke button is a plain form: works without JavaScript
    form = client.post(f"/devices/{device['device_id']}/revoke", data={"back": "/account/devices"})
    assert form.status_code == 303 and form.headers["location"] == "/account/devices"
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(device["token"])).status_code == 401
    row = re.search(r'<tr id="device-%s".*?</tr>' % device["device_id"],
                    client.get("/account/devices").text, re.S).group(0)
    assert "已于" in row and "停用</button>" not in row


def test_supervisors_see_the_devices_of_their_branch_only(live_server, people, login):
    device = register(live_server.url, people["tech"], name="分公司平板").json()
    own_branch = login("supervisor").get("/dispatch/devices")
    assert own_branch.status_code == 200
    assert device["device_id"] in own_branch.text and people["tech"] in own_branch.text
    assert device["device_id"] not in login("supervisor2").get("/dispatch/devices").text
    assert device["device_id"] in login("hq").get("/dispatch/devices").text
    assert login("tech2").get("/dispatch/devices").status_code == 403
    # supervisor2 may not revoke it through the page's form either
    assert login("supervisor2").post(f"/devices/{device['device_id']}/revoke").status_code == 403
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(device["token"])).status_code == 200


async def test_a_deactivated_users_tokens_stop_working(live_server, db):
    from server.accounts.tables import User

    username = f"dev_leaver_{secrets.token_hex(3)}"
    await create_user(username, PASSWORD, "technician", branch_code="SH-C")
    token = register(live_server.url, username).json()["token"]
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(token)).status_code == 200
    await User.update({User.active: False}).where(User.username == username)
    assert httpx.get(live_server.url + "/sync/pull", headers=bearer(token)).status_code == 401
    assert httpx.get(live_server.url + "/api/me", headers=bearer(token)).status_code == 401
