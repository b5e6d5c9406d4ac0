"""POST /sync/push against the real server: the ledger, every status and stop of
sync-protocol §2, malformed requests that change nothing, and concurrent devices."""

from __future__ import annotations

import hashlib
import json
import re
import threading

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration import sync_kit as kit
from tests.integration.sync_kit import device, supervisor  # noqa: F401  (fixtures)


def test_applied_mutations_advance_last_seq_and_the_order_version(device, supervisor):
    wo = kit.new_order(supervisor)
    before = kit.order(supervisor, wo)["version"]
    reply = device.push([device.make(*kit.arrive(wo)), device.make(*kit.note(wo))])
    assert [r["status"] for r in reply["results"]] == ["applied", "applied"]
    assert [r["version"] for r in reply["results"]] == [before + 1, before + 2]
    assert reply["last_seq"] == 2 and reply["stopped"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reply["server_time"])
    after = kit.order(supervisor, wo)
    assert after["version"] == before + 2 and after["status"] == "in_progress"
    assert len(after["notes"]) == 1


def test_a_resend_is_a_duplicate_with_the_original_result_and_changes_nothing(device, supervisor):
    wo = kit.new_order(supervisor)
    line = kit.uid()
    batch = [device.make(*kit.add_part(wo, qty="2.50", line_id=line)),
             device.make(*kit.add_part(wo, code="NO-SUCH-PART")),
             device.make("teleport", {"work_order_id": wo})]
    first = device.push(batch)
    version = kit.order(supervisor, wo)["version"]
    again = device.push(batch, lang="zh-CN")
    assert again["last_seq"] == first["last_seq"] == 3
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    applied, unknown_part, unknown_action = (r["original"] for r in again["results"])
    assert applied == {"status": "applied", "version": first["results"][0]["version"]}
    assert unknown_part["status"] == "rejected" and unknown_part["reason"] == "unknown_part"
    assert "NO-SUCH-PART" in unknown_part["message"] and "备件" in unknown_part["message"]
    assert unknown_action["reason"] == "unknown_action"
    after = kit.order(supervisor, wo)
    assert after["version"] == version
    assert [(p["line_id"], p["qty"]) for p in after["parts"]] == [(line, "2.5")]


def test_resending_in_other_splits_applies_each_mutation_once(device, supervisor):
    wo = kit.new_order(supervisor)
    notes = [device.make(*kit.note(wo, text=f"第 {i} 条")) for i in range(1, 11)]
    device.push(notes[:4])
    reply = device.push(notes[2:7])  # 3, 4 again; 5, 6, 7 new
    assert [r["status"] for r in reply["results"]] == ["duplicate", "duplicate", "applied", "applied", "applied"]
    reply = device.push(notes)  # all again, 8-10 new
    assert [r["status"] for r in reply["results"]] == ["duplicate"] * 7 + ["applied"] * 3
    texts = [n["text"] for n in kit.order(supervisor, wo)["notes"]]
    assert texts == [f"第 {i} 条" for i in range(1, 11)]


def test_a_gap_stops_the_batch_after_committing_what_came_before(device, supervisor):
    wo = kit.new_order(supervisor)
    first = device.make(*kit.note(wo))
    lost = device.make(*kit.note(wo))  # never arrives
    later = device.make(*kit.note(wo))
    reply = device.push([first, later])
    assert [r["seq"] for r in reply["results"]] == [1]
    assert reply["stopped"] == {"seq": 3, "reason": "gap", "resend_from": 2}
    assert reply["last_seq"] == 1
    reply = device.push([lost, later])
    assert [r["status"] for r in reply["results"]] == ["applied", "applied"] and reply["stopped"] is None
    assert len(kit.order(supervisor, wo)["notes"]) == 3


def test_a_reused_seq_or_id_stops_the_batch(device, supervisor):
    wo = kit.new_order(supervisor)
    one = device.make(*kit.note(wo, text="一"))
    device.push([one])
    # same seq, another id
    other = {**one, "id": kit.uid()}
    reply = device.push([other])
    assert reply["stopped"] == {"seq": 1, "reason": "seq_reused", "resend_from": 2} and reply["results"] == []
    # same seq and id, another payload
    changed = {**one, "args": {**one["args"], "text": "改过"}}
    assert device.push([changed])["stopped"]["reason"] == "seq_reused"
    # a known id under a new seq
    two = device.make(*kit.note(wo))
    reply = device.push([{**two, "id": one["id"]}])
    assert reply["stopped"] == {"seq": 2, "reason": "seq_reused", "resend_from": 2}
    # the same new id twice in one request
    three = device.make(*kit.note(wo))
    reply = device.push([two, {**three, "id": two["id"]}])
    assert [r["status"] for r in reply["results"]] == ["applied"]
    assert reply["stopped"] == {"seq": 3, "reason": "seq_reused", "resend_from": 3}
    assert [n["text"] for n in kit.order(supervisor, wo)["notes"]][0] == "一"
    assert len(kit.order(supervisor, wo)["notes"]) == 2
    # a known id beyond a gap: the table of §2 says seq_reused before it says gap
    reply = device.push([{**one, "seq": 9}])
    assert reply["stopped"] == {"seq": 9, "reason": "seq_reused", "resend_from": 3}


