"""Dispatch board pages (派工): the board, its polled fragment, dispatch / re-dispatch / cancel,
internal work, and the branch's working calendar. Forms work without JavaScript (POST, then
redirect) and with htmx (the answer is the board, swapped in place)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from litestar.params import FromPath
from litestar.params import FromQuery
from litestar import Request, get, post
from litestar.enums import MediaType
from litestar.response import Redirect, Response, Template
from markupsafe import Markup

from server.accounts.guards import allow
from server.accounts.rules import DISPATCH
from server.calls.rules import CATEGORY_LABELS, ZONE_LABELS
from server.dispatch import rules
from server.dispatch.service import (CalendarInvalid, board_stamp, branch_for_calendar, load_board,
                                     save_calendar, visible_branches)
from server.i18n import N_
from server.i18n import gettext as _
from server import i18n
from server.web import PAGE_HEADERS, RenderCache, is_fragment_request, page, render
from server.workorders import rules as wo_rules
from server.workorders import service as wo_service
from server.workorders.service import WorkOrderError, utcnow
from server.workorders.tables import WorkOrder

NOTICES = {
    "dispatch": N_("Work order %(number)s was dispatched to %(name)s."),
    "redispatch": N_("Work order %(number)s was re-dispatched to %(name)s."),
    "unchanged": N_("Work order %(number)s is already assigned to %(name)s."),
    "cancel": N_("Work order %(number)s was cancelled."),
    "create": N_("Internal work order %(number)s was created; it waits for dispatch."),
}


# What every row of the board says: translated once per request, not once per row.
ROW_LABELS = {
    "received": N_("Received"), "due": N_("Due on site"), "left": N_("Working time left"),
    "technician": N_("Technician"), "choose": N_("Choose…"), "dispatch": N_("Dispatch"),
    "redispatch_open": N_("Re-dispatch…"), "redispatch": N_("Re-dispatch"),
    "reason_optional": N_("Reason (optional)"), "cancel_open": N_("Cancel the order…"),
    "cancel_reason": N_("Reason for cancelling"), "cancel": N_("Cancel the work order"),
    "carried_over": N_("Carried over"), "at_risk": N_("At risk"), "overdue": N_("Overdue"),
    "no_due": N_("No due time"),
}
SLA_CLASSES = {"ok": "sla-ok", "at_risk": "sla-risk", "overdue": "sla-overdue", "none": "sla-none"}


class BoardView:
    """The board's words and formatted values, made once per request: the board is polled
    every few seconds by every supervisor, so the template only prints."""

    def __init__(self, board):
        self.board = board
        self.t = {key: _(message) for key, message in ROW_LABELS.items()}
        internal = CATEGORY_LABELS["D"]  # "Internal work"
        self.t["internal"] = _(internal)
        self._cache: dict[tuple, Any] = {}

    def _once(self, key: tuple, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def category(self, code: str) -> str:
        return self._once(("c", code), lambda: f"{code} · {_(CATEGORY_LABELS[code])}" if code in CATEGORY_LABELS else code)

    def zone(self, zone: str) -> str:
        return self._once(("z", zone), lambda: _(ZONE_LABELS[zone]) if zone in ZONE_LABELS else zone)

    def status(self, status: str) -> str:
        return self._once(("s", status), lambda: _(wo_rules.STATUS_LABELS.get(status, status)))

    def time(self, moment, tz: str, pattern: str = "%m-%d %H:%M") -> str:
        """Digits only: the same in every language, so no locale lookup per row."""
        return moment.astimezone(ZoneInfo(tz)).strftime(pattern) if moment else "—"

    def clock(self, moment, tz: str) -> str:
        """Time of day for today, with the date for an earlier day."""
        zone = ZoneInfo(tz)
        same_day = moment.astimezone(zone).date() == self.board.now.astimezone(zone).date()
        return self.time(moment, tz, "%H:%M" if same_day else "%m-%d %H:%M")

    def left(self, flags: rules.SlaFlags) -> str:
        if flags.minutes_left is None:
            return self.t["no_due"]
        hours, minutes = rules.split_minutes(flags.minutes_left)
        if flags.state == "overdue":
            if not hours:
                return _("Late by %(m)s min", m=minutes)
            return _("Late by %(h)s h %(m)s min", h=hours, m=minutes)
        return _("%(h)s h %(m)s min", h=hours, m=minutes) if hours else _("%(m)s min", m=minutes)

    def sla_class(self, flags: rules.SlaFlags) -> str:
        return SLA_CLASSES.get(flags.state, "sla-none")

    def options(self, branch_id: int, exclude: int | None = None, selected: str = "") -> Markup:
        """The technician <option>s of a branch (its open orders today beside each name)."""
        def make() -> Markup:
            parts = [Markup('<option value="">{}</option>').format(self.t["choose"])]
            for tech in self.board.technicians_of(branch_id):
                if tech.id == exclude:
                    continue
                parts.append(Markup('<option value="{}"{}>{} · {}</option>').format(
                    tech.username, Markup(" selected") if tech.username == selected else "",
                    tech.display_name, _("%(n)s open", n=tech.open)))
            return Markup("").join(parts)
        return self._once(("o", branch_id, exclude, selected), make)


def _labels() -> dict[str, Any]:
    return {"zone_labels": ZONE_LABELS}


def _notice(change: wo_service.Change) -> str:
    return _(NOTICES[change.action], number=change.number, name=change.technician or "")


async def _notice_from_query(request: Request) -> str | None:
    action, order = request.query_params.get("done"), request.query_params.get("order", "")
    if action not in NOTICES or not order.isdigit() or not wo_rules.valid_id(int(order)):
        return None
    row = await WorkOrder.select(WorkOrder.number, WorkOrder.branch,
                                 WorkOrder.assigned_to.display_name.as_alias("name")).where(
        WorkOrder.id == int(order)).first()
    if row is None or not request.scope["user"].may_see_branch(row["branch"]):
        return None
    return _(NOTICES[action], number=row["number"], name=row["name"] or "")


def _renders(request: Request) -> RenderCache:
    state = request.app.state
    if "board_renders" not in state:
        state.board_renders = RenderCache()
    return state.board_renders


async def _board(request: Request, branch: int | None, row_errors: dict | None = None,
                 row_values: dict | None = None) -> tuple[Markup, list]:
    """The board (dispatch/_board.html) drawn for this user, and the branches it covers.

    Supervisors' pages poll the board every few seconds, and nearly always nothing changed:
    a drawing is kept per change stamp, language and minute (the time left is counted in
    minutes) and reused. A board showing a refused form is always drawn afresh."""
    user = request.scope["user"]
    now = utcnow()
    branches = await visible_branches(user, branch)
    context = {"branch": branch, "poll_seconds": request.app.state.settings.board_poll_seconds,
               "row_errors": row_errors or {}, "row_values": row_values or {}}
    if not branches:
        board = await load_board(user, branch, now, branches=branches)
        return render(request, "dispatch/_board.html", board=board, view=BoardView(board),
                      conflicts_open=0, **context), branches
    # The stamp is read before the orders: a change in between is drawn now and again later,
    # never kept under a stamp newer than what was drawn.
    stamp = await board_stamp(user, branches, now)
    conflicts_open = stamp[-1]
    if row_errors or row_values:
        board = await load_board(user, branch, now, branches=branches)
        return render(request, "dispatch/_board.html", board=board, view=BoardView(board),
                      conflicts_open=conflicts_open, **context), branches
    cache = _renders(request)
    key = (tuple(branches), branch, i18n.current_locale.get(), now.replace(second=0, microsecond=0),
           stamp, context["poll_seconds"])
    html = cache.get(key)
    if html is None:
        board = await load_board(user, branch, now, branches=branches)
        html = str(render(request, "dispatch/_board.html", board=board, view=BoardView(board),
                          conflicts_open=conflicts_open, csrf_token=cache.CSRF_SLOT, **context))
        cache.put(key, html)
    auth = request.scope.get("auth")
    return cache.fill(html, auth.csrf_token if auth else ""), branches


async def _board_page(request: Request, branch: int | None, status_code: int = 200, **context: Any) -> Template:
    user = request.scope["user"]
    board_html, branches = await _board(request, branch, context.pop("row_errors", None),
                                        context.pop("row_values", None))
    all_branches = await visible_branches(user) if user.sees_all_branches and branch else branches
    return page(request, "dispatch/board.html", status_code=status_code, board_html=board_html,
                branch=branch, all_branches=all_branches,
                internal_errors=context.pop("internal_errors", {}),
                internal_values=context.pop("internal_values", {}), **_labels(), **context)


def _branch_param(value: Any) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _back(branch: int | None, **params: Any) -> Redirect:
    query = {k: v for k, v in {"branch": branch, **params}.items() if v not in (None, "")}
    return Redirect("/dispatch" + (f"?{urlencode(query)}" if query else ""), status_code=303)


@get("/dispatch", name="dispatch_board", guards=[allow(DISPATCH)])
async def dispatch_board(request: Request, branch: FromQuery[int | None] = None) -> Template:
    """Waiting orders (carried-over first, then by SLA due time), open orders, technicians."""
    return await _board_page(request, branch, notice=await _notice_from_query(request))


@get("/dispatch/board", name="dispatch_board_fragment", guards=[allow(DISPATCH)])
async def dispatch_board_fragment(request: Request, branch: FromQuery[int | None] = None) -> Response:
    """The board alone (dispatch/_board.html), for htmx polling."""
    board_html, _branches = await _board(request, branch)
    return Response(board_html, media_type=MediaType.HTML, headers=PAGE_HEADERS)


async def _after_change(request: Request, branch: int | None, change: wo_service.Change) -> Template | Redirect:
    if is_fragment_request(request):
        return await _board_page(request, branch, notice=_notice(change))
    return _back(branch, done=change.action, order=change.order_id)


async def _row_error(request: Request, branch: int | None, order_id: int, error: WorkOrderError,
                     values: dict) -> Template:
    if error.field is None:  # the order is gone or changed meanwhile: said above the board
        return await _board_page(request, branch, status_code=error.status, error=error.message)
    return await _board_page(request, branch, status_code=error.status,
                             row_errors={order_id: {error.field: error.message}}, row_values={order_id: values})


@post("/dispatch/orders/{order_id:int}/dispatch", name="dispatch_order", guards=[allow(DISPATCH)])
async def dispatch_order(request: Request, order_id: FromPath[int]) -> Template | Redirect:
    """Dispatch or re-dispatch to a technician of the order's branch."""
    form = await request.form()
    branch = _branch_param(form.get("board_branch"))
    values = {"technician": form.get("technician") or "", "reason": form.get("reason") or ""}
    try:
        change = await wo_service.dispatch(order_id, values["technician"], request.scope["user"],
                                           reason=values["reason"])
    except WorkOrderError as error:
        return await _row_error(request, branch, order_id, error, values)
    return await _after_change(request, branch, change)


