"""record_diagnosis and complete_work: the mutable fields of an order (sync-protocol §4).

The diagnosis (听/看/查: what the customer reports, what was observed, the cause, and the
quality class general/major — seed 000 第二篇) and the completion (outcome, work done) are
edited against the version the technician saw (`base_version`). A field another device or
user changed after that version keeps the server's value and the device's is stored beside
it as a `stale_edit` conflict; fields nobody else touched apply, and fields the technician
left as they saw them are not edits at all. A completion kept as a
conflict still counts as the work having been completed (the customer may sign).
"""

from __future__ import annotations

from server.sync import rules
from server.sync.actions.common import assignment_conflict, done
from server.sync.batch import Batch, Order, Outcome, PendingConflict
from server.sync.envelope import Mutation


def _edit(batch: Batch, mutation: Mutation, order: Order, wanted: dict[str, str],
          base_version: int | None) -> PendingConflict | None:
    """Apply the fields that may be applied; the conflict for the others, if any."""
    conflict = assignment_conflict(batch, mutation, order, apply_fields=wanted)
    if conflict is not None:
        return conflict
    apply, stale = rules.merge_edit(wanted, order.fields, base_version, batch.changes[order.id],
                                    batch.device_id)
    for name, value in apply.items():
        batch.record_change(order, name, value)
    if not stale:
        return None
    return batch.conflict(order, rules.STALE_EDIT, ",".join(stale),
                          {name: order.fields.get(name, "") for name in stale},
                          {name: wanted[name] for name in stale}, mutation.name, mutation.key,
                          {name: wanted[name] for name in stale})


def record_diagnosis(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    wanted = {name: args[name] for name in rules.DIAGNOSIS_FIELDS}
    return done(batch, order, _edit(batch, mutation, order, wanted, args["_base_version"]))


def complete_work(batch: Batch, mutation: Mutation, order: Order, args: dict) -> Outcome:
    wanted = {name: args[name] for name in rules.COMPLETION_FIELDS}
    conflict = _edit(batch, mutation, order, wanted, args["_base_version"])
    batch.completed.add(order.id)
    if conflict is None or conflict.kind == rules.STALE_EDIT:
        before = order.status
        order.status = rules.next_status_on_completion(order.status)
        if order.status != before or order.completed_at is None:
            captured = args["_captured_at"]
            order.completed_at = rules.corrected(captured, batch.clock_offset_ms) if captured else batch.now
    return done(batch, order, conflict)
