"""Work orders (工单) and their dispatch history."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import Branch, User
from server.calls.tables import ServiceCall


class WorkOrder(Table):
    number = Varchar(length=30, unique=True)
    call = ForeignKey(references=ServiceCall, null=True, index=True)  # null for internal (D) work
    branch = ForeignKey(references=Branch)
    category = Varchar(length=1)
    zone = Varchar(length=10)
    description = Text(default="")
    # waiting | dispatched | in_progress | completed | closed | cancelled
    status = Varchar(length=20, default="waiting", index=True)
    assigned_to = ForeignKey(references=User, null=True, index=True)
    received_at = Timestamptz()
    sla_due_at = Timestamptz(null=True, default=None)
    dispatched_at = Timestamptz(null=True, default=None)
    started_travel_at = Timestamptz(null=True, default=None)
    arrived_at = Timestamptz(null=True, default=None)
    completed_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    cancel_reason = Text(default="")
    at_risk_notified = Boolean(default=False)
    # Diagnosis (听/看/查) and completion, written by the technician's sync actions.
    reported = Text(default="")
    observed = Text(default="")
    cause = Text(default="")
    severity = Varchar(length=10, default="")  # general | major
    outcome = Varchar(length=20, default="")  # fixed | carry_back | follow_up
    work_done = Text(default="")
    version = Integer(default=1)  # goes up on every applied change
    created_at = Timestamptz()
    updated_at = Timestamptz()


class DispatchEvent(Table):
    """Dispatch history: every dispatch, re-dispatch, cancellation and category override."""

    work_order = ForeignKey(references=WorkOrder)
    action = Varchar(length=20)  # dispatch | redispatch | cancel | category
    from_user = ForeignKey(references=User, null=True)
    to_user = ForeignKey(references=User, null=True)
    by_user = ForeignKey(references=User)
    reason = Text(default="")
    at = Timestamptz()
