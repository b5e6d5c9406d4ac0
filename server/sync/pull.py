"""Pull (sync-protocol §5): what a technician's device should hold offline.

The scope is the technician's open orders (assigned to them, not closed or cancelled) plus
those closed in the last 7 days, the parts catalogue and their van stock. Each device has
rows in DeviceHolding saying which item (order or page) it was last sent, with which etag,
by which pull generation; the cursor is that generation, so a pull with a cursor lists only
what changed since, and `removed` names the orders that left the scope since. A reply lost
on the way costs nothing: the same cursor lists the same changes again.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from litestar.params import FromQuery
from litestar import Request, get
from litestar.exceptions import ClientException, NotAuthorizedException
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.query.functions.aggregate import Count, Max, Sum

from server.accounts.guards import signed_in
from server.accounts.service import utcnow
from server.i18n import gettext as _
from server.parts.tables import Part, VanStock
from server.sync.devices import device_rate_limit, server_time
from server.sync.pull_tables import DeviceHolding
from server.sync.tables import Device
from server.workorders.tables import WorkOrder

CLOSED_KEPT_DAYS = 7  # sync-protocol §5: orders closed in the last 7 days stay on the device
REMOVED_KEPT_DAYS = 30  # how long a device's "left the scope" rows are kept for late cursors
OPEN_EXCLUDED = ("closed", "cancelled")
INDEX_PAGE = "/tech"
PARTS_PAGE = "/tech/parts"


def order_page(order_id: int) -> str:
    return f"/tech/orders/{order_id}"


def order_etag(version: int) -> str:
    """The etag of /tech/orders/{id}: the order's version (sync-protocol §5)."""
    return f'"v{version}"'


def _digest(parts: list) -> str:
    return hashlib.sha256(json.dumps(parts, separators=(",", ":")).encode()).hexdigest()[:16]


def index_etag(orders: list[dict]) -> str:
    """The etag of /tech: changes whenever an order in scope comes, goes or changes."""
    return '"t%s"' % _digest(sorted([o["id"], o["version"], o["status"]] for o in orders))


async def parts_etag(technician_id: int) -> str:
    """The etag of /tech/parts: the catalogue's versions and this technician's van stock."""
    catalogue = await Part.select(Count(), Sum(Part.version, alias="versions"), Max(Part.id, alias="top")).first()
    stock = await VanStock.select(VanStock.part, VanStock.qty).where(VanStock.technician == technician_id)
    lines = sorted([row["part"], str(row["qty"].normalize()) if row["qty"] is not None else "0"] for row in stock)
    return '"c%s"' % _digest([catalogue["count"], catalogue["versions"] or 0, catalogue["top"] or 0, lines])


def in_scope(technician_id: int, now: datetime):
    """Orders assigned to the technician: open, or closed within the last 7 days."""
    since = now - timedelta(days=CLOSED_KEPT_DAYS)
    return (WorkOrder.assigned_to == technician_id) & (
        WorkOrder.status.not_in(list(OPEN_EXCLUDED))
        | ((WorkOrder.status == "closed") & (WorkOrder.closed_at >= since)))


async def orders_in_scope(technician_id: int, now: datetime) -> list[dict]:
    return await WorkOrder.select(WorkOrder.id, WorkOrder.version, WorkOrder.status,
                                  WorkOrder.updated_at).where(in_scope(technician_id, now)).order_by(WorkOrder.id)


