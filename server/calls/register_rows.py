"""The register's rows, each drawn once per content and reused (seed 000 第三篇: the call
register is the clerk's everyday screen, reloaded and searched all day).

A row's HTML depends only on what it shows, the language and the time zone, so those are
its key: a row is drawn again exactly when one of them changed, and there is nothing to
invalidate. Drawing a row costs some 60 µs of template work; finding it costs one lookup.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from server import i18n

ROW_TEMPLATE = "calls/_row.html"
# What a row shows (the page query's columns, less the total it carries for the pager).
SHOWN = ("id", "number", "received_at", "status", "category", "zone", "model_text", "serial_text",
         "customer.name", "customer.phone", "sold_unit.serial", "sold_unit.model.name", "branch.code",
         "branch.timezone", "wo_number", "wo_status", "wo_technician")
MAX_ROWS = 4096

_drawn: OrderedDict[tuple, Markup] = OrderedDict()


@pass_context
def register_row(context: Context, row: Mapping[str, Any]) -> Markup:
    """The <tr> of one call, from the cache when the same content was drawn before."""
    show_branch = bool(context.get("branches"))
    key = (tuple(row.get(name) for name in SHOWN), i18n.current_locale.get(), context.get("tz"), show_branch)
    html = _drawn.get(key)
    if html is None:
        html = Markup(context.environment.get_template(ROW_TEMPLATE).render(
            r=row, labels=context.get("labels"), tz=context.get("tz"), show_branch=show_branch))
        _drawn[key] = html
        if len(_drawn) > MAX_ROWS:
            _drawn.popitem(last=False)
    else:
        _drawn.move_to_end(key)
    return html
