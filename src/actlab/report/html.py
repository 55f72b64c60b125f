"""The comparison report: one self-contained ``report.html`` per run directory.

Sections, in reading order: the answer in plain words, then its evidence (each verdict,
the rule that chose, diverged candidates called out), the ranking and verdict table(s)
with the method, metric vs depth (several groups), learning curves, test metric
per seed, gradient flow, dead and saturated units, activation statistics, time and cost,
the candidate functions, and the configuration, data and environment of the run.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actlab import health
from actlab.analysis import GroupAnalysis, Verdict, words
from actlab.analysis.stats import BPC
from actlab.catalog import SpecError, get
from actlab.catalog.widths import MATCH_RULES
from actlab.comparison.result import CompareResult
from actlab.report import charts
from actlab.report.charts import GroupData, Panel
from actlab.report.page import (
    Legend,
    Markup,
    Section,
    callout,
    chart,
    key_value_table,
    render_page,
    table,
)
from actlab.report.palette import colours
from actlab.store.atomic import replace_atomically
from actlab.store.errors import RunDirError


def _esc(text: object) -> str:
    return html.escape(str(text))


def _activation_order(result: CompareResult) -> list[str]:
    """Activations in the order the run asked for them (config), then any others found."""
    found = list(dict.fromkeys(c.activation for c in result.candidates))
    asked = [a for a in result.config.get("activations", []) if a in found]
    return list(dict.fromkeys([*asked, *found]))


def _depth(result: CompareResult, group: str) -> int:
    """Number of hidden layers of a group, from its ``hidden`` widths or its records."""
    hidden = result.groups.get(group, {}).get("hidden")
    if hidden:
        return len(hidden)
    for c in result.candidates:
        if c.group == group:
            for layers in c.history.get("grad_norm", []):
                if layers:
                    return len(layers)
    return 1


def _fmt_summary(s: Any) -> str:
    """``mean (lo-hi)``: the interval need not be symmetric (it stays within the range)."""
    if not math.isfinite(s.mean):
        return "n/a"
    if not math.isfinite(s.ci_low):
        return f"{s.mean:.4f}"
    return f"{s.mean:.4f} ({s.ci_low:.4f}–{s.ci_high:.4f})"


_BADGE = {
    Verdict.LEADER: "good",
    Verdict.EQUIVALENT: "good",
    Verdict.WORSE: "warn",
    Verdict.NO_RESULT: "bad",
    Verdict.NOT_RESOLVED: "",
    Verdict.NOT_CONCLUDED: "",
}


def _verdict_badge(analysis: GroupAnalysis, activation: str) -> Markup:
    """The verdict as a badge; its sentence (with the power note) as the tooltip."""
    c = analysis.verdicts.of(activation)
    title = words.comparison(c, analysis.verdicts)
    return Markup(
        f'<span class="badge {_BADGE[c.verdict]}" title="{_esc(title)}">'
        f"{_esc(words.verdict_label(c))}</span>"
    )


def _behind(analysis: GroupAnalysis, activation: str) -> str:
    c = analysis.verdicts.of(activation)
    metric = analysis.verdicts.metric
    if not math.isfinite(c.difference):
        return "—"
    text = words.difference(c.difference, metric, signed=True)
    if math.isfinite(c.ci_low):
        text += f" ({words.interval(c.ci_low, c.ci_high, metric)})"
    return text


def _fmt_ratio(ratio: float) -> Markup:
    if not math.isfinite(ratio):
        return Markup("n/a")
    text = f"{ratio:.3g}"
    if health.is_vanishing(ratio):
        return Markup(f'<span class="badge warn" title="vanishing gradient">{text}</span>')
    return Markup(_esc(text))


def _fmt_fraction(value: float, warn_from: float) -> Markup:
    if not math.isfinite(value):
        return Markup("n/a")
    text = f"{value:.1%}"
    if value >= warn_from:
        return Markup(f'<span class="badge warn">{text}</span>')
    return Markup(text)


def _swatch(act: str, palette: Mapping[str, str]) -> Markup:
    return Markup(f'<span class="swatch" style="background:{palette[act]}"></span>{_esc(act)}')


def ranking_table(
    analysis: GroupAnalysis,
    palette: Mapping[str, str],
    shapes: Mapping[str, tuple[list[int], int | None]] | None = None,
) -> str:
    """The ranking with every verdict, leader first; rows with diverged seeds highlighted.
    Bits per character (lower is better) are labelled so, with test accuracy beside them;
    ``shapes`` (:meth:`CompareResult.shapes`: gated candidates resized by ``--match``) add
    each activation's layer widths and parameter count."""
    ranking, v = analysis.ranking, analysis.verdicts
    metric = v.metric
    level = f"{v.level:.0%}"
    accuracy = any(r.test_accuracy is not None for r in ranking.rows)
    named = charts.metric_label(metric) if metric == BPC else metric
    headers = [
        "rank",
        "activation",
        *(["widths (parameters)"] if shapes else []),
        f"validation {named}{charts.direction(metric)} (mean, {level} CI)",
        f"test {named} (mean, {level} CI)",
        *([f"test accuracy (mean, {level} CI)"] if accuracy else []),
        f"behind the leader (paired, {level} CI)",
        "verdict",
        "p, adjusted",
        "seeds ok / run",
        "gradient ratio first/last layer",
        "dead units (worst layer)",
        "saturated units (worst layer)",
        "cost vs relu",
    ]
    rows, classes = [], []
    for r in ranking.rows:
        ok = r.seeds - r.diverged
        seeds: Any = f"{ok} / {r.seeds}"
        if r.diverged:
            seeds = Markup(f'{_esc(seeds)} <span class="badge bad">{r.diverged} diverged</span>')
        shape = []
        if shapes:
            widths, params = shapes.get(r.activation, ([], None))
            shape = [f"{'x'.join(map(str, widths)) or '—'} ({params or 0:,})"]
        rows.append(
            [
                r.rank,
                _swatch(r.activation, palette),
                *shape,
                _fmt_summary(r.val),
                _fmt_summary(r.test),
                *(
                    [_fmt_summary(r.test_accuracy) if r.test_accuracy else "n/a"]
                    if accuracy
                    else []
                ),
                _behind(analysis, r.activation),
                _verdict_badge(analysis, r.activation),
                words.adjusted_p(v.of(r.activation)),
                seeds,
                _fmt_ratio(r.gradient_ratio),
                _fmt_fraction(r.dead_fraction, health.DEAD_FRACTION),
                _fmt_fraction(r.saturated_fraction, health.SATURATED_FRACTION),
                f"{r.cost:.2f}x" if r.cost is not None and math.isfinite(r.cost) else "n/a",
            ]
        )
        classes.append("best" if r.activation == v.leader else ("diverged" if r.diverged else ""))
    return table(headers, rows, row_classes=classes, sortable=True)


