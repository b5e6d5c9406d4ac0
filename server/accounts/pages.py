"""Sign in, sign out, language switch."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response, get, post
from litestar.response import Redirect, Template

from server import i18n
from server.accounts import rules
from server.accounts.middleware import LANG_COOKIE, SESSION_COOKIE
from server.accounts.guards import signed_in
from server.accounts.service import RateLimited, authenticate, end_session, new_token, start_session
from server.i18n import gettext as _
from server.web import page

ANON_CSRF_COOKIE = "fs_csrf"  # double-submit token for the sign-in form (no session yet)


def safe_next(value: str | None) -> str | None:
    """Only same-site paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


def _login_page(request: Request, status_code: int = 200, **context: Any) -> Template:
    token = request.cookies.get(ANON_CSRF_COOKIE) or new_token()
    response = page(request, "accounts/login.html", status_code=status_code,
                    next=safe_next(request.query_params.get("next")) or "", **context)
    response.context["csrf_token"] = token
    response.set_cookie(ANON_CSRF_COOKIE, token, httponly=True, samesite="lax",
                        secure=request.app.state.settings.secure_cookies, path="/")
    return response


@get("/login", name="login_form")
async def login_form(request: Request) -> Template | Redirect:
    user = request.scope.get("user")
    if user is not None:
        return Redirect(rules.home_path(user.role))
    return _login_page(request)


@post("/login", name="login")
async def login(request: Request) -> Template | Redirect:
    form = await request.form()
    username = (form.get("username") or "").strip()
    password = form.get("password") or ""
    sent_csrf = form.get("_csrf") or ""
    cookie_csrf = request.cookies.get(ANON_CSRF_COOKIE, "")
    values = {"username": username}
    if not cookie_csrf or not hmac.compare_digest(sent_csrf, cookie_csrf):
        return _login_page(request, 403, error=_(
            "This form has expired or did not come from this site. Reload the page and try again."
        ), **values)
    if not username or not password:
        return _login_page(request, 400, error=_("Enter your username and password."), **values)
    address = request.client.host if request.client else "unknown"
    try:
        user = await authenticate(username, password, address)
    except RateLimited:
        return _login_page(request, 429, error=_(
            "Too many failed sign-ins. Wait 5 minutes and try again."), **values)
    if user is None:
        return _login_page(request, 401, error=_("Wrong username or password."), **values)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await end_session(old)
    settings = request.app.state.settings
    token, _csrf = await start_session(user, settings.session_hours)
    target = safe_next(form.get("next")) or rules.home_path(user.role)
    response = Redirect(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="lax",
                        secure=settings.secure_cookies, path="/",
                        max_age=settings.session_hours * 3600)
    response.delete_cookie(ANON_CSRF_COOKIE, path="/")
    return response


@post("/logout", name="logout")
async def logout(request: Request) -> Redirect:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await end_session(token)
    response = Redirect("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    # The device's caches and stored work belong to this user: the browser drops them.
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


@post("/lang", name="switch_language")
async def switch_language(request: Request) -> Response:
    form = await request.form()
    chosen = form.get("lang")
    back = safe_next(form.get("back")) or "/"
    response = Redirect(back, status_code=303)
    if chosen in i18n.LOCALES:
        response.set_cookie(LANG_COOKIE, chosen, samesite="lax", path="/",
                            max_age=365 * 24 * 3600, httponly=True)
    return response


@get("/", name="home")
async def home(request: Request) -> Redirect:
    user = request.scope.get("user")
    return Redirect(rules.home_path(user.role) if user else "/login")


route_handlers = [login_form, login, logout, switch_language, home]


@get("/api/me", name="api_me", guards=[signed_in])
async def api_me(request: Request) -> dict:
    """Who is signed in, and the CSRF token a script needs for unsafe calls."""
    user = request.scope["user"]
    auth = request.scope["auth"]
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "branch_id": user.branch_id, "csrf_token": auth.csrf_token if auth.kind == "session" else None,
            "locale": request.scope["state"]["locale"]}


route_handlers.append(api_me)
