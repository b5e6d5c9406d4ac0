"""Web Push rules: what a subscription must look like, what a notice says, when to retry.

Pure functions, no I/O. The notices carry no personal data (seed 001 第三章: customer data
stays in the system): a number, the category, the zone and a link into the app, nothing about
the customer. A notice is read on a locked phone screen in the background, where the
recipient's language is not known, so its text is Chinese and English on one line.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

from server.i18n import N_

P256DH_BYTES = 65  # an uncompressed P-256 point (RFC 8291 §3.1)
AUTH_BYTES = 16  # the subscription's authentication secret (RFC 8291 §3.2)
MAX_ENDPOINT_LENGTH = 2048
MAX_ATTEMPTS = 5  # one send and four retries, then give up
MAX_RETRY_AFTER_S = 900.0  # a push service asking for a longer pause is given up on
SEND_TIMEOUT_S = 10.0
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+={0,2}")

# How long a push service keeps a notice for a device that is offline (RFC 8030 §5.2).
TTL_SECONDS = {"call_registered": 4 * 3600, "work_order_dispatched": 24 * 3600,
               "work_order_at_risk": 3600}
URGENCY = {"call_registered": "normal", "work_order_dispatched": "high", "work_order_at_risk": "high"}

# Shown in notices (both languages at once) and by the header button (the user's language).
NOTICE_TITLES = {
    "call_registered": N_("New service call"),
    "work_order_dispatched": N_("Work order dispatched to you"),
    "work_order_at_risk": N_("Work order at risk of missing its SLA"),
}
NOTICE_ZONES = {"urban": N_("urban zone"), "suburban": N_("suburban zone")}
NOTICE_CATEGORY = N_("category %(category)s")
NOTICE_AT_RISK = N_("less than one working hour left")


class SubscriptionProblem(ValueError):
    """A subscription body that cannot be used; `message` is an English source string."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Subscription:
    endpoint: str
    p256dh: str  # base64url, unpadded, as the browser sent it
    auth: str


def b64url_decode(value: str) -> bytes:
    """Base64url with or without padding; raises ValueError on anything else."""
    if not isinstance(value, str) or not _BASE64URL.fullmatch(value):
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint_problem(endpoint: object) -> str | None:
    """An English message when `endpoint` is not a push service address, else None.

    Browsers' push services are always https. Plain http is accepted only on this machine's
    loopback (a local push service in development and in the tests), never across a network.
    """
    if not isinstance(endpoint, str) or not endpoint.strip():
        return N_("The subscription has no endpoint.")
    endpoint = endpoint.strip()
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        return N_("The endpoint address is too long.")
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return N_("The endpoint is not a valid address.")
    if not host or parts.username or parts.password or any(c.isspace() for c in endpoint):
        return N_("The endpoint is not a valid address.")
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and is_loopback(host):
        return None
    return N_("The endpoint must be an https address of a push service.")


def key_problem(p256dh: object, auth: object, is_curve_point: Callable[[bytes], bool]) -> tuple[str, str] | None:
    """(field, English message) when the keys are unusable, else None."""
    try:
        point = b64url_decode(p256dh)  # type: ignore[arg-type]
    except ValueError:
        return "keys.p256dh", N_("The p256dh key must be base64url text.")
    if len(point) != P256DH_BYTES or point[0] != 4 or not is_curve_point(point):
        return "keys.p256dh", N_("The p256dh key must be an uncompressed P-256 public key (65 bytes).")
    try:
        secret = b64url_decode(auth)  # type: ignore[arg-type]
    except ValueError:
        return "keys.auth", N_("The auth secret must be base64url text.")
    if len(secret) != AUTH_BYTES:
        return "keys.auth", N_("The auth secret must be 16 bytes.")
    return None


