"""Customer rules: phone numbers, by which duplicate customers are caught (domain.md §3.1).

Pure functions, no I/O.
"""

from __future__ import annotations

import re

from server.i18n import N_

MAX_PHONE_LENGTH = 30
MIN_PHONE_DIGITS = 5
LOOKUP_MIN_DIGITS = 4  # partial matches are offered from this many digits on
_DROP = re.compile(r"[\s().·]")
_ALLOWED = re.compile(r"^\+?[0-9][0-9-]*$")


def clean_phone(value: str) -> str:
    """The phone as stored: spaces, brackets and dots dropped; digits, hyphens, a leading +."""
    return _DROP.sub("", value or "")


def phone_key(value: str) -> str:
    """What two numbers are compared by: the number without hyphens (and without spaces)."""
    return clean_phone(value).replace("-", "")


def digits_of(value: str) -> str:
    return "".join(ch for ch in value or "" if ch.isdigit())


def phone_problem(value: str) -> str | None:
    """An English source message when `value` is not a usable phone number, else None."""
    cleaned = clean_phone(value)
    if not cleaned:
        return N_("Enter the customer's phone number.")
    if len(cleaned) > MAX_PHONE_LENGTH or not _ALLOWED.match(cleaned) or len(digits_of(cleaned)) < MIN_PHONE_DIGITS:
        return N_("Enter a phone number of digits (hyphens allowed), at least 5 digits.")
    return None
