"""The unit of work of one push: what the actions need, read in a few queries up front;
their effects kept in memory and written in batched statements before the commit.

Reads happen inside the push's writing transaction, after the device row (and, on
PostgreSQL, the work orders named) are locked, so what is held here stays true until the
commit. Actions (server/sync/actions/) change only this state; `flush` writes it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server.sync import rules
from server.sync.sql import Sql, as_time, marks
from server.sync.tables import (
    Conflict, DepotRepair, FieldChange, LabourEntry, LedgerEntry, Note, PartLine, Payment,
    Photo, Rating, SignOff, VisitEvent,
)

ORDER_FIELDS = rules.DIAGNOSIS_FIELDS + rules.COMPLETION_FIELDS
FACT_TABLES = {  # the fact id argument → (table, id column)
    "line_id": (PartLine, "line_id"), "entry_id": (LabourEntry, "entry_id"),
    "note_id": (Note, "note_id"), "photo_id": (Photo, "photo_id"),
    "payment_id": (Payment, "payment_id"), "receipt_id": (DepotRepair, "receipt_id"),
    "signoff_id": (SignOff, "signoff_id"), "rating_id": (Rating, "rating_id"),
}


def table(t) -> str:
    return t._meta.tablename


@dataclass
class Order:
    id: int
    number: str
    branch: int
    status: str
    assigned_to: int | None
    assigned_username: str | None
    version: int
    fields: dict[str, str]
    started_travel_at: datetime | None
    arrived_at: datetime | None
    completed_at: datetime | None
    was_assigned: bool = False
    dirty: bool = False


@dataclass
class Line:
    line_id: str
    work_order: int
    part_code: str
    qty: str
    voided: bool


@dataclass
class PendingConflict:
    work_order: int
    kind: str
    field: str
    server_value: Any
    device_value: Any
    apply_fields: dict
    action: str
    mutation_id: str
    id: int | None = None


@dataclass
class Outcome:
    status: str  # applied | rejected | conflict
    reason: str = ""
    detail: dict = field(default_factory=dict)
    version: int | None = None
    conflict: PendingConflict | None = None
    work_order: int | None = None


class Batch:
    def __init__(self, sql: Sql, device_id: str, technician_id: int, clock_offset_ms: int, now: datetime):
        self.sql = sql
        self.device_id = device_id
        self.technician_id = technician_id
        self.clock_offset_ms = clock_offset_ms
        self.now = now
        self.orders: dict[int, Order] = {}
        self.lines: dict[str, Line] = {}
        self.labour: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.payments: dict[int, list[int]] = defaultdict(list)
        self.completed: set[int] = set()
        self.ratings: dict[int, list[dict]] = defaultdict(list)
        self.depot_counts: dict[int, int] = defaultdict(int)
        self.changes: dict[int, list[rules.FieldChangeSeen]] = defaultdict(list)
        self.known_ids: set[tuple[str, str]] = set()  # (fact id argument, id)
        self.part_codes: set[str] = set()
        self.inserts: dict[Any, list[tuple]] = defaultdict(list)
        self.voids: list[tuple] = []
        self.conflicts: list[PendingConflict] = []

    # --- reading what the actions need -------------------------------------------------

    async def preload(self, prepared: list[tuple[str, dict]]) -> None:
        """`prepared`: (action name, cleaned args) of the mutations this push may apply."""
        by_name: dict[str, list[dict]] = defaultdict(list)
        for name, args in prepared:
            by_name[name].append(args)
        order_ids = sorted({a["work_order_id"] for _, a in prepared if a["work_order_id"] <= rules.MAX_INT4})
        if not order_ids:
            return
        await self._load_orders(order_ids)
        ids = [o for o in order_ids if o in self.orders]
        report_orders = sorted({a["work_order_id"] for a in by_name["customer_signoff"]} & set(ids))
        await self._load_fact_ids(prepared)
        codes = sorted({a["part_code"] for a in by_name["add_part"]})
        if codes:
            rows = await self.sql.fetch(f"SELECT code FROM part WHERE code IN ({marks(len(codes))})", *codes)
            self.part_codes = {row["code"] for row in rows}
        line_ids = sorted({a["line_id"] for a in by_name["void_part"]})
        if line_ids or report_orders:
            await self._load_lines(line_ids, report_orders)
        if report_orders:
            await self._load_report_facts(report_orders)
        rating_orders = sorted({a["work_order_id"] for a in by_name["rate_service"]} & set(ids))
        if rating_orders:
            for row in await self.sql.fetch(
                    f"SELECT work_order, rating_id, attitude, skill, arrival, promises FROM {table(Rating)} "
                    f"WHERE counted = ? AND work_order IN ({marks(len(rating_orders))}) ORDER BY id",
                    True, *rating_orders):
                self.ratings[row["work_order"]].append(row)
        depot_orders = sorted({a["work_order_id"] for a in by_name["carry_back"]} & set(ids))
        if depot_orders:
            for row in await self.sql.fetch(
                    f"SELECT work_order, COUNT(*) AS n FROM {table(DepotRepair)} "
                    f"WHERE work_order IN ({marks(len(depot_orders))}) GROUP BY work_order", *depot_orders):
                self.depot_counts[row["work_order"]] = int(row["n"])
        edits = [a for n in ("record_diagnosis", "complete_work") for a in by_name[n] if a["work_order_id"] in self.orders]
        if edits:
            mutable_orders = sorted({a["work_order_id"] for a in edits})
            oldest = min(a["_base_version"] or 0 for a in edits)
            for row in await self.sql.fetch(
                    f"SELECT work_order, field, version, device_id, previous FROM {table(FieldChange)} "
                    f"WHERE version > ? AND work_order IN ({marks(len(mutable_orders))})", oldest, *mutable_orders):
                self.changes[row["work_order"]].append(rules.FieldChangeSeen(
                    row["field"], row["version"], row["device_id"], row["previous"] or ""))

    async def _load_orders(self, order_ids: list[int]) -> None:
        lock = " FOR UPDATE OF wo" if self.sql.postgres else ""
        rows = await self.sql.fetch(
            "SELECT wo.id, wo.number, wo.branch, wo.status, wo.assigned_to, wo.version, wo.reported, "
            "wo.observed, wo.cause, wo.severity, wo.outcome, wo.work_done, wo.started_travel_at, "
            "wo.arrived_at, wo.completed_at, u.username AS assigned_username "
            "FROM work_order wo LEFT JOIN fs_user u ON u.id = wo.assigned_to "
            f"WHERE wo.id IN ({marks(len(order_ids))}) ORDER BY wo.id{lock}", *order_ids)
        for row in rows:
            self.orders[row["id"]] = Order(
                id=row["id"], number=row["number"], branch=row["branch"], status=row["status"],
                assigned_to=row["assigned_to"], assigned_username=row["assigned_username"],
                version=row["version"], fields={f: row[f] or "" for f in ORDER_FIELDS},
                started_travel_at=as_time(row["started_travel_at"]), arrived_at=as_time(row["arrived_at"]),
                completed_at=as_time(row["completed_at"]))
        if self.orders:
            ids = sorted(self.orders)
            rows = await self.sql.fetch(
                "SELECT DISTINCT work_order FROM dispatch_event WHERE (to_user = ? OR from_user = ?) "
                f"AND work_order IN ({marks(len(ids))})", self.technician_id, self.technician_id, *ids)
            for row in rows:
                self.orders[row["work_order"]].was_assigned = True

    async def _load_fact_ids(self, prepared: list[tuple[str, dict]]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for name, args in prepared:
            key = rules.ACTIONS[name].fact_id
            if key:
                wanted[key].add(args[key])
        parts, values = [], []
        for key, found in sorted(wanted.items()):
            fact_table, column = FACT_TABLES[key]
            parts.append(f"SELECT '{key}' AS k, {column} AS v FROM {table(fact_table)} "
                         f"WHERE {column} IN ({marks(len(found))})")
            values.extend(sorted(found))
        if parts:
            for row in await self.sql.fetch(" UNION ALL ".join(parts), *values):
                self.known_ids.add((row["k"], row["v"]))

    async def _load_lines(self, line_ids: list[str], report_orders: list[int]) -> None:
        where = []
        if line_ids:
            where.append(f"line_id IN ({marks(len(line_ids))})")
        if report_orders:
            where.append(f"work_order IN ({marks(len(report_orders))})")
        rows = await self.sql.fetch(
            f"SELECT line_id, work_order, part_code, qty, voided FROM {table(PartLine)} "
            f"WHERE {' OR '.join(where)}", *line_ids, *report_orders)
        for row in rows:
            self.lines[row["line_id"]] = Line(row["line_id"], row["work_order"], row["part_code"],
                                              row["qty"], bool(row["voided"]))

    async def _load_report_facts(self, report_orders: list[int]) -> None:
        in_list = f"work_order IN ({marks(len(report_orders))})"
        for row in await self.sql.fetch(
                f"SELECT work_order, started_at, ended_at FROM {table(LabourEntry)} WHERE {in_list}",
                *report_orders):
            self.labour[row["work_order"]].append((as_time(row["started_at"]), as_time(row["ended_at"])))
        for row in await self.sql.fetch(
                f"SELECT work_order, amount_cents FROM {table(Payment)} WHERE {in_list}", *report_orders):
            self.payments[row["work_order"]].append(row["amount_cents"])
        for row in await self.sql.fetch(
                f"SELECT DISTINCT work_order FROM {table(LedgerEntry)} WHERE name = ? "
                f"AND status IN ('applied', 'conflict') AND {in_list}", "complete_work", *report_orders):
            self.completed.add(row["work_order"])

    # --- what actions call -------------------------------------------------------------

    def fact_known(self, key: str, fact_id: str) -> bool:
        return (key, fact_id) in self.known_ids

    def add(self, fact_table, row: dict, fact_key: str | None = None) -> None:
        """Queue a fact row (columns common to every fact are filled in here)."""
        if fact_key:
            self.known_ids.add((fact_key, row[fact_key]))
        row.setdefault("technician", self.technician_id)
        row.setdefault("device_id", self.device_id)
        self.inserts[fact_table].append(row)

    def record_change(self, order: Order, field_name: str, value: str) -> None:
        """Set a mutable field; the change is dated with the version this mutation makes."""
        version = order.version + 1
        previous = order.fields.get(field_name, "")
        order.fields[field_name] = value
        self.changes[order.id].append(rules.FieldChangeSeen(field_name, version, self.device_id, previous))
        self.inserts[FieldChange].append({
            "work_order": order.id, "field": field_name, "version": version, "previous": previous,
            "device_id": self.device_id, "changed_by": self.technician_id, "at": self.now})

    def bump(self, order: Order) -> int:
        """sync-protocol §4: the order's version goes up on every change to it."""
        order.version += 1
        order.dirty = True
        return order.version

    def conflict(self, order: Order, kind: str, field_name: str, server_value: Any, device_value: Any,
                 action: str, mutation_id: str, apply_fields: dict | None = None) -> PendingConflict:
        pending = PendingConflict(order.id, kind, field_name, server_value, device_value,
                                  apply_fields or {}, action, mutation_id)
        self.conflicts.append(pending)
        return pending

    # --- writing ------------------------------------------------------------------------

    async def flush(self) -> None:
        """Write the queued facts, voids and conflicts (conflicts get their ids here)."""
        for fact_table, rows in self.inserts.items():
            columns = list(rows[0])
            await self.sql.insert(table(fact_table), columns, [tuple(r[c] for c in columns) for r in rows])
        await self.sql.executemany(
            f"UPDATE {table(PartLine)} SET voided = ?, void_reason = ?, voided_at = ?, "
            "void_mutation_id = ? WHERE line_id = ?", self.voids)
        for pending in self.conflicts:
            pending.id = await self.sql.insert_returning_id(table(Conflict), {
                "work_order": pending.work_order, "kind": pending.kind, "field": pending.field[:100],
                "server_value": json.dumps(pending.server_value, ensure_ascii=False),
                "device_value": json.dumps(pending.device_value, ensure_ascii=False),
                "apply_fields": json.dumps(pending.apply_fields, ensure_ascii=False),
                "action": pending.action, "mutation_id": pending.mutation_id,
                "device_id": self.device_id, "technician": self.technician_id,
                "created_at": self.now, "status": "open", "resolution": "", "note": ""})

    async def save_orders(self) -> None:
        rows = [(o.status, o.version, *(o.fields[f] for f in ORDER_FIELDS), o.started_travel_at,
                 o.arrived_at, o.completed_at, self.now, o.id)
                for o in self.orders.values() if o.dirty]
        sets = ", ".join(f"{name} = ?" for name in (
            "status", "version", *ORDER_FIELDS, "started_travel_at", "arrived_at", "completed_at",
            "updated_at"))
        await self.sql.executemany(f"UPDATE work_order SET {sets} WHERE id = ?", rows)