def parse_subscription(body: object, is_curve_point: Callable[[bytes], bool]) -> Subscription:
    """The browser's PushSubscription JSON: {"endpoint", "keys": {"p256dh", "auth"}}."""
    if not isinstance(body, Mapping):
        raise SubscriptionProblem("body", N_("Send the browser's push subscription as a JSON object."))
    problem = endpoint_problem(body.get("endpoint"))
    if problem:
        raise SubscriptionProblem("endpoint", problem)
    keys = body.get("keys")
    if not isinstance(keys, Mapping):
        raise SubscriptionProblem("keys", N_("The subscription has no keys."))
    bad = key_problem(keys.get("p256dh"), keys.get("auth"), is_curve_point)
    if bad:
        raise SubscriptionProblem(*bad)
    return Subscription(body["endpoint"].strip(), keys["p256dh"].rstrip("="), keys["auth"].rstrip("="))


# --- what a notice says -------------------------------------------------------------------

def both(zh: Callable[[str], str], message: str, **values: object) -> str:
    """Chinese, then English, in one line: "新叫修 New service call"."""
    english = message % values if values else message
    chinese = zh(message)
    chinese = chinese % values if values else chinese
    return english if chinese == english else f"{chinese} {english}"


def notice(kind: str, number: str, category: str, zone: str, url: str, tag: str,
           zh: Callable[[str], str]) -> dict[str, str]:
    """The JSON a service worker shows: {"kind", "title", "body", "url", "tag"}. No personal data."""
    title = f"{both(zh, NOTICE_TITLES[kind])} {number}"
    parts = [both(zh, NOTICE_CATEGORY, category=category)]
    if zone in NOTICE_ZONES:
        parts.append(both(zh, NOTICE_ZONES[zone]))
    if kind == "work_order_at_risk":
        parts.append(both(zh, NOTICE_AT_RISK))
    return {"kind": kind, "title": title, "body": " · ".join(parts), "url": url, "tag": tag}


def call_notice(call_id: int, number: str, category: str, zone: str, zh) -> dict[str, str]:
    """A new call in the branch: for its clerks and supervisors (accounts.rules.RECEIVE_CALL_PUSH)."""
    return notice("call_registered", number, category, zone, f"/calls/{call_id}", f"call-{call_id}", zh)


def dispatched_notice(work_order_id: int, number: str, category: str, zone: str, zh) -> dict[str, str]:
    """A work order dispatched to a technician: opens it in the technician's app."""
    return notice("work_order_dispatched", number, category, zone, f"/tech/orders/{work_order_id}",
                  f"wo-{work_order_id}", zh)


def at_risk_notice(work_order_id: int, number: str, category: str, zone: str, zh) -> dict[str, str]:
    """A waiting order with less than one working hour to its SLA due time: for the supervisors."""
    return notice("work_order_at_risk", number, category, zone, "/dispatch", f"risk-{work_order_id}", zh)


# --- what to do with the push service's answer ---------------------------------------------

def outcome(status: int | None) -> str:
    """delivered | gone (delete the subscription) | retry | fail (log, give up).

    None stands for no answer at all (network error, timeout): retried.
    RFC 8030 §7.3: 404/410 mean the subscription expired or was unsubscribed.
    """
    if status is None or status == 429 or status >= 500:
        return "retry"
    if 200 <= status < 300:
        return "delivered"
    if status in (404, 410):
        return "gone"
    return "fail"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """The Retry-After header: delay-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def retry_delay(attempt: int, base: float, retry_after: float | None = None) -> float | None:
    """Seconds to wait after failed attempt `attempt` (1-based); None: give up.

    Exponential backoff base·2^(attempt−1); a push service's Retry-After is honoured when it
    asks for longer; after MAX_ATTEMPTS, or when it asks for more than MAX_RETRY_AFTER_S, stop.
    """
    if attempt >= MAX_ATTEMPTS:
        return None
    delay = base * (2 ** (attempt - 1))
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER_S:
            return None
        delay = max(delay, retry_after)
    return delay
