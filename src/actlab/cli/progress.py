"""Training progress on the terminal: a live bar, or plain lines in a pipe or log file, with
a time estimate from the epochs measured so far.

:class:`EpochClock` holds the arithmetic (tested on its own, with a fake clock);
:class:`RichProgress` draws it and is what the comparison runner reports to.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from actlab.cli.common import stderr_console as console

LONG_RUN_SECONDS = 60.0
"""A run estimated to take longer than this says so once its first epoch is measured."""


def group_cost(widths: tuple[int, ...]) -> float:
    """A model shape's relative cost per epoch, for estimating groups not yet started: the
    weights between hidden layers (or channels) plus the units. Only ratios between groups
    of one run matter, and measured epochs replace the guess as soon as there are any."""
    return float(sum(a * b for a, b in itertools.pairwise(widths)) + sum(widths))


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 07 min``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class EpochClock:
    """Remaining time of a run from its measured epoch times.

    ``plan`` maps each group to ``(epochs, cost)``, ``cost`` a relative cost per epoch
    (:func:`group_cost`). A started group's remaining time is its remaining epochs times
    the median of its measured epoch times (the median, so that a first epoch slowed by
    warm-up or a checkpoint write does not set the pace); a group not yet started gets its
    epochs times its cost times the median measured seconds per unit of cost so far.
    """

    def __init__(
        self,
        plan: Mapping[str, tuple[int, float]],
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.plan = {g: (int(e), float(c)) for g, (e, c) in plan.items()}
        self.clock = clock
        self.done: dict[str, int] = dict.fromkeys(self.plan, 0)
        self.times: dict[str, list[float]] = {g: [] for g in self.plan}
        self.current: str | None = None
        self.mark = clock()

    @property
    def total_epochs(self) -> int:
        return sum(e for e, _ in self.plan.values())

    def group_started(self, group: str, epochs: int, done: int) -> None:
        """``group`` runs now, ``done`` of its ``epochs`` already finished (a resume)."""
        known = self.plan.get(group)
        if known is not None:
            cost = known[1]
        else:  # a group the plan did not foresee: an average one
            cost = statistics.fmean(c for _, c in self.plan.values()) if self.plan else 1.0
        self.plan[group] = (epochs, cost)
        self.times.setdefault(group, [])
        self.done[group] = done
        self.current = group
        self.mark = self.clock()

    def epoch_done(self, group: str) -> float:
        """Record one finished epoch of ``group``; returns its measured seconds."""
        now = self.clock()
        seconds, self.mark = now - self.mark, now
        self.times.setdefault(group, []).append(seconds)
        self.done[group] = self.done.get(group, 0) + 1
        return seconds

    def epochs_left(self) -> int:
        return sum(max(0, e - self.done.get(g, 0)) for g, (e, _) in self.plan.items())

    def pace(self, group: str) -> float:
        """Median measured seconds per epoch of ``group`` (NaN before its first epoch)."""
        times = self.times.get(group)
        return statistics.median(times) if times else float("nan")

    def remaining(self) -> float | None:
        """Seconds left, or ``None`` before any epoch has been measured."""
        measured = {g: statistics.median(t) for g, t in self.times.items() if t}
        if not measured:
            return None
        per_cost = statistics.median(
            s / self.plan[g][1] for g, s in measured.items() if self.plan[g][1] > 0
        )
        left = 0.0
        for group, (epochs, cost) in self.plan.items():
            pace = measured.get(group, per_cost * cost)
            left += max(0, epochs - self.done.get(group, 0)) * pace
        return left


class RichProgress:
    """Progress over all epochs of all groups: epochs done, elapsed time, the estimate of
    the time left from measured epochs (:class:`EpochClock`) and the best activation so far.
    A live bar on a terminal; on a pipe or log file one plain line per tenth of each
    group's epochs instead. A run estimated at more than :data:`LONG_RUN_SECONDS` says so
    after its first epoch."""

    LOG_LINES = 10

    def __init__(
        self,
        plan: Mapping[str, tuple[int, float]],
        metric: str,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.metric = metric
        self.clock = EpochClock(plan, clock)
        self.live = console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("epochs"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            TextColumn("{task.fields[best]}"),
            console=console,
            transient=False,
        )
        self.task = self.bar.add_task(
            "training", total=self.clock.total_epochs, best="", eta="ETA ?"
        )
        self.group_epochs = 0
        self.started = False
        self.announced = False

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
        self.clock.group_started(group, total_epochs, done_epochs)
        self.bar.update(
            self.task, description=group, total=self.clock.total_epochs, advance=done_epochs
        )

    def epoch_done(self, group: str, epoch: int, summary: dict[str, Any]) -> None:
        self.clock.epoch_done(group)
        left = self.clock.remaining()
        eta = "ETA ?" if left is None else f"ETA {duration(left)}"
        best = summary.get("best")
        text = f"best val {self.metric} {best[1]:.4f} ({best[0]})" if best else ""
        self.bar.update(self.task, advance=1, best=text, eta=eta)
        if not self.announced and left is not None and left > LONG_RUN_SECONDS:
            self.announced = True
            console.print(
                f"this run will take about {duration(left)} more: "
                f"{self.clock.epochs_left()} epochs left, {group} measured at "
                f"{self.clock.pace(group):.3g} s per epoch",
                soft_wrap=True,
            )
        every = max(1, -(-self.group_epochs // self.LOG_LINES))
        if not self.live and (epoch % every == 0 or epoch == self.group_epochs):
            console.print(
                f"{group}: epoch {epoch}/{self.group_epochs} {eta} {text}".rstrip(), soft_wrap=True
            )

    def look_done(self, look: Any) -> None:
        """``--seeds auto``: one line per look, how many candidates are still unresolved
        and what happens next (a :class:`actlab.comparison.runner.LookDone`)."""
        console.print(look_line(look), soft_wrap=True)


def look_line(look: Any) -> str:
    """``look at 5 seeds: 3 of 7 candidates unresolved; training seeds 5-9 (next look
    at 10, budget 30)``, or why the run stops."""
    groups = look.unresolved
    if len(groups) == 1:
        counts = f"{next(iter(groups.values()))} of {look.compared} candidates"
    else:
        counts = ", ".join(f"{g} {n} of {look.compared}" for g, n in groups.items())
    text = f"look at {look.seeds} seeds: {counts} unresolved against the leader"
    if look.next_look is not None:
        return (
            f"{text}; training seeds {look.seeds}-{look.next_look - 1} (next look at "
            f"{look.next_look}, budget {look.max_seeds})"
        )
    if not any(groups.values()):
        return f"{text}; every candidate is resolved, stopping"
    return f"{text}; the budget of {look.max_seeds} seeds is reached, stopping"
