"""Rendering pages: one template serves the full page and its htmx fragment."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from jinja2 import Environment, FileSystemLoader, select_autoescape
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from litestar import Request
from litestar.response import Template
from markupsafe import Markup, escape

from server import i18n
from server.accounts.rules import ROLE_LABELS, CurrentUser

PWA_DIR = Path(__file__).resolve().parents[1] / "pwa"
TEMPLATES_DIR = PWA_DIR / "templates"
STATIC_DIR = PWA_DIR / "static"


@lru_cache(maxsize=512)
def static_version(path: str) -> str:
    """The version of a static file: the start of its SHA-256 ("0" when pwa/static has no
    such file: a path leading out of it names nothing)."""
    file = (STATIC_DIR / path).resolve()
    if not file.is_relative_to(STATIC_DIR.resolve()) or not file.is_file():
        return "0"
    return hashlib.sha256(file.read_bytes()).hexdigest()[:10]


def static_url(path: str) -> str:
    """A versioned URL, so the service worker may cache static files first."""
    return f"/static/{path}?v={static_version(path)}"


# Patterns made only of digits and separators read the same in every language: strftime is
# a tenth of the cost of Babel's formatter, and a register page prints dozens of times.
_DIGIT_PATTERNS = {"short": "%Y-%m-%d %H:%M", "time": "%H:%M", "date": "%Y-%m-%d",
                   "yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S"}


@lru_cache(maxsize=64)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def local_time(value: datetime | None, tz: str = "Asia/Shanghai", fmt: str = "short") -> str:
    """A time shown in the branch's time zone, in the user's language."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    local = value.astimezone(_zone(tz))
    if fmt in _DIGIT_PATTERNS:
        return local.strftime(_DIGIT_PATTERNS[fmt])
    locale = i18n.babel_locale(i18n.current_locale.get())
    return format_datetime(local, fmt, locale=locale)


class CollapseIndent(Extension):
    """Drops the indentation of the templates' own text when they are compiled (never of the
    values printed into it): a third of a long list's bytes, sent, gzipped and parsed for
    nothing. The line breaks stay, so whitespace between inline elements is kept."""

    _INDENT = re.compile(r"\n[ \t]+")

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        for token in stream:
            if token.type == "data":
                token = Token(token.lineno, "data", self._INDENT.sub("\n", token.value))
            yield token


def make_environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n", CollapseIndent],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,  # templates change only with a new release: no stat() per render
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=i18n.gettext, ngettext=i18n.ngettext, newstyle=True
    )
    env.globals.update(_=i18n.template_gettext, gettext=i18n.template_gettext,
                       ngettext=i18n.template_ngettext)
    env.globals.update(static_url=static_url, role_labels=ROLE_LABELS,
                       html_lang=i18n.html_lang)
    env.filters["localtime"] = local_time
    return env


def is_fragment_request(request: Request) -> bool:
    headers = request.headers
    return (headers.get("hx-request") == "true" and headers.get("hx-boosted") != "true"
            and headers.get("hx-history-restore-request") != "true")


def _context(request: Request, context: dict[str, Any]) -> dict[str, Any]:
    user: CurrentUser | None = request.scope.get("user")
    auth = request.scope.get("auth")
    context.setdefault("user", user)
    context.setdefault("tz", user.timezone if user else "Asia/Shanghai")
    context["layout"] = "partials/fragment.html" if is_fragment_request(request) else "base.html"
    context.setdefault("csrf_token", auth.csrf_token if auth else request.cookies.get("fs_csrf", ""))
    context["locale"] = i18n.current_locale.get()
    context["demo"] = request.app.state.settings.demo
    return context


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """Render `template`; for an htmx request only its content block (the fragment)."""
    return Template(template_name=template, context=_context(request, context), status_code=status_code,
                    headers=PAGE_HEADERS)


PAGE_HEADERS = {"Vary": "HX-Request", "Cache-Control": "no-cache"}


def render(request: Request, template: str, **context: Any) -> Markup:
    """`template` rendered to markup, with the context `page` gives, to embed or to cache."""
    engine = request.app.template_engine
    return Markup(engine.get_template(template).render(**_context(request, context)))


class RenderCache:
    """Rendered fragments by key, the least recently used dropped first. A key must hold
    everything the fragment shows (data stamp, language, minute of the clock…); the user's
    CSRF token is not in it: fragments are drawn with CSRF_SLOT in its place."""

    CSRF_SLOT = "csrf-" + secrets.token_hex(16)

    def __init__(self, size: int = 64):
        self.size = size
        self._entries: OrderedDict[Hashable, str] = OrderedDict()

    def get(self, key: Hashable) -> str | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found

    def put(self, key: Hashable, html: str) -> None:
        self._entries[key] = html
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def fill(self, html: str, csrf_token: str) -> Markup:
        return Markup(html.replace(self.CSRF_SLOT, str(escape(csrf_token))))
