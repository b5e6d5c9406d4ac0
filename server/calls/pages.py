"""The call register's pages: register a call on one screen (with triage), the register, one
call. Thin: checks and storage live in calls.rules / calls.service / calls.queries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath
from litestar.response import Redirect, Template

from server.accounts.guards import allow
from server.accounts.rules import OVERRIDE_CATEGORY, REGISTER_CALLS, VIEW_CALLS, CurrentUser
from server.accounts.service import utcnow
from server.accounts.tables import AuditEntry
from server.calls import filters as register_filters
from server.calls import queries, rules
from server.calls.register_rows import register_row
from server.calls.rules import Problem
from server.calls.service import Refused, branches_for, override_category, register
from server.customers.service import product_models
from server.i18n import gettext as _
from server.web import page

FORM_FIELDS = ("customer_id", "phone", "name", "address", "zone", "customer_class", "branch_id",
               "sold_unit_id", "serial", "model_text", "fault", "channel", "received_at", "triage",
               "triage_note")


def translate(problems: dict[str, Problem]) -> dict[str, str]:
    return {field: _(message, **values) for field, (message, values) in problems.items()}


def local_input_value(moment: datetime, tz: str) -> str:
    """A datetime-local field's value: the moment in the branch's zone, to the minute."""
    return moment.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def _values(source) -> dict[str, str]:
    return {field: (source.get(field) or "").strip() for field in FORM_FIELDS}


async def _form_page(request: Request, values: dict[str, str], errors: dict[str, str] | None = None,
                     status_code: int = 200) -> Template:
    user: CurrentUser = request.scope["user"]
    now = utcnow()
    state = await queries.form_state(user, values, now)
    tz = state["branch"]["timezone"] if state["branch"] else user.timezone
    if not values.get("zone") and state["branch"] and not values.get("customer_id"):
        values["zone"] = state["branch"]["default_zone"]
    if not values.get("received_at"):
        values["received_at"] = local_input_value(now, tz)
    return page(request, "calls/new.html", status_code=status_code, values=values, errors=errors or {},
                state=state, models=await product_models(),
                branches=await branches_for(user) if user.sees_all_branches else [],
                max_received=local_input_value(now, tz), rules=rules)


@get("/calls/new", name="new_call_form", guards=[allow(REGISTER_CALLS)])
async def new_call_form(request: Request) -> Template:
    values = _values(request.query_params)
    values["channel"] = values["channel"] or "phone"
    values["triage"] = values["triage"] or rules.TRIAGE_DISPATCH
    return await _form_page(request, values)


@get("/calls/new/preview", name="preview_call", guards=[allow(REGISTER_CALLS)])
async def preview_call(request: Request) -> Template:
    """htmx: the customer found by phone, the product, and the derived category, as
    out-of-band fragments for the registration form (looked up as the clerk types)."""
    user: CurrentUser = request.scope["user"]
    values = _values(request.query_params)
    state = await queries.form_state(user, values)
    return page(request, "calls/preview.html", values=values, state=state, errors={}, rules=rules)


@post("/calls/new", name="register_call", guards=[allow(REGISTER_CALLS)])
async def register_call(request: Request) -> Template | Redirect:
    form = await request.form()
    values = _values(form)
    if form.get("action") == "check":  # without JavaScript: look up, keep what was typed
        return await _form_page(request, values)
    try:
        call = await register(request.scope["user"], values)
    except Refused as refused:
        if refused.duplicate:
            values["customer_id"] = str(refused.duplicate["id"])
        return await _form_page(request, values, translate(refused.problems), status_code=422)
    return Redirect(f"/calls/{call['id']}?registered=1", status_code=303)


def register_labels() -> dict[str, dict[str, str]]:
    """The register's status, category and zone words, translated once per page."""
    return {name: {key: _(label) for key, label in table.items()} for name, table in (
        ("status", rules.CALL_STATUS_LABELS), ("work_order", rules.WORK_ORDER_STATUS_LABELS),
        ("zone", rules.ZONE_LABELS), ("category", rules.CATEGORY_LABELS))}


@get("/calls", name="list_calls", guards=[allow(VIEW_CALLS)])
async def list_calls(request: Request) -> Template:
    user: CurrentUser = request.scope["user"]
    filters, problems = register_filters.parse_filters(request.query_params)
    rows, total = await queries.list_calls(user, filters)
    context: dict[str, Any] = dict(
        filters=filters, errors=translate(problems), rows=rows, total=total,
        pages=register_filters.page_count(total), rules=rules, labels=register_labels(),
        register_row=register_row,
        branches=await branches_for(user) if user.sees_all_branches else [])
    if request.headers.get("hx-target") == "call-results":
        return page(request, "calls/_results.html", **context)
    return page(request, "calls/list.html", **context)


async def _detail_page(request: Request, call_id: int, errors: dict[str, str] | None = None,
                       status_code: int = 200, values: dict | None = None) -> Template:
    detail = await queries.call_detail(request.scope["user"], call_id)
    if detail is None:
        raise NotFoundException(_("This call was not found."))
    user: CurrentUser = request.scope["user"]
    return page(request, "calls/detail.html", status_code=status_code, errors=errors or {},
                values=values or {}, rules=rules, registered=request.query_params.get("registered") == "1",
                overridden=request.query_params.get("overridden") == "1",
                may_override=user.role in OVERRIDE_CATEGORY,
                explanation=rules.explain_reason(detail["call"]["category_reason"], detail["derived"], _),
                derived_explanation=detail["derived"].explain(_), **detail)


@get("/calls/{call_id:int}", name="show_call", guards=[allow(VIEW_CALLS)])
async def show_call(request: Request, call_id: FromPath[int]) -> Template:
    response = await _detail_page(request, call_id)
    # seed 001 第三章: access to customer data is logged (only a call the user may see).
    user: CurrentUser = request.scope["user"]
    await AuditEntry.insert(AuditEntry(user=user.id, action="call_viewed", subject=f"call:{call_id}", at=utcnow()))
    return response


@post("/calls/{call_id:int}/category", name="override_call_category", guards=[allow(OVERRIDE_CATEGORY)])
async def override_call_category(request: Request, call_id: FromPath[int]) -> Template | Redirect:
    user: CurrentUser = request.scope["user"]
    call = await queries.visible_call(user, call_id)
    if call is None:
        raise NotFoundException(_("This call was not found."))
    form = await request.form()
    values = {"category": (form.get("category") or "").strip(), "reason": (form.get("reason") or "").strip()}
    try:
        await override_category(user, call, values["category"], values["reason"])
    except Refused as refused:
        return await _detail_page(request, call_id, translate(refused.problems), 422, values)
    return Redirect(f"/calls/{call_id}?overridden=1", status_code=303)


route_handlers = [new_call_form, preview_call, register_call, list_calls, show_call, override_call_category]
