"""JSON API for work orders: list, read back (sync-protocol §7), dispatch, cancel, internal work."""

from __future__ import annotations

from dataclasses import dataclass

from litestar.params import JSONBody
from litestar.params import FromPath
from litestar.params import FromQuery
from litestar import Request, get, post
from litestar.exceptions import ClientException, NotFoundException, PermissionDeniedException
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from server.accounts.guards import allow
from server.accounts.rules import DISPATCH, VIEW_WORK_ORDERS
from server.i18n import gettext as _
from server.workorders import rules, service
from server.workorders.service import WorkOrderError

MAX_LIMIT = 500


@dataclass
class DispatchBody:
    technician: str | None = None  # username; missing or unknown answers 422 with a clear message
    reason: str = ""


@dataclass
class CancelBody:
    reason: str | None = None  # required: missing or blank answers 422


@dataclass
class InternalOrderBody:
    description: str | None = None  # required: missing or blank answers 422
    zone: str = ""
    branch: int | None = None


def _http(error: WorkOrderError) -> Exception:
    if error.status == 404:
        return NotFoundException(detail=error.message)
    return ClientException(detail=error.message, status_code=error.status)


@get("/api/work-orders", name="api_list_work_orders", guards=[allow(VIEW_WORK_ORDERS)])
async def list_work_orders(request: Request, status: FromQuery[str | None] = None, branch: FromQuery[str | None] = None,
                           limit: FromQuery[int] = 100, offset: FromQuery[int] = 0) -> list[dict]:
    """Work orders within your rights, newest first. `status`: one or several, comma-separated;
    `branch`: id or code. A technician gets only the orders assigned to them."""
    user = request.scope["user"]
    statuses = [s.strip() for s in (status or "").split(",") if s.strip()]
    unknown = [s for s in statuses if s not in rules.STATUSES]
    if unknown:
        raise ClientException(detail=_("Unknown status %(status)s; one of: %(known)s.", status=unknown[0],
                                       known=", ".join(rules.STATUSES)), status_code=422)
    if not 1 <= limit <= MAX_LIMIT or not 0 <= offset <= rules.MAX_ID:
        raise ClientException(detail=_("limit is 1 to 500 and offset 0 or more."), status_code=422)
    branch_id = None
    if branch:
        branch_id = await service.branch_id_for(branch, user)
        if branch_id is None:
            raise PermissionDeniedException(detail=_("You may not see the orders of that branch."))
    return await service.list_orders(user, statuses, branch_id, limit, offset)


@get("/api/work-orders/{order_id:int}", name="api_work_order", guards=[allow(VIEW_WORK_ORDERS)])
async def read_work_order(request: Request, order_id: FromPath[int]) -> dict:
    """The order as the server holds it (sync-protocol §7). A technician reads only orders
    assigned to them now."""
    try:
        return await service.work_order_detail(order_id, request.scope["user"])
    except WorkOrderError as error:
        raise _http(error) from None


@post("/api/work-orders/{order_id:int}/dispatch", name="api_dispatch_work_order",
      guards=[allow(DISPATCH)], status_code=HTTP_200_OK)
async def dispatch_work_order(request: Request, order_id: FromPath[int], data: JSONBody[DispatchBody]) -> dict:
    """Dispatch a waiting order to a technician of its branch, or re-dispatch it to another."""
    user = request.scope["user"]
    try:
        await service.dispatch(order_id, data.technician, user, reason=data.reason)
        return await service.work_order_detail(order_id, user)
    except WorkOrderError as error:
        raise _http(error) from None


@post("/api/work-orders/{order_id:int}/cancel", name="api_cancel_work_order",
      guards=[allow(DISPATCH)], status_code=HTTP_200_OK)
async def cancel_work_order(request: Request, order_id: FromPath[int], data: JSONBody[CancelBody]) -> dict:
    """Cancel an order that is not completed yet; the reason is required."""
    user = request.scope["user"]
    try:
        await service.cancel(order_id, data.reason, user)
        return await service.work_order_detail(order_id, user)
    except WorkOrderError as error:
        raise _http(error) from None


@post("/api/work-orders", name="api_create_internal_work_order", guards=[allow(DISPATCH)],
      status_code=HTTP_201_CREATED)
async def create_internal_work_order(request: Request, data: JSONBody[InternalOrderBody]) -> dict:
    """A new internal work order (category D): no customer, no call, no SLA due time."""
    user = request.scope["user"]
    try:
        change = await service.create_internal(user, data.description, data.zone, data.branch)
        return await service.work_order_detail(change.order_id, user)
    except WorkOrderError as error:
        raise _http(error) from None


route_handlers = [list_work_orders, read_work_order, dispatch_work_order, cancel_work_order,
                  create_internal_work_order]
