"""The parts catalogue (seed 003 §3.6–3.7): reads."""

from __future__ import annotations

from server.parts.tables import Part


async def catalogue() -> list[dict]:
    """Every part with its code, names, unit and unit price (in cents), by code."""
    return await Part.select(Part.code, Part.name, Part.name_en, Part.unit, Part.unit_price_cents,
                             Part.version).order_by(Part.code)
