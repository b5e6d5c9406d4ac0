"""Working calendar and SLA clocks (seed 000 §18–§19).

Pure functions, no I/O. A branch's calendar says which hours of each weekday are worked,
which dates are public holidays, and which weekend dates are make-up working days (调休).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLA_WORKING_HOURS = {"urban": 6, "suburban": 7}  # seed 000 §19
AT_RISK_MINUTES = 60  # < 1 working hour left

# Monday=0 … Sunday=6 → list of (start, end) "HH:MM" intervals.
DEFAULT_HOURS: dict[int, list[tuple[str, str]]] = {
    d: [("08:30", "12:00"), ("13:00", "17:30")] for d in range(5)
}


def _t(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: str = "Asia/Shanghai"
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    makeup_days: frozenset[date] = frozenset()  # weekend dates worked with Monday's hours

    @classmethod
    def from_settings(cls, settings: dict | str | None, timezone: str = "Asia/Shanghai") -> "WorkingCalendar":
        """A branch's calendar from its JSON settings (a dict, or the JSON text Piccolo reads
        from Branch.calendar); missing parts take the defaults."""
        if isinstance(settings, str):
            settings = json.loads(settings or "{}")
        settings = settings or {}
        raw_hours = settings.get("hours") or DEFAULT_HOURS
        hours = {
            int(day): tuple(sorted((_t(a), _t(b)) for a, b in intervals if _t(a) < _t(b)))
            for day, intervals in raw_hours.items()
        }
        return cls(
            timezone=timezone,
            hours=hours,
            holidays=frozenset(date.fromisoformat(d) for d in settings.get("holidays", [])),
            makeup_days=frozenset(date.fromisoformat(d) for d in settings.get("makeup_days", [])),
        )

    def intervals_on(self, day: date) -> tuple[tuple[time, time], ...]:
        """The working intervals of a date, in local time."""
        if day in self.holidays:
            return ()
        if day in self.makeup_days and not self.hours.get(day.weekday()):
            return self.hours.get(0) or next((v for v in self.hours.values() if v), ())
        return self.hours.get(day.weekday(), ())

    def has_work(self) -> bool:
        return any(self.hours.values())


def _local_intervals(cal: WorkingCalendar, day: date) -> list[tuple[datetime, datetime]]:
    tz = ZoneInfo(cal.timezone)
    return [(datetime.combine(day, a, tz), datetime.combine(day, b, tz)) for a, b in cal.intervals_on(day)]


def add_working_minutes(start: datetime, minutes: int, cal: WorkingCalendar) -> datetime:
    """The moment `minutes` working minutes after `start` (an aware datetime)."""
    if not cal.has_work():
        raise ValueError("the calendar has no working hours")
    tz = ZoneInfo(cal.timezone)
    moment = start.astimezone(tz)
    remaining = timedelta(minutes=minutes)
    day = moment.date()
    for _ in range(3660):  # ten years of days: no calendar holidays that long
        for begin, end in _local_intervals(cal, day):
            if end <= moment:
                continue
            begin = max(begin, moment)
            available = end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= available
        day += timedelta(days=1)
        moment = datetime.combine(day, time(0), tz)
    raise ValueError("no working time within ten years")


def working_minutes_between(start: datetime, end: datetime, cal: WorkingCalendar) -> int:
    """Working minutes from `start` to `end` (negative when end is earlier)."""
    if end < start:
        return -working_minutes_between(end, start, cal)
    tz = ZoneInfo(cal.timezone)
    a, b = start.astimezone(tz), end.astimezone(tz)
    total = timedelta()
    day = a.date()
    while day <= b.date():
        for begin, finish in _local_intervals(cal, day):
            lo, hi = max(begin, a), min(finish, b)
            if hi > lo:
                total += hi - lo
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def sla_due(received_at: datetime, zone: str, cal: WorkingCalendar) -> datetime:
    """seed 000 §19: on site within 6 working hours (urban) or 7 (suburban) of the call."""
    return add_working_minutes(received_at, SLA_WORKING_HOURS[zone] * 60, cal)


def sla_state(due: datetime, now: datetime, cal: WorkingCalendar) -> tuple[str, int]:
    """("ok" | "at_risk" | "overdue", working minutes left) at `now`."""
    left = working_minutes_between(now, due, cal)
    if now >= due:
        return "overdue", left
    if left < AT_RISK_MINUTES:
        return "at_risk", left
    return "ok", left


def local_date(moment: datetime, cal: WorkingCalendar) -> date:
    """The date of `moment` in the branch's time zone."""
    return moment.astimezone(ZoneInfo(cal.timezone)).date()


def is_carried_over(received_at: datetime, now: datetime, cal: WorkingCalendar) -> bool:
    """seed 000 §18: calls not dispatched by the end of the day they were registered are
    carried over and dispatched first the next day."""
    return local_date(received_at, cal) < local_date(now, cal)
