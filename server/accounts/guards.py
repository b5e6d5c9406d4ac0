"""Route guards by role. Branch scoping is done in the services' queries."""

from __future__ import annotations

from collections.abc import Iterable

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from server.accounts.rules import CurrentUser
from server.i18n import gettext as _


def allow(roles: Iterable[str]):
    """A guard letting in only signed-in users whose role is one of `roles`."""
    allowed = frozenset(roles)

    async def guard(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
        user: CurrentUser | None = connection.scope.get("user")
        if user is None:
            raise NotAuthorizedException(_("Please sign in."))
        if user.role not in allowed:
            raise PermissionDeniedException(_("Your role may not do this."))

    guard.allowed_roles = allowed  # type: ignore[attr-defined]  # read by the guard table test
    return guard


async def signed_in(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    if connection.scope.get("user") is None:
        raise NotAuthorizedException(_("Please sign in."))
