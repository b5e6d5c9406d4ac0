"""The call register's filters and paging (叫修登记簿). Pure: no I/O.

A filter that cannot be read is dropped and said so, never an error page: the register is
the clerk's everyday screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from server.calls.rules import CALL_STATUSES, CATEGORIES, PER_PAGE, ZONES, Problem
from server.i18n import N_

MAX_SEARCH = 100
MAX_PAGE = 100_000


@dataclass(frozen=True)
class Filters:
    status: str = ""
    category: str = ""
    zone: str = ""
    branch: str = ""  # a branch code; only for those who see every branch
    date_from: date | None = None  # received, in the user's time zone, inclusive
    date_to: date | None = None
    q: str = ""  # phone, customer name, serial or call number
    page: int = 1

    def query(self, **changes) -> str:
        """The register's query string for these filters (with `changes`), without empties."""
        values = asdict(replace(self, **changes))
        if values["page"] == 1:
            values.pop("page")
        return urlencode({k: v.isoformat() if isinstance(v, date) else v for k, v in values.items() if v})

    def offset(self) -> int:
        return (self.page - 1) * PER_PAGE

    def any(self) -> bool:
        return any((self.status, self.category, self.zone, self.branch, self.date_from, self.date_to, self.q))


def _date(value: str, field: str, problems: dict[str, Problem]) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 2999:
        problems[field] = (N_("Not a date: use the form 2026-03-02."), {})
        return None
    return day


def parse_filters(params: Mapping[str, str]) -> tuple[Filters, dict[str, Problem]]:
    """Read the register's filters from a query string; what cannot be read is dropped."""
    problems: dict[str, Problem] = {}

    def pick(field: str, allowed) -> str:
        value = (params.get(field) or "").strip()
        if value and value not in allowed:
            problems[field] = (N_("This choice is not valid."), {})
            return ""
        return value

    status, category, zone = pick("status", CALL_STATUSES), pick("category", CATEGORIES), pick("zone", ZONES)
    branch = (params.get("branch") or "").strip()[:20]
    date_from = _date((params.get("date_from") or "").strip(), "date_from", problems)
    date_to = _date((params.get("date_to") or "").strip(), "date_to", problems)
    if date_from and date_to and date_to < date_from:
        problems["date_to"] = (N_("The end date is before the start date."), {})
        date_to = None
    q = " ".join((params.get("q") or "").split())[:MAX_SEARCH]
    page_text = (params.get("page") or "1").strip()
    page = int(page_text) if page_text.isdigit() and 0 < len(page_text) < 7 else 1
    return Filters(status, category, zone, branch, date_from, date_to, q, max(1, min(page, MAX_PAGE))), problems


def received_bounds(filters: Filters, tz: str) -> tuple[datetime | None, datetime | None]:
    """The date range as UTC instants: [from 00:00, day after `to` 00:00) in zone `tz`."""
    zone = ZoneInfo(tz)
    start = datetime.combine(filters.date_from, time(0), zone).astimezone(timezone.utc) if filters.date_from else None
    end = (datetime.combine(filters.date_to + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
           if filters.date_to else None)
    return start, end


def page_count(total: int) -> int:
    return max(1, (total + PER_PAGE - 1) // PER_PAGE)
