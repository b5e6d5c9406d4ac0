"""Who is asking, in which language, and is an unsafe browser request really from our page.

Resolves the browser session cookie or a device's bearer token to a CurrentUser in
scope["user"], sets the request's locale, and checks the CSRF token (synchronizer token
kept in the server-side session) on every unsafe request made with a session cookie.
Bearer-token requests need no CSRF token (sync-protocol §1).
"""

from __future__ import annotations

import hmac
import html
import json
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from litestar.datastructures import Headers
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from server import i18n
from server.accounts.service import session_user

SESSION_COOKIE = "fs_session"
LANG_COOKIE = "fs_lang"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_MULTIPART_FIELD = re.compile(rb'name="_csrf"\r\n\r\n([A-Za-z0-9_\-]+)\r\n')


@dataclass(frozen=True)
class AuthInfo:
    kind: str  # "session" | "bearer"
    token: str
    csrf_token: str = ""
    device_id: str = ""


def cookies_of(headers: Headers) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(headers.get("cookie", ""))
    except Exception:  # a malformed cookie header is treated as no cookies
        return {}
    return {key: morsel.value for key, morsel in jar.items()}


async def _read_body(receive: Receive) -> tuple[bytes, list]:
    chunks, messages = [], []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks), messages


def _replay(messages: list, receive: Receive) -> Receive:
    pending = list(messages)

    async def replay():
        return pending.pop(0) if pending else await receive()

    return replay


async def _send_forbidden(send: Send, locale: str, wants_html: bool) -> None:
    message = i18n.translations(locale).ugettext(
        "This form has expired or did not come from this site. Reload the page and try again."
    )
    if wants_html:  # a plain form post: a page the person can act on
        back = i18n.translations(locale).ugettext("Back to the start")
        body = (f'<!doctype html><html lang="{i18n.html_lang(locale)}"><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width, initial-scale=1">'
                f'<p role="alert">{html.escape(message)}</p><p><a href="/">{html.escape(back)}</a></p>').encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps({"error": "csrf", "message": message}, ensure_ascii=False).encode()
        content_type = b"application/json; charset=utf-8"
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", content_type),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class AuthMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        headers = Headers.from_scope(scope)
        cookies = cookies_of(headers)
        locale = i18n.negotiate(headers.get("accept-language"), cookies.get(LANG_COOKIE))
        i18n.current_locale.set(locale)
        scope.setdefault("state", {})["locale"] = locale

        user, auth = None, None
        authorization = headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":
            from server.sync.devices import device_user  # sync owns device tokens

            resolved = await device_user(authorization[7:].strip())
            if resolved:
                user, device_id = resolved
                auth = AuthInfo("bearer", authorization[7:].strip(), device_id=device_id)
        elif SESSION_COOKIE in cookies:
            resolved_session = await session_user(cookies[SESSION_COOKIE])
            if resolved_session:
                user, csrf = resolved_session
                auth = AuthInfo("session", cookies[SESSION_COOKIE], csrf_token=csrf)
        scope["user"] = user
        scope["auth"] = auth

        if auth and auth.kind == "session" and scope["method"] not in SAFE_METHODS:
            sent = headers.get(CSRF_HEADER, "")
            if not sent:
                body, messages = await _read_body(receive)
                receive = _replay(messages, receive)
                sent = _token_in_body(headers.get("content-type", ""), body)
            if not sent or not hmac.compare_digest(sent, auth.csrf_token):
                wants_html = ("text/html" in headers.get("accept", "")
                              and headers.get("hx-request") != "true")
                await _send_forbidden(send, locale, wants_html)
                return
        await next_app(scope, receive, send)


def _token_in_body(content_type: str, body: bytes) -> str:
    if content_type.startswith("application/x-www-form-urlencoded"):
        values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD)
        return values[0] if values else ""
    if content_type.startswith("multipart/form-data"):
        match = _MULTIPART_FIELD.search(body)
        return match.group(1).decode() if match else ""
    return ""
