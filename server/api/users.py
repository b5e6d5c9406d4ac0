"""JSON API of users: GET /api/users?role=, the users of your branch (all branches for the
service department and admin, who may narrow it with ?branch=<code>)."""

from __future__ import annotations

from typing import Literal

import msgspec
from litestar import Request, get
from litestar.params import FromQuery, Parameter

from server.accounts.guards import allow
from server.api.body_errors import API_EXCEPTION_HANDLERS
from server.accounts.rules import VIEW_USERS, CurrentUser
from server.accounts.tables import User

Role = Literal["clerk", "supervisor", "technician", "manager", "service_dept", "admin"]


class UserOut(msgspec.Struct):
    id: int
    username: str
    display_name: str
    role: str
    branch_code: str | None
    phone: str


@get("/api/users", name="api_list_users", guards=[allow(VIEW_USERS)],
    exception_handlers=API_EXCEPTION_HANDLERS)
async def api_list_users(request: Request, role: FromQuery[Role | None] = None,
                         branch: str | None = Parameter(default=None, max_length=20)) -> list[UserOut]:
    """Active users, by username. Supervisors and managers see their own branch only."""
    user: CurrentUser = request.scope["user"]
    query = User.select(User.id, User.username, User.display_name, User.role, User.branch.code, User.phone).where(
        User.active == True)  # noqa: E712
    if not user.sees_all_branches:
        query = query.where(User.branch == (user.branch_id or 0))
    elif branch:
        query = query.where(User.branch.code == branch)
    if role:
        query = query.where(User.role == role)
    rows = await query.order_by(User.username)
    return [UserOut(id=r["id"], username=r["username"], display_name=r["display_name"], role=r["role"],
                    branch_code=r["branch.code"], phone=r["phone"]) for r in rows]


route_handlers = [api_list_users]