def _method_note(analysis: GroupAnalysis) -> str:
    text = (
        analysis.method
        + f" Gradient ratio: first hidden layer's weight-gradient norm over the last's at the "
        f"final epoch (at most 1/{health.VANISHING_RATIO:g}: vanishing). Dead or saturated "
        f"units: badge from {health.DEAD_FRACTION:.0%} of a layer. Cost: measured "
        "forward+backward time of the activation alone, relative to relu."
    )
    return f'<p class="note">{_esc(text)}</p>'


def _widths_note(result: CompareResult, group: str) -> str:
    """How the widths column came about, when candidates differ in shape."""
    if not result.shapes(group):
        return ""
    rule = MATCH_RULES[result.config.get("match", "params")]
    return (
        f'<p class="note">Widths: output units of each hidden layer or FFN block ({_esc(rule)}; '
        "a gated layer projects to twice its width, value and gate); parameters: each "
        "candidate's trainable values.</p>"
    )


def _recommendation_html(analysis: GroupAnalysis, several: bool) -> str:
    """The answer in plain words, then the evidence, then the warnings."""
    where = f" for {analysis.group}" if several else ""
    rec = analysis.recommendation
    text = _esc(analysis.headline)
    if rec.activation is not None:  # the answer's activation in bold
        name = _esc(rec.activation)
        text = text.replace(f"Use {name}", f"Use <strong>{name}</strong>{_esc(where)}", 1)
    head = f'<p class="headline">{text}</p>'
    kind = "bad" if rec.activation is None else ("info" if rec.provisional else "good")
    reasons = "".join(f"<li>{_esc(s)}</li>" for s in analysis.reasons)
    out = callout(f"{head}<p>Evidence:</p><ul>{reasons}</ul>", kind=kind)
    if analysis.warnings:
        items = "".join(f"<li>{_esc(w)}</li>" for w in analysis.warnings)
        out += callout(f"<ul>{items}</ul>", kind="warn", title="Warnings")
    return out


