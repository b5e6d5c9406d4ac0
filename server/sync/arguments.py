"""The arguments of the sync actions, schema_version 1 (sync-protocol §4): one checker per
argument, each action's list, and which argument names a blob or a device-made fact id.

All times are RFC 3339 with an offset; money is an integer number of cents; quantities are
decimal strings; every `*_id` the device makes is a UUID. A missing or ill-typed argument
makes the mutation `rejected` with `invalid_args` and a Problem saying what is wrong.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from server.i18n import N_
from server.sync.envelope import is_int, is_uuid
from server.sync.report import is_qty, normalise_qty

MAX_INT4 = 2**31 - 1  # the largest id or number an INTEGER column holds on every engine
SHA256_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
FACT, MUTABLE = "fact", "mutable"
DIAGNOSIS_FIELDS = ("reported", "observed", "cause", "severity")
COMPLETION_FIELDS = ("outcome", "work_done")

PROBLEMS = {  # invalid_args: what exactly is wrong (English source messages)
    "missing": N_("%(field)s is missing or of the wrong type."),
    "uuid": N_("%(field)s must be a UUID."),
    "time": N_("%(field)s must be a time with its UTC offset (RFC 3339)."),
    "qty": N_("%(field)s must be a decimal number written as text, such as \"2.5\"."),
    "qty_positive": N_("The quantity must be more than 0."),
    "rating": N_("Each rating goes from 1 to 4 (4 is best)."),
    "labour_order": N_("The end of the labour time must be after its start."),
    "choice": N_("%(field)s must be one of: %(choices)s."),
    "too_long": N_("%(field)s is too long (at most %(n)s characters)."),
    "empty": N_("%(field)s must not be empty."),
    "nul": N_("%(field)s must not contain a NUL character."),
    "amount": N_("The amount must be a whole number of cents above 0."),
    "sha256": N_("%(field)s must be a SHA-256 in hexadecimal."),
    "base_version": N_("base_version must be a whole number or null."),
}


class Problem(Exception):
    """An argument problem: a key of PROBLEMS and its values."""

    def __init__(self, key: str, **values: Any):
        super().__init__(key)
        self.key = key
        self.values = values


# --- argument checkers: each returns the cleaned value or raises Problem -----------------

def _present(args: dict, field: str) -> Any:
    if field not in args or args[field] is None:
        raise Problem("missing", field=field)
    return args[field]


def work_order_id(args: dict, field: str) -> int:
    value = _present(args, field)
    if not is_int(value) or value <= 0:
        raise Problem("missing", field=field)
    return value


def uuid_arg(args: dict, field: str) -> str:
    """A device-made id, kept exactly as sent: the report the customer signs holds it, and
    the device hashed its own spelling (sync-protocol §4)."""
    value = _present(args, field)
    if not is_uuid(value):
        raise Problem("uuid", field=field)
    return value


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time with offset, as UTC; None when it is not one."""
    if not isinstance(value, str) or not 16 <= len(value) <= 40:
        return None
    # RFC 3339: "T" and "Z" may be lower case, and a space may stand for the "T" (§5.6).
    text = value.upper()
    if text[10] not in "T ":
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    try:
        return moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None


def time_arg(args: dict, field: str) -> datetime:
    moment = parse_time(_present(args, field))
    if moment is None:
        raise Problem("time", field=field)
    return moment


def text(limit: int, required: bool = False, nullable: bool = False,
         null_is_blank: bool = False) -> Callable[[dict, str], Any]:
    """Text of at most `limit` characters; `required`: not blank; `nullable`: null stays null;
    `null_is_blank`: free text that may be left empty, where null means empty."""
    def check(args: dict, field: str) -> Any:
        if (nullable or null_is_blank) and args.get(field) is None:
            if field not in args:
                raise Problem("missing", field=field)
            return None if nullable else ""
        value = _present(args, field)
        if not isinstance(value, str):
            raise Problem("missing", field=field)
        if len(value) > limit:
            raise Problem("too_long", field=field, n=limit)
        if "\x00" in value:  # no database keeps a NUL inside text
            raise Problem("nul", field=field)
        if required and not value.strip():
            raise Problem("empty", field=field)
        return value
    return check


def choice(*choices: str) -> Callable[[dict, str], str]:
    def check(args: dict, field: str) -> str:
        value = _present(args, field)
        if value not in choices:
            raise Problem("choice", field=field, choices=", ".join(choices))
        return value
    return check


def boolean(args: dict, field: str) -> bool:
    value = _present(args, field)
    if not isinstance(value, bool):
        raise Problem("missing", field=field)
    return value


def qty(args: dict, field: str) -> str:
    value = _present(args, field)
    if not is_qty(value):
        raise Problem("qty", field=field)
    cleaned = normalise_qty(value)
    if cleaned == "0":
        raise Problem("qty_positive")
    return cleaned


def rating(args: dict, field: str) -> int:
    value = _present(args, field)
    if not is_int(value):
        raise Problem("missing", field=field)
    if not 1 <= value <= 4:
        raise Problem("rating")
    return value


def cents(args: dict, field: str) -> int:
    value = _present(args, field)
    if not is_int(value) or not 0 < value <= MAX_INT4:
        raise Problem("amount")
    return value


