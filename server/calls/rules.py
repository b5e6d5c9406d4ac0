"""Service call rules: the category of a call (seed 000 §6, seed 004 第六条)."""

from __future__ import annotations

from server.i18n import N_

from dataclasses import dataclass
from datetime import date

CHANNELS = ("phone", "letter", "email", "web", "walk_in")
CHANNEL_LABELS = {"phone": N_("Phone"), "letter": N_("Letter"), "email": N_("E-mail"), "web": N_("Web"),
                  "walk_in": N_("Walk-in")}
ZONES = ("urban", "suburban")
ZONE_LABELS = {"urban": N_("Urban"), "suburban": N_("Suburban")}
CUSTOMER_CLASSES = ("A", "B", "C")
CATEGORIES = ("A", "B", "C", "D")
CATEGORY_LABELS = {"A": N_("Paid service"), "B": N_("Contract service"), "C": N_("Free service"),
                   "D": N_("Internal work")}
REASON_LABELS = {
    "warranty": N_("Within the free warranty period (until %(until)s)"),
    "contract": N_("Covered by maintenance contract %(contract)s (until %(until)s)"),
    "paid": N_("Out of warranty and not under contract"),
    "unknown_unit": N_("Product not identified: paid until a warranty or contract is shown"),
    "internal": N_("Internal work, no customer"),
    "override": N_("Set by a supervisor"),
}


@dataclass(frozen=True)
class ContractCover:
    number: str
    starts_on: date
    ends_on: date
    status: str = "active"

    def covers(self, day: date) -> bool:
        return self.status == "active" and self.starts_on <= day <= self.ends_on


@dataclass(frozen=True)
class Category:
    code: str  # A | B | C | D
    reason: str  # a key of REASON_LABELS
    detail: dict  # values for the reason's message

    def explain(self, gettext) -> str:
        return gettext(REASON_LABELS[self.reason], **self.detail) if self.detail else gettext(REASON_LABELS[self.reason])


def derive_category(call_date: date, warranty_end: date | None,
                    contracts: list[ContractCover] = (), internal: bool = False) -> Category:
    """seed 000 §6 / seed 004 第六条: D for internal work; C while the free warranty runs;
    B when an active maintenance contract covers the product; otherwise A (paid).
    Warranty is checked first: free service needs no contract."""
    if internal:
        return Category("D", "internal", {})
    if warranty_end is not None and call_date <= warranty_end:
        return Category("C", "warranty", {"until": warranty_end.isoformat()})
    for contract in sorted(contracts, key=lambda c: c.ends_on, reverse=True):
        if contract.covers(call_date):
            return Category("B", "contract", {"contract": contract.number,
                                                "until": contract.ends_on.isoformat()})
    if warranty_end is None:
        return Category("A", "unknown_unit", {})
    return Category("A", "paid", {})
