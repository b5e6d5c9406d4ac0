"""The at-risk monitor: tells the supervisors when an order is about to miss its SLA.

seed 000 §19: on site within 6 (urban) / 7 (suburban) working hours. Once a minute (setting
FS_MONITOR_SECONDS) the monitor looks at orders nobody has arrived at yet; when one has less
than a working hour left (or is already late) and nobody was told, it marks the order and
announces "work_order_at_risk" once. The mark is set by a conditional update, so several app
servers never announce the same order twice.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from server import events
from server.dispatch.calendar import sla_state
from server.dispatch.service import branch_calendars
from server.workorders import rules as wo_rules
from server.workorders.service import utcnow
from server.workorders.tables import WorkOrder

log = logging.getLogger("fieldservice.dispatch.monitor")
NOT_ARRIVED = (wo_rules.WAITING, wo_rules.DISPATCHED, wo_rules.IN_PROGRESS)


async def check_at_risk(now: datetime | None = None, branch_ids: set[int] | None = None) -> list[int]:
    """Mark and announce the orders that turned at risk (of the given branches, else all);
    returns their ids."""
    now = now or utcnow()
    query = WorkOrder.select(WorkOrder.id, WorkOrder.branch, WorkOrder.sla_due_at).where(
        WorkOrder.status.is_in(list(NOT_ARRIVED))
        & WorkOrder.arrived_at.is_null()
        & WorkOrder.sla_due_at.is_not_null()
        & (WorkOrder.at_risk_notified == False)  # noqa: E712
    )
    if branch_ids is not None:
        query = query.where(WorkOrder.branch.is_in(list(branch_ids) or [-1]))
    rows = await query
    if not rows:
        return []
    calendars = await branch_calendars({row["branch"] for row in rows})
    flagged = []
    for row in rows:
        cal = calendars.get(row["branch"])
        if cal is None or not cal.has_work():
            continue
        state, _left = sla_state(row["sla_due_at"], now, cal)
        if state == "ok":
            continue
        marked = await WorkOrder.update({WorkOrder.at_risk_notified: True}).where(
            (WorkOrder.id == row["id"]) & (WorkOrder.at_risk_notified == False)  # noqa: E712
        ).returning(WorkOrder.id)
        if marked:
            events.publish("work_order_at_risk", work_order_id=row["id"], branch_id=row["branch"])
            flagged.append(row["id"])
    return flagged


async def run(seconds: float) -> None:
    """Check now and then every `seconds`, until cancelled; a failed round is logged only."""
    while True:
        try:
            await check_at_risk()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("at-risk check failed")
        await asyncio.sleep(seconds)


async def start(app) -> None:
    """Start-up hook (routes.STARTUP)."""
    app.state.at_risk_monitor = asyncio.get_running_loop().create_task(run(app.state.settings.monitor_seconds))


async def stop(app) -> None:
    """Shut-down hook (routes.SHUTDOWN)."""
    task = getattr(app.state, "at_risk_monitor", None)
    if task is None:
        return
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
