"""A generic self-contained HTML page whose figures the browser draws from embedded data.

Used by the comparison, sweep and diagnose reports and by the notebook views. Nothing here
knows about activations or comparisons.

* :func:`render_page` lays out a title, a table of contents and :class:`Section` blocks,
  and embeds everything the page needs: the stylesheet, the figures' data as JSON, the
  vendored charting library (uPlot, MIT, ``assets/LICENSE-uPlot.txt``) and the script that
  draws the figures (``assets/report.js``). It makes no network request.
* :func:`fragment` is the same content as one ``<div>`` for a notebook cell.
* :func:`chart` places a figure; the figure itself is a list of panels (see
  :mod:`actlab.report.charts`) passed in ``figures``.
* :func:`table`, :func:`key_value_table` and :func:`callout` build escaped HTML fragments.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np

ASSETS = Path(__file__).with_name("assets")
SIGNIFICANT = 5
"""Significant digits of the numbers embedded in a page: plenty for a figure, and it keeps
the default comparison's page small."""


@dataclass
class Section:
    """One titled block of the page; ``html`` is trusted markup placed as is.

    ``anchor`` is the fragment id used by the table of contents (derived from the title
    when empty).
    """

    title: str
    html: str
    anchor: str = ""


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "section"


class Markup(str):
    """A string already safe to place in HTML (not escaped by :func:`table`)."""


class Cell(NamedTuple):
    """A table cell with the number a sortable table orders it by (``None``: last)."""

    content: Any
    sort: float | None


def _cell(value: Any) -> str:
    if isinstance(value, Cell):
        key = value.sort
        attr = "" if key is None or not math.isfinite(key) else repr(float(key))
        return f'<td data-sort="{attr}">{_content(value.content)}</td>'
    return f"<td>{_content(value)}</td>"


