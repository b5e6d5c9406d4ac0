"""The dispatch board's data (one small set of queries, polled often) and branch calendars."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from server.accounts.rules import TECHNICIAN, CurrentUser
from server.accounts.tables import Branch, User
from server.dispatch import rules
from server.dispatch.calendar import WorkingCalendar
from server.workorders import rules as wo_rules
from server.workorders.service import calendar_of, utcnow
from server.workorders.tables import WorkOrder


@dataclass(frozen=True)
class BranchInfo:
    id: int
    code: str
    name: str
    name_en: str
    timezone: str
    default_zone: str
    settings: dict
    calendar: WorkingCalendar


@dataclass
class Row:
    """One work order on the board."""

    id: int
    number: str
    branch: BranchInfo
    category: str
    zone: str
    status: str
    customer: str
    address: str
    fault: str
    received_at: datetime
    sla_due_at: datetime | None
    dispatched_at: datetime | None
    assigned_to: int | None
    technician: str
    flags: rules.SlaFlags


@dataclass
class TechLoad:
    id: int
    username: str
    display_name: str
    branch_id: int
    open: int = 0
    done_today: int = 0


@dataclass
class Board:
    now: datetime
    branches: list[BranchInfo]
    waiting: list[Row] = field(default_factory=list)
    active: list[Row] = field(default_factory=list)
    technicians: list[TechLoad] = field(default_factory=list)

    def technicians_of(self, branch_id: int) -> list[TechLoad]:
        return [t for t in self.technicians if t.branch_id == branch_id]

    @property
    def at_risk_count(self) -> int:
        return sum(1 for r in self.waiting if r.flags.state in ("at_risk", "overdue"))


def branch_info(row: dict) -> BranchInfo:
    settings = calendar_of(row["calendar"])
    return BranchInfo(row["id"], row["code"], row["name"], row["name_en"], row["timezone"],
                      row["default_zone"], settings,
                      WorkingCalendar.from_settings(settings, row["timezone"]))


async def visible_branches(user: CurrentUser, only: int | None = None) -> list[BranchInfo]:
    """The branches `user` sees (all for head office and admin), or just `only` among them."""
    query = Branch.select(Branch.id, Branch.code, Branch.name, Branch.name_en, Branch.timezone,
                          Branch.default_zone, Branch.calendar).order_by(Branch.code)
    if not user.sees_all_branches:
        query = query.where(Branch.id == (user.branch_id or -1))
    if only is not None:
        if not wo_rules.valid_id(only):
            return []
        query = query.where(Branch.id == only)
    return [branch_info(row) for row in await query]


async def branch_calendars(branch_ids: set[int]) -> dict[int, WorkingCalendar]:
    if not branch_ids:
        return {}
    rows = await Branch.select(Branch.id, Branch.code, Branch.name, Branch.name_en, Branch.timezone,
                               Branch.default_zone, Branch.calendar).where(Branch.id.is_in(list(branch_ids)))
    return {row["id"]: branch_info(row).calendar for row in rows}


@lru_cache(maxsize=1)
def _board_columns() -> tuple:
    """The board query's columns, joins included, built once (Piccolo's joins cost to build)."""
    return (
        WorkOrder.id, WorkOrder.number, WorkOrder.branch, WorkOrder.category, WorkOrder.zone,
        WorkOrder.description, WorkOrder.status, WorkOrder.assigned_to, WorkOrder.received_at,
        WorkOrder.sla_due_at, WorkOrder.dispatched_at, WorkOrder.completed_at,
        WorkOrder.assigned_to.display_name.as_alias("technician"),
        WorkOrder.call.fault.as_alias("fault"),
        WorkOrder.call.customer.name.as_alias("customer"),
        WorkOrder.call.customer.address.as_alias("address"),
    )


async def _board_rows(branches: list[BranchInfo], now: datetime) -> tuple[list[dict], list[dict]]:
    """The orders on the board (waiting, dispatched, in progress, completed today) and the
    branches' technicians."""
    ids = [b.id for b in branches]
    since = min(_start_of_today(now, b) for b in branches)
    orders = await WorkOrder.select(*_board_columns()).where(
        WorkOrder.branch.is_in(ids)
        & (WorkOrder.status.is_in([wo_rules.WAITING, *wo_rules.OPEN_ASSIGNED])
           | ((WorkOrder.status == wo_rules.COMPLETED) & (WorkOrder.completed_at >= since)))
    )
    techs = await User.select(User.id, User.username, User.display_name, User.branch).where(
        (User.role == TECHNICIAN) & (User.active == True) & User.branch.is_in(ids)  # noqa: E712
    ).order_by(User.display_name)
    return orders, techs