def encode_cursor(device_pk: int, generation: int) -> str:
    raw = json.dumps({"d": device_pk, "g": generation}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, device_pk: int) -> int | None:
    """The generation a cursor stands for; None for no cursor or another device's.
    A cursor that is not one of ours at all is a client bug: 400."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        device, generation = data["d"], data["g"]
        if not isinstance(device, int) or not isinstance(generation, int) or generation < 0:
            raise ValueError
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise ClientException(status_code=400, detail=_("The cursor is not valid: pull again without one."))
    return generation if device == device_pk else None


@asynccontextmanager
async def write_transaction():
    """SQLite: BEGIN IMMEDIATE (wait for the writer, never "database is locked")."""
    engine = DeviceHolding._meta.db
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction(transaction_type=TransactionType.immediate) as transaction:
            yield transaction
    else:
        async with engine.transaction() as transaction:
            yield transaction


def _iso(value: datetime | None) -> str | None:
    return server_time(value) if value else None


async def pull(device_id: str, technician_id: int, cursor: str) -> dict:
    now = utcnow()
    async with write_transaction():
        query = Device.select(Device.id, Device.last_seq).where(Device.device_id == device_id)
        if not isinstance(Device._meta.db, SQLiteEngine):
            query = query.lock_rows()  # one pull of a device at a time
        device = await query.first()
        if device is None:
            raise NotAuthorizedException(detail=_("Please sign in."))
        held = {row["key"]: row for row in await DeviceHolding.select().where(DeviceHolding.device == device["id"])}
        current = max([max(r["gen"], r["removed_gen"] or 0) for r in held.values()] or [0])
        since = decode_cursor(cursor, device["id"])
        if since is not None and since > current:
            since = None  # a cursor from the future: list everything again
        generation = current + 1

        orders = await orders_in_scope(technician_id, now)
        items: dict[str, tuple[str, dict | None]] = {f"wo:{o['id']}": (order_etag(o["version"]), o) for o in orders}
        items["page:" + INDEX_PAGE] = (index_etag(orders), None)
        items["page:" + PARTS_PAGE] = (await parts_etag(technician_id), None)

        listed: list[tuple[str, str, dict | None]] = []
        fresh, stale_ids = [], []  # rows (re)written by this pull; rows they replace
        for key, (etag, order) in items.items():
            row = held.get(key)
            if row is not None and row["removed_gen"] is None and row["etag"] == etag:
                if since is None or row["gen"] > since:
                    listed.append((key, etag, order))  # unchanged, but news to this cursor
                continue
            if row is not None:
                stale_ids.append(row["id"])
            fresh.append(DeviceHolding(device=device["id"], key=key, etag=etag, gen=generation,
                                       work_order=order["id"] if order else None))
            listed.append((key, etag, order))

        removed, gone_ids = [], []
        for key, row in held.items():
            if key in items or row["work_order"] is None:
                continue
            if row["removed_gen"] is None:
                gone_ids.append(row["id"])
                if since is not None:
                    removed.append(row["work_order"])
            elif since is not None and row["removed_gen"] > since:
                removed.append(row["work_order"])

        changed = bool(fresh or gone_ids)
        if stale_ids:
            await DeviceHolding.delete().where(DeviceHolding.id.is_in(stale_ids))
        if fresh:
            await DeviceHolding.insert(*fresh)
        if gone_ids:
            await DeviceHolding.update({DeviceHolding.removed_gen: generation, DeviceHolding.removed_at: now}
                                       ).where(DeviceHolding.id.is_in(gone_ids))
        await DeviceHolding.delete().where(
            (DeviceHolding.device == device["id"])
            & (DeviceHolding.removed_at < now - timedelta(days=REMOVED_KEPT_DAYS)))
        await Device.update({Device.last_sync_at: now}).where(Device.id == device["id"])

    pages = []
    work_orders = []
    for key, etag, order in listed:
        if order is not None:
            work_orders.append({"id": order["id"], "version": order["version"], "status": order["status"],
                                "updated_at": _iso(order["updated_at"])})
            pages.append({"url": order_page(order["id"]), "etag": etag})
        else:
            pages.append({"url": key.removeprefix("page:"), "etag": etag})
    pages.sort(key=lambda p: (p["url"].count("/"), p["url"]))
    return {"cursor": encode_cursor(device["id"], generation if changed else current),
            "work_orders": sorted(work_orders, key=lambda o: o["id"]), "removed": sorted(removed),
            "pages": pages, "last_seq": device["last_seq"], "server_time": server_time(now)}


@get("/sync/pull", name="sync_pull", guards=[signed_in, device_rate_limit])
async def sync_pull(request: Request, cursor: FromQuery[str | None] = None) -> dict:
    """What the device should hold offline, or what changed since `cursor`."""
    auth = request.scope.get("auth")
    if auth is None or auth.kind != "bearer":
        raise NotAuthorizedException(detail=_("This call needs the device's token: register the device first."))
    return await pull(auth.device_id, request.scope["user"].id, cursor or "")


route_handlers = [sync_pull]
