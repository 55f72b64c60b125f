"""Training progress on the terminal: a live bar, or plain lines in a pipe or log file."""

from __future__ import annotations

from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from actlab.cli.common import stderr_console as console


class RichProgress:
    """Progress over all epochs of all groups: epoch, ETA and the best so far. A live bar
    on a terminal; on a pipe or log file (no live display) one plain line per tenth of
    each group's epochs instead."""

    LOG_LINES = 10

    def __init__(self, total_epochs: int, metric: str) -> None:
        self.metric = metric
        self.live = console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[best]}"),
            console=console,
            transient=False,
        )
        self.task = self.bar.add_task("training", total=total_epochs, best="")
        self.group_epochs = 0
        self.started = False

    def __enter__(self) -> RichProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started and self.live:
            self.bar.__exit__(*exc)

    def group_started(self, group: str, total_epochs: int, done_epochs: int) -> None:
        if not self.started and self.live:  # shown once training starts, not while data loads
            self.bar.__enter__()
        self.started = True
        self.group_epochs = total_epochs
        self.bar.update(self.task, description=group, advance=done_epochs)

    def epoch_done(self, group: str, epoch: int, summary: dict[str, Any]) -> None:
        best = summary.get("best")
        text = ""
        if best:
            text = f"best val {self.metric} {best[1]:.4f} ({best[0]})"
        self.bar.update(self.task, advance=1, best=text)
        every = max(1, -(-self.group_epochs // self.LOG_LINES))
        if not self.live and (epoch % every == 0 or epoch == self.group_epochs):
            console.print(f"{group}: epoch {epoch}/{self.group_epochs} {text}".rstrip())
