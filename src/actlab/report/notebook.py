"""What Jupyter shows for actlab's objects (their ``_repr_html_``): the same content and
figures as the reports, as one self-contained ``<div>`` per output
(:func:`actlab.report.page.fragment`).

* a comparison: the recommendation, the ranking and the key figures (learning curves and
  the test metric per seed of each model shape, and the metric against depth);
* a monitor: its findings, the latest signals per layer and the signals over training;
* a catalog entry: its card (formula, derivative, range, properties, frameworks) and the
  function with its derivative drawn.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from actlab.catalog.propagation import signal_propagation
from actlab.report import charts
from actlab.report.page import Legend, chart, fragment, table
from actlab.report.palette import colours

if TYPE_CHECKING:
    from actlab.catalog import Activation
    from actlab.comparison.result import CompareResult


def compare_html(result: CompareResult) -> str:
    """A comparison in a notebook: the answer first, then the ranking and key figures."""
    from actlab.report import html as report

    if not result.candidates:
        return f"<p>actlab comparison with no candidate results yet ({html.escape(str(result.path))})</p>"
    order = report._activation_order(result)
    palette = colours(order)
    names = [g for g in result.group_names() if any(c.group == g for c in result.candidates)]
    several = len(names) > 1
    figures: dict[str, list[charts.Panel]] = {}
    parts = []
    datas = []
    for g in names:
        data = charts.GroupData.build(
            g, result.metric, result.candidates, report._depth(result, g), order
        )
        datas.append(data)
        analysis = result.analyse(g)
        figures[f"curves-{g}"] = charts.curves_figure(data, palette)
        figures[f"strip-{g}"] = charts.strip_figure(data, palette, analysis.ranking)
        parts.append(
            report._recommendation_html(analysis, several)
            + (f"<h3>{html.escape(g)}</h3>" if several else "")
            + report.ranking_table(analysis, palette, result.shapes(g))
            + chart(f"curves-{g}", "Mean over seeds; band: the lowest to the highest seed.")
            + chart(f"strip-{g}", "One dot per seed; diamond: the mean with its interval.")
        )
    depths = [d.depth for d in datas]
    if several and len(set(depths)) == len(depths):
        pairs = [(d, result.analyse(d.name).ranking) for d in datas]
        figures["depth"] = charts.depth_figure(pairs, palette)
        parts.append(chart("depth", "Mean over seeds with its confidence interval, per depth."))
    where = f" Full report: {html.escape(str(result.path))}/report.html." if result.path else ""
    note = f'<p class="note">actlab comparison on {html.escape(str(result.data.get("name", "data")))}.{where}</p>'
    legend = Legend(
        "activation",
        palette,
        seeds=any(len(d.records[a]) > 1 for d in datas for a in d.activations),
    )
    return fragment("".join(parts) + note, figures=figures, legend=legend)


def activation_html(act: Activation) -> str:
    """A catalog entry: what ``actlab show`` prints, and f and f' drawn."""
    info = act.info
    rows = [
        ["formula", info.formula],
        ["derivative", info.derivative_formula],
        ["range", info.range_text()],
        ["properties", ", ".join(info.properties.labels()) or "none of the listed"],
        ["PyTorch", info.torch.name or info.torch.differences],
        ["Keras 3", info.keras.name or info.keras.differences],
    ]
    if info.inputs:
        rows.insert(1, ["inputs", info.inputs])
    if not act.is_vector or act.is_gated:
        p = signal_propagation(act)
        rows.append(
            ["init gain (--init auto)",
             f"{p.gain:.6g}: variance-preserving; chi_1 = {p.chi1:.4g} ({p.phase})"]
        )  # fmt: skip
    if info.aliases:
        rows.append(["aliases", ", ".join(info.aliases)])
    for name, p in info.params.items():
        rows.append([f"parameter {name}", f"{p['value']} (default {p['default']}): {p['doc']}"])
    uses = "".join(f"<li>{html.escape(u)}</li>" for u in info.use_cases)
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in info.notes)
    palette = colours([act.spec])
    body = (
        f"<h3>{html.escape(info.title)} <code>{html.escape(act.spec)}</code></h3>"
        + table(["", ""], rows)
        + (f"<p><strong>Use cases</strong></p><ul>{uses}</ul>" if uses else "")
        + notes
        + chart("function", "f(x) and its analytic derivative f'(x).")
    )
    return fragment(body, figures={"function": charts.function_figure([act], palette)})
