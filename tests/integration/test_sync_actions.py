"""The thirteen actions of sync-protocol §4 through the real server: their effects, every
rejection and conflict rule, the signed report hash, and the supervisor's conflict queue."""

from __future__ import annotations

import hashlib
import json

import httpx

from server.sync.tables import ConflictResolution, DepotRepair
from server.workorders.tables import WorkOrder
from tests.integration import sync_kit as kit
from tests.integration.sync_kit import device, supervisor  # noqa: F401  (fixtures)


def report_hash(record: dict) -> str:
    text = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def statuses(reply: dict) -> list[tuple[str, str | None]]:
    return [(r["status"], r.get("reason")) for r in reply["results"]]


def test_departure_and_arrival_start_the_work_and_the_first_arrival_counts(device, supervisor):
    wo = kit.new_order(supervisor)
    reply = device.push([device.make(*kit.start_travel(wo, "2026-11-22T08:40:00+08:00")),
                         device.make(*kit.arrive(wo, "2026-11-22T09:31:05+08:00")),
                         device.make(*kit.arrive(wo, "2026-11-22T14:00:00+08:00"))], clock_offset_ms=-1200)
    assert statuses(reply) == [("applied", None)] * 3
    after = kit.order(supervisor, wo)
    assert after["status"] == "in_progress"
    assert after["arrived_at"] == "2026-11-22T01:31:06.200000Z"  # device time minus its offset


def test_an_order_never_assigned_to_the_technician_is_refused(device, supervisor):
    theirs = kit.new_order(supervisor, "tech2")
    reply = device.push([device.make(*kit.note(theirs)), device.make(*kit.note(2_000_000_000)),
                         device.make(*kit.note(99_999_999_999))])
    assert statuses(reply) == [("rejected", "not_assigned"), ("rejected", "not_assigned"),
                               ("rejected", "not_assigned")]
    assert reply["results"][0]["message"] == f"Work order {theirs} is not assigned to you."
    assert kit.order(supervisor, theirs)["notes"] == []


def test_parts_lines_quantities_voids_and_ids_recorded_once(device, supervisor):
    wo = kit.new_order(supervisor)
    line, other = kit.uid(), kit.uid()
    reply = device.push([
        device.make(*kit.add_part(wo, "LED-40W", "2.50", line)),
        device.make(*kit.add_part(wo, "LED-DRV-40", "1", other)),
        device.make(*kit.add_part(wo, "NO-SUCH", "1")),
        device.make(*kit.add_part(wo, "LED-40W", "0")),
        device.make(*kit.add_part(wo, "LED-40W", "-1")),
        device.make(*kit.add_part(wo, "LED-40W", "3", line)),  # a new mutation reusing the line id
        device.make(*kit.void_part(wo, other)),
        device.make(*kit.void_part(wo, other)),
        device.make(*kit.void_part(wo, kit.uid())),
    ])
    assert statuses(reply) == [
        ("applied", None), ("applied", None), ("rejected", "unknown_part"), ("rejected", "invalid_args"),
        ("rejected", "invalid_args"), ("rejected", "duplicate_id"), ("applied", None),
        ("rejected", "already_voided"), ("rejected", "unknown_line")]
    after = kit.order(supervisor, wo)
    assert [(p["line_id"], p["part_code"], p["qty"], p["voided"]) for p in after["parts"]] == [
        (line, "LED-40W", "2.5", False), (other, "LED-DRV-40", "1", True)]
    assert after["report"]["parts"] == [{"line_id": line, "part_code": "LED-40W", "qty": "2.5"}]


