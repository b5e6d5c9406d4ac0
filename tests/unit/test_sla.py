"""SLA clocks in working time (seed 000 §19: on site within 6 working hours urban, 7 suburban),
across nights, weekends, public holidays and make-up working days, for random calendars."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from server.demo import CALENDAR_2026
from server.dispatch.calendar import (
    SLA_WORKING_HOURS,
    WorkingCalendar,
    add_working_minutes,
    is_carried_over,
    sla_due,
    sla_state,
    working_minutes_between,
)
from server.dispatch.rules import effective_calendar, parse_intervals_text, validate_calendar

TZ = "Asia/Shanghai"
EPOCH = datetime(2024, 1, 1, tzinfo=ZoneInfo(TZ))
SPAN_MINUTES = 4 * 366 * 24 * 60  # any minute of four years
ZONES = st.sampled_from(sorted(SLA_WORKING_HOURS))


def hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


received_times = st.integers(0, SPAN_MINUTES).map(lambda m: (EPOCH + timedelta(minutes=m)).astimezone(timezone.utc))


@st.composite
def day_hours(draw) -> list[list[str]]:
    """0–3 non-overlapping working periods of a day, each at least a minute long."""
    count = draw(st.integers(0, 3))
    points = sorted(draw(st.lists(st.integers(0, 23 * 60 + 59), min_size=2 * count, max_size=2 * count, unique=True)))
    return [[hhmm(points[2 * i]), hhmm(points[2 * i + 1])] for i in range(count)]


def weekly_minutes(hours: dict[str, list[list[str]]]) -> int:
    def m(v: str) -> int:
        return int(v[:2]) * 60 + int(v[3:])
    return sum(m(b) - m(a) for periods in hours.values() for a, b in periods)


@st.composite
def calendar_and_received(draw):
    """A random branch calendar, and a call time near its holidays and make-up days."""
    received = draw(received_times)
    hours = {str(d): draw(day_hours()) for d in range(7)}
    assume(weekly_minutes(hours) >= 60)  # a week with under an hour of work is no calendar
    base = received.astimezone(ZoneInfo(TZ)).date()
    holidays = {base + timedelta(days=o) for o in draw(st.lists(st.integers(-2, 40), max_size=15))}
    makeups = {base + timedelta(days=o) for o in draw(st.lists(st.integers(-2, 40), max_size=6))} - holidays
    settings_ = {"hours": hours, "holidays": sorted(d.isoformat() for d in holidays),
                 "makeup_days": sorted(d.isoformat() for d in makeups)}
    calendar, errors = validate_calendar(settings_)
    assert errors == {}
    return WorkingCalendar.from_settings(calendar, TZ), received


DEMO = WorkingCalendar.from_settings(CALENDAR_2026, TZ)
DEFAULT = WorkingCalendar.from_settings({}, TZ)


def in_working_time(moment: datetime, cal: WorkingCalendar) -> bool:
    """Inside a working period of its day, or exactly at a period's end (never at its start)."""
    local = moment.astimezone(ZoneInfo(cal.timezone))
    return any(a < local.time() <= b for a, b in cal.intervals_on(local.date()))


@settings(max_examples=300, deadline=None)
@given(calendar_and_received(), ZONES)
def test_due_time_is_exactly_six_or_seven_working_hours_after_the_call(cal_received, zone):
    cal, received = cal_received
    due = sla_due(received, zone, cal)
    assert working_minutes_between(received, due, cal) == SLA_WORKING_HOURS[zone] * 60
    assert due > received


@settings(max_examples=400, deadline=None)
@given(received_times, ZONES, st.sampled_from([DEMO, DEFAULT]))
def test_due_time_on_the_2026_calendar_and_the_default_one(received, zone, cal):
    due = sla_due(received, zone, cal)
    assert working_minutes_between(received, due, cal) == {"urban": 360, "suburban": 420}[zone]
    assert in_working_time(due, cal)


@settings(max_examples=300, deadline=None)
@given(calendar_and_received(), ZONES)
def test_due_time_is_never_on_a_holiday_nor_outside_working_hours(cal_received, zone):
    cal, received = cal_received
    due = sla_due(received, zone, cal)
    local = due.astimezone(ZoneInfo(TZ))
    assert local.date() not in cal.holidays
    assert in_working_time(due, cal), f"due {local} outside {cal.intervals_on(local.date())}"


@settings(max_examples=300, deadline=None)
@given(calendar_and_received(), st.integers(0, 5 * 24 * 60), ZONES)
def test_a_later_call_is_never_due_earlier(cal_received, later_by, zone):
    cal, first = cal_received
    second = first + timedelta(minutes=later_by)
    assert sla_due(first, zone, cal) <= sla_due(second, zone, cal)


@settings(max_examples=300, deadline=None)
@given(calendar_and_received(), st.integers(0, 480))
def test_sla_state_ok_at_risk_and_overdue_by_working_minutes_left(cal_received, worked):
    """At risk under one working hour left; overdue from the due time on."""
    cal, received = cal_received
    due = sla_due(received, "urban", cal)
    now = add_working_minutes(received, worked, cal)
    state, left = sla_state(due, now, cal)
    assert left == 360 - worked
    if worked >= 360:
        assert state == "overdue"
    elif 360 - worked < 60:
        assert state == "at_risk"
    else:
        assert state == "ok"


