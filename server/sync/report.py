"""The signed service record and its hash (sync-protocol §4, "The signed report hash").

The customer signs on the device the service record (对外技术服务记录卡) the technician
filled in; the device sends the SHA-256 of its canonical JSON with the signature. The server
builds the same record from what it holds and compares the hashes (seed 003: the customer
signs only after the service, and what they signed is never altered).

`report_sha256` is the one function that turns a record into its hash; the PWA's JavaScript
is held to the same bytes by tests/vectors/report_hash.json.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import orjson

QTY_PATTERN = re.compile(r"[0-9]{1,9}(\.[0-9]{1,6})?")


# What json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")) writes;
# one encoder made once (a push hashes every mutation's payload with it).
_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
# orjson writes the same bytes several times faster, except for numbers under 1e-4 (json
# writes 1e-05, orjson 0.00001 or 1e-5): such output is made again by json.
_NUMBER_CHARS = frozenset(b"0123456789.")
_VALUE_STARTS = frozenset(b":,[")


def _small_number_in(text: bytes) -> bool:
    """Does orjson's `text` hold a number written as 0.0000… or …e-…? Only a run of digits
    starting a value counts (right after `:`, `,`, `[`, a minus sign or the start): ids like
    "…3e-4a…" inside strings do not. A false alarm would only cost time."""
    for mark in (b"e-", b"0.0000"):
        at = text.find(mark)
        while at != -1:
            start = at
            while start > 0 and text[start - 1] in _NUMBER_CHARS:
                start -= 1
            if start < at or mark == b"0.0000":
                if start > 0 and text[start - 1] == 0x2D:  # "-"
                    start -= 1
                if start == 0 or text[start - 1] in _VALUE_STARTS:
                    return True
            at = text.find(mark, at + 1)
    return False


def canonical_json(value: object) -> bytes:
    """Keys sorted, no insignificant whitespace, non-ASCII raw, UTF-8 (sync-protocol §4).

    For values read from JSON (str, int, float, bool, None, list, dict)."""
    try:
        fast = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):  # lone surrogates, integers over 64 bits…
        fast = None
    if fast is not None and not _small_number_in(fast) and not (b"null" in fast and _non_finite_in(value)):
        return fast
    return _CANONICAL.encode(value).encode("utf-8")


def _non_finite_in(value: object) -> bool:
    """Does `value` hold an infinite or NaN float (1e400 reads as infinity)? orjson writes
    those as null; json refuses them, and so must the canonical form."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def sha256_hex(value: object) -> str:
    """SHA-256, lower-case hex, of the canonical JSON of `value` (also a payload's hash, §2)."""
    return hashlib.sha256(canonical_json(value)).hexdigest()


def report_sha256(record: Mapping) -> str:
    """The hash of a service record: SHA-256 hex of its canonical JSON."""
    return sha256_hex(dict(record))


def is_qty(text: object) -> bool:
    """A quantity as the device sends it: a decimal string, digits with an optional fraction
    ("1", "2.5", "0.125"); no sign, no exponent, at most 9 + 6 digits."""
    return isinstance(text, str) and QTY_PATTERN.fullmatch(text) is not None


def normalise_qty(text: str) -> str:
    """The shortest decimal form: "2.50" → "2.5", "2.0" → "2", "007" → "7", "0.50" → "0.5".

    Pure string work so every client can do the same: leading zeros of the whole part go
    (one "0" stays), trailing zeros of the fraction go, and the point goes with an empty
    fraction."""
    if not is_qty(text):
        raise ValueError(f"not a quantity: {text!r}")
    whole, _, fraction = text.partition(".")
    whole = whole.lstrip("0") or "0"
    fraction = fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def labour_minutes(entries: Iterable[tuple[datetime, datetime]]) -> int:
    """The total of the labour entries in seconds, divided by 60 and rounded down (summed in
    whole microseconds, so no rounding of floats can take a minute away)."""
    total = sum(((ended - started) // timedelta(microseconds=1) for started, ended in entries), 0)
    return max(total, 0) // 60_000_000


def build_report(work_order_id: int, outcome: str | None, work_done: str | None,
                 parts: Iterable[Mapping], labour: Iterable[tuple[datetime, datetime]],
                 payments_cents: Iterable[int], signer_name: str | None) -> dict:
    """The service record the customer sees (sync-protocol §4).

    `parts` are the order's part lines ({"line_id", "part_code", "qty", "voided"}): voided ones
    are left out, the rest sorted by line_id with each qty in its shortest form. `labour` are
    (started_at, ended_at) pairs; `payments_cents` the payments recorded before the sign-off."""
    lines = sorted(
        ({"line_id": p["line_id"], "part_code": p["part_code"], "qty": normalise_qty(p["qty"])}
         for p in parts if not p.get("voided")),
        key=lambda line: line["line_id"],
    )
    return {
        "fee_cents": sum(int(cents) for cents in payments_cents),
        "labour_minutes": labour_minutes(labour),
        "outcome": outcome or None,
        "parts": lines,
        "signer_name": signer_name,
        "work_done": work_done if outcome else None,
        "work_order_id": work_order_id,
    }