def _diverged_callout(datas: list[GroupData], several: bool) -> str:
    rows = [(d.name, r.activation, r.seed, r.diverged_epoch) for d in datas for r in d.diverged()]
    if not rows:
        return ""
    items = "".join(
        f"<li><strong>{_esc(act)}</strong>, seed {_esc(seed)}: diverged at epoch "
        f"{_esc(epoch if epoch is not None else '?')}"
        f"{_esc(f' ({group})') if several else ''}</li>"
        for group, act, seed, epoch in rows
    )
    body = (
        f'<ul>{items}</ul><p class="note">A diverged candidate (loss or weights not finite) '
        "was frozen at that epoch; it is left out of means and marked with a red cross in the "
        "figures.</p>"
    )
    return callout(body, kind="bad", title=f"Diverged candidates ({len(rows)})")


def _functions_html(
    activations: list[str], palette: Mapping[str, str], figures: dict[str, list[Panel]]
) -> str:
    acts, unknown = [], []
    for spec in activations:
        try:
            acts.append(get(spec))
        except SpecError:
            unknown.append(spec)
    out = ""
    if acts:
        figures["functions"] = charts.function_figure(acts, palette)
        out += chart("functions", "Each candidate f(x) and its analytic derivative f'(x).")
    if unknown:
        out += f'<p class="note">Not in the catalog, not drawn: {_esc(", ".join(unknown))}.</p>'
    return out


def _learned_html(result: CompareResult) -> str:
    """What the learnable activations learned (mean over seeds and layers, per group);
    empty when none learns anything."""
    rows = [
        [g, act, ", ".join(f"{name} = {value:.3g}" for name, value in params.items())]
        for g in result.group_names()
        for act, params in result.learned(g).items()
        if params
    ]
    if not rows:
        return ""
    note = (
        '<p class="note">Learnable parameters at the end of training, mean over the seeds '
        "that did not diverge and over the layers (each layer learns its own; results.json "
        "has every value). The curves above start from the spec's values.</p>"
    )
    return note + table(["group", "activation", "learned"], rows)


def _per_group(
    datas: list[GroupData],
    name: str,
    make: Any,
    caption: str,
    figures: dict[str, list[Panel]],
) -> str:
    """Figure ``name`` of each group (``make(group) -> panels``), placed one after another."""
    several = len(datas) > 1
    parts = []
    for d in datas:
        title = f"<h3>{_esc(d.name)} ({d.depth} hidden layers)</h3>" if several else ""
        figure_id = f"{name}-{d.name}"
        figures[figure_id] = make(d)
        parts.append(title + chart(figure_id, caption))
    return "".join(parts)


