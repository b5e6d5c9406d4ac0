"""Every string the technician's screens and scripts show has a Chinese translation."""

import re
from pathlib import Path

from server.i18n import merged_catalogue
from server.tech.strings import CLIENT_STRINGS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_STRING = re.compile(r'''_\(\s*"((?:[^"\\]|\\.)*)"|_\(\s*'((?:[^'\\]|\\.)*)\'''')
PY_STRING = re.compile(r'''(?:N_|_)\(\s*"((?:[^"\\]|\\.)*)"''')


def source_strings() -> set[str]:
    found = set(CLIENT_STRINGS.values())
    for path in (ROOT / "pwa" / "templates" / "tech").glob("*.html"):
        for match in TEMPLATE_STRING.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    for path in (ROOT / "server" / "tech").glob("*.py"):
        found.update(PY_STRING.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_technician_string_has_chinese():
    catalogue = merged_catalogue("zh_Hans")
    missing = sorted(s for s in source_strings() if not (catalogue.get(s) and catalogue.get(s).string))
    assert missing == []


def test_placeholders_survive_translation():
    catalogue = merged_catalogue("zh_Hans")
    for source in source_strings():
        message = catalogue.get(source)
        wanted = sorted(re.findall(r"%\(\w+\)\w|\{\w+\}", source))
        assert sorted(re.findall(r"%\(\w+\)\w|\{\w+\}", message.string)) == wanted, source
