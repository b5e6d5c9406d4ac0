"""The technician's screens (the offline PWA) and the files that make it installable.

Every page here is cached by the service worker for offline use; what the technician does
on them goes into the device's outbox (pwa/static/js/outbox.js), never into a form POST.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from litestar.params import FromPath
from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.response import Template

from server.accounts.guards import allow
from server.accounts.rules import TECHNICIAN
from server.i18n import gettext as _
from server.tech import rules, service
from server.tech.strings import client_strings
from server.web import STATIC_DIR, page, static_url

TECH_ONLY = [allow({TECHNICIAN})]
# The shell: what the service worker precaches so that any cached page can be shown offline.
SHELL_STATIC = (
    "css/app.css", "vendor/htmx-2.0.11.min.js", "js/outbox.js", "js/report_hash.js", "js/tech.js", "js/order.js",
    "js/signoff.js", "vendor/signature_pad-5.1.4.umd.min.js", "icons/icon-192.png",
)


def _plain(value):
    """JSON-safe copy of rows (datetimes as RFC 3339, decimals as strings)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _order_data(order: dict) -> dict:
    """What the page's script needs to merge the outbox with the server's record."""
    keys = ("id", "number", "version", "status", "category", "outcome", "work_done", "reported",
            "observed", "cause", "severity", "started_travel_at", "arrived_at", "completed_at")
    data = {key: order.get(key) for key in keys}
    data.update(order.get("facts") or {})
    data["receipts"] = data.pop("depot_repairs", [])
    return _plain(data)


def _context(request: Request, **extra) -> dict:
    user = request.scope["user"]
    return {"rules": rules, "strings": client_strings(), "now": service.utcnow(),
            "device_name_hint": user.username, **extra}


async def _order_or_404(request: Request, order_id: int) -> dict:
    order = await service.order_for(request.scope["user"], order_id)
    if order is None:
        raise NotFoundException(_("This order is not assigned to you."))
    return order


@get("/tech", name="tech_day", guards=TECH_ONLY)
async def tech_day(request: Request) -> Template:
    orders = await service.day_orders(request.scope["user"])
    return page(request, "tech/day.html", **_context(request, orders=orders))


@get("/tech/orders/{order_id:int}", name="tech_order", guards=TECH_ONLY)
async def tech_order(request: Request, order_id: FromPath[int]) -> Template:
    order = await _order_or_404(request, order_id)
    return page(request, "tech/order.html", **_context(
        request, order=order, order_data=_order_data(order), map_link=rules.map_link(order.get("customer_address"))))


@get("/tech/orders/{order_id:int}/signoff", name="tech_signoff", guards=TECH_ONLY)
async def tech_signoff(request: Request, order_id: FromPath[int]) -> Template:
    order = await _order_or_404(request, order_id)
    return page(request, "tech/signoff.html", **_context(request, order=order, order_data=_order_data(order)))


@get("/tech/orders/{order_id:int}/rating", name="tech_rating", guards=TECH_ONLY)
async def tech_rating(request: Request, order_id: FromPath[int]) -> Template:
    order = await _order_or_404(request, order_id)
    return page(request, "tech/rating.html", **_context(request, order=order, order_data=_order_data(order)))


@get("/tech/parts", name="tech_parts", guards=TECH_ONLY)
async def tech_parts(request: Request) -> Template:
    parts = await service.parts_with_stock(request.scope["user"])
    return page(request, "tech/parts.html", **_context(request, parts=parts))


@get("/tech/summary", name="tech_summary", guards=TECH_ONLY)
async def tech_summary(request: Request) -> Template:
    summary = await service.day_summary(request.scope["user"])
    return page(request, "tech/summary.html", **_context(request, summary=summary))


@get("/offline", name="offline_page")
async def offline_page(request: Request) -> Template:
    """Shown by the service worker for a page that was never saved on this device."""
    return page(request, "tech/offline.html", strings=client_strings())


@lru_cache(maxsize=1)
def _worker_source() -> tuple[str, str]:
    body = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    shell = [static_url(path) for path in SHELL_STATIC]
    digest = hashlib.sha256((body + "".join(shell)).encode()).hexdigest()[:12]
    build = {"version": digest, "shell": ["/offline", *shell], "outbox": static_url("js/outbox.js")}
    return f"self.FS_BUILD = {json.dumps(build)};\n{body}", digest


@get("/sw.js", name="service_worker", include_in_schema=False)
async def service_worker() -> Response:
    """The service worker at the site's root (scope "/"), never cached by HTTP."""
    source, version = _worker_source()
    return Response(source, media_type="text/javascript; charset=utf-8", headers={
        "Service-Worker-Allowed": "/", "Cache-Control": "no-cache", "X-SW-Version": version})


@get("/manifest.webmanifest", name="web_manifest", include_in_schema=False)
async def web_manifest() -> Response:
    return Response((STATIC_DIR / "manifest.webmanifest").read_bytes(),
                    media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


route_handlers = [tech_day, tech_order, tech_signoff, tech_rating, tech_parts, tech_summary,
                  offline_page, service_worker, web_manifest]
