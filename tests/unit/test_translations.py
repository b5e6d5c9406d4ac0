"""Every string a user can see has a Chinese translation (Chinese first, English source)."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from server import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def extracted() -> dict[str, str]:
    """msgid → where it was found, from the Python sources and the templates."""
    found: dict[str, str] = {}
    for folder, method_map, options in (
        ("server", [("**.py", "python")], {}),
        ("pwa/templates", [("**.html", babel_extract)], {"extensions": "jinja2.ext.i18n"}),
    ):
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT / folder), method_map=method_map, keywords=KEYWORDS,
            options_map={"**": options},
        ):
            # a plural message is catalogued under its singular id
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid:
                found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def test_every_extracted_string_has_a_chinese_translation():
    catalogue = i18n.merged_catalogue("zh_Hans")
    missing = [f"{where}: {msgid!r}" for msgid, where in sorted(extracted().items(), key=lambda kv: kv[1])
               if not (catalogue.get(msgid) and catalogue.get(msgid).string)]
    assert not missing, "untranslated strings:\n" + "\n".join(missing)


def test_no_string_is_translated_two_different_ways():
    seen: dict[str, tuple[str, str]] = {}
    clashes = []
    for path in i18n.catalogue_files("zh_Hans"):
        with path.open("rb") as fp:
            for message in read_po(fp):
                if not message.id:
                    continue
                if message.id in seen and seen[message.id][1] != message.string:
                    clashes.append(f"{message.id!r}: {seen[message.id][0]} vs {path.name}")
                seen[message.id] = (path.name, message.string)
    assert not clashes, "\n".join(clashes)


def test_placeholders_survive_translation():
    import re

    catalogue = i18n.merged_catalogue("zh_Hans")
    wrong = []
    for message in catalogue:
        if message.id and message.string:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            names = set(re.findall(r"%\((\w+)\)s", ids[0]))
            if any(set(re.findall(r"%\((\w+)\)s", s)) != names for s in strings if s):
                wrong.append(ids[0])
    assert not wrong, wrong


def test_browser_language_and_switch_choose_the_locale():
    assert i18n.negotiate(None) == "zh_Hans"
    assert i18n.negotiate("zh-CN,zh;q=0.9") == "zh_Hans"
    assert i18n.negotiate("en-US,en;q=0.8") == "en"
    assert i18n.negotiate("fr-FR") == "zh_Hans"
    assert i18n.negotiate("en-US", chosen="zh_Hans") == "zh_Hans"
    i18n.current_locale.set("zh_Hans")
    assert i18n.gettext("Sign in") == "登录"
    i18n.current_locale.set("en")
    assert i18n.gettext("Sign in") == "Sign in"