async def test_labour_notes_photos_fees_and_carry_back(device, supervisor, db):
    wo = kit.new_order(supervisor)
    picture = kit.png()
    digest = kit.upload(device, picture, kind="photo")
    mutations = [
        device.make(*kit.labour(wo, "2026-11-22T09:00:00+08:00", "2026-11-22T10:35:00+08:00")),
        device.make(*kit.labour(wo, "2026-11-22T11:00:00+08:00", "2026-11-22T10:00:00+08:00")),
        device.make(*kit.note(wo, "客户说上周也闪过")),
        device.make(*kit.note(wo, "")),
        device.make(*kit.photo(wo, digest)),
        device.make(*kit.fee(wo, 5000)),
        device.make(*kit.fee(wo, 0)),
        device.make(*kit.carry_back(wo)),
    ]
    reply = device.push(mutations)
    assert statuses(reply) == [
        ("applied", None), ("rejected", "invalid_args"), ("applied", None), ("rejected", "invalid_args"),
        ("applied", None), ("applied", None), ("rejected", "invalid_args"), ("applied", None)]
    assert "end of the labour time" in reply["results"][1]["message"]
    after = kit.order(supervisor, wo)
    assert [e["started_at"] for e in after["labour"]] == ["2026-11-22T01:00:00Z"]
    assert after["report"]["labour_minutes"] == 95
    assert [n["text"] for n in after["notes"]] == ["客户说上周也闪过"]
    assert [p["sha256"] for p in after["photos"]] == [digest]
    assert [p["amount_cents"] for p in after["payments"]] == [5000] and after["report"]["fee_cents"] == 5000
    receipt = reply["results"][-1]["detail"]["receipt_no"]
    assert receipt.startswith("PR-WO-")
    repairs = await DepotRepair.select(DepotRepair.receipt_no, DepotRepair.status).where(DepotRepair.work_order == wo)
    assert repairs == [{"receipt_no": receipt, "status": "received"}]
    receipt_id = mutations[-1]["args"]["receipt_id"]
    assert after["depot_repairs"] == [{"receipt_id": receipt_id, "receipt_no": receipt, "condition": "外壳完好",
                                       "accessories": "电源线", "status": "received"}]
    # the photo is served back to whoever may see the order
    assert supervisor.get(f"/api/blobs/{digest}").content == picture


def test_every_applied_change_raises_the_version_and_nothing_else_does(device, supervisor):
    wo = kit.new_order(supervisor)
    start = kit.order(supervisor, wo)["version"]
    reply = device.push([device.make(*kit.note(wo)), device.make(*kit.add_part(wo, "NOPE")),
                         device.make(*kit.diagnosis(wo), base_version=start),
                         device.make("no_such_action", {"work_order_id": wo})])
    assert [r.get("version") for r in reply["results"]] == [start + 1, None, start + 2, None]
    assert kit.order(supervisor, wo)["version"] == start + 2


def test_completion_then_a_signoff_whose_hash_matches_is_verified(device, supervisor):
    wo = kit.new_order(supervisor)
    signature = kit.upload(device, kit.png())
    device.push([device.make(*kit.arrive(wo)), device.make(*kit.add_part(wo, "LED-40W", "2.0")),
                 device.make(*kit.labour(wo)), device.make(*kit.fee(wo, 1200))])
    early = device.send(*kit.signoff(wo, signature, "0" * 64))
    assert (early["status"], early["reason"]) == ("rejected", "signoff_before_completion")
    assert early["message"] == "The customer can sign only after the work is completed."
    version = kit.order(supervisor, wo)["version"]
    done = device.send(*kit.complete(wo), base_version=version)
    assert done["status"] == "applied"
    after = kit.order(supervisor, wo)
    assert after["status"] == "completed" and after["report"]["outcome"] == "fixed"
    record = {**after["report"], "signer_name": "王芳"}
    assert record["parts"][0]["qty"] == "2" and record["fee_cents"] == 1200 and record["labour_minutes"] == 95
    signed = device.send(*kit.signoff(wo, signature, report_hash(record)))
    assert signed["status"] == "applied"
    signoffs = kit.order(supervisor, wo)["signoffs"]
    assert [(s["report_sha256"], s["verified"]) for s in signoffs] == [(report_hash(record), True)]


