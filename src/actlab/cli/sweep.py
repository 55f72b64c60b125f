"""``actlab sweep GRID.toml --out DIR [--workers N | --ray ADDRESS]``: a grid of comparisons."""

from __future__ import annotations

from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from actlab.cli.common import stderr_console as console


class _GroupBar:
    """Progress over the grid's groups (finished groups from earlier runs count): a live
    bar on a terminal, one plain line per finished group on a pipe or log file."""

    def __init__(self) -> None:
        self.live = console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]groups"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[last]}"),
            console=console,
        )
        self.task = self.bar.add_task("groups", total=0, last="")
        self.total = 0
        self.done = 0

    def started(self, total: int, finished: int) -> None:
        self.total, self.done = total, finished
        self.bar.update(self.task, total=total, completed=finished)
        if self.live:
            self.bar.start()

    def group_done(self, outcome: object) -> None:
        key = getattr(outcome, "key", "")
        self.done += 1
        self.bar.update(self.task, advance=1, last=str(key))
        if not self.live:
            console.print(f"group {self.done}/{self.total} done: {key}")

    def stop(self) -> None:
        if self.live:
            self.bar.stop()


@click.command("sweep")
@click.argument("grid", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Sweep directory.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Parallel worker processes (default: the usable cores).",
)
@click.option(
    "--ray",
    "ray_address",
    metavar="auto|local|ADDRESS",
    help="Run each group as a Ray task on this cluster (pip install actlab[ray]).",
)
@click.option(
    "--device", help="Where each group trains: auto, cpu, cuda, cuda:N or mps [default: auto]."
)
def command(
    grid: Path, out: Path, workers: int | None, ray_address: str | None, device: str | None
) -> None:
    """Train every dataset x shape group of GRID.toml; rerun to resume."""
    from actlab.sweep import GridError, load_grid, sweep

    try:
        parsed = load_grid(grid)
    except GridError as exc:
        raise click.UsageError(str(exc)) from None
    bar = _GroupBar()
    try:
        result = sweep(parsed, out, workers=workers, ray=ray_address, device=device, progress=bar)
    except GridError as exc:
        raise click.UsageError(str(exc)) from None
    finally:
        bar.stop()
    agg = result.analysis.aggregate
    ranks = ", ".join(
        f"{a} {r:.2f}" for a, r in zip(agg.activations, agg.average_ranks, strict=True)
    )
    console.print(f"average ranks: {ranks}")
    p = f"{agg.friedman_p:.3g}" if agg.friedman_p is not None else agg.friedman_note
    console.print(f"Friedman p: {p}")
    click.echo(str(result.report_path))
