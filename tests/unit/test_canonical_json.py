"""The canonical JSON of sync-protocol §4 and the push's JSON reader are made fast with orjson;
they must give exactly what the standard library gives, for every JSON value."""

import json

import pytest
from hypothesis import given, settings, strategies as st

from server.sync.envelope import Malformed, parse_json
from server.sync.report import canonical_json

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=8)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT
    | st.sampled_from([1e-05, 1.192092896e-07, 5e-324, 1e16, 1e22, -0.0, 0.0001, 9.99e-05]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=25)


def standard(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


@settings(max_examples=600)
@given(JSON_VALUES)
def test_canonical_json_is_byte_for_byte_the_standard_librarys(value):
    assert canonical_json(value) == standard(value)


@settings(max_examples=300)
@given(JSON_VALUES)
def test_the_push_reader_reads_what_json_reads(value):
    body = json.dumps(value, ensure_ascii=False).encode()
    assert standard(parse_json(body)) == standard(json.loads(body))


def test_lone_surrogates_cannot_be_made_canonical():
    with pytest.raises(ValueError):
        canonical_json({"text": "\ud800"})


@pytest.mark.parametrize("body", [b'{"a": NaN}', b"[Infinity]", b"\xff\xfe", b"{", b""])
def test_what_is_not_json_is_refused_with_400(body):
    with pytest.raises(Malformed) as refused:
        parse_json(body)
    assert refused.value.status == 400


def test_huge_integers_and_escaped_surrogates_are_still_read():
    assert parse_json(b"[123456789012345678901234567890]") == [123456789012345678901234567890]
    assert parse_json(b'"\\ud800"') == "\ud800"


@pytest.mark.parametrize("value", [
    {"id": "0b7e-3e-4a9e-", "n": 1}, ["3e-4", "x:0.00001"], {"qty": "0.00001"},
    [0.5, -1e-05, 2e-07], {"a": [1, {"b": -0.00001}]}, 1e-05, -3.5e-10,
])
def test_ids_and_text_that_look_like_small_numbers_still_come_out_right(value):
    assert canonical_json(value) == standard(value)


def test_an_overflowing_number_cannot_be_made_canonical():
    """1e400 reads as infinity; orjson would write it as null, json refuses it (allow_nan=False)."""
    value = parse_json(b'{"args": {"junk": 1e400, "ok": null}}')
    with pytest.raises(ValueError):
        canonical_json(value)
    assert canonical_json({"ok": None, "n": [1.5, None]}) == standard({"ok": None, "n": [1.5, None]})


@pytest.mark.parametrize("depth", [400, 600, 990, 1010, 3000])
def test_deep_nesting_is_read_exactly_when_json_reads_it(depth):
    body = b"[" * depth + b"]" * depth
    try:
        json.loads(body)
        expected = "read"
    except RecursionError:
        expected = "refused"
    try:
        parse_json(body)
        got = "read"
    except Malformed:
        got = "refused"
    assert got == expected
