"""Dispatch board rules (派工): which waiting order comes first, its SLA flags, and what a
branch's working calendar settings may hold. Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from server.accounts.rules import ADMIN, SERVICE_DEPT, SUPERVISOR
from server.dispatch.calendar import DEFAULT_HOURS, WorkingCalendar, is_carried_over, sla_state
from server.i18n import N_

# Who may change a branch's working calendar: its supervisor, head office, the administrator.
EDIT_CALENDAR = frozenset({SUPERVISOR, SERVICE_DEPT, ADMIN})
WEEKDAY_LABELS = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"),
                  N_("Saturday"), N_("Sunday"))
MAX_INTERVALS_PER_DAY = 6
MAX_CALENDAR_DATES = 400


@dataclass(frozen=True)
class BoardItem:
    """What the ordering needs to know of a waiting work order."""

    id: int
    received_at: datetime
    sla_due_at: datetime | None  # None for internal work (category D)


@dataclass(frozen=True)
class SlaFlags:
    state: str  # "ok" | "at_risk" | "overdue" | "none" (internal work has no SLA)
    minutes_left: int | None  # working minutes; negative when overdue
    carried_over: bool


def carried_over(item: BoardItem, now: datetime, cal: WorkingCalendar) -> bool:
    """seed 000 §18: a call registered on an earlier day and still not dispatched is carried
    over and dispatched first. Internal work is no call: it is never carried over."""
    return item.sla_due_at is not None and is_carried_over(item.received_at, now, cal)


def board_key(item: BoardItem, now: datetime, cal: WorkingCalendar) -> tuple:
    """Sort key: carried-over calls first (seed 000 §18), then by SLA due time (seed 000 §19),
    internal work without a due time last; ties by received time, then id."""
    if item.sla_due_at is None:
        return (2, item.received_at, item.received_at, item.id)
    group = 0 if carried_over(item, now, cal) else 1
    return (group, item.sla_due_at, item.received_at, item.id)


def board_order(items: Iterable, now: datetime,
                calendars: WorkingCalendar | dict[int, WorkingCalendar],
                branch_of: Callable | None = None, as_item: Callable | None = None) -> list:
    """The waiting orders in the order a supervisor dispatches them (see board_key).

    `calendars` is one calendar, or a dict branch id → calendar with `branch_of(x)` giving an
    element's branch id (head office sees several branches on one board); `as_item(x)` turns
    an element into a BoardItem when it is not one."""
    def key(element) -> tuple:
        item = as_item(element) if as_item else element
        cal = calendars if isinstance(calendars, WorkingCalendar) else calendars[branch_of(element)]
        return board_key(item, now, cal)

    return sorted(items, key=key)


def sla_flags(item: BoardItem, now: datetime, cal: WorkingCalendar) -> SlaFlags:
    """seed 000 §19: working time left until the due time; at risk under 1 working hour."""
    if item.sla_due_at is None:
        return SlaFlags("none", None, False)
    state, left = sla_state(item.sla_due_at, now, cal)
    return SlaFlags(state, left, carried_over(item, now, cal))


def short_address(address: str, limit: int = 22) -> str:
    """An address without its province and city (the branch is in one city), cut to fit a row."""
    text = address.strip()
    for _ in range(2):
        text = re.sub(r"^[\u4e00-\u9fff]{2,4}[省市](?=.)", "", text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def split_minutes(minutes: int) -> tuple[int, int]:
    """(hours, minutes) of an absolute number of minutes."""
    minutes = abs(minutes)
    return minutes // 60, minutes % 60


# ---- working calendar settings -------------------------------------------------------

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _minutes(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def _pad(value: str) -> str:
    """"8:30" → "08:30": a leading zero is often left out when typing."""
    return f"0{value}" if re.fullmatch(r"\d:\d\d", value) else value


def parse_intervals_text(text: str) -> list[list[str]] | None:
    """"08:30-12:00, 13:00-17:30" → [["08:30","12:00"], ["13:00","17:30"]]; None if malformed."""
    result = []
    for chunk in re.split(r"[,，;；\s]+", text.strip()):
        if not chunk:
            continue
        pieces = re.split(r"[-–—~～]", chunk)
        if len(pieces) != 2:
            return None
        result.append([_pad(pieces[0].strip()), _pad(pieces[1].strip())])
    return result


def intervals_text(intervals: Sequence[Sequence[str]]) -> str:
    return ", ".join(f"{a}-{b}" for a, b in intervals)


def _check_day(intervals: object) -> tuple[list[list[str]], str | None]:
    """Validate one weekday's intervals; the problem (English source) or None."""
    if not isinstance(intervals, list) or not all(
        isinstance(i, (list, tuple)) and len(i) == 2 and all(isinstance(t, str) for t in i)
        for i in intervals
    ):
        return [], N_("Give working hours as start-end pairs, e.g. 08:30-12:00, 13:00-17:30.")
    pairs = [[a.strip(), b.strip()] for a, b in intervals]
    for a, b in pairs:
        if not _TIME.match(a) or not _TIME.match(b):
            return pairs, N_("Times are written HH:MM, from 00:00 to 23:59.")
        if _minutes(a) >= _minutes(b):
            return pairs, N_("Each period must end after it starts.")
    if len(pairs) > MAX_INTERVALS_PER_DAY:
        return pairs, N_("At most 6 working periods a day.")
    pairs.sort(key=lambda p: _minutes(p[0]))
    for (_, end), (start, _) in zip(pairs, pairs[1:]):
        if _minutes(start) < _minutes(end):
            return pairs, N_("Working periods of one day must not overlap.")
    return pairs, None