def build_report(result: CompareResult) -> str:
    """The complete HTML document for ``result``."""
    if not result.candidates:
        raise ValueError("the comparison has no candidate results to report on")
    order = _activation_order(result)
    palette = colours(order)
    names = [g for g in result.group_names() if any(c.group == g for c in result.candidates)]
    if not names:
        raise ValueError(f"no candidate belongs to a listed group (groups: {result.group_names()})")
    several = len(names) > 1
    datas = [
        GroupData.build(g, result.metric, result.candidates, _depth(result, g), order)
        for g in names
    ]
    analyses = {g: result.analyse(g) for g in names}
    rankings = {g: a.ranking for g, a in analyses.items()}

    rec_html = "".join(
        _recommendation_html(analyses[g], several) for g in names
    ) + _diverged_callout(datas, several)
    table_html = "".join(
        (f"<h3>{_esc(g)}</h3>" if several else "")
        + ranking_table(analyses[g], palette, result.shapes(g))
        + _widths_note(result, g)
        for g in names
    ) + _method_note(analyses[names[0]])

    figures: dict[str, list[Panel]] = {}
    sections = [
        Section("Recommendation", rec_html, "recommendation"),
        Section("Ranking and verdicts", table_html, "ranking"),
    ]
    depths = [d.depth for d in datas]
    if several and len(set(depths)) == len(depths):
        pairs = sorted(((d, rankings[d.name]) for d in datas), key=lambda p: p[0].depth)
        figures["depth"] = charts.depth_figure(pairs, palette)
        sections.append(
            Section(
                "Metric vs depth",
                chart("depth", "Mean over seeds with its confidence interval, per depth."),
                "depth",
            )
        )
    sections += [
        Section(
            "Learning curves",
            _per_group(
                datas,
                "curves",
                lambda d: charts.curves_figure(d, palette),
                "Mean over seeds; the band spans the minimum to the maximum seed.",
                figures,
            ),
            "curves",
        ),
        Section(
            "Test metric per seed",
            _per_group(
                datas,
                "test-per-seed",
                lambda d: charts.strip_figure(d, palette, rankings[d.name]),
                "One dot per seed; diamonds: mean with its confidence interval.",
                figures,
            ),
            "test-per-seed",
        ),
        Section(
            "Gradient flow",
            _per_group(
                datas,
                "gradients",
                lambda d: charts.gradient_figure(d, palette),
                "Log scale. A line that falls towards layer 1 means the gradient vanishes "
                "on its way to the input; the early layers then learn slowly.",
                figures,
            ),
            "gradients",
        ),
        Section(
            "Dead and saturated units",
            _per_group(
                datas,
                "units",
                lambda d: charts.unit_health_figure(d, palette),
                "Mean over seeds at the final epoch; band: min to max seed.",
                figures,
            ),
            "units",
        ),
        Section(
            "Activation statistics",
            _per_group(
                datas,
                "activations",
                lambda d: charts.activation_stats_figure(d, palette),
                "A self-normalizing activation (selu) keeps mean near 0 and std near 1 "
                "through the layers.",
                figures,
            ),
            "activations",
        ),
        Section(
            "Time and cost",
            _per_group(
                datas,
                "time",
                lambda d: charts.time_figure(d, palette, result.costs),
                "Left: wall time of each epoch of the stacked model (every candidate trains in "
                "the same step). Right: each activation's forward+backward pass timed alone on "
                "this machine, relative to relu.",
                figures,
            ),
            "time",
        ),
        Section("How it trained", _training_html(result, names), "training"),
        Section(
            "Activation functions",
            _functions_html(order, palette, figures) + _learned_html(result),
            "functions",
        ),
        Section("Reproducibility", _reproducibility_html(result), "reproducibility"),
    ]
    data_name = result.data.get("name", "data")
    n = rankings[names[0]].n_seeds
    subtitle = (
        f"{len(order)} activations × {n} seeds on {data_name}, "
        f"{len(names)} model shape{'s' if several else ''} ({', '.join(names)})"
    )
    legend = Legend(
        "activation",
        palette,
        seeds=any(len(d.records[a]) > 1 for d in datas for a in d.activations),
    )
    return render_page(
        "actlab comparison report", sections, subtitle=subtitle, figures=figures, legend=legend
    )


def _training_html(result: CompareResult, names: list[str]) -> str:
    """Per group: how its candidates trained (stacked, vmapped, or one at a time and why)
    and, for a user's model, how its initial weights were made."""
    items = "".join(f"<li><b>{_esc(g)}</b>: {_esc(result.how_it_trained(g))}</li>" for g in names)
    user = result.config.get("user_model")
    if user:
        items += f"<li>initial weights: {_esc(user.get('init', ''))}</li>"
    return f"<ul>{items}</ul>"


def _reproducibility_html(result: CompareResult) -> str:
    parts = []
    for title, values in (
        ("Configuration", result.config),
        ("Data", result.data),
        ("Environment", result.environment),
        ("Model shapes", result.groups),
    ):
        if values:
            parts.append(f"<h3>{title}</h3>" + key_value_table(values))
    return '<div class="grid2">' + "".join(f"<div>{p}</div>" for p in parts) + "</div>"


def write_report(result: CompareResult, path: str | Path) -> Path:
    """Write the self-contained report of ``result`` to ``path`` (parents created),
    atomically: an interrupted write leaves the previous report. A path that cannot be
    written (a directory, no permission) is a one-line RunDirError."""
    path = Path(path)
    document = build_report(result)
    try:
        replace_atomically(path, lambda tmp: tmp.write_text(document, encoding="utf-8"))
    except OSError as exc:
        raise RunDirError(
            f"{path}: cannot write the report ({exc.strerror}); the results are saved in "
            f"{path.parent / 'results.json'} (`actlab report {path.parent}` writes it again)"
        ) from None
    return path


__all__ = ["build_report", "ranking_table", "write_report"]
