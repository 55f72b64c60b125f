"""``actlab plot SPEC... -o FILE``: activations (and derivatives) drawn to a PNG or SVG."""

from __future__ import annotations

from collections.abc import Sequence

import click

from actlab.catalog import get_many
from actlab.catalog.spec import split_specs
from actlab.cli.common import CliUsageError, stdout_console


def _parse_range(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(part) for part in text.split(","))
    except ValueError:
        raise CliUsageError(f"--range must be two numbers like -6,6, got {text!r}") from None
    if not lo < hi:
        raise CliUsageError(f"--range needs low < high, got {text!r}")
    return lo, hi


@click.command("plot")
@click.argument("specs", nargs=-1, required=True)
@click.option("--derivative", is_flag=True, help="Add a panel with the analytic derivatives.")
@click.option("--range", "xrange", default="-6,6", show_default=True, help="x interval, lo,hi.")
@click.option("-o", "--output", required=True, help="Output file, .png or .svg.")
def command(specs: Sequence[str], derivative: bool, xrange: str, output: str) -> None:
    """Plot one or more activations (SPEC... or a comma-separated list) to a file."""
    if not output.lower().endswith((".png", ".svg")):
        raise CliUsageError(f"-o must name a .png or .svg file, got {output!r}")
    acts = get_many([s for text in specs for s in split_specs(text)])
    bounds = _parse_range(xrange)
    from actlab.report.function_plot import save_function_plot

    path = save_function_plot(acts, output, derivative=derivative, xrange=bounds)
    stdout_console().print(f"wrote {path}")
