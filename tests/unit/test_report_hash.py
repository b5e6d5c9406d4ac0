"""The signed report hash (sync-protocol §4) against the shared test vectors.

tests/vectors/report_hash.json is the contract between the server and the PWA's JavaScript:
both must turn each input into the same record, the same canonical bytes and the same hash.
"""

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.sync.report import build_report, canonical_json, is_qty, normalise_qty, report_sha256
from server.sync.rules import parse_time

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "report_hash.json").read_text(encoding="utf-8"))


def _record(data: dict) -> dict:
    labour = [(parse_time(e["started_at"]), parse_time(e["ended_at"])) for e in data["labour"]]
    return build_report(data["work_order_id"], data["outcome"], data["work_done"], data["parts"], labour,
                        data["payments_cents"], data["signer_name"])


def test_the_vectors_cover_what_the_issue_asks_for():
    text = json.dumps(VECTORS["reports"], ensure_ascii=False)
    assert any(p["voided"] for c in VECTORS["reports"] for p in c["input"]["parts"])
    assert any("." in p["qty"] for c in VECTORS["reports"] for p in c["input"]["parts"])
    assert "王芳" in text and len(VECTORS["reports"]) >= 5 and len(VECTORS["qty"]) >= 10


@pytest.mark.parametrize("case", VECTORS["reports"], ids=[c["name"] for c in VECTORS["reports"]])
def test_each_vector_gives_its_record_bytes_and_hash(case):
    record = _record(case["input"])
    assert record == case["record"]
    assert canonical_json(record) == case["canonical"].encode("utf-8")
    assert report_sha256(record) == case["sha256"]
    assert hashlib.sha256(case["canonical"].encode("utf-8")).hexdigest() == case["sha256"]


def test_canonical_json_is_sorted_compact_raw_utf8():
    assert canonical_json({"b": 1, "a": ["王", {"d": None, "c": True}]}) == \
        '{"a":["王",{"c":true,"d":null}],"b":1}'.encode("utf-8")


def test_voided_parts_and_order_of_lines_do_not_change_the_hash_of_what_was_signed():
    first = VECTORS["reports"][1]["input"]
    shuffled = dict(first, parts=list(reversed(first["parts"])))
    assert report_sha256(_record(shuffled)) == VECTORS["reports"][1]["sha256"]
    without_voided = dict(first, parts=[p for p in first["parts"] if not p["voided"]])
    assert report_sha256(_record(without_voided)) == VECTORS["reports"][1]["sha256"]


def test_any_change_to_the_record_changes_the_hash():
    case = VECTORS["reports"][0]
    for key, value in (("fee_cents", 1), ("labour_minutes", 96), ("signer_name", "王 芳"), ("work_done", "x")):
        assert report_sha256(dict(case["record"], **{key: value})) != case["sha256"]


@pytest.mark.parametrize("case", VECTORS["qty"], ids=[c["input"] for c in VECTORS["qty"]])
def test_quantities_in_their_shortest_form(case):
    assert is_qty(case["input"])
    assert normalise_qty(case["input"]) == case["canonical"]


@pytest.mark.parametrize("text", VECTORS["qty_invalid"])
def test_what_is_not_a_quantity(text):
    assert not is_qty(text)
    with pytest.raises(ValueError):
        normalise_qty(text)


@given(st.decimals(min_value=0, max_value=999_999_999, places=6, allow_nan=False, allow_infinity=False))
def test_shortest_form_keeps_the_value_and_is_stable(number):
    text = format(number, "f")
    if not is_qty(text):
        return
    short = normalise_qty(text)
    assert Decimal(short) == Decimal(text)
    assert normalise_qty(short) == short
    assert not short.endswith(".") and (short == "0" or not short.startswith("0") or short.startswith("0."))
