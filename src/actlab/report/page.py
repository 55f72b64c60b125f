"""A generic self-contained HTML page: embedded CSS, inline SVG figures, no external resources.

Used by the comparison report and by any other view that wants to hand a person one file
that opens offline. Nothing here knows about activations or comparisons.

* :func:`figure_to_svg` turns a matplotlib figure into inline ``<svg>`` markup (text kept as
  text, ids made unique per figure so that several figures can share one document).
* :func:`render_page` lays out a title, a table of contents and :class:`Section` blocks.
* :func:`table`, :func:`key_value_table` and :func:`callout` build escaped HTML fragments.
"""

from __future__ import annotations

import hashlib
import html
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

_SVG_START = re.compile(r"<svg\b")
_ID = re.compile(r'\sid="([^"]+)"')
_REF = re.compile(r"(url\(#|href=\"#)([^)\"]+)")
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


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


def figure_to_svg(fig: Figure, *, dpi: int = 100) -> str:
    """Inline SVG markup of ``fig``; the figure is closed afterwards.

    Text is written as ``<text>`` (``svg.fonttype = none``), which keeps the markup small
    and the labels searchable. Ids nothing refers to are dropped; the others (clip paths,
    markers) are prefixed with a hash of the figure's markup so that the figures on one
    page never collide.
    Artists drawn with ``rasterized=True`` are embedded as ``data:`` PNG images at ``dpi``.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"figure_to_svg needs a matplotlib Figure, got {type(fig).__name__}")
    buf = io.StringIO()
    try:
        with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "actlab"}):
            fig.savefig(buf, format="svg", dpi=dpi, metadata={"Date": None})
    finally:
        plt.close(fig)
    svg = buf.getvalue()
    start = _SVG_START.search(svg)
    if start is None:  # pragma: no cover - matplotlib always writes an <svg> element
        raise RuntimeError("matplotlib produced no <svg> element")
    svg = _METADATA.sub("", svg[start.start() :])
    prefix = "f" + hashlib.sha1(svg.encode()).hexdigest()[:10] + "-"
    referenced = {m.group(2) for m in _REF.finditer(svg)}

    def rename(match: re.Match[str]) -> str:
        ident = match.group(1)
        return f' id="{prefix}{ident}"' if ident in referenced else ""

    svg = _ID.sub(rename, svg)
    svg = _REF.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)
    return svg.replace("<svg ", '<svg class="figure" role="img" ', 1).strip()


def figure_block(fig: Figure, caption: str = "", *, dpi: int = 100) -> str:
    """``<figure>`` with the inline SVG of ``fig`` and an optional (escaped) caption."""
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{figure_to_svg(fig, dpi=dpi)}{cap}</figure>"


class Markup(str):
    """A string already safe to place in HTML (not escaped by :func:`table`)."""


def _cell(value: Any) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape("" if value is None else str(value))


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    row_classes: Sequence[str] | None = None,
    caption: str = "",
) -> str:
    """An HTML table; cells are escaped unless they are :class:`Markup`."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = row_classes[i] if row_classes and i < len(row_classes) else ""
        attr = f' class="{html.escape(cls)}"' if cls else ""
        body.append(f"<tr{attr}>" + "".join(f"<td>{_cell(c)}</td>" for c in row) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
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


_CSS = """
:root { --fg:#1d2330; --muted:#5b6473; --bg:#ffffff; --panel:#f6f7f9; --line:#dde1e7;
        --accent:#2b5fa8; --good:#2d7a3a; --warn:#a46a00; --bad:#b3261e; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
       sans-serif; color:var(--fg); background:var(--bg); }
header { padding: 28px 40px 18px; border-bottom: 1px solid var(--line); background: var(--panel); }
header h1 { margin: 0 0 4px; font-size: 26px; }
header .subtitle { color: var(--muted); margin: 0; }
nav { padding: 10px 40px; border-bottom: 1px solid var(--line); font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 16px; white-space: nowrap; }
nav a:hover { text-decoration: underline; }
main { max-width: 1280px; padding: 8px 40px 48px; }
section { margin-top: 28px; }
section h2 { font-size: 20px; margin: 0 0 10px; padding-bottom: 4px;
             border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 18px 0 6px; }
p.note { color: var(--muted); font-size: 13px; margin: 4px 0 10px; }
figure { margin: 10px 0 18px; }
figure svg.figure, figure img { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
caption { text-align: left; color: var(--muted); padding-bottom: 4px; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left;
         vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #eaf4ec; font-weight: 600; }
tr.diverged td { background: #fbeaea; }
.badge { display:inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px;
         font-weight: 600; color: #fff; background: var(--muted); white-space: nowrap; }
.badge.good { background: var(--good); } .badge.warn { background: var(--warn); }
.badge.bad { background: var(--bad); }
.swatch { display:inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin-right: 6px; vertical-align: baseline; }
.callout { border-left: 5px solid var(--accent); background: var(--panel); padding: 12px 16px;
           margin: 10px 0 14px; border-radius: 0 6px 6px 0; }
.callout > strong { display:block; margin-bottom: 4px; font-size: 15px; }
.callout.good { border-color: var(--good); background: #eef6ef; }
.callout.warn { border-color: var(--warn); background: #fdf5e6; }
.callout.bad { border-color: var(--bad); background: #fbeeed; }
.callout ul { margin: 4px 0 0; padding-left: 20px; }
.headline { font-size: 22px; margin: 2px 0 8px; }
.grid2 { display: grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 8px 24px; }
"""


def render_page(title: str, sections: list[Section], *, subtitle: str = "") -> str:
    """A complete HTML document: header, table of contents and the sections in order.

    Everything the page needs is inside it (CSS embedded, figures inline); it makes no
    network request and runs no script. Anchors are made unique when titles repeat.
    """
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"page title must be a non-empty string, got {title!r}")
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
    sub = f'<p class="subtitle">{html.escape(subtitle)}</p>' if subtitle else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><header><h1>{html.escape(title)}</h1>{sub}</header>"
        f"<nav>{''.join(nav)}</nav><main>{''.join(body)}</main></body></html>\n"
    )
