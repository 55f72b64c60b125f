"""What ``compare`` and ``report`` print and write at the end: the ranking table, the
recommendation, and report.html."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.table import Table

from actlab.cli.common import stdout_console


def ranking_table(result: Any, group: str) -> Table:
    """The closing table: mean +- 95% CI of the test metric per activation, and more."""
    ranking = result.ranking(group)
    metric = ranking.metric
    title = (
        f"{group}: ranked by validation {metric}, {ranking.n_seeds} seeds "
        f"({ranking.method} vs best, {ranking.level:.0%} CI)"
    )
    table = Table(title=title, header_style="bold")
    for col, justify in (
        ("#", "right"),
        ("activation", "left"),
        (f"val {metric}", "right"),
        (f"test {metric} (mean +- 95% CI)", "right"),
        ("tied w/ best", "left"),
        ("cost vs relu", "right"),
        ("grad first/last", "right"),
        ("dead", "right"),
        ("diverged", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]

    def pm(s: Any) -> str:
        if not math.isfinite(s.mean):
            return "-"
        return (
            f"{s.mean:.4f} +- {s.half_width:.4f}"
            if math.isfinite(s.half_width)
            else f"{s.mean:.4f}"
        )

    def num(v: float | None, fmt: str) -> str:
        return "-" if v is None or not math.isfinite(v) else format(v, fmt)

    for r in ranking.rows:
        if r.rank == 1:
            tied = "best"
        elif r.tied_with_best:
            tied = f"yes (p={r.versus_best.p_value:.2g})" if r.versus_best else "yes"
        else:
            tied = f"no (p={r.versus_best.p_value:.2g})" if r.versus_best else "no"
        table.add_row(
            str(r.rank),
            r.activation,
            f"{r.val.mean:.4f}" if math.isfinite(r.val.mean) else "-",
            pm(r.test),
            tied,
            num(r.cost, ".2f") + "x" if r.cost else "-",
            num(r.gradient_ratio, ".3g"),
            num(r.dead_fraction, ".0%"),
            f"[red]{r.diverged}[/red]" if r.diverged else "0",
        )
    times = [
        t
        for c in result.candidates
        if c.get("group") == group
        for t in c["history"].get("epoch_time", [])[:1]
    ]
    if times:
        table.caption = (
            f"one stacked epoch (all {len(ranking.rows)} activations x "
            f"{ranking.n_seeds} seeds together): {sum(times) / len(times):.3f} s"
        )
    return table


def print_summary(result: Any) -> None:
    """Each group's ranking table and recommendation, then where the run directory is."""
    out = stdout_console()
    for group in result.group_names():
        out.print(ranking_table(result, group))
        rec = result.recommendation(group)
        out.print("[bold green]Recommendation:[/bold green] " + " ".join(rec.reasons))
        for w in rec.warnings:
            out.print(f"[yellow]warning:[/yellow] {w}")
    if result.path is not None:
        out.print(f"run directory: {result.path}")


def write_report(result: Any) -> Path | None:
    """``report.html`` in the result's run directory (``None`` for a result without one)."""
    if result.path is None:
        return None
    from actlab.report.html import write_report as write_html

    return write_html(result, Path(result.path) / "report.html")
