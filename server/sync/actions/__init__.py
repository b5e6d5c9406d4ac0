"""The thirteen actions of sync-protocol §4, one small module per group.

`handle` runs what every action shares — the order exists and is or was assigned to this
technician (`not_assigned`), a device-made id is recorded once (`duplicate_id`) — and then the
action's own rules and effect on the push's unit of work (server/sync/batch.py). The order of
checks is the protocol's: arguments and rules (rejected), then conflicts, else applied.
"""

from __future__ import annotations

from server.sync import rules
from server.sync.actions import customer, edits, parts, records, visits
from server.sync.actions.common import rejected
from server.sync.batch import Batch, Outcome
from server.sync.envelope import Mutation

HANDLERS = {
    "start_travel": visits.start_travel,
    "arrive": visits.arrive,
    "record_diagnosis": edits.record_diagnosis,
    "complete_work": edits.complete_work,
    "add_part": parts.add_part,
    "void_part": parts.void_part,
    "add_labour": records.add_labour,
    "add_note": records.add_note,
    "attach_photo": records.attach_photo,
    "collect_fee": records.collect_fee,
    "carry_back": records.carry_back,
    "customer_signoff": customer.customer_signoff,
    "rate_service": customer.rate_service,
}
assert set(HANDLERS) == set(rules.ACTIONS)


def handle(batch: Batch, mutation: Mutation, args: dict) -> Outcome:
    """Apply one well-formed mutation of a known action to the unit of work."""
    order_id = args["work_order_id"]
    order = batch.orders.get(order_id)
    if order is None or not rules.may_act(True, order.assigned_to, order.was_assigned, batch.technician_id):
        return rejected("not_assigned", order_id, work_order_id=order_id)
    spec = rules.ACTIONS[mutation.name]
    if spec.fact_id and batch.fact_known(spec.fact_id, args[spec.fact_id]):
        return rejected("duplicate_id", order_id, id=args[spec.fact_id])
    return HANDLERS[mutation.name](batch, mutation, order, args)
