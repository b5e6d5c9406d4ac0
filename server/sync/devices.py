"""Device bearer tokens (sync-protocol §1): resolving a token to its user."""

from __future__ import annotations

from server.accounts.rules import CurrentUser
from server.accounts.service import token_hash, user_by_id
from server.sync.tables import Device


async def device_user(token: str) -> tuple[CurrentUser, str] | None:
    """(user, device_id) for a live token; None for an unknown or revoked one."""
    if not token:
        return None
    row = await Device.select(Device.device_id, Device.user, Device.revoked_at).where(
        Device.token_hash == token_hash(token)
    ).first()
    if not row or row["revoked_at"] is not None:
        return None
    user = await user_by_id(row["user"])
    return (user, row["device_id"]) if user else None
