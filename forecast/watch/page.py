"""The live page: one self-contained HTML file with a small inline script that follows the
watch over server-sent events. Rendered once per watch; everything that changes arrives as
data (`state.json`) and is set as text by the script."""

from __future__ import annotations

import functools

import jinja2


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("forecast.watch", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


def render_page(*, file: str) -> bytes:
    """The live page for the watched `file` (its name is escaped like any text)."""
    return _environment().get_template("live.html.j2").render(file=file).encode("utf-8")
