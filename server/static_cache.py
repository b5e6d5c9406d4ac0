"""Cache headers for /static: a file asked for by its versioned URL (web.static_url adds
`?v=<hash of the file>`) never changes, so browsers keep it for a year without asking
again; any other request for it (icons named by the manifest, the outbox script the worker
imports) is checked with the server each time. Pages then load without a round trip per
stylesheet and script, which matters on a cheap phone's slow link."""

from __future__ import annotations

from urllib.parse import parse_qs

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from server.web import static_version

FOREVER = "public, max-age=31536000, immutable"
CHECK_EACH_TIME = "no-cache"


class StaticCacheHeaders(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope["path"].removeprefix("/static/")
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        value = FOREVER if asked and asked == static_version(path) != "0" else CHECK_EACH_TIME

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                MutableScopeHeaders(message)["Cache-Control"] = value
            await send(message)

        await next_app(scope, receive, send_with_header)
