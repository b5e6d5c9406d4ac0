"""JSON API of the parts catalogue: GET /api/parts, for every signed-in role."""

from __future__ import annotations

import msgspec
from litestar import get

from server.accounts.guards import allow
from server.api.body_errors import API_EXCEPTION_HANDLERS
from server.accounts.rules import VIEW_PARTS
from server.parts.service import catalogue


class PartOut(msgspec.Struct):
    code: str
    name: str  # Chinese name
    name_en: str
    unit: str
    unit_price_cents: int
    version: int


@get("/api/parts", name="api_list_parts", guards=[allow(VIEW_PARTS)],
    exception_handlers=API_EXCEPTION_HANDLERS)
async def api_list_parts() -> list[PartOut]:
    """The parts catalogue, by code; prices in cents (fen)."""
    return [PartOut(**row) for row in await catalogue()]


route_handlers = [api_list_parts]