def test_a_missing_blob_stops_without_advancing_until_it_is_uploaded(device, supervisor):
    wo = kit.new_order(supervisor)
    picture = kit.png()
    digest = hashlib.sha256(picture).hexdigest()
    before = device.make(*kit.note(wo))
    with_photo = device.make(*kit.photo(wo, digest))
    after = device.make(*kit.note(wo))
    reply = device.push([before, with_photo, after])
    assert [r["seq"] for r in reply["results"]] == [1]
    assert reply["stopped"] == {"seq": 2, "reason": "blob_missing", "resend_from": 2}
    assert reply["last_seq"] == 1
    kit.upload(device, picture, kind="photo")
    reply = device.push([before, with_photo, after])
    assert [r["status"] for r in reply["results"]] == ["duplicate", "applied", "applied"]
    photos = kit.order(supervisor, wo)["photos"]
    assert [p["sha256"] for p in photos] == [digest]


def test_a_missing_blob_stops_even_a_mutation_whose_other_arguments_are_wrong(device, supervisor):
    """§3: a mutation naming a missing blob stops the batch instead of being rejected."""
    wo = kit.new_order(supervisor)
    missing = hashlib.sha256(b"never uploaded").hexdigest()
    name, args = kit.signoff(wo, missing, "0" * 64)
    reply = device.push([device.make(name, {**args, "signed_at": "yesterday"})])
    assert reply["stopped"] == {"seq": 1, "reason": "blob_missing", "resend_from": 1}
    assert reply["last_seq"] == 0 and reply["results"] == []


def test_a_rejected_mutation_advances_last_seq_and_never_blocks_the_queue(device, supervisor):
    wo = kit.new_order(supervisor)
    reply = device.push([device.make("fly_to_site", {"work_order_id": wo}),
                         device.make("add_note", {"work_order_id": wo, "note_id": "not-a-uuid", "text": "x"}),
                         device.make(*kit.note(wo))])
    assert [(r["status"], r.get("reason")) for r in reply["results"]] == [
        ("rejected", "unknown_action"), ("rejected", "invalid_args"), ("applied", None)]
    assert reply["last_seq"] == 3
    assert "note_id must be a UUID" in reply["results"][1]["message"]


def test_reasons_are_told_in_chinese_and_english(device, supervisor):
    wo = kit.new_order(supervisor)
    en = device.push([device.make(*kit.add_part(wo, qty="0"))], lang="en")["results"][0]
    zh = device.push([device.make(*kit.add_part(wo, qty="0"))], lang="zh-CN")["results"][0]
    assert en["reason"] == zh["reason"] == "invalid_args"
    assert "The quantity must be more than 0." in en["message"]
    assert "数量必须大于 0" in zh["message"]


BAD_BODIES = [
    ("not JSON", b"{mutations: [}"),
    ("JSON but a list", b"[]"),
    ("no device_id", json.dumps({"schema_version": 1, "clock_offset_ms": 0, "mutations": []}).encode()),
    ("no mutations", None),
    ("schema_version as text", None),
    ("unknown schema_version", None),
    ("clock offset as text", None),
    ("mutations an object", None),
    ("mutation without id", None),
    ("mutation id not a UUID", None),
    ("seq zero", None),
    ("seq as text", None),
    ("name a number", None),
    ("args a list", None),
    ("seqs descending", None),
    ("seqs repeated", None),
    ("a huge device_id", None),
]


def _bad(device: kit.Device, label: str, wo: int) -> bytes:
    ok = [device.make(*kit.note(wo)) for _ in range(2)]
    device.seq -= 2  # never really sent
    env = device.envelope(ok)
    change = {
        "no mutations": lambda e: e.pop("mutations"),
        "schema_version as text": lambda e: e.update(schema_version="1"),
        "unknown schema_version": lambda e: e.update(schema_version=99),
        "clock offset as text": lambda e: e.update(clock_offset_ms="-1200"),
        "mutations an object": lambda e: e.update(mutations={"1": ok[0]}),
        "mutation without id": lambda e: e["mutations"][1].pop("id"),
        "mutation id not a UUID": lambda e: e["mutations"][1].update(id="018f"),
        "seq zero": lambda e: e["mutations"][0].update(seq=0),
        "seq as text": lambda e: e["mutations"][1].update(seq="2"),
        "name a number": lambda e: e["mutations"][1].update(name=7),
        "args a list": lambda e: e["mutations"][1].update(args=[]),
        "seqs descending": lambda e: e.update(mutations=list(reversed(ok))),
        "seqs repeated": lambda e: e["mutations"][1].update(seq=ok[0]["seq"]),
        "a huge device_id": lambda e: e.update(device_id="x" * 100_000),
    }[label]
    change(env)
    return json.dumps(env).encode()


