"""Sync rules without a database: the envelope, each action's arguments, who may act, and
when a fact is kept as a conflict (sync-protocol §2, §4)."""

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.sync import rules
from server.sync.envelope import Malformed, parse_envelope
from server.sync.report import sha256_hex

DEVICE = str(uuid.uuid4())
AT = "2026-11-22T09:31:05+08:00"


def uid() -> str:
    return str(uuid.uuid4())


GOOD_ARGS = {
    "start_travel": {"work_order_id": 7, "at": AT},
    "arrive": {"work_order_id": 7, "at": AT},
    "record_diagnosis": {"work_order_id": 7, "reported": "不亮", "observed": "驱动烧毁", "cause": "雷击",
                         "severity": "general"},
    "add_part": {"work_order_id": 7, "line_id": uid(), "part_code": "LED-40W", "qty": "2.50", "source": "van",
                 "old_part_returned": True},
    "void_part": {"work_order_id": 7, "line_id": uid(), "reason": "记错了"},
    "add_labour": {"work_order_id": 7, "entry_id": uid(), "started_at": AT, "ended_at": "2026-11-22T10:31:05+08:00"},
    "add_note": {"work_order_id": 7, "note_id": uid(), "text": "客户要求下午再来"},
    "attach_photo": {"work_order_id": 7, "photo_id": uid(), "sha256": "a" * 64, "caption": ""},
    "complete_work": {"work_order_id": 7, "outcome": "fixed", "work_done": "更换驱动"},
    "collect_fee": {"work_order_id": 7, "payment_id": uid(), "amount_cents": 5000, "method": "cash",
                    "receipt_no": "R-1"},
    "carry_back": {"work_order_id": 7, "receipt_id": uid(), "condition": "外壳有划痕", "accessories": ["电源线", "遥控器"]},
    "customer_signoff": {"work_order_id": 7, "signoff_id": uid(), "signer_name": "王芳", "signature_sha256": "b" * 64,
                         "report_sha256": "c" * 64, "signed_at": AT},
    "rate_service": {"work_order_id": 7, "rating_id": uid(), "attitude": 4, "skill": 3, "arrival": 2, "promises": 1,
                     "comment": "", "complaint": None},
}


def envelope(items, **over) -> bytes:
    return json.dumps({"device_id": DEVICE, "schema_version": 1, "clock_offset_ms": 0,
                       "mutations": items, **over}).encode()


def mutation(seq=1, **over) -> dict:
    return {"id": uid(), "seq": seq, "name": "arrive", "args": {"work_order_id": 1, "at": AT},
            "base_version": None, "captured_at": AT, **over}


# --- the envelope ---------------------------------------------------------------------

def test_a_good_envelope_is_read_with_each_payload_hash():
    m = mutation()
    env = parse_envelope(envelope([m]), DEVICE)
    assert env.clock_offset_ms == 0 and env.mutations[0].seq == 1
    payload = {k: v for k, v in m.items() if k not in ("id", "seq")}
    assert env.mutations[0].payload_sha256 == sha256_hex(payload)


def test_the_payload_hash_ignores_id_seq_and_key_order():
    a = mutation(seq=1)
    b = dict(reversed(list(mutation(seq=9).items())))
    assert parse_envelope(envelope([a]), DEVICE).mutations[0].payload_sha256 == \
        parse_envelope(envelope([b]), DEVICE).mutations[0].payload_sha256


@pytest.mark.parametrize("body,status", [
    (b"not json", 400),
    (b'{"device_id": NaN}', 400),
    (b"\xff\xfe", 400),
    (b"[]", 422),
    (envelope([], device_id=None), 422),
    (json.dumps({"schema_version": 1, "clock_offset_ms": 0, "mutations": []}).encode(), 422),
    (envelope([], schema_version="1"), 422),
    (envelope([], schema_version=2), 422),
    (envelope([], clock_offset_ms=1.5), 422),
    (envelope([], clock_offset_ms=True), 422),
    (envelope([], mutations={}), 422),
    (envelope([], device_id=str(uuid.uuid4())), 403),
    (envelope([mutation(seq=i) for i in range(1, 502)]), 413),
    (envelope([mutation(id="not-a-uuid")]), 422),
    (envelope([mutation(seq=0)]), 422),
    (envelope([mutation(seq="1")]), 422),
    (envelope([mutation(seq=True)]), 422),
    (envelope([mutation(name=3)]), 422),
    (envelope([mutation(args=[])]), 422),
    (envelope([{k: v for k, v in mutation().items() if k != "args"}]), 422),
    (envelope(["arrive"]), 422),
    (envelope([mutation(seq=2), mutation(seq=1)]), 422),
    (envelope([mutation(seq=1), mutation(seq=1)]), 422),
    (envelope([mutation(args={"x": "y" * (1024 * 1024)})]), 413),
])
def test_malformed_envelopes_are_refused_whole(body, status):
    with pytest.raises(Malformed) as caught:
        parse_envelope(body, DEVICE)
    assert caught.value.status == status


