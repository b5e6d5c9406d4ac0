"""Web Push rules without a database: subscriptions, notices, retries."""

import base64
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server import i18n
from server.push import rules

VALID_POINT = base64.urlsafe_b64encode(
    bytes.fromhex("04" "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                  "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")).rstrip(b"=").decode()
AUTH = base64.urlsafe_b64encode(b"0123456789abcdef").rstrip(b"=").decode()


def on_curve(raw: bytes) -> bool:
    return raw == base64.urlsafe_b64decode(VALID_POINT + "=")


def zh(message: str) -> str:
    return i18n.translations("zh_Hans").ugettext(message)


@pytest.mark.parametrize("endpoint", [
    "https://fcm.googleapis.com/fcm/send/abc:def", "https://updates.push.services.mozilla.com/wpush/v2/x",
    "http://127.0.0.1:8123/push/x", "http://localhost/push/x", "http://[::1]:9000/p",
])
def test_push_service_addresses_accepted(endpoint):
    assert rules.endpoint_problem(endpoint) is None


@pytest.mark.parametrize("endpoint", [
    None, "", "   ", 42, "ftp://push.example/x", "http://push.example.net/x", "http://192.168.1.5/x",
    "https://", "https://user:pw@push.example/x", "https://push.example/a b", "https://push.example:99999/x",
    "https://push.example/" + "x" * 3000, "javascript:alert(1)",
])
def test_other_addresses_refused(endpoint):
    assert rules.endpoint_problem(endpoint)


def test_a_browser_subscription_is_read():
    sub = rules.parse_subscription({"endpoint": " https://push.example/x ", "expirationTime": None,
                                    "keys": {"p256dh": VALID_POINT, "auth": AUTH + "=="}}, on_curve)
    assert sub == rules.Subscription("https://push.example/x", VALID_POINT, AUTH)


@pytest.mark.parametrize("keys,field", [
    (None, "keys"), ({}, "keys.p256dh"), ({"p256dh": "a+b/", "auth": AUTH}, "keys.p256dh"),
    ({"p256dh": VALID_POINT[:-4], "auth": AUTH}, "keys.p256dh"),
    ({"p256dh": VALID_POINT[:-2] + "AA", "auth": AUTH}, "keys.p256dh"),  # 65 bytes, off the curve
    ({"p256dh": VALID_POINT, "auth": AUTH[:-2]}, "keys.auth"), ({"p256dh": VALID_POINT}, "keys.auth"),
    ({"p256dh": VALID_POINT, "auth": ["x"]}, "keys.auth"),
])
def test_unusable_keys_are_named(keys, field):
    with pytest.raises(rules.SubscriptionProblem) as caught:
        rules.parse_subscription({"endpoint": "https://push.example/x", "keys": keys}, on_curve)
    assert caught.value.field == field


def test_a_body_that_is_no_object_is_refused():
    for body in (None, [], "x", 3):
        with pytest.raises(rules.SubscriptionProblem):
            rules.parse_subscription(body, on_curve)


def test_a_notice_names_the_call_in_chinese_and_english_and_nothing_personal():
    notice = rules.call_notice(7, "SH-C-20261125-0003", "C", "urban", zh)
    assert notice == {"kind": "call_registered", "title": "新叫修 New service call SH-C-20261125-0003",
                      "body": "C 类 category C · 市区 urban zone", "url": "/calls/7", "tag": "call-7"}
    assert len(json.dumps(notice, ensure_ascii=False).encode()) < 3000  # well inside 4 KB


def test_dispatch_and_at_risk_notices_link_to_the_right_screen():
    sent = rules.dispatched_notice(12, "WO-20261125-0004", "A", "suburban", zh)
    assert sent["url"] == "/tech/orders/12" and "郊区 suburban zone" in sent["body"]
    risk = rules.at_risk_notice(12, "WO-20261125-0004", "B", "urban", zh)
    assert risk["url"] == "/dispatch" and risk["tag"] == "risk-12"
    assert "剩余不足 1 个工作小时 less than one working hour left" in risk["body"]


def test_without_a_translation_the_notice_is_english_once():
    assert rules.both(lambda m: m, "New service call") == "New service call"


@pytest.mark.parametrize("status,result", [
    (201, "delivered"), (202, "delivered"), (404, "gone"), (410, "gone"), (429, "retry"),
    (500, "retry"), (503, "retry"), (None, "retry"), (400, "fail"), (401, "fail"), (403, "fail"), (413, "fail"),
])
def test_what_an_answer_means(status, result):
    assert rules.outcome(status) == result


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 11, 25, 8, 0, tzinfo=timezone.utc)
    assert rules.retry_after_seconds("3") == 3.0
    assert rules.retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90.0
    assert rules.retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now) == 0.0
    assert rules.retry_after_seconds(None) is None and rules.retry_after_seconds("soon") is None


def test_backoff_doubles_and_stops_after_five_attempts():
    assert [rules.retry_delay(n, 2.0) for n in range(1, 6)] == [2.0, 4.0, 8.0, 16.0, None]
    assert rules.retry_delay(1, 0.2, retry_after=1.0) == 1.0
    assert rules.retry_delay(1, 0.2, retry_after=rules.MAX_RETRY_AFTER_S + 1) is None


@given(attempt=st.integers(1, 10), base=st.floats(0.01, 60), retry_after=st.none() | st.floats(0, 2000))
def test_a_retry_never_comes_sooner_than_asked(attempt, base, retry_after):
    delay = rules.retry_delay(attempt, base, retry_after)
    if delay is None:
        assert attempt >= rules.MAX_ATTEMPTS or (retry_after or 0) > rules.MAX_RETRY_AFTER_S
    else:
        assert delay >= base * 2 ** (attempt - 1) and delay >= (retry_after or 0)