def sha256(args: dict, field: str) -> str:
    value = _present(args, field)
    if not isinstance(value, str) or not SHA256_PATTERN.fullmatch(value):
        raise Problem("sha256", field=field)
    return value.lower()


def accessories(args: dict, field: str) -> str:
    """What came with a carried-back product: text, or a list of texts."""
    if field in args and args[field] is None:
        return ""
    value = _present(args, field)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = "、".join(item.strip() for item in value if item.strip())
    if not isinstance(value, str) or "\x00" in value:
        raise Problem("missing", field=field)
    if len(value) > 1000:
        raise Problem("too_long", field=field, n=1000)
    return value


@dataclass(frozen=True)
class ActionSpec:
    kind: str  # FACT | MUTABLE
    args: dict[str, Callable[[dict, str], Any]]
    fact_id: str | None = None  # the device-made id of the fact it records
    blob: str | None = None  # the argument naming an uploaded blob
    fields: tuple[str, ...] = ()  # the order's mutable fields it sets


ACTIONS: dict[str, ActionSpec] = {
    "start_travel": ActionSpec(FACT, {"work_order_id": work_order_id, "at": time_arg}),
    "arrive": ActionSpec(FACT, {"work_order_id": work_order_id, "at": time_arg}),
    "record_diagnosis": ActionSpec(MUTABLE, {
        "work_order_id": work_order_id, "reported": text(4000), "observed": text(4000),
        "cause": text(4000), "severity": choice("general", "major")}, fields=DIAGNOSIS_FIELDS),
    "add_part": ActionSpec(FACT, {
        "work_order_id": work_order_id, "line_id": uuid_arg, "part_code": text(40, required=True),
        "qty": qty, "source": choice("van", "requisition"), "old_part_returned": boolean},
        fact_id="line_id"),
    "void_part": ActionSpec(FACT, {"work_order_id": work_order_id, "line_id": uuid_arg,
                                   "reason": text(1000, null_is_blank=True)}),
    "add_labour": ActionSpec(FACT, {"work_order_id": work_order_id, "entry_id": uuid_arg,
                                    "started_at": time_arg, "ended_at": time_arg}, fact_id="entry_id"),
    "add_note": ActionSpec(FACT, {"work_order_id": work_order_id, "note_id": uuid_arg,
                                  "text": text(4000, required=True)}, fact_id="note_id"),
    "attach_photo": ActionSpec(FACT, {"work_order_id": work_order_id, "photo_id": uuid_arg,
                                      "sha256": sha256, "caption": text(1000, null_is_blank=True)},
                               fact_id="photo_id", blob="sha256"),
    "complete_work": ActionSpec(MUTABLE, {
        "work_order_id": work_order_id, "outcome": choice("fixed", "carry_back", "follow_up"),
        "work_done": text(4000)}, fields=COMPLETION_FIELDS),
    "collect_fee": ActionSpec(FACT, {"work_order_id": work_order_id, "payment_id": uuid_arg,
                                     "amount_cents": cents, "method": text(30, required=True),
                                     "receipt_no": text(60, null_is_blank=True)}, fact_id="payment_id"),
    "carry_back": ActionSpec(FACT, {"work_order_id": work_order_id, "receipt_id": uuid_arg,
                                    "condition": text(1000, null_is_blank=True), "accessories": accessories},
                             fact_id="receipt_id"),
    "customer_signoff": ActionSpec(FACT, {
        "work_order_id": work_order_id, "signoff_id": uuid_arg, "signer_name": text(100, required=True),
        "signature_sha256": sha256, "report_sha256": sha256, "signed_at": time_arg},
        fact_id="signoff_id", blob="signature_sha256"),
    "rate_service": ActionSpec(FACT, {
        "work_order_id": work_order_id, "rating_id": uuid_arg, "attitude": rating, "skill": rating,
        "arrival": rating, "promises": rating, "comment": text(2000, null_is_blank=True),
        "complaint": text(4000, nullable=True)}, fact_id="rating_id"),
}


def check_args(name: str, args: dict, base_version: Any, captured_at: Any) -> dict:
    """The cleaned arguments of a known action (plus `_base_version`, `_captured_at`), or
    Problem. Rules that need only the arguments are checked here too."""
    spec = ACTIONS[name]
    cleaned = {field: check(args, field) for field, check in spec.args.items()}
    if name == "add_labour" and cleaned["ended_at"] <= cleaned["started_at"]:
        raise Problem("labour_order")
    # §2: base_version matters only for actions that change mutable fields; a fact ignores it.
    if spec.kind != MUTABLE:
        base_version = None
    elif base_version is not None and (not is_int(base_version) or not 0 <= base_version <= MAX_INT4):
        raise Problem("base_version")
    cleaned["_base_version"] = base_version
    moment = None
    if captured_at is not None:
        moment = parse_time(captured_at)
        if moment is None:
            raise Problem("time", field="captured_at")
    cleaned["_captured_at"] = moment
    return cleaned


def blob_named(name: str, args: dict) -> str | None:
    """The well-formed blob hash a mutation names (lower case), if any."""
    spec = ACTIONS.get(name)
    if spec is None or spec.blob is None:
        return None
    value = args.get(spec.blob)
    return value.lower() if isinstance(value, str) and SHA256_PATTERN.fullmatch(value) else None
