"""What ``compare`` and ``report`` print and write at the end: the answer, the verdict
table and the evidence (:mod:`actlab.cli.views`), and report.html."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from actlab.cli.common import stdout_console


def _epoch_seconds(result: Any, group: str) -> float | None:
    """Mean wall time of the first epoch of the group's stacked model."""
    times = [
        t
        for c in result.candidates
        if c.group == group
        for t in c.history.get("epoch_time", [])[:1]
        if math.isfinite(t)
    ]
    return sum(times) / len(times) if times else None


def shape_lines(result: Any, group: str) -> list[str]:
    """Where candidates differ in shape (gated activations next to plain ones): each
    activation's widths and parameter count, and the match rule."""
    from actlab.catalog.widths import MATCH_RULES

    shapes = result.shapes(group)
    if not shapes:
        return []
    rule = MATCH_RULES[result.config.get("match", "params")]
    parts = [
        f"{a} {'x'.join(map(str, widths))} ({params or 0:,} parameters)"
        for a, (widths, params) in shapes.items()
    ]
    return [f"widths ({rule}): " + ", ".join(parts)]


def learned_line(result: Any, group: str) -> str | None:
    """The group's learned activation parameters, mean over seeds and layers (``None``
    when no activation learns any)."""
    learned = result.learned(group)
    if not learned:
        return None
    parts = [
        f"{act} " + ", ".join(f"{name}={value:.3g}" for name, value in params.items())
        for act, params in learned.items()
        if params
    ]
    return "learned parameters (end of training, mean over seeds and layers): " + "; ".join(parts)


def print_summary(result: Any) -> None:
    """Each group's answer, its verdict table and the evidence, then where the run
    directory is."""
    from actlab.cli.views import recommendation_lines, verdict_table

    out = stdout_console()
    for group in result.group_names():
        analysis = result.analyse(group)
        answer, *evidence = recommendation_lines(analysis)
        out.print(answer)
        out.print(
            verdict_table(analysis, _epoch_seconds(result, group), result.how_it_trained(group))
        )
        for line in evidence:
            out.print(line)
        for line in shape_lines(result, group):
            out.print(line)
        learned = learned_line(result, group)
        if learned is not None:
            out.print(learned)
    if result.path is not None:
        out.print(f"run directory: {result.path}")


def write_report(result: Any) -> Path | None:
    """``report.html`` in the result's run directory (``None`` for a result without one)."""
    if result.path is None:
        return None
    from actlab.report.html import write_report as write_html

    return write_html(result, Path(result.path) / "report.html")
