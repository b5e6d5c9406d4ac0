"""The dispatch board's data (one small set of queries, polled often) and branch calendars."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from server.accounts.rules import TECHNICIAN, CurrentUser
from server.accounts.tables import Branch, User
from server.db import reads
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
    settings: dict = field(compare=False)
    calendar: WorkingCalendar = field(compare=False)
    calendar_text: str = ""  # what settings and calendar were made from: compared and hashed


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


def branch_info(row) -> BranchInfo:
    return _branch_info(row["id"], row["code"], row["name"], row["name_en"], row["timezone"],
                        row["default_zone"], row["calendar"] if isinstance(row["calendar"], str)
                        else json.dumps(row["calendar"]))


@lru_cache(maxsize=256)
def _branch_info(id: int, code: str, name: str, name_en: str, timezone: str, default_zone: str,
                 calendar: str) -> BranchInfo:
    """Made once per distinct branch row: parsing the calendar is not free, and the board asks
    for its branches on every poll."""
    settings = calendar_of(calendar)
    return BranchInfo(id, code, name, name_en, timezone, default_zone, settings,
                      WorkingCalendar.from_settings(settings, timezone), calendar)


_BRANCH_SQL = "SELECT id, code, name, name_en, timezone, default_zone, calendar FROM branch"


async def visible_branches(user: CurrentUser, only: int | None = None) -> list[BranchInfo]:
    """The branches `user` sees (all for head office and admin), or just `only` among them."""
    where, args = [], []
    if not user.sees_all_branches:
        where.append("id = ?")
        args.append(user.branch_id or -1)
    if only is not None:
        if not wo_rules.valid_id(only):
            return []
        where.append("id = ?")
        args.append(only)
    sql = _BRANCH_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY code"
    return [branch_info(row) for row in await reads.fetch_quick(sql, *args)]


async def board_stamp(user: CurrentUser, branches: list[BranchInfo], now: datetime) -> tuple:
    """A value that changes whenever what the board shows may have changed: its orders (every
    change to an order raises its version), the branches' technicians and the user's open
    conflicts. One aggregate query, so that an unchanged board need not be read and drawn
    again on every poll. The last item is the open-conflict count the board shows."""
    ids = [b.id for b in branches]
    since = min(_start_of_today(now, b) for b in branches)
    in_branches = f"branch IN ({reads.marks(len(ids))})"
    conflicts_scope = "" if user.sees_all_branches else " AND w.branch = ?"
    sql = (
        "SELECT o.n, o.v, o.i, o.u, t.n AS techs, t.i AS tech_ids, c.n AS conflicts FROM "
        "(SELECT count(*) AS n, coalesce(sum(version), 0) AS v, coalesce(sum(id), 0) AS i, "
        f"max(updated_at) AS u FROM work_order WHERE {in_branches} AND (status IN (?, ?, ?) "
        "OR (status = ? AND completed_at >= ?))) o, "
        "(SELECT count(*) AS n, coalesce(sum(id), 0) AS i FROM fs_user "
        f"WHERE role = ? AND active = ? AND {in_branches}) t, "
        "(SELECT count(*) AS n FROM sync_conflict c JOIN work_order w ON w.id = c.work_order "
        f"WHERE c.status = ?{conflicts_scope}) c"
    )
    args = [*ids, wo_rules.WAITING, *wo_rules.OPEN_ASSIGNED, wo_rules.COMPLETED, since,
            TECHNICIAN, True, *ids, "open"]
    if not user.sees_all_branches:
        args.append(user.branch_id or -1)
    row = (await reads.fetch_quick(sql, *args))[0]
    return (row["n"], row["v"], row["i"], str(row["u"]), row["techs"], row["tech_ids"], row["conflicts"])


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


async def load_board(user: CurrentUser, branch_id: int | None = None, now: datetime | None = None,
                     branches: list[BranchInfo] | None = None) -> Board:
    """Waiting orders in dispatch order, open assigned ones, and each technician's load today.

    The reads share one connection (a read transaction): the board is polled often."""
    now = now or utcnow()
    async with WorkOrder._meta.db.transaction():
        if branches is None:
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