def _start_of_today(now: datetime, branch: BranchInfo) -> datetime:
    tz = ZoneInfo(branch.timezone)
    return datetime.combine(now.astimezone(tz).date(), time(0), tz)


async def load_board(user: CurrentUser, branch_id: int | None = None, now: datetime | None = None) -> Board:
    """Waiting orders in dispatch order, open assigned ones, and each technician's load today.

    Three reads on one connection (a read transaction): the board is polled often."""
    now = now or utcnow()
    async with WorkOrder._meta.db.transaction():
        branches = await visible_branches(user, branch_id)
        if not branches:
            return Board(now=now, branches=branches)
        orders, techs = await _board_rows(branches, now)
    board = Board(now=now, branches=branches)
    by_id = {b.id: b for b in branches}
    loads = {t["id"]: TechLoad(t["id"], t["username"], t["display_name"], t["branch"]) for t in techs}

    for o in orders:
        branch = by_id[o["branch"]]
        if o["status"] == wo_rules.COMPLETED:
            load = loads.get(o["assigned_to"])
            if load and o["completed_at"] >= _start_of_today(now, branch):
                load.done_today += 1
            continue
        item = rules.BoardItem(o["id"], o["received_at"], o["sla_due_at"])
        row = Row(
            id=o["id"], number=o["number"], branch=branch, category=o["category"], zone=o["zone"],
            status=o["status"], customer=o["customer"] or "", address=rules.short_address(o["address"] or ""),
            fault=o["fault"] or o["description"], received_at=o["received_at"], sla_due_at=o["sla_due_at"],
            dispatched_at=o["dispatched_at"], assigned_to=o["assigned_to"], technician=o["technician"] or "",
            flags=rules.sla_flags(item, now, branch.calendar),
        )
        if o["status"] == wo_rules.WAITING:
            board.waiting.append(row)
        else:
            board.active.append(row)
            if row.assigned_to in loads:
                loads[row.assigned_to].open += 1

    calendars = {b.id: b.calendar for b in branches}
    board.waiting = rules.board_order(board.waiting, now, calendars, branch_of=lambda r: r.branch.id,
                                      as_item=lambda r: rules.BoardItem(r.id, r.received_at, r.sla_due_at))
    board.active.sort(key=lambda r: (r.sla_due_at is None, r.sla_due_at or r.received_at, r.id))
    board.technicians = list(loads.values())
    return board


class CalendarInvalid(Exception):
    def __init__(self, calendar: dict, errors: dict[str, tuple[str, dict]]):
        super().__init__("invalid calendar")
        self.calendar, self.errors = calendar, errors


async def branch_for_calendar(branch_id: int, user: CurrentUser) -> BranchInfo | None:
    found = await visible_branches(user, branch_id)
    return found[0] if found else None


async def save_calendar(branch: BranchInfo, data: object) -> dict:
    """Check and store a branch's working calendar; CalendarInvalid with the problems."""
    calendar, errors = rules.validate_calendar(data)
    if errors:
        raise CalendarInvalid(calendar, errors)
    await Branch.update({Branch.calendar: json.dumps(calendar)}).where(Branch.id == branch.id)
    return calendar
