"""Translations: Chinese (zh_Hans) first, English; Babel catalogues under pwa/translations.

Source strings are English. Each feature keeps its Chinese strings in its own catalogue file
(pwa/translations/zh_Hans/LC_MESSAGES/<feature>.po) so features never edit one shared file;
all files of a locale are merged when the app starts.
"""

from __future__ import annotations

import contextvars
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from markupsafe import Markup
from babel.support import Translations

TRANSLATIONS_DIR = Path(__file__).resolve().parents[2] / "pwa" / "translations"
LOCALES = ("zh_Hans", "en")
DEFAULT_LOCALE = "zh_Hans"
# Accept-Language tags and what they mean here.
_ALIASES = {"zh": "zh_Hans", "zh_CN": "zh_Hans", "zh_SG": "zh_Hans", "zh_Hans": "zh_Hans",
            "zh_TW": "zh_Hans", "zh_HK": "zh_Hans", "en": "en", "en_US": "en", "en_GB": "en"}

current_locale: contextvars.ContextVar[str] = contextvars.ContextVar("locale", default=DEFAULT_LOCALE)


def catalogue_files(locale: str) -> list[Path]:
    return sorted((TRANSLATIONS_DIR / locale / "LC_MESSAGES").glob("*.po"))


def merged_catalogue(locale: str) -> Catalog:
    merged = Catalog(locale=locale.replace("_Hans", ""), domain="messages")
    for path in catalogue_files(locale):
        with path.open("rb") as fp:
            for message in read_po(fp, locale=locale.replace("_Hans", "")):
                if message.id and message.string:
                    merged[message.id] = message
    return merged


@lru_cache(maxsize=None)
def translations(locale: str) -> Translations:
    buffer = BytesIO()
    write_mo(buffer, merged_catalogue(locale))
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str, **variables: object) -> str:
    text = translations(current_locale.get()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(current_locale.get()).ungettext(singular, plural, n)
    variables.setdefault("num", n)
    return text % variables


_ = gettext


@lru_cache(maxsize=8192)
def _trusted(locale: str, message: str) -> Markup:
    return Markup(translations(locale).ugettext(message))


def template_gettext(message: str, **variables: object) -> Markup:
    """`_()` in templates, as Jinja's new-style gettext does it (the translation is trusted
    markup, the values put into it are escaped), called directly: a page has dozens."""
    text = _trusted(current_locale.get(), message)
    return text % variables if variables else text


def template_ngettext(singular: str, plural: str, n: int, **variables: object) -> Markup:
    variables.setdefault("num", n)
    return Markup(translations(current_locale.get()).ungettext(singular, plural, n)) % variables


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The user's switch (cookie) wins; else the browser's preference; else Chinese."""
    if chosen in LOCALES:
        return chosen
    if not accept_language:
        return DEFAULT_LOCALE
    preferred = []
    for part in accept_language.split(","):
        tag = part.split(";")[0].strip().replace("-", "_")
        if tag and tag != "*":
            preferred.append(tag)
    for tag in preferred:
        if tag in _ALIASES:
            return _ALIASES[tag]
        base = tag.split("_")[0]
        if base in _ALIASES:
            return _ALIASES[base]
    return negotiate_locale(preferred, list(LOCALES), sep="_") or DEFAULT_LOCALE


def html_lang(locale: str) -> str:
    return "zh-Hans" if locale == "zh_Hans" else "en"


@lru_cache(maxsize=None)
def babel_locale(locale: str) -> Locale:
    return Locale.parse("zh_Hans_CN" if locale == "zh_Hans" else "en_GB")


def N_(message: str) -> str:
    """Marks a string for the catalogue where it is defined; translated where it is shown."""
    return message