def test_a_signoff_over_other_content_is_kept_as_a_conflict(device, supervisor):
    wo = kit.new_order(supervisor)
    signature = kit.upload(device, kit.png())
    device.push([device.make(*kit.add_part(wo)), device.make(*kit.complete(wo), base_version=1)])
    record = {**kit.order(supervisor, wo)["report"], "signer_name": "王芳", "fee_cents": 999}
    result = device.send(*kit.signoff(wo, signature, report_hash(record)))
    assert (result["status"], result["reason"]) == ("conflict", "signed_content_differs")
    after = kit.order(supervisor, wo)
    assert [s["verified"] for s in after["signoffs"]] == [False]
    assert after["conflicts"] == [{"id": result["conflict_id"], "reason": "signed_content_differs",
                                   "status": "open", "field": "report_sha256"}]


def test_ratings_one_to_four_and_a_second_rating_is_a_conflict(device, supervisor):
    wo = kit.new_order(supervisor)
    reply = device.push([device.make(*kit.rating(wo, 5)), device.make(*kit.rating(wo, 0)),
                         device.make(*kit.rating(wo, 4)), device.make(*kit.rating(wo, 2))])
    assert statuses(reply) == [("rejected", "invalid_args"), ("rejected", "invalid_args"),
                               ("applied", None), ("conflict", "duplicate_rating")]
    ratings = kit.order(supervisor, wo)["ratings"]
    assert [(r["attitude"], r["counted"]) for r in ratings] == [(4, True), (2, False)]


async def test_stale_edits_keep_the_servers_value_and_other_fields_apply(live_server, supervisor, db):
    wo = kit.new_order(supervisor)
    phone, tablet = kit.register(live_server.url, "tech1"), kit.register(live_server.url, "tech1")
    first = kit.diagnosis(wo)[1]
    seen = phone.send("record_diagnosis", first, base_version=kit.order(supervisor, wo)["version"])["version"]
    # both devices saw version `seen`; the phone changes the cause
    assert phone.send(*kit.diagnosis(wo, cause="电源老化"), base_version=seen)["status"] == "applied"
    # the tablet changes only the observation: a different field, both apply
    assert tablet.send(*kit.diagnosis(wo, observed="驱动外壳发黑"), base_version=seen)["status"] == "applied"
    row = await order_fields(wo)
    assert (row["cause"], row["observed"]) == ("电源老化", "驱动外壳发黑")
    # the tablet, still on `seen`, changes the cause too: the server keeps the phone's
    result = tablet.send(*kit.diagnosis(wo, cause="雷击", observed="驱动外壳发黑"), base_version=seen)
    assert (result["status"], result["reason"]) == ("conflict", "stale_edit")
    listed = supervisor.get("/api/conflicts").json()["conflicts"]
    mine = next(c for c in listed if c["id"] == result["conflict_id"])
    assert mine["field"] == "cause" and mine["status"] == "open"
    assert mine["server_value"] == {"cause": "电源老化"} and mine["device_value"] == {"cause": "雷击"}
    assert (await order_fields(wo))["cause"] == "电源老化"
    # the same device editing again on its old base is no conflict with itself
    again = phone.send(*kit.diagnosis(wo, cause="电源老化", reported="夜里不亮"), base_version=seen)
    assert again["status"] == "applied" and (await order_fields(wo))["reported"] == "夜里不亮"


async def order_fields(wo: int) -> dict:
    return await WorkOrder.select(WorkOrder.cause, WorkOrder.observed, WorkOrder.reported,
                                  WorkOrder.work_done, WorkOrder.version).where(WorkOrder.id == wo).first()


