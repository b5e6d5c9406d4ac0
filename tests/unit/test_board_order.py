"""The dispatch board's order (seed 000 §18–§19): calls carried over from an earlier day first,
then by SLA due time; internal work (no due time) last."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from server.demo import CALENDAR_2026
from server.dispatch.calendar import WorkingCalendar, sla_due
from server.dispatch.rules import BoardItem, board_order, carried_over, short_address, sla_flags

SHANGHAI = WorkingCalendar.from_settings(CALENDAR_2026, "Asia/Shanghai")
TOKYO = WorkingCalendar.from_settings({}, "Asia/Tokyo")  # an hour ahead: another local date at night
EPOCH = datetime(2026, 1, 5, tzinfo=timezone.utc)


@st.composite
def waiting_orders(draw):
    """A board's waiting orders and the time it is looked at: calls received over the last
    days (urban or suburban, their due time from the calendar) and some internal work."""
    now = EPOCH + timedelta(minutes=draw(st.integers(0, 300 * 24 * 60)))
    count = draw(st.integers(0, 25))
    items = []
    for i in range(count):
        received = now - timedelta(minutes=draw(st.integers(0, 5 * 24 * 60)))
        internal = draw(st.booleans()) and draw(st.booleans())
        zone = draw(st.sampled_from(["urban", "suburban"]))
        due = None if internal else sla_due(received, zone, SHANGHAI)
        items.append(BoardItem(id=i + 1, received_at=received, sla_due_at=due))
    return now, items


def group(item: BoardItem, now: datetime, cal: WorkingCalendar = SHANGHAI) -> int:
    if item.sla_due_at is None:
        return 2
    return 0 if carried_over(item, now, cal) else 1


@settings(max_examples=300, deadline=None)
@given(waiting_orders())
def test_carried_over_first_then_by_due_time_internal_work_last(case):
    now, items = case
    ordered = board_order(items, now, SHANGHAI)
    assert sorted(i.id for i in ordered) == sorted(i.id for i in items)  # nothing lost, nothing twice
    groups = [group(i, now) for i in ordered]
    assert groups == sorted(groups), "carried over, then today's calls, then internal work"
    for g in (0, 1):
        dues = [i.sla_due_at for i in ordered if group(i, now) == g]
        assert dues == sorted(dues), "within a group, the earliest due time first"
    internal = [i.received_at for i in ordered if i.sla_due_at is None]
    assert internal == sorted(internal), "internal work in the order it was created"


@settings(max_examples=200, deadline=None)
@given(waiting_orders(), st.randoms())
def test_the_order_does_not_depend_on_how_the_rows_came_from_the_database(case, rnd):
    now, items = case
    shuffled = list(items)
    rnd.shuffle(shuffled)
    assert [i.id for i in board_order(shuffled, now, SHANGHAI)] == [i.id for i in board_order(items, now, SHANGHAI)]


@settings(max_examples=200, deadline=None)
@given(waiting_orders())
def test_a_carried_over_call_comes_before_any_call_of_today_even_when_due_later(case):
    now, items = case
    ordered = board_order(items, now, SHANGHAI)
    seen_today = False
    for item in ordered:
        if group(item, now) == 1:
            seen_today = True
        if group(item, now) == 0:
            assert not seen_today


def test_yesterdays_late_call_is_first_though_due_after_a_call_of_this_morning():
    tz = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 11, 25, 9, 0, tzinfo=tz)
    yesterday = BoardItem(1, datetime(2026, 11, 24, 17, 20, tzinfo=tz),
                          sla_due(datetime(2026, 11, 24, 17, 20, tzinfo=tz), "suburban", SHANGHAI))
    this_morning = BoardItem(2, datetime(2026, 11, 25, 8, 31, tzinfo=tz),
                             sla_due(datetime(2026, 11, 25, 8, 31, tzinfo=tz), "urban", SHANGHAI))
    internal = BoardItem(3, datetime(2026, 11, 24, 8, 0, tzinfo=tz), None)
    assert yesterday.sla_due_at > this_morning.sla_due_at
    assert [i.id for i in board_order([internal, this_morning, yesterday], now, SHANGHAI)] == [1, 2, 3]
    assert sla_flags(yesterday, now, SHANGHAI).carried_over
    assert not sla_flags(internal, now, SHANGHAI).carried_over  # internal work is no call
    assert sla_flags(internal, now, SHANGHAI).state == "none"


@settings(max_examples=200, deadline=None)
@given(waiting_orders(), st.lists(st.sampled_from([1, 2]), min_size=25, max_size=25))
def test_with_several_branches_each_row_is_judged_by_its_own_branch_calendar(case, branches):
    now, items = case
    branch_of = {item.id: branches[item.id - 1] for item in items}
    calendars = {1: SHANGHAI, 2: TOKYO}
    ordered = board_order(items, now, calendars, branch_of=lambda i: branch_of[i.id])
    groups = [group(i, now, calendars[branch_of[i.id]]) for i in ordered]
    assert groups == sorted(groups)


def test_rows_can_be_other_objects_than_board_items():
    rows = [{"id": 1, "due": None}, {"id": 2, "due": EPOCH + timedelta(hours=3)}, {"id": 3, "due": EPOCH + timedelta(hours=1)}]
    ordered = board_order(rows, EPOCH, {7: SHANGHAI}, branch_of=lambda r: 7,
                          as_item=lambda r: BoardItem(r["id"], EPOCH, r["due"]))
    assert [r["id"] for r in ordered] == [3, 2, 1]
    assert ordered[0] is rows[2]  # the rows themselves come back, in order


def test_short_address_drops_province_and_city_and_fits_a_row():
    assert short_address("上海市徐汇区漕溪北路88号1203室") == "徐汇区漕溪北路88号1203室"
    assert short_address("广东省深圳市南山区科技园").startswith("南山区")
    assert short_address("松江区中山中路128号") == "松江区中山中路128号"
    assert len(short_address("上海市" + "很长的地址" * 10)) == 22
