"""Rendering pages: one template serves the full page and its htmx fragment."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request
from litestar.response import Template

from server import i18n
from server.accounts.rules import ROLE_LABELS, CurrentUser

PWA_DIR = Path(__file__).resolve().parents[1] / "pwa"
TEMPLATES_DIR = PWA_DIR / "templates"
STATIC_DIR = PWA_DIR / "static"


@lru_cache(maxsize=None)
def _static_version(path: str) -> str:
    file = STATIC_DIR / path
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10] if file.is_file() else "0"


def static_url(path: str) -> str:
    """A versioned URL, so the service worker may cache static files first."""
    return f"/static/{path}?v={_static_version(path)}"


def local_time(value: datetime | None, tz: str = "Asia/Shanghai", fmt: str = "short") -> str:
    """A time shown in the branch's time zone, in the user's language."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    locale = i18n.babel_locale(i18n.current_locale.get())
    pattern = {"short": "yyyy-MM-dd HH:mm", "time": "HH:mm", "date": "yyyy-MM-dd"}.get(fmt, fmt)
    return format_datetime(value.astimezone(ZoneInfo(tz)), pattern, locale=locale)


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.globals.update(static_url=static_url, role_labels=ROLE_LABELS,
                       html_lang=i18n.html_lang)
    env.filters["localtime"] = local_time
    return env


def is_fragment_request(request: Request) -> bool:
    headers = request.headers
    return (headers.get("hx-request") == "true" and headers.get("hx-boosted") != "true"
            and headers.get("hx-history-restore-request") != "true")


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """Render `template`; for an htmx request only its content block (the fragment)."""
    user: CurrentUser | None = request.scope.get("user")
    auth = request.scope.get("auth")
    context.setdefault("user", user)
    context.setdefault("tz", user.timezone if user else "Asia/Shanghai")
    context["layout"] = "partials/fragment.html" if is_fragment_request(request) else "base.html"
    context["csrf_token"] = auth.csrf_token if auth else request.cookies.get("fs_csrf", "")
    context["locale"] = i18n.current_locale.get()
    context["demo"] = request.app.state.settings.demo
    return Template(template_name=template, context=context, status_code=status_code,
                    headers={"Vary": "HX-Request", "Cache-Control": "no-cache"})