def _content(value: Any) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape("" if value is None else str(value))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    row_classes: Sequence[str] | None = None,
    caption: str = "",
    sortable: bool = False,
) -> str:
    """An HTML table; cells are escaped unless they are :class:`Markup`. A ``sortable``
    table sorts by a column when its header is clicked (:class:`Cell` gives the order)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = row_classes[i] if row_classes and i < len(row_classes) else ""
        attr = f' class="{html.escape(cls)}"' if cls else ""
        body.append(f"<tr{attr}>" + "".join(_cell(c) for c in row) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    cls = ' class="sortable"' if sortable else ""
    return (
        f'<div class="table-wrap"><table{cls}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def key_value_table(values: Mapping[str, Any], *, caption: str = "") -> str:
    """Two-column table of a flat mapping; nested values are shown as ``k=v`` lists."""

    def show(v: Any) -> str:
        if isinstance(v, Mapping):
            return ", ".join(f"{k}={show(x)}" for k, x in v.items())
        if isinstance(v, (list, tuple)):
            return ", ".join(show(x) for x in v)
        return "" if v is None else str(v)

    return table(["key", "value"], [[k, show(v)] for k, v in values.items()], caption=caption)


def callout(
    body_html: str, *, kind: Literal["info", "good", "warn", "bad"] = "info", title: str = ""
) -> str:
    """A highlighted box; ``body_html`` is trusted markup, ``title`` is escaped."""
    head = f"<strong>{html.escape(title)}</strong>" if title else ""
    return f'<div class="callout {kind}">{head}{body_html}</div>'


def chart(figure_id: str, caption: str = "") -> str:
    """Where figure ``figure_id`` (a key of the page's ``figures``) is drawn, with an
    optional (escaped) caption."""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure class="chart" data-figure="{html.escape(figure_id)}">'
        f'<div class="panels"></div>{cap}</figure>'
    )


def _json(value: Any) -> str:
    """``value`` as JSON: floats to :data:`SIGNIFICANT` digits (NumPy arrays formatted in
    bulk), NaN/inf as ``null``."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "fc" or value.dtype == object:
            a = np.asarray(value, dtype=float)
            if a.ndim == 0:
                return _json(float(a))
            if a.ndim > 1:
                return "[" + ",".join(_json(row) for row in a) + "]"
            text = np.char.mod(f"%.{SIGNIFICANT}g", a)
            return "[" + ",".join(np.where(np.isfinite(a), text, "null")) + "]"
        return json.dumps(value.tolist())
    if isinstance(value, float | np.floating):
        v = float(value)
        return f"{v:.{SIGNIFICANT}g}" if math.isfinite(v) else "null"
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return json.dumps(value)


def embedded_json(value: Any) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element."""
    return _json(value).replace("<", "\\u003c")  # no "</script>" or "<!--" can end it


@functools.cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


def _styles() -> str:
    return _asset("uPlot.min.css") + _asset("report.css")


def _scripts() -> str:
    """The charting library and the drawing script, as inline ``<script>`` elements."""
    return (
        f"<script>/* uPlot 1.6.32, (c) Leon Sorokin, MIT licence */\n{_asset('uPlot.iife.min.js')}"
        f"</script><script>{_asset('report.js')}</script>"
    )


@dataclass(frozen=True)
class Legend:
    """The legend of a page's figures: ``title`` (``"activation"``, ``"layer"``) and its
    entries, key -> colour, in order. ``seeds``: offer to draw each seed's curve."""

    title: str
    colours: Mapping[str, str]
    seeds: bool = False

    def to_dict(self) -> dict[str, Any]:
        items = [{"key": k, "color": c} for k, c in self.colours.items()]
        return {"title": self.title, "items": items, "seeds": self.seeds}


def _drawing(figures: Mapping[str, Any], legend: Legend | None) -> str:
    """The figures' data, the charting library and the drawing script."""
    data = {"figures": figures, "legend": legend.to_dict() if legend else None}
    return (
        f'<script type="application/json" class="actlab-data">{embedded_json(data)}</script>'
        + _scripts()
    )


def _body(sections: Sequence[Section]) -> tuple[str, str]:
    """The table of contents and the sections."""
    seen: set[str] = set()
    nav, body = [], []
    for section in sections:
        if not isinstance(section, Section):
            raise TypeError(f"sections must be Section objects, got {type(section).__name__}")
        anchor = base = _slug(section.anchor or section.title)
        n = 2
        while anchor in seen:
            anchor, n = f"{base}-{n}", n + 1
        seen.add(anchor)
        name = html.escape(section.title)
        nav.append(f'<a href="#{anchor}">{name}</a>')
        body.append(f'<section id="{anchor}"><h2>{name}</h2>{section.html}</section>')
    return "".join(nav), "".join(body)


def render_page(
    title: str,
    sections: list[Section],
    *,
    subtitle: str = "",
    figures: Mapping[str, Any] | None = None,
    legend: Legend | None = None,
) -> str:
    """A complete HTML document: header, table of contents and the sections in order.

    ``figures`` maps each :func:`chart` id to its panels; ``legend`` names what the
    figures' series belong to. Everything the page needs is inside it (CSS, data and
    scripts embedded); it makes no network request. Anchors are made unique when titles
    repeat.
    """
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"page title must be a non-empty string, got {title!r}")
    nav, content = _body(sections)
    if figures:
        content = '<div class="legend"></div>' + content + _drawing(figures, legend)
    sub = f'<p class="subtitle">{html.escape(subtitle)}</p>' if subtitle else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_styles()}</style></head>"
        f'<body class="actlab actlab-root"><header><h1>{html.escape(title)}</h1>{sub}</header>'
        f"<nav>{nav}</nav><main>{content}</main></body></html>\n"
    )


def fragment(
    html_body: str,
    *,
    figures: Mapping[str, Any] | None = None,
    legend: Legend | None = None,
) -> str:
    """``html_body`` (trusted markup holding :func:`chart` placeholders) as one
    self-contained ``<div>`` for a notebook's output: the styles scoped to it, its own
    data, and the scripts that draw its figures (several such outputs share one page)."""
    head = '<div class="legend"></div>' if figures and legend else ""
    drawing = _drawing(figures, legend) if figures else ""
    return (
        f'<div class="actlab actlab-root"><style>{_styles()}</style>{head}{html_body}{drawing}'
        "<script>window.actlabReport && window.actlabReport.renderAll();</script></div>"
    )
