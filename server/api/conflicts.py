"""JSON API of sync conflicts and outcomes: the supervisor's queue (list, resolve) and the
technician's own rejected or conflicting actions with what happened and why."""

from __future__ import annotations

from litestar.params import FromPath
from litestar.params import FromQuery
from litestar import Request, get, post
from litestar.exceptions import ClientException, NotFoundException
from litestar.status_codes import HTTP_200_OK

from server.accounts.guards import allow, signed_in
from server.accounts.rules import DISPATCH
from server.i18n import gettext as _
from server.sync import conflicts
from server.sync.push import reason_message
from server.sync.readback import rfc3339


def conflict_json(row: dict) -> dict:
    return {
        "id": row["id"], "work_order_id": row["work_order"], "work_order_number": row["work_order.number"],
        "reason": row["kind"], "label": _(conflicts.KIND_LABELS.get(row["kind"], row["kind"])),
        "field": row["field"], "server_value": row["server_value"], "device_value": row["device_value"],
        "action": row["action"], "mutation_id": row["mutation_id"], "device_id": row["device_id"],
        "device_name": row["device_name"], "technician": row["technician.username"],
        "created_at": rfc3339(row["created_at"]), "status": row["status"],
        "resolution": row["resolution"] or None, "resolved_by": row["resolved_by.display_name"],
        "resolved_at": rfc3339(row["resolved_at"]), "note": row["note"],
    }


@get("/api/conflicts", name="api_conflicts", guards=[allow(DISPATCH)])
async def list_conflicts(request: Request, status: FromQuery[str] = "open") -> dict:
    """Conflicts of your branch's orders: status open (default), resolved, dismissed or all."""
    if status not in ("open", "resolved", "dismissed", "all"):
        raise ClientException(status_code=422, detail=_("status is open, resolved, dismissed or all."))
    user = request.scope["user"]
    rows = await conflicts.list_conflicts(user, status)
    return {"conflicts": [conflict_json(r) for r in rows],
            "open_count": await conflicts.open_conflict_count(user)}


@post("/api/conflicts/{conflict_id:int}/resolve", name="api_resolve_conflict", guards=[allow(DISPATCH)],
      status_code=HTTP_200_OK)
async def resolve_conflict(request: Request, conflict_id: FromPath[int]) -> dict:
    """{"choice": "keep_server" | "take_device" | "dismiss", "note": "..."} (a note is
    required to dismiss). 404 outside your branch, 409 when already resolved."""
    try:
        body = await request.json()
    except Exception:  # the body is not JSON
        body = None
    if not isinstance(body, dict):
        raise ClientException(status_code=400, detail=_("Send the resolution as a JSON object."))
    choice, note = body.get("choice"), body.get("note", "")
    if note is None:
        note = ""
    problem = conflicts.resolution_problem(choice, note)
    if problem:
        raise ClientException(status_code=422, detail=_(problem[1]))
    try:
        row = await conflicts.resolve(request.scope["user"], conflict_id, choice, note)
    except conflicts.ConflictNotFound:
        raise NotFoundException(detail=_("There is no such conflict in your branch.")) from None
    except conflicts.AlreadyResolved:
        raise ClientException(status_code=409, detail=_("This conflict was already resolved.")) from None
    return conflict_json(row)


@get("/api/sync/outcomes", name="api_sync_outcomes", guards=[signed_in])
async def sync_outcomes(request: Request) -> dict:
    """Your rejected and conflicting actions, newest first, each with why, in your language."""
    rows = await conflicts.outcomes_for(request.scope["user"])
    return {"outcomes": [{
        "id": r["mutation_id"], "seq": r["seq"], "device_id": r["device_id"], "name": r["name"],
        "work_order_id": r["work_order"], "status": r["status"], "reason": r["reason"],
        "message": reason_message(r["reason"], r["detail"]), "conflict_id": r["conflict_id"],
        "conflict_status": r["conflict_status"], "resolution": r["resolution"] or None,
        "resolution_note": r["resolution_note"] or None,
        "captured_at": rfc3339(r["captured_at"]), "received_at": rfc3339(r["received_at"]),
    } for r in rows]}


route_handlers = [list_conflicts, resolve_conflict, sync_outcomes]
