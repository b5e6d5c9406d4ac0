"""The technician's day: what it holds and in which order (pure rules)."""

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from server.tech import rules

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def order(i, status="dispatched", due_in=None):
    return {"id": i, "status": status, "sla_due_at": NOW + timedelta(minutes=due_in) if due_in is not None else None}


def test_open_orders_come_first_nearest_deadline_first():
    day = [order(1, due_in=300), order(2, "completed", due_in=-100), order(3, due_in=30),
           order(4), order(5, "in_progress", due_in=120)]
    assert [o["id"] for o in rules.sort_day(day)] == [3, 5, 1, 4, 2]


@given(st.lists(st.tuples(st.sampled_from(["dispatched", "in_progress", "completed"]),
                          st.one_of(st.none(), st.integers(-600, 600))), max_size=12))
def test_sorting_keeps_every_order_and_open_deadlines_ascend(specs):
    day = [order(i, status, due) for i, (status, due) in enumerate(specs)]
    result = rules.sort_day(day)
    assert sorted(o["id"] for o in result) == list(range(len(day)))
    open_dues = [o["sla_due_at"] for o in result if o["status"] != "completed" and o["sla_due_at"]]
    assert open_dues == sorted(open_dues)


def test_the_day_holds_open_orders_and_those_finished_today():
    today = date(2026, 11, 23)
    assert rules.belongs_to_day("dispatched", None, today)
    assert rules.belongs_to_day("completed", today, today)
    assert not rules.belongs_to_day("completed", today - timedelta(days=1), today)
    assert not rules.belongs_to_day("cancelled", today, today)


def test_time_left_and_overdue_labels():
    assert rules.time_left_label(125) == ("%(h)d h %(m)02d min left", {"h": 2, "m": 5})
    assert rules.time_left_label(-61) == ("%(h)d h %(m)02d min overdue", {"h": 1, "m": 1})


def test_map_link_carries_the_whole_address():
    link = rules.map_link("上海市黄浦区瑞金二路197号 3楼")
    assert link.startswith("https://uri.amap.com/search?keyword=") and " " not in link and "%E4%B8%8A" in link


def test_only_paid_work_collects_a_fee():
    assert rules.may_collect_fee("A")
    assert not any(rules.may_collect_fee(c) for c in "BCD")
