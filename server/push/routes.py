"""The Web Push API: the public key for subscribing, and a browser's subscription kept or dropped.

Signed-in users only (a session with its CSRF token, or a device's bearer token).
"""

from __future__ import annotations

import json

from litestar import Request, Response, delete, get, post
from litestar.exceptions import ClientException
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from server.accounts.guards import signed_in
from server.i18n import gettext as _
from server.push import rules, service


async def _json_body(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw.decode("utf-8")) if raw.strip() else None
    except (UnicodeDecodeError, ValueError):
        raise ClientException(_("Send the browser's push subscription as a JSON object."),
                              status_code=400) from None


@get("/api/push/key", name="push_key", guards=[signed_in])
async def push_key(request: Request) -> dict[str, str]:
    """The VAPID public key (base64url) to give PushManager.subscribe as applicationServerKey."""
    return {"public_key": request.app.state.vapid_public_key}


@post("/api/push/subscriptions", name="save_push_subscription", guards=[signed_in])
async def save_push_subscription(request: Request) -> Response[dict]:
    """Keep the browser's PushSubscription JSON ({"endpoint", "keys": {"p256dh", "auth"}}) for
    the signed-in user: 201 when new, 200 when the endpoint was known (it now belongs to
    this user)."""
    body = await _json_body(request)
    try:
        sub = rules.parse_subscription(body, service.is_curve_point)
    except rules.SubscriptionProblem as problem:
        raise ClientException(_(problem.message), status_code=422) from None
    user = request.scope["user"]
    sub_id, created = await service.save_subscription(user.id, sub, request.headers.get("user-agent", ""))
    return Response({"id": sub_id, "endpoint": sub.endpoint},
                    status_code=HTTP_201_CREATED if created else HTTP_200_OK)


@delete("/api/push/subscriptions", name="delete_push_subscription", guards=[signed_in],
        status_code=HTTP_204_NO_CONTENT)
async def delete_push_subscription(request: Request) -> None:
    """Stop notices to this browser ({"endpoint"}); done also when nothing was stored."""
    body = await _json_body(request)
    endpoint = body.get("endpoint") if isinstance(body, dict) else None
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise ClientException(_("The subscription has no endpoint."), status_code=422)
    await service.delete_subscription(request.scope["user"].id, endpoint.strip())


route_handlers = [push_key, save_push_subscription, delete_push_subscription]
