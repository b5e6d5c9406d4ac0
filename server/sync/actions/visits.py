"""start_travel and arrive (domain §3.4: the technician records departure and arrival).

Facts: every one is kept. The order keeps the first departure and the first arrival, on the
server's clock (the device's time minus its clock offset); the first arrival counts for the
SLA (seed 000 §19). Either one starts the work: a dispatched order is now in progress.
"""

from __future__ import annotations

from server.sync import rules
from server.sync.actions.common import assignment_conflict, done
from server.sync.batch import Batch, Order, Outcome
from server.sync.envelope import Mutation
from server.sync.tables import VisitEvent


def _visit(batch: Batch, mutation: Mutation, order: Order, args: dict, attribute: str) -> Outcome:
    conflict = assignment_conflict(batch, mutation, order)
    moment = rules.corrected(args["at"], batch.clock_offset_ms)
    batch.add(VisitEvent, {"work_order": order.id, "kind": mutation.name, "at": args["at"],
                           "corrected_at": moment, "mutation_id": mutation.key})
    if conflict is None:
        first = getattr(order, attribute)
        if first is None or moment < first:
            setattr(order, attribute, moment)
        order.status = rules.next_status_on_visit(order.status)
    return done(batch, order, conflict)


def start_travel(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    return _visit(batch, mutation, order, args, "started_travel_at")


def arrive(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    return _visit(batch, mutation, order, args, "arrived_at")
