"""What the actions share: outcomes, and the conflicts of an order that changed hands."""

from __future__ import annotations

from typing import Any

from server.sync import rules
from server.sync.batch import Batch, Order, Outcome, PendingConflict
from server.sync.envelope import Mutation


def rejected(reason: str, work_order: int | None = None, **detail: Any) -> Outcome:
    return Outcome("rejected", reason, detail, work_order=work_order)


def assignment_conflict(batch: Batch, mutation: Mutation, order: Order,
                        apply_fields: dict | None = None) -> PendingConflict | None:
    """sync-protocol §4: the order is now someone else's, cancelled or closed, though it was
    this technician's. The fact is kept; what the device wanted is stored beside the order."""
    kind = rules.assignment_conflict(order.status, order.assigned_to, batch.technician_id)
    if kind is None:
        return None
    return batch.conflict(
        order, kind, "assigned_to" if kind == rules.REASSIGNED else "status",
        {"status": order.status, "assigned_to": order.assigned_username},
        {"action": mutation.name, "args": mutation.args}, mutation.name, mutation.key, apply_fields)


def done(batch: Batch, order: Order, conflict: PendingConflict | None, **detail: Any) -> Outcome:
    """The change is recorded: the order's version goes up; applied, or kept as a conflict."""
    version = batch.bump(order)
    if conflict is not None:
        return Outcome("conflict", conflict.kind, detail, version, conflict, order.id)
    return Outcome("applied", "", detail, version, None, order.id)


def fact_row(mutation: Mutation, order: Order, batch: Batch, **values: Any) -> dict:
    return {"work_order": order.id, **values, "mutation_id": mutation.key, "recorded_at": batch.now}
