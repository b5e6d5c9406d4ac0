"""add_labour, add_note, attach_photo, collect_fee, carry_back: facts recorded on the order.

Labour time feeds the daily reports (seed 000 §15); a fee may be collected on site for paid
service (seed 000 §10); a product that cannot be fixed on site is carried back for depot
repair against a product receipt the customer keeps (seed 000 §11–§14), whose number the
server issues here.
"""

from __future__ import annotations

from server.sync import rules
from server.sync.actions.common import assignment_conflict, done, fact_row
from server.sync.batch import Batch, Order, Outcome
from server.sync.envelope import Mutation
from server.sync.tables import DepotRepair, LabourEntry, Note, Payment, Photo


def add_labour(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    conflict = assignment_conflict(batch, mutation, order)
    batch.add(LabourEntry, fact_row(mutation, order, batch, entry_id=args["entry_id"],
                                    started_at=args["started_at"], ended_at=args["ended_at"]),
              fact_key="entry_id")
    batch.labour[order.id].append((args["started_at"], args["ended_at"]))
    return done(batch, order, conflict)


def add_note(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    conflict = assignment_conflict(batch, mutation, order)
    batch.add(Note, fact_row(mutation, order, batch, note_id=args["note_id"], text=args["text"]),
              fact_key="note_id")
    return done(batch, order, conflict)


def attach_photo(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    conflict = assignment_conflict(batch, mutation, order)
    batch.add(Photo, fact_row(mutation, order, batch, photo_id=args["photo_id"], sha256=args["sha256"],
                              caption=args["caption"]), fact_key="photo_id")
    return done(batch, order, conflict)


def collect_fee(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    conflict = assignment_conflict(batch, mutation, order)
    batch.add(Payment, fact_row(mutation, order, batch, payment_id=args["payment_id"],
                                amount_cents=args["amount_cents"], method=args["method"],
                                receipt_no=args["receipt_no"]), fact_key="payment_id")
    batch.payments[order.id].append(args["amount_cents"])
    return done(batch, order, conflict)


def carry_back(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    conflict = assignment_conflict(batch, mutation, order)
    number = rules.receipt_number(order.number, batch.depot_counts[order.id])
    batch.depot_counts[order.id] += 1
    moment = args["_captured_at"]
    batch.add(DepotRepair, {
        "receipt_id": args["receipt_id"], "receipt_no": number, "work_order": order.id,
        "condition": args["condition"], "accessories": args["accessories"], "status": "received",
        "received_at": rules.corrected(moment, batch.clock_offset_ms) if moment else batch.now,
        "returned_at": None, "mutation_id": mutation.key}, fact_key="receipt_id")
    return done(batch, order, conflict, receipt_no=number)
