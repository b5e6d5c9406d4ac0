"""The conflict queue page in the dispatch area (/dispatch/conflicts): each conflict side by
side — the server's value and the device's — with a form to resolve it. Works without
JavaScript (POST, then redirect back); with htmx the resolved card is swapped in place."""

from __future__ import annotations

from litestar.params import FromPath
from litestar.params import FromQuery
from litestar import Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template

from server.accounts.guards import allow
from server.accounts.rules import DISPATCH
from server.i18n import N_
from server.i18n import gettext as _
from server.sync import conflicts
from server.web import is_fragment_request, page

FILTERS = {"open": N_("Open conflicts"), "resolved": N_("Resolved conflicts"), "dismissed": N_("Dismissed conflicts"),
           "all": N_("All conflicts")}
VALUE_LABELS = {  # keys shown in the side-by-side values
    "reported": N_("Customer reports"), "observed": N_("Observed"), "cause": N_("Cause"),
    "severity": N_("Quality issue"), "outcome": N_("Outcome"), "work_done": N_("Work done"),
    "status": N_("Order status"), "assigned_to": N_("Assigned to"), "action": N_("Action sent"),
    "args": N_("What was sent"), "report_sha256": N_("Report hash"), "report": N_("Service record"),
    "signer_name": N_("Signed by"), "rating_id": N_("Rating"), "rating": N_("Rating"), "attitude": N_("Attitude"),
    "skill": N_("Skill"), "arrival": N_("Arrival time"), "promises": N_("Keeping promises"),
    "comment": N_("Comment"), "complaint": N_("Complaint"),
}


def _context() -> dict:
    return {"kind_labels": conflicts.KIND_LABELS, "status_labels": conflicts.STATUS_LABELS,
            "choice_labels": conflicts.CHOICE_LABELS, "value_labels": VALUE_LABELS, "filters": FILTERS}


@get("/dispatch/conflicts", name="conflict_queue", guards=[allow(DISPATCH)])
async def conflict_queue(request: Request, status: FromQuery[str] = "open") -> Template:
    """Conflicts of the branch's orders, newest first; open ones by default."""
    status = status if status in FILTERS else "open"
    user = request.scope["user"]
    rows = await conflicts.list_conflicts(user, status)
    return page(request, "sync/conflicts.html", conflicts=rows, status=status,
                open_count=await conflicts.open_conflict_count(user), errors={}, values={}, **_context())


@post("/dispatch/conflicts/{conflict_id:int}/resolve", name="resolve_conflict_form", guards=[allow(DISPATCH)])
async def resolve_conflict_form(request: Request, conflict_id: FromPath[int]) -> Template | Redirect:
    user = request.scope["user"]
    form = await request.form()
    choice, note = form.get("choice") or "", form.get("note") or ""
    status = form.get("status") if form.get("status") in FILTERS else "open"
    problem = conflicts.resolution_problem(choice, note)
    error_status = 422
    if problem is None:
        try:
            row = await conflicts.resolve(user, conflict_id, choice, note)
        except conflicts.ConflictNotFound:
            raise NotFoundException(detail=_("There is no such conflict in your branch.")) from None
        except conflicts.AlreadyResolved:
            problem, error_status = ("choice", N_("This conflict was already resolved.")), 409
        else:
            if is_fragment_request(request):
                return page(request, "sync/conflict_card.html", c=row, status=status, errors={},
                            values={}, notice=_("The conflict was resolved."), **_context())
            return Redirect(f"/dispatch/conflicts?status={status}", status_code=303)
    errors = {conflict_id: {problem[0]: _(problem[1])}}
    values = {conflict_id: {"choice": choice, "note": note}}
    if is_fragment_request(request):
        try:
            row = await conflicts.get_conflict(user, conflict_id)
        except conflicts.ConflictNotFound:
            raise NotFoundException(detail=_("There is no such conflict in your branch.")) from None
        return page(request, "sync/conflict_card.html", status_code=error_status, c=row, status=status,
                    errors=errors, values=values, **_context())
    rows = await conflicts.list_conflicts(user, status)
    if not any(r["id"] == conflict_id for r in rows):
        try:
            rows.insert(0, await conflicts.get_conflict(user, conflict_id))
        except conflicts.ConflictNotFound:
            raise NotFoundException(detail=_("There is no such conflict in your branch.")) from None
    return page(request, "sync/conflicts.html", status_code=error_status, conflicts=rows, status=status,
                open_count=await conflicts.open_conflict_count(user), errors=errors, values=values,
                **_context())


route_handlers = [conflict_queue, resolve_conflict_form]
