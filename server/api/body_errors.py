"""Request bodies that cannot be read answer 400 in the user's language.

Litestar reports a body that is not JSON, or does not fit the declared Struct, with
msgspec's English wording. This handler, set on the API's route handlers, puts each problem
in the user's language (and names the field) before the common error handler answers.
"""

from __future__ import annotations

import re

from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException, SerializationException, ValidationException

from server.errors import http_exception_handler
from server.i18n import N_
from server.i18n import gettext as _

_MISSING = re.compile(r"missing required (?:field `([^`]+)`|\w+ parameter '([^']+)')", re.IGNORECASE)
_UNKNOWN = re.compile(r"unknown field `([^`]+)`")
_AT_MOST = re.compile(r"length <= (\d+)")
_EXPECTED = re.compile(r"Expected `([^`]+)`")
_TYPE_WORDS = {"str": N_("text"), "int": N_("a whole number"), "object": N_("an object"), "array": N_("a list"),
               "bool": N_("true or false")}


def problem_text(message: str) -> tuple[str, str]:
    """(extra field name or "", the problem in the user's language) for a msgspec message."""
    if match := _MISSING.search(message):
        return match.group(1) or match.group(2), _("This field is required.")
    if match := _UNKNOWN.search(message):
        return match.group(1), _("This field is not known.")
    if match := _AT_MOST.search(message):
        return "", _("At most %(n)s characters.", n=match.group(1))
    if "length >=" in message:
        return "", _("This field may not be empty.")
    if "enum value" in message:
        return "", _("Not one of the allowed values.")
    if "datetime" in message:
        return "", _("Not a date and time: use ISO 8601, e.g. 2026-03-02T09:30:00+08:00.")
    if "date" in message:
        return "", _("Not a date: use the form 2026-03-02.")
    if "out of range" in message or re.search(r"[<>]=? ?\d", message):
        return "", _("The number is out of range.")
    if match := _EXPECTED.search(message):
        kind = match.group(1).split(" ")[0]
        return "", _("Wrong type: expected %(kind)s.", kind=_(_TYPE_WORDS.get(kind, kind)))
    return "", _("This value is not valid.")


def _field(key: str, extra: str) -> str:
    parts = [p for p in (key or "").split(".") if p and p != "data"]
    if extra and extra not in parts:
        parts.append(extra)
    return ".".join(parts) or "body"


def api_error_handler(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ValidationException) and exc.extra:
        translated = []
        for item in exc.extra:
            if not isinstance(item, dict):
                continue
            extra_field, text = problem_text(str(item.get("message", "")))
            translated.append({**item, "key": _field(str(item.get("key", "")), extra_field), "message": text})
        exc = ValidationException(detail=exc.detail, extra=translated)
    elif isinstance(exc, ValidationException) and (missing := _MISSING.search(str(exc.detail))):
        name = missing.group(1) or missing.group(2)
        exc = ValidationException(detail=exc.detail, extra=[{"key": name, "message": _("This field is required.")}])
    elif isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        exc = ClientException(detail=_("The request body is not valid JSON."))
    return http_exception_handler(request, exc)


API_EXCEPTION_HANDLERS = {HTTPException: api_error_handler}
