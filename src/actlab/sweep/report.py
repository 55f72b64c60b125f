"""The sweep's self-contained HTML report: aggregate ranking with a critical-difference
diagram, pairwise Wilcoxon verdicts beside the Nemenyi ones (and which of those depend on
the pool), per-dataset leaders, and the metric against depth per activation."""

from __future__ import annotations

import html
import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from actlab.report.page import Section, callout, figure_block, render_page, table
from actlab.report.palette import colours
from actlab.sweep.analysis import AggregateRanking, SweepAnalysis
from actlab.sweep.grid import Grid


def cd_figure(agg: AggregateRanking) -> Figure:
    """Critical-difference diagram (Demsar 2006): activations on the average-rank axis
    (1 = best, left), bars joining activations whose ranks differ by less than the CD."""
    k = len(agg.activations)
    fig, ax = plt.subplots(figsize=(7.5, 1.6 + 0.32 * k))
    ax.set_xlim(0.8, max(k, 2) + 0.2)
    ax.set_ylim(-0.8 - 0.35 * len(agg.cliques), k + 0.8)
    ax.axhline(k + 0.3, color="#1d2330", lw=1)
    for r in range(1, max(k, 2) + 1):
        ax.text(r, k + 0.45, str(r), ha="center", va="bottom", fontsize=9)
    palette = colours(agg.activations)
    for i, (name, rank) in enumerate(zip(agg.activations, agg.average_ranks, strict=True)):
        y = k - i - 0.2
        ax.plot([rank, rank], [k + 0.3, y], color=palette[name], lw=1.2)
        ax.plot([rank], [k + 0.3], "o", color=palette[name], ms=4)
        ax.text(rank + 0.04, y, f"{name} ({rank:.2f})", va="center", fontsize=9)
    for n, (first, last) in enumerate(agg.cliques):
        y = -0.3 - 0.35 * n
        lo, hi = agg.average_ranks[first], agg.average_ranks[last]
        ax.plot([lo - 0.03, hi + 0.03], [y, y], color="#1d2330", lw=3, solid_capstyle="round")
    if agg.critical_difference is not None and math.isfinite(agg.critical_difference):
        cd = agg.critical_difference
        ax.plot([1, 1 + cd], [k + 0.75, k + 0.75], color="#b3261e", lw=2)
        ax.text(1 + cd + 0.05, k + 0.75, f"CD = {cd:.2f}", va="center", fontsize=9)
    ax.axis("off")
    fig.tight_layout()
    return fig


def depth_figure(dataset: str, by_activation: dict[str, dict[int, float]], metric: str) -> Figure:
    """Test metric against depth, one line per activation (mean over widths and seeds)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    palette = colours(list(by_activation))
    for name, points in by_activation.items():
        depths = sorted(points)
        ax.plot(depths, [points[d] for d in depths], "o-", color=palette[name], label=name)
    ax.set_xlabel("depth (hidden layers)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(dataset, fontsize=11)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _p(value: float | None) -> str:
    if value is None:
        return "-"
    return "< 0.001" if value < 0.001 else f"{value:.3g}"


def _fmt(value: float | None, digits: int = 4) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def render_report(grid: Grid, analysis: SweepAnalysis, statuses: dict[str, str]) -> str:
    """The whole report page as one HTML string (CSS embedded, figures inline SVG)."""
    agg = analysis.aggregate
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
        table(["activation", "average rank"], rank_rows)
        + f'<p class="note">{html.escape(agg.friedman_note)}. {html.escape(cd_note)}</p>'
        + (figure_block(cd_figure(agg), "Critical-difference diagram") if agg.activations else "")
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
    )
    per_dataset += (
        '<p class="note">Leader: best mean validation metric. Equivalent: within the practical '
        "margin (two one-sided paired tests); not resolved: neither shown worse beyond the "
        "margin nor equivalent; both Holm-adjusted over every pair (see each group's "
        "report).</p>"
    )
    depth_html = "".join(
        figure_block(depth_figure(ds.dataset, analysis.metric_by_depth[ds.dataset], ds.metric))
        for ds in analysis.datasets
    )
    group_rows = [[key, status] for key, status in statuses.items()]
    sections = [
        Section("Summary", summary),
        Section("Aggregate ranking", aggregate_html),
        Section("Pairwise comparisons", pairwise_html),
        Section("Per dataset", per_dataset),
        Section("Metric vs depth", f'<div class="grid2">{depth_html}</div>'),
        Section("Groups", table(["group directory", "status"], group_rows)),
    ]
    return render_page(
        "actlab sweep",
        sections,
        subtitle=f"{len(grid.datasets)} datasets x {len(grid.activations)} activations x "
        f"{len(grid.seeds)} seeds, {grid.kind} depths {list(grid.depths)}",
    )