def test_sla_state_boundaries_on_a_plain_weekday():
    received = datetime(2026, 3, 2, 8, 30, tzinfo=ZoneInfo(TZ))  # a Monday, work starts
    due = sla_due(received, "urban", DEMO)
    assert due == datetime(2026, 3, 2, 15, 30, tzinfo=ZoneInfo(TZ))  # 3.5 h before lunch, 2.5 after
    assert sla_state(due, datetime(2026, 3, 2, 14, 30, tzinfo=ZoneInfo(TZ)), DEMO) == ("ok", 60)
    assert sla_state(due, datetime(2026, 3, 2, 14, 31, tzinfo=ZoneInfo(TZ)), DEMO) == ("at_risk", 59)
    assert sla_state(due, due, DEMO) == ("overdue", 0)
    assert sla_state(due, datetime(2026, 3, 3, 9, 0, tzinfo=ZoneInfo(TZ)), DEMO) == ("overdue", -150)


def test_a_call_before_the_national_day_holiday_is_due_after_it():
    """Received on the afternoon of 30 Sept 2026: 1–7 Oct are holidays, so the SLA runs on 8 Oct:
    one hour on the 30th, then 3.5 h and 2.5 h on the 8th."""
    received = datetime(2026, 9, 30, 16, 30, tzinfo=ZoneInfo(TZ))
    due = sla_due(received, "suburban", DEMO)
    assert due.astimezone(ZoneInfo(TZ)) == datetime(2026, 10, 8, 15, 30, tzinfo=ZoneInfo(TZ))


def test_a_makeup_saturday_is_worked_with_monday_hours():
    """10 Oct 2026 is a Saturday worked in exchange for the holiday (调休)."""
    received = datetime(2026, 10, 9, 17, 0, tzinfo=ZoneInfo(TZ))  # Friday, half an hour left
    due = sla_due(received, "urban", DEMO)
    assert due.astimezone(ZoneInfo(TZ)) == datetime(2026, 10, 10, 15, 0, tzinfo=ZoneInfo(TZ))


def test_a_night_call_starts_counting_at_the_next_working_morning():
    received = datetime(2026, 11, 27, 22, 15, tzinfo=ZoneInfo(TZ))  # Friday night
    due = sla_due(received, "urban", DEMO)
    assert due.astimezone(ZoneInfo(TZ)) == datetime(2026, 11, 30, 15, 30, tzinfo=ZoneInfo(TZ))  # Monday


@given(received_times, st.integers(0, 3 * 24 * 60))
def test_carried_over_means_registered_on_an_earlier_local_day(received, later_by):
    now = received + timedelta(minutes=later_by)
    local = ZoneInfo(TZ)
    assert is_carried_over(received, now, DEMO) == (received.astimezone(local).date() < now.astimezone(local).date())


# ---- the calendar settings a supervisor edits ------------------------------------------

def test_an_empty_calendar_is_monday_to_friday_with_a_lunch_break():
    calendar = effective_calendar({})
    assert calendar["hours"]["0"] == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert calendar["hours"]["4"] == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert calendar["hours"]["5"] == [] and calendar["hours"]["6"] == []
    stored = WorkingCalendar.from_settings(validate_calendar(calendar)[0], TZ)
    assert all(stored.intervals_on(date(2026, 3, 2) + timedelta(days=d)) == DEFAULT.intervals_on(
        date(2026, 3, 2) + timedelta(days=d)) for d in range(7))


@pytest.mark.parametrize("hours, field", [
    ({"0": [["8:30", "12:00"]]}, "hours.0"),
    ({"1": [["08:30", "24:00"]]}, "hours.1"),
    ({"2": [["13:00", "12:00"]]}, "hours.2"),
    ({"3": [["08:00", "12:00"], ["11:00", "13:00"]]}, "hours.3"),
    ({"4": "08:00-12:00"}, "hours.4"),
    ({"7": [["08:00", "12:00"]]}, "hours"),
    ({str(d): [] for d in range(7)}, "hours"),
])
def test_bad_working_hours_are_refused_field_by_field(hours, field):
    _calendar, errors = validate_calendar({"hours": hours})
    assert field in errors


def test_dates_must_be_iso_and_not_both_holiday_and_makeup_day():
    _c, errors = validate_calendar({"holidays": ["2026-02-30"]})
    assert errors["holidays"][1] == {"value": "2026-02-30"}
    _c, errors = validate_calendar({"makeup_days": ["10/10/2026"]})
    assert "makeup_days" in errors
    _c, errors = validate_calendar({"holidays": ["2026-10-01"], "makeup_days": ["2026-10-01"]})
    assert errors["makeup_days"][1] == {"value": "2026-10-01"}
    calendar, errors = validate_calendar({"holidays": ["2026-10-02", "2026-10-01", "2026-10-01"]})
    assert errors == {} and calendar["holidays"] == ["2026-10-01", "2026-10-02"]


def test_typed_periods_are_read_leniently():
    assert parse_intervals_text("8:30-12:00，13:00—17:30") == [["08:30", "12:00"], ["13:00", "17:30"]]
    assert parse_intervals_text("") == []
    assert parse_intervals_text("08:00") is None


@settings(max_examples=200, deadline=None)
@given(calendar_and_received())
def test_a_validated_calendar_reads_back_the_same(cal_received):
    cal, _received = cal_received
    again = {"hours": {str(d): [[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in cal.hours.get(d, ())]
                       for d in range(7)},
             "holidays": sorted(d.isoformat() for d in cal.holidays),
             "makeup_days": sorted(d.isoformat() for d in cal.makeup_days)}
    calendar, errors = validate_calendar(again)
    assert errors == {}
    assert WorkingCalendar.from_settings(calendar, TZ) == cal
