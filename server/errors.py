"""Errors answer in the user's language: JSON for /api and /sync, a page otherwise.

Bad input is a 4xx with a clear message, never a 500.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, ValidationException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from server.i18n import gettext as _
from server.web import page

log = logging.getLogger("fieldservice")

_TITLES = {
    400: "The request was not understood",
    401: "Please sign in.",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Conflict",
    413: "Too large",
    422: "Please check the form",
    429: "Too many requests",
}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return (path.startswith(("/api/", "/sync/")) or path in ("/api", "/sync")
            or "application/json" in request.headers.get("accept", "")
            and "text/html" not in request.headers.get("accept", ""))


def _error_code(status: int) -> str:
    return {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
            405: "method_not_allowed", 409: "conflict", 413: "too_large",
            422: "invalid_input", 429: "rate_limited"}.get(status, "error")


def _message_for(exc: HTTPException) -> str:
    if isinstance(exc, ValidationException):
        fields = sorted({str(e.get("key")) for e in (exc.extra or []) if isinstance(e, dict) and e.get("key")})
        if fields:
            return _("Some fields are missing or wrong: %(fields)s", fields=", ".join(fields))
        return _("The request body is not valid.")
    if exc.status_code == 404 and exc.detail in ("Not Found", ""):
        return _("There is nothing at this address.")
    if exc.status_code == 405:
        return _("This address does not accept that method.")
    if exc.status_code == 413:
        return _("The request is too large.")
    if exc.status_code == 401 and exc.detail in ("Unauthorized", ""):
        return _("Please sign in.")
    return exc.detail


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    message = _message_for(exc)
    headers = dict(exc.headers or {})
    if wants_json(request):
        body: dict = {"error": _error_code(status), "message": message}
        if isinstance(exc, ValidationException) and exc.extra:
            body["fields"] = [
                {"field": e.get("key"), "problem": e.get("message")}
                for e in exc.extra if isinstance(e, dict)
            ]
        return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)
    if isinstance(exc, NotAuthorizedException):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request") == "true":
            return Response("", status_code=401, headers={"HX-Redirect": f"/login?next={quote(target)}"})
        return Redirect(f"/login?next={quote(target)}", status_code=303)
    return page(request, "errors/error.html", status_code=status,
                title=_(_TITLES.get(status, "Error")), message=message)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    message = _("Something went wrong on the server. Nothing was saved; please try again.")
    if wants_json(request):
        return Response({"error": "server_error", "message": message},
                        status_code=HTTP_500_INTERNAL_SERVER_ERROR, media_type=MediaType.JSON)
    return page(request, "errors/error.html", status_code=500, title=_("Server error"), message=message)


exception_handlers = {
    HTTPException: http_exception_handler,
    HTTP_500_INTERNAL_SERVER_ERROR: internal_error_handler,
}