@pytest.mark.parametrize("label,body", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_malformed_requests_answer_4xx_and_change_nothing(device, supervisor, label, body):
    wo = kit.new_order(supervisor)
    device.send(*kit.note(wo))
    version = kit.order(supervisor, wo)["version"]
    response = device.raw(body if body is not None else _bad(device, label, wo))
    assert 400 <= response.status_code < 500 and response.status_code in (400, 403, 413, 422), response.text
    assert response.json()["error"] and response.json()["message"]
    assert device.last_seq() == 1
    assert kit.order(supervisor, wo)["version"] == version


def test_too_many_or_too_big_answer_413_and_change_nothing(device, supervisor):
    wo = kit.new_order(supervisor)
    many = [device.make(*kit.note(wo)) for _ in range(501)]
    assert device.raw(json.dumps(device.envelope(many)).encode()).status_code == 413
    device.seq = 0
    big = [device.make(*kit.note(wo, text="长" * 3000)) for _ in range(150)]  # > 1 MiB in UTF-8
    body = json.dumps(device.envelope(big), ensure_ascii=False).encode()
    assert len(body) > 1024 * 1024
    assert device.raw(body).status_code == 413
    assert device.last_seq() == 0
    assert kit.order(supervisor, wo)["notes"] == []


def test_huge_strings_inside_one_mutation_only_reject_it(device, supervisor):
    wo = kit.new_order(supervisor)
    reply = device.push([device.make(*kit.note(wo, text="长" * 100_000)), device.make(*kit.note(wo))])
    assert [(r["status"], r.get("reason")) for r in reply["results"]] == [("rejected", "invalid_args"),
                                                                        ("applied", None)]


def test_another_devices_id_is_forbidden(live_server, device, supervisor):
    other = kit.register(live_server.url, "tech1")
    wo = kit.new_order(supervisor)
    env = other.envelope([other.make(*kit.note(wo))])
    response = httpx.post(live_server.url + "/sync/push", json={**env, "device_id": device.device_id},
                          headers=other.headers)
    assert response.status_code == 403
    assert device.last_seq() == 0 and other.last_seq() == 0


def test_only_a_live_device_token_may_push(live_server, device, supervisor):
    env = device.envelope([])
    assert httpx.post(live_server.url + "/sync/push", json=env).status_code == 401
    assert httpx.post(live_server.url + "/sync/push", json=env,
                      headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert supervisor.post("/sync/push", json=env).status_code == 401  # a browser session is not a device
    assert httpx.delete(f"{live_server.url}/sync/devices/{device.device_id}", headers=device.headers).status_code == 204
    assert httpx.post(live_server.url + "/sync/push", json=env, headers=device.headers).status_code == 401


def test_pushes_from_many_devices_at_once_all_succeed(live_server, supervisor):
    devices = [kit.register(live_server.url, name) for name in ("tech1", "tech2") * 4]
    orders = {d.device_id: kit.new_order(supervisor, "tech1" if i % 2 == 0 else "tech2")
              for i, d in enumerate(devices)}
    rounds = 4
    batches = {d.device_id: [[d.make(*kit.note(orders[d.device_id], text=f"{r}-{k}")) for k in range(25)]
                             for r in range(rounds)] for d in devices}
    failures: list[str] = []

    def run(device: kit.Device) -> None:
        with httpx.Client(timeout=120) as client:
            for batch in batches[device.device_id]:
                response = client.post(live_server.url + "/sync/push", json=device.envelope(batch),
                                       headers=device.headers)
                if response.status_code != 200 or response.json()["stopped"]:
                    failures.append(response.text)

    threads = [threading.Thread(target=run, args=(d,)) for d in devices]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    for d in devices:
        assert len(kit.order(supervisor, orders[d.device_id])["notes"]) == rounds * 25
        assert d.last_seq() == rounds * 25


def test_the_same_device_pushing_twice_at_once_applies_each_mutation_once(live_server, device, supervisor):
    wo = kit.new_order(supervisor)
    batch = [device.make(*kit.note(wo, text=str(i))) for i in range(50)]
    replies: list[dict] = []

    def run() -> None:
        response = httpx.post(live_server.url + "/sync/push", json=device.envelope(batch),
                              headers=device.headers, timeout=120)
        replies.append(response.json())

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(tuple(r["status"] for r in reply["results"]) for reply in replies)
    assert statuses[0] == ("applied",) * 50 or statuses[-1] == ("applied",) * 50
    assert sum(s == ("applied",) * 50 for s in statuses) == 1
    assert len(kit.order(supervisor, wo)["notes"]) == 50


def test_the_technician_sees_what_was_refused_and_why(live_server, device, supervisor):
    wo = kit.new_order(supervisor)
    mine = device.send(*kit.add_part(wo, code="NOPE-1"))
    outcomes = httpx.get(live_server.url + "/api/sync/outcomes", headers=device.headers).json()["outcomes"]
    entry = next(o for o in outcomes if o["seq"] == 1 and o["device_id"] == device.device_id)
    assert entry["status"] == "rejected" == mine["status"]
    assert entry["reason"] == "unknown_part" and "NOPE-1" in entry["message"]
    assert entry["work_order_id"] == wo
    zh = httpx.get(live_server.url + "/api/sync/outcomes",
                   headers={**device.headers, "Accept-Language": "zh-CN"}).json()["outcomes"]
    assert any("备件" in o["message"] for o in zh)
    # a session works too, and only one's own outcomes are listed
    assert all(o["device_id"] != device.device_id
               for o in supervisor.get("/api/sync/outcomes").json()["outcomes"])


def test_values_no_column_could_hold_only_reject_their_mutation(device, supervisor):
    wo = kit.new_order(supervisor)
    reply = device.push([
        device.make(*kit.note(wo, text="NUL\u0000inside")),
        device.make(*kit.diagnosis(wo), base_version=2**40),
        device.make("no\u0000such", {"work_order_id": wo}),
        device.make(*kit.note(2**63)),
        device.make(*kit.note(wo)),
        device.make(*kit.note(wo), base_version="7"),  # §2: a fact ignores base_version
    ], clock_offset_ms=10**11)
    assert [(r["status"], r.get("reason")) for r in reply["results"]] == [
        ("rejected", "invalid_args"), ("rejected", "invalid_args"), ("rejected", "unknown_action"),
        ("rejected", "not_assigned"), ("applied", None), ("applied", None)]
    assert reply["results"][0]["detail"]["problem"] == "nul" and "NUL" in reply["results"][0]["message"]
    assert reply["results"][1]["detail"]["problem"] == "base_version"
    assert supervisor.post("/api/conflicts/99999999999/resolve", json={"choice": "keep_server"}).status_code == 404


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_whatever_a_client_sends_the_answer_is_never_a_server_error(live_server, data):
    if "device" not in FUZZ_DEVICE:
        FUZZ_DEVICE["device"] = kit.register(live_server.url, "tech1")
    device = FUZZ_DEVICE["device"]
    names = st.sampled_from(["add_part", "void_part", "arrive", "record_diagnosis", "customer_signoff",
                             "rate_service", "carry_back", "collect_fee", "add_labour"]) | st.text(max_size=10)
    fields = ["work_order_id", "line_id", "part_code", "qty", "at", "started_at", "ended_at", "attitude",
              "amount_cents", "text", "signer_name", "report_sha256", "signature_sha256", "accessories"]
    args = data.draw(st.dictionaries(st.sampled_from(fields), JSON_VALUES, max_size=8))
    start = device.last_seq()
    mutation = {"id": kit.uid(), "seq": start + 1, "name": data.draw(names), "args": args,
                "base_version": data.draw(JSON_VALUES), "captured_at": data.draw(JSON_VALUES)}
    envelope = device.envelope([mutation], clock_offset_ms=data.draw(st.integers(-(2**45), 2**45)))
    if data.draw(st.booleans()):
        envelope[data.draw(st.sampled_from(list(envelope)))] = data.draw(JSON_VALUES)
    response = device.raw(json.dumps(envelope).encode())
    assert response.status_code < 500, response.text
    if response.status_code == 200:
        assert response.json()["last_seq"] in (start, start + 1)


FUZZ_DEVICE: dict = {}


def test_a_number_too_large_for_a_float_is_refused_and_changes_nothing(device, supervisor):
    wo = kit.new_order(supervisor)
    mutation = device.make(*kit.note(wo))
    body = json.dumps(device.envelope([mutation])).replace('"args": {', '"args": {"junk": 1e400, ', 1).encode()
    response = device.raw(body)
    assert response.status_code == 422 and response.json()["message"]
    assert device.last_seq() == 0 and kit.order(supervisor, wo)["notes"] == []
