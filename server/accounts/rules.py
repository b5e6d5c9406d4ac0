"""Roles and what each may reach (domain.md: the people who use the system)."""

from __future__ import annotations

from server.i18n import N_

from dataclasses import dataclass

CLERK = "clerk"  # 业务员: registers calls
SUPERVISOR = "supervisor"  # 服务主任: dispatches, inspects, reports
TECHNICIAN = "technician"  # 技术员: works on customer premises
MANAGER = "manager"  # 经理: approves prices, waivers, major complaints
SERVICE_DEPT = "service_dept"  # 服务部: head office, sees every branch
ADMIN = "admin"

ROLES = (CLERK, SUPERVISOR, TECHNICIAN, MANAGER, SERVICE_DEPT, ADMIN)
ROLE_LABELS = {  # English source strings; translated where shown
    CLERK: N_("Clerk"),
    SUPERVISOR: N_("Supervisor"),
    TECHNICIAN: N_("Technician"),
    MANAGER: N_("Manager"),
    SERVICE_DEPT: N_("Service department"),
    ADMIN: N_("Administrator"),
}

# Who may do what. Routes name one of these sets in their guard.
REGISTER_CALLS = frozenset({CLERK, SUPERVISOR, MANAGER, SERVICE_DEPT, ADMIN})
VIEW_CALLS = frozenset({CLERK, SUPERVISOR, MANAGER, SERVICE_DEPT, ADMIN})
OVERRIDE_CATEGORY = frozenset({SUPERVISOR, MANAGER, SERVICE_DEPT, ADMIN})
DISPATCH = frozenset({SUPERVISOR, MANAGER, SERVICE_DEPT, ADMIN})
VIEW_WORK_ORDERS = frozenset({CLERK, SUPERVISOR, TECHNICIAN, MANAGER, SERVICE_DEPT, ADMIN})
MANAGE_USERS = frozenset({ADMIN, SERVICE_DEPT})
VIEW_USERS = frozenset({SUPERVISOR, MANAGER, SERVICE_DEPT, ADMIN})
VIEW_PARTS = frozenset(ROLES)
RECEIVE_CALL_PUSH = frozenset({CLERK, SUPERVISOR})
ALL_BRANCHES = frozenset({SERVICE_DEPT, ADMIN})

LOGIN_FAILURE_LIMIT = 10  # sync-protocol §1: more than 10 failures in 5 minutes → 429
LOGIN_FAILURE_WINDOW_S = 300
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class CurrentUser:
    id: int
    username: str
    display_name: str
    role: str
    branch_id: int | None
    timezone: str = "Asia/Shanghai"

    @property
    def sees_all_branches(self) -> bool:
        return self.role in ALL_BRANCHES

    def may_see_branch(self, branch_id: int | None) -> bool:
        return self.sees_all_branches or (branch_id is not None and branch_id == self.branch_id)


def home_path(role: str) -> str:
    """Where a user lands after login."""
    if role == TECHNICIAN:
        return "/tech"
    if role in DISPATCH:
        return "/dispatch"
    return "/calls"


def too_many_failures(failures_in_window: int) -> bool:
    """sync-protocol §1: more than 10 failed logins within 5 minutes answer 429."""
    return failures_in_window >= LOGIN_FAILURE_LIMIT


def password_problem(password: str) -> str | None:
    """An English source message when a new password is unacceptable, else None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("The password must have at least 8 characters.")
    return None
