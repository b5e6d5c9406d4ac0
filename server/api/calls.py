"""JSON API of the call register: list, register (with triage), read, override the category,
and the customer look-up by phone. Thin: the work is in calls.service / calls.queries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from litestar import Request, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from server.accounts.guards import allow
from server.api.body_errors import API_EXCEPTION_HANDLERS
from server.accounts.rules import OVERRIDE_CATEGORY, REGISTER_CALLS, VIEW_CALLS, CurrentUser
from server.api.call_shapes import CallOut, CallPage, CustomerOut, call_out, customer_out, list_item
from server.calls import queries
from server.calls.filters import parse_filters
from server.calls.rules import PER_PAGE
from server.calls.service import Refused, override_category, register
from server.customers import service as customers
from server.customers.rules import phone_key
from server.i18n import gettext as _

Channel = Literal["phone", "letter", "email", "web", "walk_in"]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**53)]
Status = Literal["registered", "solved_remotely", "dispatching", "closed", "cancelled"]


class NewCustomerBody(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=30)]
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    zone: Literal["urban", "suburban"]
    customer_class: Literal["A", "B", "C"] = "B"


class RegisterCallBody(msgspec.Struct, forbid_unknown_fields=True):
    """A service call. Give `customer_id` (an existing customer, see GET /api/customers) or
    `customer` (a new one; a phone number already on file answers 409). A customer of another
    branch is used by `customer_id` with the `phone` the caller gave. The product is
    `sold_unit_id`, or a `serial` looked up on file; an unknown product is kept as
    `model_text` / `serial`. `received_at` defaults to now; without an offset it is the
    branch's local time; never in the future. `triage`: "remote" closes the call with
    `triage_note` (required), "dispatch" creates a work order waiting for dispatch."""

    fault: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]
    channel: Channel
    customer_id: Id | None = None
    phone: Annotated[str, msgspec.Meta(max_length=30)] = ""  # as the caller gave it (see above)
    customer: NewCustomerBody | None = None
    sold_unit_id: Id | None = None
    serial: Annotated[str, msgspec.Meta(max_length=80)] = ""
    model_text: Annotated[str, msgspec.Meta(max_length=200)] = ""
    received_at: datetime | None = None
    branch_id: Id | None = None  # service department / admin: the branch taking the call
    triage: Literal["dispatch", "remote"] = "dispatch"
    triage_note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class CategoryOverrideBody(msgspec.Struct, forbid_unknown_fields=True):
    category: Literal["A", "B", "C"]
    reason: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


def _refused(refused: Refused) -> ClientException:
    if refused.duplicate:
        customer = refused.duplicate
        return ClientException(status_code=409, detail=_(
            "A customer with this phone number already exists: %(name)s (customer_id %(id)s). "
            "Register the call with that customer_id.", name=customer["name"], id=customer["id"]))
    messages = "; ".join(f"{field}: {_(message, **values)}" for field, (message, values) in refused.problems.items())
    return ClientException(status_code=422, detail=messages)


def _raw(data: RegisterCallBody) -> dict:
    raw = {field: getattr(data, field) for field in (
        "fault", "channel", "customer_id", "phone", "sold_unit_id", "serial", "model_text", "branch_id", "triage",
        "triage_note")}
    if data.customer is not None and data.customer_id is None:
        raw.update(msgspec.structs.asdict(data.customer))
    received = data.received_at
    raw["received_at"] = received.isoformat() if received else ""
    return {key: "" if value is None else value for key, value in raw.items()}


async def _detail(user: CurrentUser, call_id: int) -> CallOut:
    detail = await queries.call_detail(user, call_id)
    if detail is None:
        raise NotFoundException(_("This call was not found."))
    return call_out(detail)


@get("/api/calls", name="api_list_calls", guards=[allow(VIEW_CALLS)],
    exception_handlers=API_EXCEPTION_HANDLERS)
async def api_list_calls(
    request: Request, status: FromQuery[Status | None] = None,
    category: FromQuery[Literal["A", "B", "C", "D"] | None] = None,
    zone: FromQuery[Literal["urban", "suburban"] | None] = None,
    branch: str | None = Parameter(default=None, max_length=20),
    date_from: FromQuery[date | None] = None, date_to: FromQuery[date | None] = None,
    q: str | None = Parameter(default=None, max_length=100), page: int = Parameter(default=1, ge=1, le=100_000),
) -> CallPage:
    """The call register, newest first, 25 a page. `date_from`/`date_to`: days received, in
    the branch's time zone; `q`: phone, customer name, serial or call number; `branch` (a
    branch code) only for those who see every branch."""
    user: CurrentUser = request.scope["user"]
    params = {"status": status, "category": category, "zone": zone, "branch": branch, "q": q, "page": str(page),
              "date_from": date_from.isoformat() if date_from else "", "date_to": date_to.isoformat() if date_to else ""}
    filters, problems = parse_filters({k: v or "" for k, v in params.items()})
    if problems:
        raise ClientException(status_code=422, detail="; ".join(
            f"{field}: {_(message, **values)}" for field, (message, values) in problems.items()))
    rows, total = await queries.list_calls(user, filters)
    return CallPage(items=[list_item(row) for row in rows], page=filters.page, per_page=PER_PAGE, total=total)


@post("/api/calls", name="api_register_call", guards=[allow(REGISTER_CALLS)],
     exception_handlers=API_EXCEPTION_HANDLERS, status_code=HTTP_201_CREATED)
async def api_register_call(request: Request, data: JSONBody[RegisterCallBody]) -> CallOut:
    """Register a call with its triage, as the signed-in user (first-contact owner)."""
    user: CurrentUser = request.scope["user"]
    if data.customer_id is not None and data.customer is not None:
        raise ClientException(status_code=422, detail=_("Give customer_id or customer, not both."))
    if data.customer_id is None and data.customer is None:
        raise ClientException(status_code=422, detail=_("Give customer_id (an existing customer) or customer (a new one)."))
    try:
        call = await register(user, _raw(data))
    except Refused as refused:
        raise _refused(refused) from None
    return await _detail(user, call["id"])


@get("/api/calls/{call_id:int}", name="api_read_call", guards=[allow(VIEW_CALLS)],
    exception_handlers=API_EXCEPTION_HANDLERS)
async def api_read_call(request: Request, call_id: FromPath[int]) -> CallOut:
    """One call: customer, voucher, contracts, category with its reason, work order."""
    return await _detail(request.scope["user"], call_id)


@post("/api/calls/{call_id:int}/category", name="api_override_category", guards=[allow(OVERRIDE_CATEGORY)],
     exception_handlers=API_EXCEPTION_HANDLERS, status_code=HTTP_200_OK)
async def api_override_category(request: Request, call_id: FromPath[int],
                                data: JSONBody[CategoryOverrideBody]) -> CallOut:
    """Override the derived category with a reason (kept, copied to the unfinished work order)."""
    user: CurrentUser = request.scope["user"]
    call = await queries.visible_call(user, call_id)
    if call is None:
        raise NotFoundException(_("This call was not found."))
    try:
        await override_category(user, call, data.category, data.reason)
    except Refused as refused:
        raise _refused(refused) from None
    return await _detail(user, call_id)


@get("/api/customers", name="api_find_customers", guards=[allow(REGISTER_CALLS)],
    exception_handlers=API_EXCEPTION_HANDLERS)
async def api_find_customers(request: Request,
                             phone: str = Parameter(min_length=1, max_length=30)) -> list[CustomerOut]:
    """Customers by phone: the exact number wherever it is on file (`exact`: true) and,
    from 4 digits on, your branch's customers whose number contains them."""
    user: CurrentUser = request.scope["user"]
    exact = await customers.by_phone(phone)
    found = [exact] if exact else []
    found += [c for c in await customers.phone_candidates(phone, user) if not exact or c["id"] != exact["id"]]
    return [customer_out(c, await customers.units_of(c["id"]), exact=phone_key(c["phone"]) == phone_key(phone))
            for c in found]


route_handlers = [api_list_calls, api_register_call, api_read_call, api_override_category, api_find_customers]
