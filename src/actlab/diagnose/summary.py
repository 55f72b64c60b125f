"""The console view of a recording: the latest sample per layer, then the findings."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from actlab.diagnose.findings import Finding
from actlab.diagnose.records import Recording

NO_LAYERS = (
    "No activation was watched: no module or functional call in the model computes an "
    "elementwise activation, so only the model's structure was checked."
)

_STYLE = {"info": "green", "warning": "yellow", "error": "bold red"}


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def summary_table(recording: Recording) -> Table:
    """One row per activation layer with its latest recorded signals."""
    steps = recording.sampled_steps()
    at = recording.at(steps[-1]) if steps else {}
    title = f"{recording.framework}: {recording.steps} steps, sampled every {recording.every}"
    table = Table(title=title)
    for header in ("layer", "activation", "fed by", "dead", "saturated", "mean", "std"):
        table.add_column(header, justify="left" if header in ("layer", "activation") else "right")
    table.add_column("weight grad norm", justify="right")
    for layer in recording.layers:
        r = at.get(layer.name)
        table.add_row(
            layer.name,
            layer.activation,
            layer.feeder or "-",
            _num(r and r.dead_fraction, ".0%"),
            _num(r and r.saturated_fraction, ".0%"),
            _num(r and r.mean, ".3f"),
            _num(r and r.std, ".3f"),
            _num(r and r.grad_norm, ".3g"),
        )
    return table


def print_summary(
    recording: Recording, findings: list[Finding], console: Console | None = None
) -> None:
    """Print :func:`summary_table` and each finding's message and advice."""
    console = console or Console()
    console.print(summary_table(recording))
    if not recording.layers:
        console.print(NO_LAYERS, style="dim")
    if not findings:
        console.print("[green]No findings: nothing looks wrong.[/green]")
    for f in findings:
        style = _STYLE[f.severity]
        console.print(
            f"[{style}]{f.kind}[/{style}] (steps {f.steps[0]}-{f.steps[1]}): {escape(f.message)}"
        )
        console.print(f"  advice: {escape(f.advice)}", style="dim")
