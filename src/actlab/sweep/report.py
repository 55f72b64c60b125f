"""The sweep's self-contained HTML report: aggregate ranking with a critical-difference
diagram, pairwise Wilcoxon verdicts beside the Nemenyi ones (and which of those depend on
the pool), per-dataset leaders, and the metric against depth per activation."""

from __future__ import annotations

import html
import math

from actlab.report.charts import Panel, direction, lines, series
from actlab.report.page import Legend, Section, callout, chart, render_page, table
from actlab.report.palette import colours
from actlab.sweep.analysis import AggregateRanking, SweepAnalysis
from actlab.sweep.grid import Grid


def cd_svg(agg: AggregateRanking, palette: dict[str, str]) -> str:
    """Critical-difference diagram (Demsar 2006) as inline SVG: activations on the
    average-rank axis (1 = best, left), bars joining activations whose ranks differ by less
    than the critical difference, and the CD itself as a red bar over the axis."""
    k = len(agg.activations)
    top = max(k, 2)
    left, right, axis_y = 40.0, 560.0, 46.0
    row = 22.0
    height = axis_y + 14 + len(agg.cliques) * 9 + k * row + 10

    def x(rank: float) -> float:
        return left + (rank - 1) / (top - 1) * (right - left)

    parts = [f'<line x1="{left}" y1="{axis_y}" x2="{right}" y2="{axis_y}" stroke="#1d2330"/>']
    for r in range(1, top + 1):
        parts.append(
            f'<line x1="{x(r):.1f}" y1="{axis_y - 4}" x2="{x(r):.1f}" y2="{axis_y}" '
            f'stroke="#1d2330"/><text x="{x(r):.1f}" y="{axis_y - 8}" '
            f'text-anchor="middle">{r}</text>'
        )
    cd = agg.critical_difference
    if cd is not None and math.isfinite(cd):
        parts.append(
            f'<line x1="{x(1):.1f}" y1="12" x2="{x(1 + cd):.1f}" y2="12" stroke="#b3261e" '
            f'stroke-width="2"/><text x="{x(1 + cd) + 6:.1f}" y="16">CD = {cd:.2f}</text>'
        )
    for n, (first, last) in enumerate(agg.cliques):
        y = axis_y + 8 + 9 * n
        lo, hi = agg.average_ranks[first], agg.average_ranks[last]
        parts.append(
            f'<line x1="{x(lo) - 3:.1f}" y1="{y}" x2="{x(hi) + 3:.1f}" y2="{y}" '
            f'stroke="#1d2330" stroke-width="4" stroke-linecap="round"/>'
        )
    first_row = axis_y + 14 + len(agg.cliques) * 9 + row / 2
    for i, (name, rank) in enumerate(zip(agg.activations, agg.average_ranks, strict=True)):
        colour, y = palette[name], first_row + i * row
        label = html.escape(f"{name} ({rank:.2f})")
        parts.append(
            f"<g><title>{label}: average rank over {agg.n_datasets} dataset(s)</title>"
            f'<line x1="{x(rank):.1f}" y1="{axis_y}" x2="{x(rank):.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="1.5"/>'
            f'<circle cx="{x(rank):.1f}" cy="{axis_y}" r="3.5" fill="{colour}"/>'
            f'<line x1="{x(rank):.1f}" y1="{y:.1f}" x2="{x(rank) + 12:.1f}" y2="{y:.1f}" '
            f'stroke="{colour}" stroke-width="1.5"/>'
            f'<text x="{x(rank) + 16:.1f}" y="{y + 4:.1f}">{label}</text></g>'
        )
    return (
        f'<svg class="figure" role="img" viewBox="0 0 {right + 200:.0f} {height:.0f}" '
        f'width="{right + 200:.0f}" height="{height:.0f}" font-size="12" '
        f'font-family="system-ui, sans-serif"><title>Critical-difference diagram</title>'
        + "".join(parts)
        + "</svg>"
    )


