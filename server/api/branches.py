"""JSON API for branches and their working calendars (hours per weekday, holidays, make-up days)."""

from __future__ import annotations

from typing import Any

from litestar.params import JSONBody
from litestar.params import FromPath
from litestar import Request, get, put
from litestar.exceptions import NotFoundException, ValidationException

from server.accounts.guards import allow, signed_in
from server.accounts.rules import DISPATCH
from server.dispatch import rules
from server.dispatch.service import BranchInfo, CalendarInvalid, branch_for_calendar, save_calendar, visible_branches
from server.i18n import gettext as _


def _calendar_body(branch: BranchInfo, calendar: dict | None = None) -> dict:
    return {"branch_id": branch.id, "branch": branch.code, "timezone": branch.timezone,
            "is_default": not branch.settings.get("hours"),
            **rules.effective_calendar(calendar if calendar is not None else branch.settings)}


async def _branch(branch_id: int, request: Request) -> BranchInfo:
    branch = await branch_for_calendar(branch_id, request.scope["user"])
    if branch is None:
        raise NotFoundException(detail=_("There is no such branch, or it is not yours to see."))
    return branch


@get("/api/branches", name="api_branches", guards=[signed_in])
async def list_branches(request: Request) -> list[dict]:
    """The branches you see (head office and administrators: all)."""
    return [{"id": b.id, "code": b.code, "name": b.name, "name_en": b.name_en, "timezone": b.timezone,
             "default_zone": b.default_zone} for b in await visible_branches(request.scope["user"])]


@get("/api/branches/{branch_id:int}/calendar", name="api_branch_calendar", guards=[allow(DISPATCH)])
async def read_calendar(request: Request, branch_id: FromPath[int]) -> dict:
    """The branch's working calendar, defaults filled in (Mon–Fri 08:30–12:00, 13:00–17:30)."""
    return _calendar_body(await _branch(branch_id, request))


@put("/api/branches/{branch_id:int}/calendar", name="api_update_branch_calendar",
     guards=[allow(rules.EDIT_CALENDAR)])
async def update_calendar(request: Request, branch_id: FromPath[int], data: JSONBody[dict[str, Any]]) -> dict:
    """Replace the working calendar: {"hours": {"0": [["08:30","12:00"], …], … "6": []},
    "holidays": ["2026-10-01", …], "makeup_days": ["2026-10-10", …]}."""
    branch = await _branch(branch_id, request)
    try:
        calendar = await save_calendar(branch, data)
    except CalendarInvalid as invalid:
        raise ValidationException(
            detail=_("The calendar was not saved."),
            status_code=422,
            extra=[{"key": key, "message": _(message, **values)} for key, (message, values) in invalid.errors.items()],
        ) from None
    return {**_calendar_body(branch, calendar), "is_default": False}


route_handlers = [list_branches, read_calendar, update_calendar]
