"""Checking a push request's envelope (sync-protocol §2, "Malformed or rejected").

A malformed request is refused whole — 400/413/422, or 403 for another device's id — and
nothing of it is applied. Only the envelope and the four fields every mutation must have
(`id`, `seq`, `name`, `args`) are checked here; everything else about one mutation makes that
mutation `rejected`, so one old or buggy client never blocks the queue behind it.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

import orjson

from server.i18n import N_
from server.sync.report import canonical_json

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB
MAX_MUTATIONS = 500
SCHEMA_VERSIONS = (1,)
MAX_CLOCK_OFFSET_MS = 10**12  # ~31 years: anything beyond is not a clock estimate
UUID_PATTERN = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Malformed(Exception):
    """The whole request is refused: `status`, an English source `message` and its values."""

    def __init__(self, status: int, message: str, **values: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.values = values


@dataclass(slots=True)
class Mutation:
    id: str  # as sent
    key: str  # the id in lower case: what the ledger compares
    seq: int
    name: str
    args: dict
    base_version: Any
    captured_at: Any
    payload: str  # canonical JSON of the mutation without id and seq
    payload_sha256: str


@dataclass(frozen=True)
class Envelope:
    device_id: str
    schema_version: int
    clock_offset_ms: int
    mutations: list[Mutation]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_uuid(value: Any) -> bool:
    return isinstance(value, str) and UUID_PATTERN.fullmatch(value) is not None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Every digit as "0", everything else as "x": 19 zeros in a row are 19 digits in a row (one
# C pass over the body; a regular expression took as long as the rest of the push).
_DIGITS_AS_ZERO = bytes(ord("0") if chr(b).isdigit() and b < 128 else ord("x") for b in range(256))
_NINETEEN_DIGITS = b"0" * 19


_DEEP = 500


def _depth(document: Any) -> int:
    """How deeply lists and objects nest in `document`."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (list, dict)):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def parse_json(body: bytes) -> Any:
    """The body as JSON (strict: NaN and Infinity are not JSON); Malformed 400 otherwise.

    orjson reads a push several times faster. It reads integers over 64 bits as floats, so
    a body with 19 digits in a row is read by json; so is what orjson refuses (lone
    surrogates, NaN…), and json's answer stands."""
    if _NINETEEN_DIGITS not in body.translate(_DIGITS_AS_ZERO):
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            # orjson reads 1,024 levels deep, json fewer: so deep a body is json's to judge.
            if body.count(b"[") + body.count(b"{") < _DEEP or _depth(document) < _DEEP:
                return document
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Malformed(400, N_("The push is not valid JSON."))


def _field(document: dict, name: str, check, kind: str) -> Any:
    if name not in document:
        raise Malformed(422, N_("The field %(field)s is missing."), field=name)
    value = document[name]
    if not check(value):
        raise Malformed(422, N_("The field %(field)s must be %(kind)s."), field=name, kind=kind)
    return value


_MUTATION_FIELDS = (("id", is_uuid, N_("a UUID")),
                    ("seq", lambda v: is_int(v) and v > 0, N_("a positive integer")),
                    ("name", lambda v: isinstance(v, str), N_("a string")),
                    ("args", lambda v: isinstance(v, dict), N_("an object")))


def _refuse_mutation(raw: Any, index: int) -> Malformed:
    """Why a mutation is malformed, for the reply."""
    if not isinstance(raw, dict):
        return Malformed(422, N_("Mutation %(index)s is not an object."), index=index)
    for name, check, kind in _MUTATION_FIELDS:
        if name not in raw:
            return Malformed(422, N_("Mutation %(index)s has no %(field)s."), index=index, field=name)
        if not check(raw[name]):
            return Malformed(422, N_("In mutation %(index)s, %(field)s must be %(kind)s."),
                             index=index, field=name, kind=kind)
    return Malformed(422, N_("Mutation %(index)s cannot be read as text."), index=index)


def _mutation(raw: Any, index: int) -> Mutation:
    try:
        mutation_id, seq, name, args = raw["id"], raw["seq"], raw["name"], raw["args"]
        well_formed = (type(seq) is int and seq > 0 and type(name) is str and type(args) is dict
                       and type(mutation_id) is str and UUID_PATTERN.fullmatch(mutation_id) is not None)
    except (TypeError, KeyError, IndexError):
        well_formed = False
    if not well_formed:
        raise _refuse_mutation(raw, index)
    payload = dict(raw)
    del payload["id"], payload["seq"]
    try:
        data = canonical_json(payload)
    except (ValueError, RecursionError):  # lone surrogates and the like
        raise Malformed(422, N_("Mutation %(index)s cannot be read as text."), index=index)
    return Mutation(id=mutation_id, key=mutation_id.lower(), seq=seq, name=name,
                    args=args, base_version=raw.get("base_version"),
                    captured_at=raw.get("captured_at"), payload=data.decode("utf-8"),
                    payload_sha256=hashlib.sha256(data).hexdigest())


def parse_envelope(body: bytes, token_device_id: str) -> Envelope:
    """The checked envelope of a push, or Malformed with the status to answer."""
    if len(body) > MAX_BODY_BYTES:
        raise Malformed(413, N_("A push may carry at most 1 MiB."))
    document = parse_json(body)
    if not isinstance(document, dict):
        raise Malformed(422, N_("The push must be a JSON object."))
    device_id = _field(document, "device_id", lambda v: isinstance(v, str), N_("a string"))
    schema_version = _field(document, "schema_version", is_int, N_("an integer"))
    clock_offset = _field(document, "clock_offset_ms",
                          lambda v: is_int(v) and abs(v) <= MAX_CLOCK_OFFSET_MS,
                          N_("an integer number of milliseconds"))
    mutations = _field(document, "mutations", lambda v: isinstance(v, list), N_("a list"))
    if device_id.lower() != token_device_id.lower():
        raise Malformed(403, N_("This token belongs to another device."))
    if schema_version not in SCHEMA_VERSIONS:
        raise Malformed(422, N_("Schema version %(version)s is not supported; this server speaks version 1."),
                        version=schema_version)
    if len(mutations) > MAX_MUTATIONS:
        raise Malformed(413, N_("A push may carry at most 500 mutations."))
    parsed = [_mutation(raw, index) for index, raw in enumerate(mutations, start=1)]
    for before, after in zip(parsed, parsed[1:]):
        if after.seq <= before.seq:
            raise Malformed(422, N_("The mutations are not in strictly ascending seq order (%(a)s, then %(b)s)."),
                            a=before.seq, b=after.seq)
    return Envelope(device_id=token_device_id, schema_version=schema_version,
                    clock_offset_ms=clock_offset, mutations=parsed)