def test_work_on_an_order_given_to_someone_else_is_kept_as_a_conflict(live_server, device, supervisor):
    wo = kit.new_order(supervisor)
    signature = kit.upload(device, kit.png())
    device.send(*kit.arrive(wo))
    kit.dispatch(supervisor, wo, "tech2")
    line = kit.uid()
    reply = device.push([device.make(*kit.add_part(wo, line_id=line)),
                         device.make(*kit.complete(wo), base_version=1),
                         device.make(*kit.signoff(wo, signature, "1" * 64))])
    assert statuses(reply) == [("conflict", "reassigned")] * 3
    after = kit.order(supervisor, wo)
    assert after["assigned_to"] == "tech2" and after["status"] == "dispatched"
    assert [p["line_id"] for p in after["parts"]] == [line]  # the fact is kept
    assert len(after["signoffs"]) == 1
    assert [c["reason"] for c in after["conflicts"]] == ["reassigned"] * 3
    # the order left the technician's reach
    assert httpx.get(f"{live_server.url}/api/work-orders/{wo}", headers=device.headers).status_code == 404
    outcomes = httpx.get(f"{live_server.url}/api/sync/outcomes", headers=device.headers).json()["outcomes"]
    assert {o["reason"] for o in outcomes if o["work_order_id"] == wo} == {"reassigned"}
    assert all("another technician" in o["message"] for o in outcomes if o["work_order_id"] == wo)


async def test_work_on_a_cancelled_or_closed_order_is_kept_as_a_conflict(device, supervisor, db):
    cancelled, closed = kit.new_order(supervisor), kit.new_order(supervisor)
    assert supervisor.post(f"/api/work-orders/{cancelled}/cancel", json={"reason": "客户撤回"}).status_code == 200

    await WorkOrder.update({WorkOrder.status: "closed"}).where(WorkOrder.id == closed)
    reply = device.push([device.make(*kit.note(cancelled)), device.make(*kit.note(closed))])
    assert statuses(reply) == [("conflict", "cancelled"), ("conflict", "closed")]
    assert len(kit.order(supervisor, cancelled)["notes"]) == 1
    assert kit.order(supervisor, closed)["conflicts"][0]["reason"] == "closed"


# --- the supervisor's conflict queue --------------------------------------------------

def _stale_conflict(live_server, supervisor) -> tuple[int, int]:
    wo = kit.new_order(supervisor)
    phone, tablet = kit.register(live_server.url, "tech1"), kit.register(live_server.url, "tech1")
    base = kit.order(supervisor, wo)["version"]
    phone.send(*kit.complete(wo, work_done="更换灯板"), base_version=base)
    result = tablet.send(*kit.complete(wo, work_done="更换灯板和驱动"), base_version=base)
    assert result["reason"] == "stale_edit"
    return wo, result["conflict_id"]