@post("/dispatch/orders/{order_id:int}/cancel", name="cancel_order", guards=[allow(DISPATCH)])
async def cancel_order(request: Request, order_id: FromPath[int]) -> Template | Redirect:
    """Cancel with a required reason."""
    form = await request.form()
    branch = _branch_param(form.get("board_branch"))
    values = {"reason": form.get("reason") or "", "cancel_open": True}
    try:
        change = await wo_service.cancel(order_id, values["reason"], request.scope["user"])
    except WorkOrderError as error:
        return await _row_error(request, branch, order_id, error, values)
    return await _after_change(request, branch, change)


@post("/dispatch/internal", name="create_internal_order", guards=[allow(DISPATCH)])
async def create_internal_order(request: Request) -> Template | Redirect:
    """seed 000 §6 category D: internal work, no customer; it waits on the board."""
    form = await request.form()
    board_branch = _branch_param(form.get("board_branch"))
    values = {"description": form.get("description") or "", "zone": form.get("zone") or "",
              "branch": form.get("branch") or ""}
    try:
        change = await wo_service.create_internal(request.scope["user"], values["description"],
                                                  values["zone"], values["branch"] or None)
    except WorkOrderError as error:
        return await _board_page(request, board_branch, status_code=error.status,
                                 internal_errors={error.field or "form": error.message},
                                 internal_values={**values, "open": True})
    return await _after_change(request, board_branch, change)