def _check_dates(values: object) -> tuple[list[str], str | None, dict]:
    """Sorted unique ISO dates, or the problem (English source) and its placeholders."""
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        return [], N_("Give dates as a list in the form YYYY-MM-DD."), {}
    if len(values) > MAX_CALENDAR_DATES:
        return [], N_("At most 400 dates."), {}
    days = set()
    for value in values:
        text = value.strip()
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError(text)
            days.add(date.fromisoformat(text))
        except ValueError:
            return [], N_("%(value)s is not a date in the form YYYY-MM-DD."), {"value": text}
    return sorted(d.isoformat() for d in days), None, {}


def validate_calendar(data: object) -> tuple[dict, dict[str, tuple[str, dict]]]:
    """A branch calendar setting checked and normalised: (calendar, errors).

    errors maps a field ("hours.0" … "hours.6", "hours", "holidays", "makeup_days") to
    (English source message, its placeholders). The calendar holds all seven weekdays,
    sorted periods and sorted unique dates; a date may not be both a holiday and a make-up
    working day (调休), and the week needs some working time or no SLA can fall due."""
    errors: dict[str, tuple[str, dict]] = {}
    if not isinstance(data, dict):
        return {}, {"calendar": (N_("The calendar must be an object with hours, holidays and makeup_days."), {})}
    raw_hours = data.get("hours")
    if raw_hours is None:
        raw_hours = {str(d): [list(i) for i in v] for d, v in DEFAULT_HOURS.items()}
    hours: dict[str, list[list[str]]] = {}
    if not isinstance(raw_hours, dict) or any(str(k) not in {str(d) for d in range(7)} for k in raw_hours):
        errors["hours"] = (N_("Working hours are given per weekday, 0 (Monday) to 6 (Sunday)."), {})
        raw_hours = {}
    for day in range(7):
        pairs, problem = _check_day(raw_hours.get(str(day), raw_hours.get(day, [])))
        hours[str(day)] = pairs
        if problem:
            errors[f"hours.{day}"] = (problem, {})
    if "hours" not in errors and not any(hours.values()) and not any(k.startswith("hours.") for k in errors):
        errors["hours"] = (N_("The week needs some working hours, or no due time can be set."), {})
    lists = {}
    for name in ("holidays", "makeup_days"):
        values, problem, detail = _check_dates(data.get(name, []))
        lists[name] = values
        if problem:
            errors[name] = (problem, detail)
    both = sorted(set(lists["holidays"]) & set(lists["makeup_days"]))
    if both:
        errors["makeup_days"] = (N_("%(value)s cannot be both a holiday and a make-up working day."),
                                 {"value": ", ".join(both)})
    return {"hours": hours, **lists}, errors


def effective_calendar(stored: dict | None) -> dict:
    """A branch's stored calendar with the defaults filled in (Mon–Fri 08:30–12:00, 13:00–17:30)."""
    stored = stored or {}
    raw_hours = stored.get("hours") or {str(d): [list(i) for i in v] for d, v in DEFAULT_HOURS.items()}
    return {
        "hours": {str(d): [list(i) for i in raw_hours.get(str(d), raw_hours.get(d, []))] for d in range(7)},
        "holidays": sorted(stored.get("holidays", [])),
        "makeup_days": sorted(stored.get("makeup_days", [])),
    }
