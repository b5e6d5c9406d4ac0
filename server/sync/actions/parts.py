"""add_part and void_part: parts used on the order (seed 003 §3.6–3.7, domain §8).

A part line names a part of the catalogue (`unknown_part` otherwise), a quantity above 0,
where it came from (van stock or a requisition) and whether the old part was brought back.
A line is never changed: a mistake is corrected by voiding it, which is a new fact.
"""

from __future__ import annotations

from server.sync.actions.common import assignment_conflict, done, fact_row, rejected
from server.sync.batch import Batch, Line, Order, Outcome
from server.sync.envelope import Mutation
from server.sync.tables import PartLine


def add_part(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    if args["part_code"] not in batch.part_codes:
        return rejected("unknown_part", order.id, part_code=args["part_code"])
    conflict = assignment_conflict(batch, mutation, order)
    batch.add(PartLine, fact_row(
        mutation, order, batch, line_id=args["line_id"], part_code=args["part_code"], qty=args["qty"],
        source=args["source"], old_part_returned=args["old_part_returned"], voided=False,
        void_reason="", voided_at=None, void_mutation_id=""), fact_key="line_id")
    batch.lines[args["line_id"]] = Line(args["line_id"], order.id, args["part_code"], args["qty"], False)
    return done(batch, order, conflict)


def void_part(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    line = batch.lines.get(args["line_id"])
    if line is None or line.work_order != order.id:
        return rejected("unknown_line", order.id, line_id=args["line_id"])
    if line.voided:
        return rejected("already_voided", order.id, line_id=args["line_id"])
    conflict = assignment_conflict(batch, mutation, order)
    line.voided = True
    batch.voids.append((True, args["reason"], batch.now, mutation.key, line.line_id))
    return done(batch, order, conflict)