def depth_figure(
    dataset: str, by_activation: dict[str, dict[int, float]], metric: str, palette: dict[str, str]
) -> list[Panel]:
    """Test metric against depth, one line per activation (mean over widths and seeds)."""
    depths = sorted({d for points in by_activation.values() for d in points})
    items = [
        series(
            name,
            palette[name],
            key=name,
            values=[points.get(d, math.nan) for d in depths],
            points=True,
        )
        for name, points in by_activation.items()
    ]
    title = dataset + direction(metric)
    return [lines(title, "depth (hidden layers)", f"test {metric}", depths, items)]


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3g}"


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def render_report(grid: Grid, analysis: SweepAnalysis, statuses: dict[str, str]) -> str:
    """The whole report page as one HTML string (CSS embedded, figures inline SVG)."""
    agg = analysis.aggregate
    palette = colours(
        list(
            dict.fromkeys(
                [*agg.activations, *(a for by in analysis.metric_by_depth.values() for a in by)]
            )
        )
    )
    best = agg.activations[0] if agg.activations else "-"
    significance = (
        f"Friedman p = {agg.friedman_p:.3g}" if agg.friedman_p is not None else agg.friedman_note
    )
    summary = callout(
        f'<p class="headline">Best average rank: <strong>{html.escape(best)}</strong></p>'
        f"<p>{html.escape(significance)}. Ranked on the mean test metric per dataset over "
        f"{len(grid.seeds)} seed(s) and {len(grid.depths) * len(grid.widths)} shape(s); "
        f"{agg.n_datasets} dataset(s).</p>",
        kind="good" if agg.friedman_p is not None and agg.friedman_p < agg.alpha else "info",
        title="Summary",
    )
    rank_rows = [[a, _fmt(r, 2)] for a, r in zip(agg.activations, agg.average_ranks, strict=True)]
    cd_note = (
        f"Nemenyi critical difference at alpha = {agg.alpha}: {_fmt(agg.critical_difference, 3)}"
        " (activations joined by a bar are not significantly different)."
    )
    aggregate_html = (
        table(["activation", "average rank"], rank_rows, sortable=True)
        + f'<p class="note">{html.escape(agg.friedman_note)}. {html.escape(cd_note)}</p>'
        + (
            f"<figure>{cd_svg(agg, palette)}<figcaption>Critical-difference diagram"
            "</figcaption></figure>"
            if agg.activations
            else ""
        )
    )
    pair_rows = [
        [
            f"{pair.a} vs {pair.b}",
            pair.datasets,
            _p(pair.wilcoxon_p),
            _p(pair.wilcoxon_p_adjusted),
            f"{pair.wilcoxon} better" if pair.wilcoxon else "no difference shown",
            f"{pair.nemenyi} better" if pair.nemenyi else "no difference shown",
            pair.pool_note or "no",
        ]
        for pair in agg.pairs
    ]
    dependent = [p for p in agg.pairs if p.pool_dependent]
    pairwise_html = (
        table(
            [
                "pair",
                "datasets",
                "Wilcoxon p",
                "Holm-adjusted",
                "Wilcoxon verdict",
                "Nemenyi verdict",
                "Nemenyi verdict depends on the pool?",
            ],
            pair_rows,
        )
        + f'<p class="note">{html.escape(agg.wilcoxon_note)}. The Wilcoxon signed-rank test '
        "compares two activations on their own scores per dataset, so its verdict does not "
        "depend on which other activations were run; Nemenyi's mean-rank verdict can "
        "(Benavoli, Corani and Mangili, JMLR 2016): a verdict depends on the pool when "
        "removing one other activation changes it.</p>"
    )
    if dependent:
        summary += callout(
            "<p>"
            + html.escape("; ".join(f"{p.a} vs {p.b}: {p.pool_note}" for p in dependent))
            + ". Prefer the pairwise Wilcoxon verdicts for these pairs.</p>",
            kind="warn",
            title="Verdicts that depend on the pool",
        )
    dataset_rows = []
    for ds in analysis.datasets:
        for shape in ds.shapes:
            dataset_rows.append(
                [
                    ds.dataset,
                    shape.shape,
                    shape.winner,
                    ", ".join(shape.equivalent) or "-",
                    ", ".join(shape.unresolved) or "-",
                    shape.seeds,
                ]
            )
    per_dataset = table(
        ["dataset", "shape", "leader", "equivalent to it", "not resolved against it", "seeds"],
        dataset_rows,
        sortable=True,
    )
    per_dataset += (
        '<p class="note">Leader: best mean validation metric. Equivalent: within the practical '
        "margin (two one-sided paired tests); not resolved: neither shown worse beyond the "
        "margin nor equivalent; both Holm-adjusted over every pair (see each group's "
        "report).</p>"
    )
    figures: dict[str, list[Panel]] = {}
    for n, ds in enumerate(analysis.datasets):
        by_activation = analysis.metric_by_depth[ds.dataset]
        figures[f"depth-{n}"] = depth_figure(ds.dataset, by_activation, ds.metric, palette)
    depth_html = "".join(chart(f"depth-{n}") for n in range(len(analysis.datasets)))
    group_rows = [[key, status] for key, status in statuses.items()]
    sections = [
        Section("Summary", summary),
        Section("Aggregate ranking", aggregate_html),
        Section("Pairwise comparisons", pairwise_html),
        Section("Per dataset", per_dataset),
        Section("Metric vs depth", depth_html),
        Section("Groups", table(["group directory", "status"], group_rows)),
    ]
    return render_page(
        "actlab sweep",
        sections,
        figures=figures,
        legend=Legend("activation", palette),
        subtitle=f"{len(grid.datasets)} datasets x {len(grid.activations)} activations x "
        f"{len(grid.seeds)} seeds, {grid.kind} depths {list(grid.depths)}",
    )
