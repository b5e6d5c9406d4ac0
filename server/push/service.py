"""Web Push: the users' subscriptions, and notices sent to them in the background.

Reacts to domain events (server.events): a new call notifies the subscribed clerks and
supervisors of its branch, a dispatch the technician, an order at risk the branch's
supervisors. Each subscription gets its own delivery task: the blocking pywebpush call runs
in a worker thread, so neither the request that caused the event nor other deliveries wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

import anyio.to_thread
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush

from server import events, i18n
from server.accounts.rules import RECEIVE_CALL_PUSH, SUPERVISOR
from server.accounts.service import utcnow
from server.calls.tables import ServiceCall
from server.push import rules
from server.push.tables import PushSubscription
from server.push.vapid import load_or_create, public_key
from server.settings import Settings
from server.workorders.tables import WorkOrder

log = logging.getLogger("fieldservice.push")

try:  # PostgreSQL's unique violation, when that driver is present
    from asyncpg.exceptions import UniqueViolationError as _PgUnique
except ImportError:  # pragma: no cover
    _PgUnique = sqlite3.IntegrityError
_UNIQUE_VIOLATIONS = (sqlite3.IntegrityError, _PgUnique)


@dataclass(frozen=True)
class Pusher:
    settings: Settings
    vapid: Vapid02


_pusher: Pusher | None = None


async def start(app) -> None:
    """At start-up: load (or make) the VAPID keys, listen for the events that notify."""
    global _pusher
    settings: Settings = app.state.settings
    vapid = await anyio.to_thread.run_sync(load_or_create, settings)
    app.state.vapid = vapid
    app.state.vapid_public_key = public_key(vapid)
    _pusher = Pusher(settings, vapid)
    if not settings.vapid_subject.startswith(("mailto:", "https://")):
        log.warning("FS_VAPID_SUBJECT %r is neither mailto: nor https://: push services will refuse "
                    "the notices", settings.vapid_subject)
    events.subscribe("call_registered", on_call_registered)
    events.subscribe("work_order_dispatched", on_work_order_dispatched)
    events.subscribe("work_order_at_risk", on_work_order_at_risk)


def is_curve_point(raw: bytes) -> bool:
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        return True
    except ValueError:
        return False


# --- subscriptions ------------------------------------------------------------------------

async def save_subscription(user_id: int, sub: rules.Subscription, user_agent: str = "") -> tuple[int, bool]:
    """Store `sub` for the user; an endpoint already known is taken over by this user (the
    browser is now theirs) with its current keys. Returns (id, created)."""
    values = {"user": user_id, "p256dh": sub.p256dh, "auth": sub.auth, "user_agent": user_agent[:300]}
    for _ in range(2):
        existing = await PushSubscription.select(PushSubscription.id).where(
            PushSubscription.endpoint == sub.endpoint).first()
        if existing:
            await PushSubscription.update(values).where(PushSubscription.id == existing["id"])
            return existing["id"], False
        row = PushSubscription(endpoint=sub.endpoint, created_at=utcnow(), **values)
        try:
            await row.save()
            return row.id, True
        except _UNIQUE_VIOLATIONS:  # the same browser subscribed twice at once: update instead
            continue
    raise RuntimeError("subscription could not be stored")


async def delete_subscription(user_id: int, endpoint: str) -> None:
    """The user turned notifications off in this browser."""
    await PushSubscription.delete().where(
        (PushSubscription.endpoint == endpoint) & (PushSubscription.user == user_id))


async def _subscriptions(where) -> list[dict]:
    return await PushSubscription.select(
        PushSubscription.id, PushSubscription.endpoint, PushSubscription.p256dh, PushSubscription.auth,
    ).where(where & PushSubscription.user.active.eq(True))


# --- events → notices -----------------------------------------------------------------------

def _zh(message: str) -> str:
    return i18n.translations("zh_Hans").ugettext(message)


async def on_call_registered(call_id: int, branch_id: int | None = None, **_ignored) -> None:
    call = await ServiceCall.select(ServiceCall.number, ServiceCall.category, ServiceCall.zone,
                                    ServiceCall.branch).where(ServiceCall.id == call_id).first()
    if call is None:
        return
    subs = await _subscriptions((PushSubscription.user.branch == call["branch"])
                                & PushSubscription.user.role.is_in(sorted(RECEIVE_CALL_PUSH)))
    await send(subs, rules.call_notice(call_id, call["number"], call["category"], call["zone"], _zh))


async def _work_order(work_order_id: int) -> dict | None:
    return await WorkOrder.select(WorkOrder.number, WorkOrder.category, WorkOrder.zone,
                                  WorkOrder.branch).where(WorkOrder.id == work_order_id).first()


async def on_work_order_dispatched(work_order_id: int, technician_id: int, **_ignored) -> None:
    order = await _work_order(work_order_id)
    if order is None:
        return
    subs = await _subscriptions(PushSubscription.user == technician_id)
    await send(subs, rules.dispatched_notice(work_order_id, order["number"], order["category"],
                                             order["zone"], _zh))


async def on_work_order_at_risk(work_order_id: int, branch_id: int | None = None, **_ignored) -> None:
    order = await _work_order(work_order_id)
    if order is None:
        return
    subs = await _subscriptions((PushSubscription.user.branch == order["branch"])
                                & (PushSubscription.user.role == SUPERVISOR))
    await send(subs, rules.at_risk_notice(work_order_id, order["number"], order["category"],
                                          order["zone"], _zh))


# --- sending --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer (network error, timeout)
    retry_after: float | None = None
    error: str = ""
    local_failure: bool = False  # the message could not even be made: retrying cannot help


def _post(pusher: Pusher, sub: dict, data: str, ttl: int, urgency: str) -> Answer:
    """One blocking send (runs in a worker thread). Fresh claims every time: pywebpush writes
    "aud" (the endpoint's origin) and "exp" into the dict it is given."""
    claims = {"sub": pusher.settings.vapid_subject}
    info = {"endpoint": sub["endpoint"], "keys": {"p256dh": sub["p256dh"], "auth": sub["auth"]}}
    try:
        response = webpush(info, data=data, vapid_private_key=pusher.vapid, vapid_claims=claims,
                           content_encoding="aes128gcm", ttl=ttl, timeout=rules.SEND_TIMEOUT_S,
                           headers={"Urgency": urgency})
        return Answer(response.status_code)
    except WebPushException as exc:
        if exc.response is None:
            return Answer(None, error=exc.message, local_failure=True)
        return Answer(exc.status_code, rules.retry_after_seconds(exc.retry_after), f"HTTP {exc.status_code}")
    except requests.RequestException as exc:
        return Answer(None, error=type(exc).__name__)
    except Exception as exc:  # a key the push library cannot use, a bad VAPID subject
        return Answer(None, error=f"{type(exc).__name__}: {exc}", local_failure=True)


def _where(endpoint: str) -> str:
    """For logs: the push service's origin, never the endpoint (it is a capability)."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


async def deliver(sub: dict, payload: dict[str, str]) -> str:
    """Send one notice to one subscription, retrying with backoff. Returns the outcome."""
    pusher = _pusher
    if pusher is None:
        return "fail"
    kind = payload["kind"]
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    attempt = 0
    while True:
        attempt += 1
        answer = await anyio.to_thread.run_sync(
            partial(_post, pusher, sub, data, rules.TTL_SECONDS[kind], rules.URGENCY[kind]))
        result = "fail" if answer.local_failure else rules.outcome(answer.status)
        if result == "delivered":
            return result
        if result == "gone":
            await PushSubscription.delete().where(PushSubscription.id == sub["id"])
            log.info("push subscription %s at %s is gone (HTTP %s): deleted", sub["id"],
                     _where(sub["endpoint"]), answer.status)
            return result
        if result == "fail":
            log.warning("push %s to subscription %s at %s failed: %s", kind, sub["id"],
                        _where(sub["endpoint"]), answer.error or f"HTTP {answer.status}")
            return result
        delay = rules.retry_delay(attempt, pusher.settings.push_retry_base_seconds, answer.retry_after)
        if delay is None:
            log.warning("push %s to subscription %s at %s gave up after %d attempts (last: %s)",
                        kind, sub["id"], _where(sub["endpoint"]), attempt, answer.error or "no answer")
            return "gave_up"
        await asyncio.sleep(delay)


async def send(subs: list[dict], payload: dict[str, str]) -> list[str]:
    """Deliver to every subscription at once; one slow push service delays no other."""
    results = await asyncio.gather(*(deliver(sub, payload) for sub in subs), return_exceptions=True)
    for sub, result in zip(subs, results):
        if isinstance(result, BaseException):
            log.error("push %s to subscription %s failed", payload["kind"], sub["id"], exc_info=result)
    return ["error" if isinstance(r, BaseException) else r for r in results]
