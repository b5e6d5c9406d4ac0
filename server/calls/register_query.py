"""One page of the call register in one query (the register is the clerk's everyday screen).

The page, its total (a window count) and each call's work order and technician come back
together: one round trip instead of three. Plain SQL that SQLite (3.25+) and PostgreSQL both
speak; values are always bound parameters.
"""

from __future__ import annotations

import re

from server.accounts.rules import CurrentUser
from server.accounts.tables import Branch, User
from server.calls import rules
from server.calls.filters import Filters, received_bounds
from server.calls.tables import ServiceCall
from server.customers.rules import digits_of
from server.db import reads
from server.customers.tables import Customer, ProductModel, SoldUnit
from server.workorders.tables import WorkOrder

_PHONE_LIKE = re.compile(r"^[0-9+()\s-]+$")


def _tables() -> dict[str, str]:
    return {name: f'"{table._meta.tablename}"' for name, table in (
        ("call", ServiceCall), ("customer", Customer), ("branch", Branch), ("unit", SoldUnit),
        ("model", ProductModel), ("order", WorkOrder), ("user", User))}


def where_clause(user: CurrentUser, filters: Filters, like: str) -> tuple[str, list]:
    """The WHERE of the register for `filters`, within the user's branches; `?` marks a value."""
    conditions, values = ["1 = 1"], []
    if not user.sees_all_branches:
        conditions.append("c.branch = ?")
        values.append(user.branch_id or 0)
    for column, value in (("status", filters.status), ("category", filters.category), ("zone", filters.zone)):
        if value:
            conditions.append(f"c.{column} = ?")
            values.append(value)
    if filters.branch and user.sees_all_branches:
        conditions.append("b.code = ?")
        values.append(filters.branch)
    start, end = received_bounds(filters, user.timezone)
    if start:
        conditions.append("c.received_at >= ?")
        values.append(start)
    if end:
        conditions.append("c.received_at < ?")
        values.append(end)
    if filters.q:
        pattern = f"%{filters.q}%"
        matches = [f"cu.name {like} ?", f"c.number {like} ?", f"su.serial {like} ?", f"c.serial_text {like} ?"]
        values.extend([pattern] * 4)
        digits = digits_of(filters.q)
        if _PHONE_LIKE.match(filters.q) and len(digits) >= 3:
            matches.append("replace(replace(cu.phone, '-', ''), ' ', '') LIKE ?")
            values.append(f"%{digits}%")
        conditions.append("(" + " OR ".join(matches) + ")")
    return " AND ".join(conditions), values


async def list_page(user: CurrentUser, filters: Filters) -> tuple[list[dict], int]:
    """One page of the register, newest first, and how many calls match in all."""
    t = _tables()
    like = "ILIKE" if ServiceCall._meta.db.engine_type in ("postgres", "cockroach") else "LIKE"
    where, values = where_clause(user, filters, like)
    # The page first (with the total as a window count), then each page row's latest work
    # order and its technician: the work-order look-up runs for 25 rows, not for every match.
    sql = f"""
        SELECT p.*, wo.number AS wo_number, wo.status AS wo_status, tu.display_name AS wo_technician
        FROM (
            SELECT c.id, c.number, c.received_at, c.status, c.category, c.zone, c.model_text, c.serial_text,
                   cu.name AS "customer.name", cu.phone AS "customer.phone", su.serial AS "sold_unit.serial",
                   pm.name AS "sold_unit.model.name", b.code AS "branch.code", b.timezone AS "branch.timezone",
                   COUNT(*) OVER () AS total
            FROM {t['call']} c
            JOIN {t['customer']} cu ON cu.id = c.customer
            JOIN {t['branch']} b ON b.id = c.branch
            LEFT JOIN {t['unit']} su ON su.id = c.sold_unit
            LEFT JOIN {t['model']} pm ON pm.id = su.model
            WHERE {where}
            ORDER BY c.received_at DESC, c.id DESC
            LIMIT ? OFFSET ?
        ) p
        LEFT JOIN {t['order']} wo ON wo.id = (SELECT MAX(w.id) FROM {t['order']} w WHERE w."call" = p.id)
        LEFT JOIN {t['user']} tu ON tu.id = wo.assigned_to
        ORDER BY p.received_at DESC, p.id DESC"""
    # Tried on the event loop first: a page of a small register is read in well under a
    # millisecond, and a long read is cut short and run in a thread (server/db/reads.py).
    rows = [dict(row) for row in await reads.fetch_quick(sql, *values, rules.PER_PAGE, filters.offset())]
    if rows:
        total = int(rows[0]["total"])
    elif filters.page > 1:  # past the last page: the count needs its own query
        count_sql = f"""
            SELECT COUNT(*) AS total FROM {t['call']} c
            JOIN {t['customer']} cu ON cu.id = c.customer JOIN {t['branch']} b ON b.id = c.branch
            LEFT JOIN {t['unit']} su ON su.id = c.sold_unit WHERE {where}"""
        total = int((await reads.fetch(count_sql, *values))[0]["total"])
    else:
        total = 0
    for row in rows:
        row["work_order"] = ({"number": row["wo_number"], "status": row["wo_status"],
                              "assigned_to.display_name": row["wo_technician"]} if row["wo_number"] else None)
    return rows, total
