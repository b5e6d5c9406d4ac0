"""Devices and their bearer tokens (sync-protocol §1): registering, resolving, revoking.

A token is 256 random bits shown once to the device and stored only as its SHA-256. A
revoked or unknown token resolves to no user, so every /sync/* and /api/ call answers 401.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from datetime import datetime, timezone

from litestar.connection import ASGIConnection
from litestar.exceptions import TooManyRequestsException
from litestar.handlers.base import BaseRouteHandler

from server.accounts.rules import DISPATCH, CurrentUser
from server.accounts.service import new_token, token_hash, utcnow
from server.db import reads
from server.i18n import gettext as _
from server.sync.tables import Device

DEVICE_NAME_MAX = 100
# A device's token-authenticated sync calls per minute, per server process (sync uploads a
# handful of blobs and pushes a batch at a time; a loop gone wrong is slowed down).
DEVICE_CALLS_PER_MINUTE = 6000  # 100 a second: far above any device, a brake on a stolen token


def server_time(now: datetime | None = None) -> str:
    """RFC 3339 UTC with a "Z", to the second, as sync-protocol §1 shows it."""
    return (now or utcnow()).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def may_revoke(actor: CurrentUser, actor_device_id: str, device: dict) -> bool:
    """sync-protocol §1: the device itself (its token), its user, or a supervisor of the user's
    branch (or anyone above: manager, service department, admin) may revoke a device."""
    if actor_device_id and actor_device_id == device["device_id"]:
        return True
    if actor.id == device["user"]:
        return True
    return actor.role in DISPATCH and actor.may_see_branch(device["user.branch"])


_LOOKUP_SQL = (
    'SELECT d.device_id, d.revoked_at, u.id, u.username, u.display_name, u.role, u.branch, u.active, '
    'b.timezone FROM device d JOIN fs_user u ON u.id = d."user" LEFT JOIN branch b ON b.id = u.branch '
    'WHERE d.token_hash = ?')


async def _token_row(digest: str) -> tuple | None:
    """The token's device and user: one plain-SQL read, as the session's (it runs on every
    device request; each read sees the latest commit, so a revocation counts at once)."""
    rows = await reads.fetch_quick(_LOOKUP_SQL, digest)
    if not rows:
        return None
    row = rows[0]
    return (row["device_id"], row["revoked_at"], row["id"], row["username"], row["display_name"],
            row["role"], row["branch"], row["active"], row["timezone"])


async def device_user(token: str) -> tuple[CurrentUser, str] | None:
    """(user, device_id) for a live token; None for an unknown or revoked one, or when the
    user was deactivated. One query: it runs on every device request."""
    if not token:
        return None
    row = await _token_row(token_hash(token))
    if row is None:
        return None
    device_id, revoked_at, user_id, username, display_name, role, branch, active, tz = row
    if revoked_at is not None or not active:
        return None
    user = CurrentUser(id=user_id, username=username, display_name=display_name, role=role,
                       branch_id=branch, timezone=tz or "Asia/Shanghai")
    return user, device_id


async def register_device(user: CurrentUser, name: str) -> dict:
    """A new device for `user`: its id and the token, which is never stored in clear."""
    token = new_token()
    now = utcnow()
    device_id = str(uuid.uuid4())
    await Device.insert(Device(device_id=device_id, user=user.id, name=name,
                               token_hash=token_hash(token), last_seq=0, created_at=now))
    return {"device_id": device_id, "token": token, "last_seq": 0, "server_time": server_time(now)}


def _columns():
    return (Device.id, Device.device_id, Device.user, Device.name, Device.last_seq,
            Device.created_at, Device.last_sync_at, Device.revoked_at, Device.user.branch,
            Device.user.username, Device.user.display_name)


async def find_device(device_id: str) -> dict | None:
    try:
        device_id = str(uuid.UUID(device_id))
    except (ValueError, AttributeError, TypeError):
        return None
    return await Device.select(*_columns()).where(Device.device_id == device_id).first()


async def revoke(device_id: str) -> None:
    """Revoke once; revoking a revoked device changes nothing."""
    await Device.update({Device.revoked_at: utcnow()}).where(
        (Device.device_id == device_id) & Device.revoked_at.is_null()
    )


async def devices_of_user(user_id: int) -> list[dict]:
    return await Device.select(*_columns()).where(Device.user == user_id).order_by(
        Device.created_at, ascending=False)


async def devices_seen_by(actor: CurrentUser) -> list[dict]:
    """Every device of the users in the actor's branch (every branch for head office)."""
    query = Device.select(*_columns())
    if not actor.sees_all_branches:
        query = query.where(Device.user.branch == actor.branch_id)
    return await query.order_by(Device.user.username).order_by(Device.created_at, ascending=False)


_calls: dict[str, deque] = {}


async def device_rate_limit(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Guard: at most DEVICE_CALLS_PER_MINUTE token-authenticated calls per device (429)."""
    auth = connection.scope.get("auth")
    if auth is None or auth.kind != "bearer":
        return
    now = time.monotonic()
    window = _calls.setdefault(auth.device_id, deque())
    while window and window[0] < now - 60:
        window.popleft()
    if len(window) >= DEVICE_CALLS_PER_MINUTE:
        raise TooManyRequestsException(
            detail=_("This device is sending too many requests. Wait a minute and try again."),
            headers={"Retry-After": "60"})
    window.append(now)