def test_the_queue_shows_each_conflict_side_by_side_within_the_branch(live_server, supervisor, login):
    wo, conflict_id = _stale_conflict(live_server, supervisor)
    page = supervisor.get("/dispatch/conflicts", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert f'id="conflict-{conflict_id}"' in page.text
    assert "更换灯板和驱动" in page.text and "服务器上" in page.text and "设备发来" in page.text
    english = supervisor.get("/dispatch/conflicts", headers={"Accept-Language": "en"}).text
    assert "On the server" in english and "From the device" in english
    listed = supervisor.get("/api/conflicts").json()
    assert listed["open_count"] >= 1 and any(c["id"] == conflict_id for c in listed["conflicts"])
    other_branch = login("supervisor2")
    assert all(c["id"] != conflict_id for c in other_branch.get("/api/conflicts").json()["conflicts"])
    assert f"conflict-{conflict_id}" not in other_branch.get("/dispatch/conflicts").text
    assert other_branch.post(f"/api/conflicts/{conflict_id}/resolve",
                             json={"choice": "keep_server"}).status_code == 404
    assert login("tech1").get("/dispatch/conflicts").status_code in (302, 303, 403)
    assert login("clerk").get("/api/conflicts").status_code == 403


async def test_taking_the_devices_value_applies_it_and_is_audited(live_server, supervisor, db):
    wo, conflict_id = _stale_conflict(live_server, supervisor)
    version = kit.order(supervisor, wo)["version"]
    response = supervisor.post(f"/api/conflicts/{conflict_id}/resolve",
                               json={"choice": "take_device", "note": "驱动也换了"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "resolved" and response.json()["resolution"] == "take_device"
    assert response.json()["resolved_by"] == "王建国"
    assert (await order_fields(wo))["work_done"] == "更换灯板和驱动"
    after = kit.order(supervisor, wo)
    assert after["version"] == version + 1 and after["report"]["work_done"] == "更换灯板和驱动"
    assert after["conflicts"][0]["status"] == "resolved"
    again = supervisor.post(f"/api/conflicts/{conflict_id}/resolve", json={"choice": "keep_server"})
    assert again.status_code == 409

    rows = await ConflictResolution.select().where(ConflictResolution.conflict == conflict_id)
    assert [(r["choice"], r["note"]) for r in rows] == [("take_device", "驱动也换了")]


async def test_dismissing_needs_a_note_and_the_form_works_without_javascript(live_server, supervisor, db):
    wo, conflict_id = _stale_conflict(live_server, supervisor)
    refused = supervisor.post(f"/dispatch/conflicts/{conflict_id}/resolve",
                              data={"choice": "dismiss", "note": ""}, headers={"Accept-Language": "en"})
    assert refused.status_code == 422
    assert "Say why the conflict is dismissed." in refused.text
    assert "checked" in refused.text.split('value="dismiss"')[1].split(">")[0]
    done = supervisor.post(f"/dispatch/conflicts/{conflict_id}/resolve",
                           data={"choice": "dismiss", "note": "技术员已电话确认"})
    assert done.status_code == 303 and done.headers["location"].startswith("/dispatch/conflicts")
    resolved = supervisor.get("/dispatch/conflicts?status=dismissed").text
    assert f'id="conflict-{conflict_id}"' in resolved and "技术员已电话确认" in resolved
    # with htmx only the card comes back
    wo2, other = _stale_conflict(live_server, supervisor)
    card = supervisor.post(f"/dispatch/conflicts/{other}/resolve", data={"choice": "keep_server", "note": ""},
                           headers={"HX-Request": "true"})
    assert card.status_code == 200 and card.text.lstrip().startswith("<article")
    assert (await order_fields(wo2))["work_done"] == "更换灯板"


def test_a_second_rating_can_be_made_the_one_that_counts(device, supervisor):
    wo = kit.new_order(supervisor)
    reply = device.push([device.make(*kit.rating(wo, 1)), device.make(*kit.rating(wo, 4))])
    conflict_id = reply["results"][1]["conflict_id"]
    assert supervisor.post(f"/api/conflicts/{conflict_id}/resolve",
                           json={"choice": "take_device", "note": ""}).status_code == 200
    assert [(r["attitude"], r["counted"]) for r in kit.order(supervisor, wo)["ratings"]] == [(1, False), (4, True)]


def test_the_read_back_report_recomputes_the_signed_hash_even_after_a_later_fee(device, supervisor):
    """§7: anyone can recompute a sign-off's hash from `report`; §4: its fee is what was paid
    before the sign-off. A device-made id is kept as the device spelled it (it is hashed)."""
    wo = kit.new_order(supervisor)
    signature = kit.upload(device, kit.png())
    line = kit.uid().upper()
    device.push([device.make(*kit.arrive(wo)), device.make(*kit.add_part(wo, "LED-40W", "2", line_id=line)),
                 device.make(*kit.fee(wo, 3000))])
    version = kit.order(supervisor, wo)["version"]
    assert device.send(*kit.complete(wo), base_version=version)["status"] == "applied"
    record = {**kit.order(supervisor, wo)["report"], "signer_name": "钱多多"}
    assert record["parts"] == [{"line_id": line, "part_code": "LED-40W", "qty": "2"}]
    signed = device.send(*kit.signoff(wo, signature, report_hash(record), signer="钱多多"))
    assert signed["status"] == "applied"
    assert device.send(*kit.fee(wo, 700))["status"] == "applied"  # paid after signing

    after = kit.order(supervisor, wo)
    assert [p["amount_cents"] for p in after["payments"]] == [3000, 700]
    assert after["report"]["fee_cents"] == 3000
    (signoff,) = after["signoffs"]
    assert signoff["verified"] is True
    assert report_hash({**after["report"], "signer_name": signoff["signer_name"]}) == signoff["report_sha256"]
    assert not any(key.startswith("_") for entry in after["payments"] + after["signoffs"] for key in entry)
