"""Shared rendering helpers: times in the branch's zone, template translations, the render cache."""

from datetime import datetime, timedelta, timezone

from babel.dates import format_datetime
from hypothesis import given, strategies as st
from markupsafe import Markup

from server import i18n
from server.web import RenderCache, local_time, make_environment

TIMES = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                     timezones=st.just(timezone.utc))
PATTERNS = {"short": "yyyy-MM-dd HH:mm", "time": "HH:mm", "date": "yyyy-MM-dd",
            "yyyy-MM-dd HH:mm:ss": "yyyy-MM-dd HH:mm:ss"}


@given(TIMES, st.sampled_from(["Asia/Shanghai", "Asia/Urumqi", "Europe/London"]),
       st.sampled_from(sorted(PATTERNS)), st.sampled_from(sorted(i18n.LOCALES)))
def test_fast_local_time_reads_as_babel_would_print_it(moment, tz, fmt, locale):
    from zoneinfo import ZoneInfo

    token = i18n.current_locale.set(locale)
    try:
        expected = format_datetime(moment.astimezone(ZoneInfo(tz)), PATTERNS[fmt],
                                   locale=i18n.babel_locale(locale))
        assert local_time(moment, tz, fmt) == expected
    finally:
        i18n.current_locale.reset(token)


def test_a_naive_time_is_taken_as_utc():
    assert local_time(datetime(2026, 11, 25, 1, 30), "Asia/Shanghai") == "2026-11-25 09:30"
    assert local_time(None) == ""


def test_template_translation_escapes_the_values_but_not_the_message():
    env = make_environment()
    template = env.from_string('{{ _("Calls found: %(n)s", n=value) }}|{{ _("Call register") }}')
    token = i18n.current_locale.set("en")
    try:
        assert template.render(value="<b>") == "Calls found: &lt;b&gt;|Call register"
    finally:
        i18n.current_locale.reset(token)
    token = i18n.current_locale.set("zh_Hans")
    try:
        rendered = template.render(value=3)
        assert rendered.endswith("|" + i18n.gettext("Call register"))
        assert rendered != "Calls found: 3|Call register"
    finally:
        i18n.current_locale.reset(token)


def test_templates_lose_their_indentation_but_not_the_values():
    env = make_environment()
    template = env.from_string("<ul>\n    <li>{{ text }}</li>\n</ul>")
    assert template.render(text="a\n    b") == "<ul>\n<li>a\n    b</li>\n</ul>"


def test_render_cache_keeps_the_newest_and_fills_in_the_csrf_token():
    cache = RenderCache(size=2)
    cache.put("a", f"<input value='{cache.CSRF_SLOT}'>")
    cache.put("b", "b")
    assert cache.get("a") is not None  # "a" is now the most recently used
    cache.put("c", "c")
    assert cache.get("b") is None and cache.get("c") == "c"
    filled = cache.fill(cache.get("a"), 'tok"en')
    assert isinstance(filled, Markup) and filled == "<input value='tok&#34;en'>"


def _register_row_html(row: dict, locale: str, branches: list) -> str:
    from server.calls.pages import register_labels
    from server.calls.register_rows import register_row

    env = make_environment()
    token = i18n.current_locale.set(locale)
    try:
        template = env.from_string("{{ register_row(r) }}")
        return template.render(register_row=register_row, r=row, labels=register_labels(),
                               tz="Asia/Shanghai", branches=branches)
    finally:
        i18n.current_locale.reset(token)


def test_a_register_row_is_drawn_again_exactly_when_what_it_shows_changes():
    row = {"id": 7, "number": "C-1", "received_at": datetime(2026, 11, 25, 1, 5, tzinfo=timezone.utc),
           "status": "dispatching", "category": "A", "zone": "urban", "model_text": "LED 40W",
           "serial_text": "", "customer.name": "王<芳>", "customer.phone": "13800000000",
           "sold_unit.serial": None, "sold_unit.model.name": None, "branch.code": "SH-C",
           "branch.timezone": "Asia/Shanghai", "wo_number": "WO-1", "wo_status": "waiting",
           "wo_technician": None, "work_order": {"number": "WO-1", "status": "waiting",
                                                 "assigned_to.display_name": None}, "total": 1}
    first = _register_row_html(row, "en", [])
    assert "09:05" in first and "王&lt;芳&gt;" in first and "SH-C" not in first
    assert _register_row_html({**row, "total": 99}, "en", []) == first  # the pager's total is not shown
    dispatched = {**row, "wo_status": "dispatched", "wo_technician": "张伟",
                  "work_order": {"number": "WO-1", "status": "dispatched", "assigned_to.display_name": "张伟"}}
    assert "张伟" in _register_row_html(dispatched, "en", []) and "张伟" not in first
    assert _register_row_html(row, "zh_Hans", []) != first
    assert "SH-C" in _register_row_html(row, "en", [{"code": "SH-C"}])
