"""A batch sent again byte for byte (the device lost the reply) is answered from what the
server wrote down when it first handled the batch. These tests hold that answer to the one
the full path of sync-protocol §2 gives, and check when the full path must run instead."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import httpx

from server.sync.tables import Device as DeviceRow
from tests.integration import sync_kit as kit
from tests.integration.sync_kit import device, supervisor  # noqa: F401  (fixtures)


def post(device: kit.Device, body: bytes, lang: str = "en") -> dict:
    response = device.raw(body) if lang == "en" else httpx.post(
        device.url + "/sync/push", content=body,
        headers={**device.headers, "Content-Type": "application/json", "Accept-Language": lang}, timeout=60)
    assert response.status_code == 200, response.text
    reply = response.json()
    reply.pop("server_time")
    return reply


def test_a_byte_for_byte_resend_gets_the_answer_the_full_path_gives(device, supervisor):
    wo = kit.new_order(supervisor)
    version = kit.order(supervisor, wo)["version"]
    batch = [device.make(*kit.add_part(wo, qty="1.50")), device.make(*kit.add_part(wo, code="NO-SUCH")),
             device.make(*kit.labour(wo, "2026-11-22T11:00:00+08:00", "2026-11-22T10:00:00+08:00")),
             device.make(*kit.diagnosis(wo), base_version=version - 1 if version > 1 else None),
             device.make("teleport", {"work_order_id": wo})]
    envelope = device.envelope(batch)
    body = json.dumps(envelope, ensure_ascii=False).encode()
    first = post(device, body)
    assert {r["status"] for r in first["results"]} >= {"applied", "rejected"}
    # The same meaning in other bytes takes the full path (parse, ledger).
    other_bytes = json.dumps(envelope, ensure_ascii=False, indent=1).encode()
    for lang in ("en", "zh-CN"):
        remembered, full = post(device, body, lang), post(device, other_bytes, lang)
        assert remembered == full
        assert [r["status"] for r in remembered["results"]] == ["duplicate"] * len(batch)
        assert [r["original"]["status"] for r in remembered["results"]] == [r["status"] for r in first["results"]]
    assert kit.order(supervisor, wo)["version"] == first["results"][0]["version"] + sum(
        1 for r in first["results"][1:] if r["status"] == "applied")


async def test_a_device_not_heard_from_lately_has_its_sync_time_noted(device, supervisor, db):
    wo = kit.new_order(supervisor)
    body = json.dumps(device.envelope([device.make(*kit.note(wo))])).encode()
    post(device, body)
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=5)
    await DeviceRow.update({DeviceRow.last_sync_at: long_ago}).where(DeviceRow.device_id == device.device_id)
    assert post(device, body)["results"][0]["status"] == "duplicate"
    row = await DeviceRow.select(DeviceRow.last_sync_at).where(DeviceRow.device_id == device.device_id).first()
    assert row["last_sync_at"] > long_ago + timedelta(minutes=4)


def test_a_batch_that_stopped_is_handled_again_in_full(device, supervisor):
    wo = kit.new_order(supervisor)
    first, second, third = (device.make(*kit.note(wo, f"第{i}条")) for i in (1, 2, 3))
    body = json.dumps(device.envelope([first, third])).encode()
    stopped = post(device, body)
    assert stopped["stopped"]["reason"] == "gap" and stopped["last_seq"] == first["seq"]
    assert post(device, json.dumps(device.envelope([second])).encode())["results"][0]["status"] == "applied"
    again = post(device, body)
    assert [r["status"] for r in again["results"]] == ["duplicate", "applied"] and again["stopped"] is None
    assert [n["text"] for n in kit.order(supervisor, wo)["notes"]] == ["第1条", "第2条", "第3条"]


def test_a_revoked_device_gets_no_remembered_answer(device, supervisor):
    wo = kit.new_order(supervisor)
    body = json.dumps(device.envelope([device.make(*kit.note(wo))])).encode()
    post(device, body)
    assert httpx.delete(f"{device.url}/sync/devices/{device.device_id}", headers=device.headers).status_code == 204
    assert device.raw(body).status_code == 401