def test_exactly_500_mutations_are_accepted():
    assert len(parse_envelope(envelope([mutation(seq=i) for i in range(1, 501)]), DEVICE).mutations) == 500


def test_problems_of_one_mutation_beyond_the_four_fields_are_not_the_envelopes_business():
    env = parse_envelope(envelope([mutation(name="no_such_action", args={"anything": 1}, base_version="x")]),
                         DEVICE)
    assert env.mutations[0].name == "no_such_action"


# --- each action's arguments ---------------------------------------------------------

@pytest.mark.parametrize("name", sorted(rules.ACTIONS))
def test_every_action_accepts_its_documented_arguments(name):
    cleaned = rules.check_args(name, GOOD_ARGS[name], 3, AT)
    assert cleaned["work_order_id"] == 7
    # §2: base_version matters only for actions that change mutable fields
    assert cleaned["_base_version"] == (3 if rules.ACTIONS[name].kind == rules.MUTABLE else None)


@pytest.mark.parametrize("name", sorted(rules.ACTIONS))
def test_every_argument_of_every_action_is_required(name):
    for field in GOOD_ARGS[name]:
        if name == "rate_service" and field == "complaint":
            continue
        args = {k: v for k, v in GOOD_ARGS[name].items() if k != field}
        with pytest.raises(rules.Problem):
            rules.check_args(name, args, None, None)


@pytest.mark.parametrize("name,field,value,problem", [
    ("add_part", "qty", "0", "qty_positive"),
    ("add_part", "qty", "0.000", "qty_positive"),
    ("add_part", "qty", 2, "qty"),
    ("add_part", "qty", "-1", "qty"),
    ("add_part", "line_id", "line-1", "uuid"),
    ("add_part", "source", "shop", "choice"),
    ("add_part", "old_part_returned", "yes", "missing"),
    ("add_part", "part_code", "", "empty"),
    ("add_part", "part_code", "X" * 41, "too_long"),
    ("add_part", "work_order_id", "7", "missing"),
    ("add_part", "work_order_id", True, "missing"),
    ("add_part", "work_order_id", -1, "missing"),
    ("rate_service", "attitude", 5, "rating"),
    ("rate_service", "skill", 0, "rating"),
    ("rate_service", "arrival", 2.5, "missing"),
    ("add_labour", "ended_at", AT, "labour_order"),
    ("add_labour", "ended_at", "2026-11-22T09:00:00+08:00", "labour_order"),
    ("add_labour", "started_at", "2026-11-22 09:00", "time"),  # no offset
    ("add_labour", "started_at", "2026-11-22_09:00:00+08:00", "time"),
    ("arrive", "at", "2026-11-22T09:31:05", "time"),
    ("arrive", "at", "yesterday", "time"),
    ("arrive", "at", "2026-11-22", "time"),
    ("collect_fee", "amount_cents", 0, "amount"),
    ("collect_fee", "amount_cents", 10.5, "amount"),
    ("customer_signoff", "report_sha256", "z" * 64, "sha256"),
    ("customer_signoff", "signer_name", "  ", "empty"),
    ("record_diagnosis", "severity", "minor", "choice"),
    ("complete_work", "outcome", "done", "choice"),
    ("add_note", "text", "长" * 4001, "too_long"),
    ("carry_back", "accessories", 3, "missing"),
])
def test_ill_typed_or_out_of_range_arguments(name, field, value, problem):
    with pytest.raises(rules.Problem) as caught:
        rules.check_args(name, {**GOOD_ARGS[name], field: value}, None, None)
    assert caught.value.key == problem


def test_free_text_that_may_be_empty_may_also_be_null():
    for name, field in (("attach_photo", "caption"), ("rate_service", "comment"), ("collect_fee", "receipt_no"),
                        ("void_part", "reason"), ("carry_back", "condition"), ("carry_back", "accessories")):
        assert rules.check_args(name, {**GOOD_ARGS[name], field: None}, None, None)[field] == ""
    assert rules.check_args("rate_service", GOOD_ARGS["rate_service"], None, None)["complaint"] is None
    with pytest.raises(rules.Problem):
        rules.check_args("add_note", {**GOOD_ARGS["add_note"], "text": None}, None, None)


def test_base_version_and_captured_at_are_checked_too():
    with pytest.raises(rules.Problem) as caught:
        rules.check_args("record_diagnosis", GOOD_ARGS["record_diagnosis"], "3", None)
    assert caught.value.key == "base_version"
    assert rules.check_args("arrive", GOOD_ARGS["arrive"], "3", None)["_base_version"] is None  # a fact
    with pytest.raises(rules.Problem):
        rules.check_args("arrive", GOOD_ARGS["arrive"], None, "soon")


def test_cleaning_normalises_quantities_and_accessories():
    args = {**GOOD_ARGS["add_part"], "qty": "2.50"}
    cleaned = rules.check_args("add_part", args, None, None)
    assert cleaned["line_id"] == GOOD_ARGS["add_part"]["line_id"] and cleaned["qty"] == "2.5"
    assert rules.check_args("carry_back", GOOD_ARGS["carry_back"], None, None)["accessories"] == "电源线、遥控器"
    assert rules.check_args("arrive", GOOD_ARGS["arrive"], None, AT)["at"] == \
        datetime(2026, 11, 22, 1, 31, 5, tzinfo=timezone.utc)