# ---- working calendar ------------------------------------------------------------------

def _dates_of(text: str) -> list[str]:
    return [piece for piece in re.split(r"[\s,，;；]+", text or "") if piece]


def _calendar_form(calendar: dict) -> dict[str, str]:
    values = {f"hours_{d}": rules.intervals_text(calendar["hours"][str(d)]) for d in range(7)}
    values["holidays"] = "\n".join(calendar["holidays"])
    values["makeup_days"] = "\n".join(calendar["makeup_days"])
    return values


async def _calendar_branch(request: Request, branch: int | None):
    user = request.scope["user"]
    branches = await visible_branches(user)
    chosen = next((b for b in branches if b.id == branch), None) if branch is not None else None
    if chosen is None and branch is None:
        chosen = next((b for b in branches if b.id == user.branch_id), branches[0] if branches else None)
    return chosen, branches


def _calendar_page(request: Request, chosen, branches, values: dict, errors: dict,
                   status_code: int = 200, saved: bool = False) -> Template:
    return page(request, "dispatch/calendar.html", status_code=status_code, chosen=chosen,
                branches=branches, values=values, errors=errors, saved=saved,
                weekday_labels=rules.WEEKDAY_LABELS)


@get("/dispatch/calendar", name="dispatch_calendar", guards=[allow(rules.EDIT_CALENDAR)])
async def calendar_form(request: Request, branch: FromQuery[int | None] = None) -> Template:
    """Working hours per weekday, public holidays and make-up working days of a branch."""
    chosen, branches = await _calendar_branch(request, branch)
    if chosen is None:
        return page(request, "errors/error.html", status_code=404, title=_("Not found"),
                    message=_("There is no such branch, or it is not yours to see."))
    values = _calendar_form(rules.effective_calendar(chosen.settings))
    return _calendar_page(request, chosen, branches, values, {},
                          saved=request.query_params.get("saved") == "1")


