"""Accounts: logins, server-side sessions, users."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from server.accounts import rules
from server.accounts.passwords import hash_password, verify_password
from server.accounts.tables import Branch, LoginAttempt, Session, User
from server.accounts.rules import CurrentUser
from server.db import reads


class RateLimited(Exception):
    """Too many failed logins for this username from this address."""


class UserExists(Exception):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_token() -> str:
    """An opaque random token of 256 bits."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def current_user_from_row(row: dict) -> CurrentUser:
    return CurrentUser(
        id=row["id"], username=row["username"], display_name=row["display_name"],
        role=row["role"], branch_id=row["branch"],
        timezone=row.get("branch.timezone") or "Asia/Shanghai",
    )


async def user_by_id(user_id: int) -> CurrentUser | None:
    row = await User.select(User.all_columns(), User.branch.timezone).where(
        (User.id == user_id) & (User.active == True)  # noqa: E712
    ).first()
    return await current_user_from_row(row) if row else None


async def authenticate(username: str, password: str, address: str) -> CurrentUser | None:
    """The user when the password is right; None when wrong; RateLimited past the limit."""
    since = utcnow() - timedelta(seconds=rules.LOGIN_FAILURE_WINDOW_S)
    failures = await LoginAttempt.count().where(
        (LoginAttempt.username == username) & (LoginAttempt.address == address)
        & (LoginAttempt.at > since)
    )
    if rules.too_many_failures(failures):
        raise RateLimited()
    row = await User.select(User.all_columns(), User.branch.timezone).where(
        (User.username == username) & (User.active == True)  # noqa: E712
    ).first()
    ok = await verify_password(row["password_hash"] if row else None, password)
    if not ok:
        await LoginAttempt.insert(LoginAttempt(username=username, address=address, at=utcnow()))
        return None
    await LoginAttempt.delete().where(
        (LoginAttempt.username == username) & (LoginAttempt.address == address)
    )
    return await current_user_from_row(row)


async def start_session(user: CurrentUser, hours: int) -> tuple[str, str]:
    """A new session (new id at every login); returns (cookie token, csrf token)."""
    token, csrf = new_token(), new_token()
    now = utcnow()
    await Session.insert(Session(token_hash=token_hash(token), user=user.id, csrf_token=csrf,
                                 created_at=now, expires_at=now + timedelta(hours=hours)))
    # Expired sessions are swept here rather than by a timer: logins are frequent enough.
    await Session.delete().where(Session.expires_at < now)
    return token, csrf


_SESSION_SQL = (
    "SELECT s.csrf_token, s.expires_at, u.id, u.username, u.display_name, u.role, u.branch, "
    "u.active, b.timezone AS tz FROM fs_session s JOIN fs_user u ON u.id = s.\"user\" "
    "LEFT JOIN branch b ON b.id = u.branch WHERE s.token_hash = ?"
)


async def session_user(token: str) -> tuple[CurrentUser, str] | None:
    """(user, csrf token) of a live session, or None. One plain-SQL query: it runs on every
    request, and building the joined Piccolo select cost more than running it."""
    rows = await reads.fetch_quick(_SESSION_SQL, token_hash(token))
    row = rows[0] if rows else None
    if not row or row["expires_at"] < utcnow() or not row["active"]:
        return None
    user = CurrentUser(id=row["id"], username=row["username"], display_name=row["display_name"],
                       role=row["role"], branch_id=row["branch"], timezone=row["tz"] or "Asia/Shanghai")
    return user, row["csrf_token"]


async def end_session(token: str) -> None:
    await Session.delete().where(Session.token_hash == token_hash(token))


async def create_user(username: str, password: str, role: str, display_name: str = "",
                      branch_code: str | None = None, phone: str = "",
                      check_policy: bool = True) -> int:
    """check_policy=False only for the demo loader's well-known demo passwords."""
    if role not in rules.ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(rules.ROLES)}")
    problem = rules.password_problem(password)
    if problem and check_policy:
        raise ValueError(problem)
    if await User.exists().where(User.username == username):
        raise UserExists(username)
    branch_id = None
    if branch_code:
        branch = await Branch.select(Branch.id).where(Branch.code == branch_code).first()
        if not branch:
            raise ValueError(f"unknown branch {branch_code!r}")
        branch_id = branch["id"]
    user = User(username=username, display_name=display_name or username,
                password_hash=await hash_password(password), role=role, branch=branch_id,
                phone=phone, created_at=utcnow())
    await user.save()
    return user.id
