"""What the technician recorded on an order, for the read-back (sync-protocol §7).

Returns the lists of §7 (parts, labour, notes, photos, payments, signoffs, ratings,
conflicts) for one work order. The sync feature's fact tables fill them.
"""

from __future__ import annotations

FACT_LISTS = ("parts", "labour", "notes", "photos", "payments", "signoffs", "ratings", "conflicts")


async def facts_for(work_order_id: int) -> dict[str, list]:
    return {name: [] for name in FACT_LISTS}