@post("/dispatch/calendar", name="save_dispatch_calendar", guards=[allow(rules.EDIT_CALENDAR)])
async def save_calendar_form(request: Request) -> Template | Redirect:
    form = await request.form()
    chosen, branches = await _calendar_branch(request, _branch_param(form.get("branch")))
    if chosen is None:
        return page(request, "errors/error.html", status_code=404, title=_("Not found"),
                    message=_("There is no such branch, or it is not yours to see."))
    values = {key: str(form.get(key) or "") for key in [*(f"hours_{d}" for d in range(7)), "holidays", "makeup_days"]}
    errors: dict[str, str] = {}
    hours: dict[str, Any] = {}
    for day in range(7):
        parsed = rules.parse_intervals_text(values[f"hours_{day}"])
        if parsed is None:
            errors[f"hours.{day}"] = _("Give working hours as start-end pairs, e.g. 08:30-12:00, 13:00-17:30.")
        hours[str(day)] = parsed or []
    data = {"hours": hours, "holidays": _dates_of(values["holidays"]),
            "makeup_days": _dates_of(values["makeup_days"])}
    if not errors:
        try:
            await save_calendar(chosen, data)
        except CalendarInvalid as invalid:
            errors = {key: _(message, **detail) for key, (message, detail) in invalid.errors.items()}
    if errors:
        return _calendar_page(request, chosen, branches, values, errors, status_code=422)
    if is_fragment_request(request):
        fresh = await branch_for_calendar(chosen.id, request.scope["user"])
        return _calendar_page(request, fresh, branches, _calendar_form(rules.effective_calendar(fresh.settings)),
                              {}, saved=True)
    return Redirect(f"/dispatch/calendar?{urlencode({'branch': chosen.id, 'saved': 1})}", status_code=303)


route_handlers = [dispatch_board, dispatch_board_fragment, dispatch_order, cancel_order,
                  create_internal_order, calendar_form, save_calendar_form]
