"""What the technician recorded on an order, for the read-back (sync-protocol §7).

Returns the lists of §7 (parts, labour, notes, photos, payments, signoffs, ratings,
conflicts) for one work order, plus the depot repairs its carry-backs opened (with the
product receipt number). Each device-made id is a unique row, so it appears once however
many times its mutation was sent. Times are RFC 3339 in UTC.
"""

from __future__ import annotations

from server.sync.tables import (
    Conflict, DepotRepair, LabourEntry, LedgerEntry, Note, PartLine, Payment, Photo, Rating, SignOff,
)
from server.workorders.rules import rfc3339  # one definition of the wire time format

FACT_LISTS = ("parts", "labour", "notes", "photos", "payments", "signoffs", "ratings", "conflicts",
              "depot_repairs")


async def facts_for(work_order_id: int) -> dict[str, list]:
    queries = (
        PartLine.select(PartLine.line_id, PartLine.part_code, PartLine.qty, PartLine.voided,
                        PartLine.source, PartLine.old_part_returned)
        .where(PartLine.work_order == work_order_id).order_by(PartLine.id),
        LabourEntry.select(LabourEntry.entry_id, LabourEntry.started_at, LabourEntry.ended_at)
        .where(LabourEntry.work_order == work_order_id).order_by(LabourEntry.id),
        Note.select(Note.note_id, Note.text).where(Note.work_order == work_order_id).order_by(Note.id),
        Photo.select(Photo.photo_id, Photo.sha256, Photo.caption)
        .where(Photo.work_order == work_order_id).order_by(Photo.id),
        Payment.select(Payment.payment_id, Payment.amount_cents, Payment.method, Payment.receipt_no,
                       Payment.mutation_id.as_alias("_mutation"))
        .where(Payment.work_order == work_order_id).order_by(Payment.id),
        SignOff.select(SignOff.signoff_id, SignOff.signer_name, SignOff.report_sha256, SignOff.verified,
                       SignOff.signed_at, SignOff.mutation_id.as_alias("_mutation"))
        .where(SignOff.work_order == work_order_id).order_by(SignOff.id),
        Rating.select(Rating.rating_id, Rating.attitude, Rating.skill, Rating.arrival, Rating.promises,
                      Rating.comment, Rating.complaint, Rating.counted)
        .where(Rating.work_order == work_order_id).order_by(Rating.id),
        Conflict.select(Conflict.id, Conflict.kind, Conflict.status, Conflict.field)
        .where(Conflict.work_order == work_order_id).order_by(Conflict.id),
        DepotRepair.select(DepotRepair.receipt_id, DepotRepair.receipt_no, DepotRepair.condition,
                           DepotRepair.accessories, DepotRepair.status)
        .where(DepotRepair.work_order == work_order_id).order_by(DepotRepair.id),
    )
    # One after the other: the caller may be inside a transaction (one connection).
    parts, labour, notes, photos, payments, signoffs, ratings, conflicts, depot = [await q for q in queries]
    await _mark_handling_order(payments + signoffs)
    return {
        "parts": [{**p, "voided": bool(p["voided"]), "old_part_returned": bool(p["old_part_returned"])}
                  for p in parts],
        "labour": [{"entry_id": e["entry_id"], "started_at": rfc3339(e["started_at"]),
                    "ended_at": rfc3339(e["ended_at"])} for e in labour],
        "notes": notes,
        "photos": photos,
        "payments": payments,
        "signoffs": [{**s, "verified": bool(s["verified"]), "signed_at": rfc3339(s["signed_at"])}
                     for s in signoffs],
        "ratings": [{**r, "counted": bool(r["counted"])} for r in ratings],
        "conflicts": [{"id": c["id"], "reason": c["kind"], "status": c["status"], "field": c["field"]}
                      for c in conflicts],
        "depot_repairs": depot,
    }


async def _mark_handling_order(rows: list[dict]) -> None:
    """Give each payment and sign-off `_handled`: its place in the order the server handled
    the mutations (the ledger's row id), so the record can count the payments made before
    the last sign-off (§4). The `_mutation` key goes."""
    keys = sorted({row["_mutation"] for row in rows if row["_mutation"]})
    handled = {}
    if keys:
        handled = {r["mutation_id"]: r["id"] for r in await LedgerEntry.select(
            LedgerEntry.id, LedgerEntry.mutation_id).where(LedgerEntry.mutation_id.is_in(keys))}
    for row in rows:
        row["_handled"] = handled.get(row.pop("_mutation"), 0)


def paid_before_last_signoff(payments: list[dict], signoffs: list[dict]) -> list[dict]:
    """sync-protocol §4: the record's fee is the payments recorded before the sign-off; with
    no sign-off yet, all of them."""
    if not signoffs:
        return payments
    last = max(s.get("_handled", 0) for s in signoffs)
    return [p for p in payments if p.get("_handled", 0) < last]


def without_private_keys(value):
    """The facts as the API shows them (keys starting with "_" are for the server only)."""
    if isinstance(value, list):
        return [without_private_keys(v) for v in value]
    if isinstance(value, dict):
        return {k: without_private_keys(v) for k, v in value.items() if not k.startswith("_")}
    return value
