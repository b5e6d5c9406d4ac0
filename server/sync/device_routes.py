"""Device routes (sync-protocol §1): register (login + device in one call), revoke, and the
pages listing a user's devices with their last sync and a revoke button."""

from __future__ import annotations

import json

from litestar.params import FromPath
from litestar import Request, delete, get, post
from litestar.exceptions import (
    ClientException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.response import Redirect, Response, Template

from server.accounts.guards import allow, signed_in
from server.accounts.pages import safe_next
from server.accounts.rules import DISPATCH
from server.accounts.service import RateLimited, authenticate
from server.i18n import gettext as _
from server.sync import devices
from server.web import page

REGISTER_BODY_MAX = 16 * 1024


def _invalid(message: str) -> ClientException:
    return ClientException(status_code=422, detail=message)


def _required_text(body: dict, name: str, max_length: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(_("“%(field)s” is required and must be text.", field=name))
    if len(value) > max_length:
        raise _invalid(_("“%(field)s” is longer than %(n)s characters.", field=name, n=max_length))
    if any(ord(character) < 32 or character == "\x7f" for character in value):
        raise _invalid(_("“%(field)s” must not contain control characters.", field=name))
    return value


async def json_object(request: Request) -> dict:
    """The request body as a JSON object: 400 when it is not JSON, 422 when not an object."""
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ClientException(status_code=400, detail=_("The request body is not valid JSON."))
    if not isinstance(body, dict):
        raise _invalid(_("The request body must be a JSON object."))
    return body


@post("/sync/devices", name="sync_register_device", status_code=201,
      request_max_body_size=REGISTER_BODY_MAX)
async def register_device(request: Request) -> Response:
    """Sign in and register a device in one call; the token is shown only here."""
    body = await json_object(request)
    username = _required_text(body, "username", 50).strip()
    password = body.get("password")
    if not isinstance(password, str) or not password:
        raise _invalid(_("“%(field)s” is required and must be text.", field="password"))
    if len(password) > 1024:
        raise _invalid(_("“%(field)s” is longer than %(n)s characters.", field="password", n=1024))
    name = _required_text(body, "device_name", devices.DEVICE_NAME_MAX).strip()
    address = request.client.host if request.client else "unknown"
    try:
        user = await authenticate(username, password, address)
    except RateLimited:
        raise TooManyRequestsException(
            detail=_("Too many failed sign-ins. Wait 5 minutes and try again."),
            headers={"Retry-After": "300"})
    if user is None:
        raise NotAuthorizedException(detail=_("Wrong username or password."))
    return Response(await devices.register_device(user, name), status_code=201)


async def _revocable(request: Request, device_id: str) -> dict:
    user = request.scope.get("user")
    if user is None:
        raise NotAuthorizedException(detail=_("Please sign in."))
    device = await devices.find_device(device_id)
    if device is None:
        raise NotFoundException(detail=_("There is no such device."))
    auth = request.scope.get("auth")
    actor_device = auth.device_id if auth and auth.kind == "bearer" else ""
    if not devices.may_revoke(user, actor_device, device):
        raise PermissionDeniedException(detail=_("You may not revoke this device."))
    return device


@delete("/sync/devices/{device_id:str}", name="sync_revoke_device", status_code=204)
async def revoke_device(request: Request, device_id: FromPath[str]) -> None:
    """Revoke by the device itself, its user (session or any of their tokens) or a supervisor
    of the user's branch. Revoking twice is harmless."""
    device = await _revocable(request, device_id)
    await devices.revoke(device["device_id"])


@get("/account/devices", name="my_devices", guards=[signed_in])
async def my_devices(request: Request) -> Template:
    user = request.scope["user"]
    rows = await devices.devices_of_user(user.id)
    return page(request, "devices/list.html", devices=rows, show_owner=False,
                title=_("My devices"), back="/account/devices")


@get("/dispatch/devices", name="branch_devices", guards=[allow(DISPATCH)])
async def branch_devices(request: Request) -> Template:
    user = request.scope["user"]
    rows = await devices.devices_seen_by(user)
    return page(request, "devices/list.html", devices=rows, show_owner=True,
                title=_("Technicians' devices"), back="/dispatch/devices")


@post("/devices/{device_id:str}/revoke", name="revoke_device_form", guards=[signed_in])
async def revoke_device_form(request: Request, device_id: FromPath[str]) -> Redirect:
    """The revoke button (a plain form; htmx swaps the list in place)."""
    device = await _revocable(request, device_id)
    await devices.revoke(device["device_id"])
    form = await request.form()
    return Redirect(safe_next(form.get("back")) or "/account/devices", status_code=303)


route_handlers = [register_device, revoke_device, my_devices, branch_devices, revoke_device_form]
