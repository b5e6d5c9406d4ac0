"""The technician's screens: pure rules (no I/O).

What a technician's day holds, how orders are ordered, what an order allows next.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from server.i18n import N_

OPEN_STATUSES = ("dispatched", "in_progress")
DONE_STATUSES = ("completed", "closed")
STATUS_LABELS = {
    "waiting": N_("Waiting for dispatch"),
    "dispatched": N_("Dispatched to you"),
    "in_progress": N_("On site"),
    "completed": N_("Work completed"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
OUTCOME_LABELS = {"fixed": N_("Fixed"), "carry_back": N_("Carried back to the depot"),
                  "follow_up": N_("Needs a follow-up visit")}
SEVERITY_LABELS = {"general": N_("General issue"), "major": N_("Major issue")}
PAYMENT_METHODS = {"cash": N_("Cash"), "wechat": N_("WeChat Pay"), "alipay": N_("Alipay"),
                   "card": N_("Bank card")}
RATING_ITEMS = (("attitude", N_("Service attitude")), ("skill", N_("Technical skill")),
                ("arrival", N_("Arrival time")), ("promises", N_("Keeping promises")))
RATING_LEVELS = ((4, N_("Very satisfied")), (3, N_("Satisfied")), (2, N_("Not quite satisfied")),
                 (1, N_("Dissatisfied")))
PAID_CATEGORY = "A"  # seed 000 §6: A is paid service; the technician collects the fee


def sort_day(orders: list[dict]) -> list[dict]:
    """seed 000 §19: the order whose on-site deadline (SLA) comes first is done first.
    Open orders come before finished ones; orders without a deadline go last."""
    far = datetime.max.replace(tzinfo=None)

    def key(order: dict):
        due = order.get("sla_due_at")
        naive = due.replace(tzinfo=None) if due else far
        return (order.get("status") not in OPEN_STATUSES, naive, order.get("id", 0))

    return sorted(orders, key=key)


def belongs_to_day(status: str, completed_local_date, today) -> bool:
    """Open orders always; finished ones only on the day they were completed."""
    if status in OPEN_STATUSES:
        return True
    return status in DONE_STATUSES and completed_local_date == today


def map_link(address: str) -> str:
    """A link that opens the address in a map app (Amap web URI works on every phone)."""
    return "https://uri.amap.com/search?keyword=" + quote(address or "", safe="")


def time_left_label(minutes: int) -> tuple[str, dict]:
    """('%(h)s h %(m)s min left' style source string, values) for working minutes left."""
    if minutes < 0:
        late = -minutes
        return N_("%(h)d h %(m)02d min overdue"), {"h": late // 60, "m": late % 60}
    return N_("%(h)d h %(m)02d min left"), {"h": minutes // 60, "m": minutes % 60}


def may_collect_fee(category: str) -> bool:
    """seed 000 §6: only paid (A) work is charged to the customer on site."""
    return category == PAID_CATEGORY

