"""Registration checks, numbers and the register's filters, without a database."""

from datetime import date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from server.calls.filters import parse_filters, received_bounds
from server.calls.rules import check_registration, next_number, override_problem, parse_received_at
from server.customers.rules import phone_key, phone_problem

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
TZ = "Asia/Shanghai"
NEW = {"phone": "139 1234 5678", "name": "王芳", "address": "上海市徐汇区漕溪北路88号", "zone": "urban",
       "customer_class": "C", "fault": "不亮", "channel": "phone", "model_text": "LED-PL40"}


def test_a_time_without_offset_is_the_branch_local_time():
    moment, problem = parse_received_at("2026-03-02T09:30", TZ, NOW)
    assert problem is None and moment == datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)


def test_the_time_received_defaults_to_now_and_is_never_in_the_future():
    assert parse_received_at("", TZ, NOW) == (NOW, None)
    moment, problem = parse_received_at("2026-03-02T10:30", TZ, NOW)
    assert moment is None and "future" in problem[0]
    assert parse_received_at("0001-01-01T00:00", TZ, NOW)[0] is None
    assert parse_received_at("yesterday", TZ, NOW)[0] is None


def test_a_new_customer_needs_name_address_zone_and_a_phone():
    registration, problems = check_registration(NEW, NOW, TZ)
    assert problems == {} and registration.new_customer.phone == "13912345678"
    assert registration.new_customer.name == "王芳" and not registration.remote
    _, problems = check_registration({**NEW, "name": "", "zone": "rural", "phone": "12"}, NOW, TZ)
    assert set(problems) == {"name", "zone", "phone"}


def test_an_existing_customer_needs_no_customer_fields():
    registration, problems = check_registration({"customer_id": "7", "fault": "x", "channel": "web"}, NOW, TZ)
    assert problems == {} and registration.customer_id == 7 and registration.new_customer is None


def test_solved_remotely_needs_a_note_and_unknown_channels_are_refused():
    _, problems = check_registration({**NEW, "triage": "remote"}, NOW, TZ)
    assert set(problems) == {"triage_note"}
    registration, problems = check_registration({**NEW, "triage": "remote", "triage_note": "重启后正常"}, NOW, TZ)
    assert problems == {} and registration.remote
    _, problems = check_registration({**NEW, "channel": "fax"}, NOW, TZ)
    assert set(problems) == {"channel"}


def test_huge_strings_are_refused_per_field():
    _, problems = check_registration({**NEW, "fault": "坏" * 5000, "name": "n" * 101}, NOW, TZ)
    assert set(problems) == {"fault", "name"}


@given(existing=st.lists(st.integers(min_value=0, max_value=20000), max_size=8))
def test_the_next_number_follows_the_highest_of_the_day(existing):
    prefix = "SH-C-20260302-"
    numbers = [f"{prefix}{n:04d}" for n in existing] + ["SH-C-20260301-9999", "SH-S-20260302-0500"]
    number = next_number(prefix, numbers)
    assert number.startswith(prefix) and int(number[len(prefix):]) == max(existing, default=0) + 1
    assert number not in numbers


def test_an_override_needs_a_different_category_and_a_reason():
    assert override_problem("A", "D", "内部")[0] == "category"
    assert override_problem("A", "A", "同类")[0] == "category"
    assert override_problem("A", "B", " ")[0] == "reason"
    assert override_problem("A", "B", "合同已续签") is None


def test_phone_numbers_compare_without_hyphens_and_spaces():
    assert phone_key("021-6437 0045") == phone_key("02164370045")
    assert phone_problem("12ab") and phone_problem("") and not phone_problem("+86 138-0123-4567")


def test_unreadable_filters_are_dropped_and_said():
    filters, problems = parse_filters({"status": "bogus", "date_from": "2026-13-01", "page": "x", "q": "  王  芳 "})
    assert (filters.status, filters.date_from, filters.page, filters.q) == ("", None, 1, "王 芳")
    assert set(problems) == {"status", "date_from"}
    filters, problems = parse_filters({"date_from": "2026-03-05", "date_to": "2026-03-01"})
    assert filters.date_to is None and "date_to" in problems


def test_the_date_range_is_whole_local_days():
    filters, _ = parse_filters({"date_from": "2026-03-02", "date_to": "2026-03-02"})
    start, end = received_bounds(filters, TZ)
    assert start == datetime(2026, 3, 1, 16, 0, tzinfo=timezone.utc)
    assert end - start == timedelta(days=1)
    assert filters.query() == "date_from=2026-03-02&date_to=2026-03-02"
    assert filters.query(page=2).endswith("page=2") and date(2026, 3, 2) == filters.date_from