def test_blobs_named_by_photos_and_signatures():
    assert rules.blob_named("attach_photo", GOOD_ARGS["attach_photo"]) == "a" * 64
    assert rules.blob_named("customer_signoff", GOOD_ARGS["customer_signoff"]) == "b" * 64
    assert rules.blob_named("attach_photo", {"sha256": "nope"}) is None
    assert rules.blob_named("add_note", GOOD_ARGS["add_note"]) is None


# --- who may act, and conflicts ---------------------------------------------------------

def test_only_the_technician_the_order_is_or_was_assigned_to_may_act():
    assert rules.may_act(True, 5, False, 5)
    assert rules.may_act(True, 6, True, 5)  # re-dispatched away: may still send what was done
    assert not rules.may_act(True, 6, False, 5)
    assert not rules.may_act(False, None, False, 5)


@pytest.mark.parametrize("status,assigned,expected", [
    ("dispatched", 5, None), ("in_progress", 5, None), ("completed", 5, None),
    ("dispatched", 6, "reassigned"), ("waiting", None, "reassigned"),
    ("cancelled", 5, "cancelled"), ("closed", 5, "closed"), ("cancelled", 6, "cancelled"),
])
def test_assignment_conflicts(status, assigned, expected):
    assert rules.assignment_conflict(status, assigned, 5) == expected


def test_stale_edit_only_for_the_same_fields_changed_by_someone_else_after_the_base_version():
    seen = rules.FieldChangeSeen
    # v2: the office set observed; v4: the office changed the cause; v6: this device the report
    changes = [seen("observed", 2, "", ""), seen("cause", 4, "", "old cause"), seen("reported", 6, "DEV", "r0")]
    current = {"cause": "office cause", "observed": "office saw", "reported": "r1"}
    # on base 3 the device saw cause "old cause": changing it collides with the office's v4
    apply, stale = rules.merge_edit({"cause": "device cause", "observed": "device saw", "reported": "r2"},
                                    current, 3, changes, "DEV")
    assert stale == ["cause"] and apply == {"observed": "device saw", "reported": "r2"}
    # a field sent back as the device saw it is no edit: the office's newer value stays, no conflict
    apply, stale = rules.merge_edit({"cause": "old cause"}, current, 3, changes, "DEV")
    assert (apply, stale) == ({}, [])
    # after the office's change, nothing is stale
    apply, stale = rules.merge_edit({"cause": "device cause"}, current, 4, changes, "DEV")
    assert (apply, stale) == ({"cause": "device cause"}, [])
    # the same value as the server's is no conflict; another device's change is
    assert rules.merge_edit({"cause": "office cause"}, current, 0, changes, "DEV") == ({}, [])
    assert rules.merge_edit({"reported": "r9"}, current, 3, changes, "OTHER") == ({}, ["reported"])
    # no base_version saw nothing: every field someone else changed is stale
    assert rules.merge_edit({"cause": "x", "observed": "y"}, current, None, changes, "DEV")[1] == ["cause", "observed"]


def test_status_moves_and_the_receipt_number():
    assert rules.next_status_on_visit("dispatched") == "in_progress"
    assert rules.next_status_on_visit("completed") == "completed"
    assert rules.next_status_on_completion("in_progress") == "completed"
    assert rules.next_status_on_completion("cancelled") == "cancelled"
    assert rules.receipt_number("WO-20261122-0007", 0) == "PR-WO-20261122-0007-1"


@given(st.integers(min_value=-10**12, max_value=10**12))
def test_corrected_time_removes_the_device_clock_offset(offset):
    moment = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)
    assert rules.corrected(moment, offset) == moment - timedelta(milliseconds=offset)
    assert rules.clock_flagged(offset) == (abs(offset) > 300_000)


def test_every_reason_and_problem_has_a_message():
    for reason in ("unknown_action", "invalid_args", "not_assigned", "unknown_part", "unknown_line",
                   "already_voided", "duplicate_id", "signoff_before_completion", *rules.CONFLICT_KINDS):
        assert rules.MESSAGES[reason]
    assert rules.MESSAGES["signoff_before_completion"] == "The customer can sign only after the work is completed."


@pytest.mark.parametrize("text", ["2026-11-22T09:31:05+08:00", "2026-11-22t01:31:05z", "2026-11-22 01:31:05Z",
                                  "2026-11-22T01:31:05.250Z"])
def test_rfc_3339_times_in_every_spelling_it_allows(text):
    assert rules.parse_time(text).replace(microsecond=0) == datetime(2026, 11, 22, 1, 31, 5, tzinfo=timezone.utc)


def test_device_made_ids_are_kept_as_the_device_spelled_them():
    line = "3F2E7B9C-1A2B-4C3D-8E9F-0A1B2C3D4E5F"
    cleaned = rules.check_args("add_part", {**GOOD_ARGS["add_part"], "line_id": line}, None, AT)
    assert cleaned["line_id"] == line
