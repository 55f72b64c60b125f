"""What ``actlab.diagnose.monitor`` costs on the real-model zoo (``tests/zoo.py``), with
95% confidence intervals.

Per zoo model, four copies of the same model train on the same cycle of batches (16
samples, Adam) within one process, one torch thread:

* ``plain``: no monitor;
* ``default``: inside ``monitor(every=--every)`` (default: ``DEFAULT_EVERY``);
* ``sampled``: inside ``monitor(every=1)``: every step records the signals;
* ``unsampled``: inside a monitor that never samples after its traced step 0: the hooks
  and NaN screens every step pays.

Each monitor stays attached for the whole run; a warm-up block per copy (the traced first
step included) runs before any timing. Then ``--rounds`` rounds, each a palindrome of
blocks of ``--block`` steps, ``plain default sampled unsampled unsampled sampled default
plain``: a load that drifts linearly within a round hits every copy alike, and all four
copies run in the same process, so other jobs on a shared machine cancel from the
ratios. Time is the process's CPU time (``time.process_time``), per step. Per round and
copy, the per-step times of its two blocks are averaged; per round, the ratio of two
copies; over rounds, the interval is a Student t interval on the mean of the log ratios
(95%, ``rounds - 1`` degrees of freedom), shown as the geometric-mean ratio and its
bounds. ``2 * --block`` must be a multiple of ``--every``, so that every round of the
``default`` copy holds the same number of sampled steps. Printed per model:

* ``sampled/unsampled``: a step that records the signals relative to a monitored step that
  does not (target <= 2);
* ``unsampled/plain``: the fixed cost of the hooks and screens on every step;
* ``overhead``: the ``default`` copy against the plain one (target <= 5%).

Rounds share their copies, so an interval over rounds does not see what differs between
copies of one model (where their tensors lie in memory, what a deep copy shares in
cache): on the quiet 2-core VM two plain copies of ``functional`` differed by ~4% of a
step. ``--replicates R`` (R >= 2) repeats the whole measurement R times with fresh copies,
made in a rotated order, and gives each ratio's interval over the replicates' geometric
means instead (``R - 1`` degrees of freedom): an interval that holds copy-to-copy
differences too.

    .venv/bin/python benchmarks/monitor.py [--models resnet,bert] [--rounds 6] [--block 50]
        [--every 100] [--replicates 1]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from scipy import stats
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import zoo
from actlab.diagnose import DEFAULT_EVERY, monitor

NEVER = 2**62
"""An ``every`` no run reaches: the monitor samples only its traced step 0."""

COPIES = ("plain", "default", "sampled", "unsampled")


def t_interval(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """The mean of ``values`` and its Student t confidence interval: ``m``,
    ``m -+ t * s / sqrt(n)`` with ``m`` and ``s`` the mean and standard deviation of the
    ``n >= 2`` values and ``t`` the ``(1 + level) / 2`` quantile of Student's t with
    ``n - 1`` degrees of freedom."""
    if len(values) < 2:
        raise ValueError(f"an interval needs at least 2 values, got {len(values)}")
    mean = statistics.fmean(values)
    half = stats.t.ppf((1 + level) / 2, len(values) - 1) * statistics.stdev(values)
    half /= math.sqrt(len(values))
    return mean, mean - half, mean + half


def log_ratio_interval(ratios: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """The geometric mean of paired ratios and its Student t confidence interval: ``exp``
    of :func:`t_interval` of ``log(ratio)`` over the pairs."""
    mean, low, high = t_interval([math.log(r) for r in ratios], level)
    return math.exp(mean), math.exp(low), math.exp(high)


class _Copy:
    """One copy of a zoo model with its optimizer and an optional monitor."""

    def __init__(self, name: str, model: nn.Module, every: int | None) -> None:
        self.name = name
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=zoo.ZOO[name].lr)
        self.monitor = monitor(model, every=every) if every else contextlib.nullcontext()
        self.step = 0

    def block(self, batches: list[tuple[tuple[Any, ...], torch.Tensor]], steps: int) -> float:
        """CPU seconds per step over the next ``steps`` steps."""
        loss_fn = zoo.ZOO[self.name].loss
        begin = time.process_time()
        for i in range(self.step, self.step + steps):
            args, y = batches[i % len(batches)]
            self.opt.zero_grad()
            loss_fn(self.model(*args), y).backward()
            self.opt.step()
        self.step += steps
        return (time.process_time() - begin) / steps


def measure(
    name: str, rounds: int, block: int, every: int, rotate: int = 0
) -> dict[str, list[float]]:
    """Per copy (:data:`COPIES`), its CPU seconds per step in each round; the copies are
    made in :data:`COPIES` order rotated by ``rotate``."""
    torch.manual_seed(0)
    base = zoo.build(name)
    batches = [zoo.batch(name, 16, seed=s) for s in range(8)]
    every_of = dict(zip(COPIES, (None, every, 1, NEVER), strict=True))
    made = [COPIES[(i + rotate) % len(COPIES)] for i in range(len(COPIES))]
    built = {c: _Copy(name, copy.deepcopy(base), every_of[c]) for c in made}
    runs = {c: built[c] for c in COPIES}
    order = [*COPIES, *reversed(COPIES)]
    times: dict[str, list[float]] = {c: [] for c in COPIES}
    with contextlib.ExitStack() as stack:
        for run in runs.values():
            stack.enter_context(run.monitor)
            run.block(batches, block)  # warm-up, and each monitor's traced first step
        for _ in range(rounds):
            per_round: dict[str, list[float]] = {c: [] for c in COPIES}
            for c in order:
                per_round[c].append(runs[c].block(batches, block))
            for c in COPIES:
                times[c].append(statistics.fmean(per_round[c]))
    return times


PAIRS = {"sampled": ("sampled", "unsampled"), "fixed": ("unsampled", "plain"),
         "overhead": ("default", "plain")}  # fmt: skip
"""Each printed ratio: (numerator copy, denominator copy)."""


def _ratios(times: dict[str, list[float]], top: str, bottom: str) -> list[float]:
    return [a / b for a, b in zip(times[top], times[bottom], strict=True)]


def intervals(name: str, rounds: int, block: int, every: int, replicates: int) -> dict[str, Any]:
    """Each of :data:`PAIRS`' ratios with its interval (over rounds with one replicate,
    over the replicates' geometric means otherwise), and the plain copy's median step."""
    runs = [measure(name, rounds, block, every, rotate=r) for r in range(replicates)]
    out: dict[str, Any] = {"plain": statistics.median(t for r in runs for t in r["plain"])}
    for key, (top, bottom) in PAIRS.items():
        if replicates == 1:
            out[key] = log_ratio_interval(_ratios(runs[0], top, bottom))
        else:
            means = [log_ratio_interval(_ratios(r, top, bottom))[0] for r in runs]
            out[key] = log_ratio_interval(means)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(zoo.ZOO), help="comma-separated zoo names")
    parser.add_argument("--rounds", type=int, default=6, help="paired rounds per model (>= 2)")
    parser.add_argument("--block", type=int, default=None, help="steps per block (every / 2)")
    parser.add_argument("--every", type=int, default=DEFAULT_EVERY)
    parser.add_argument(
        "--replicates", type=int, default=1, help="fresh copies this many times (1, or >= 2)"
    )
    args = parser.parse_args()
    block = args.block or max(1, args.every // 2)
    if args.rounds < 2 or block < 1 or (2 * block) % args.every:
        parser.error("need --rounds >= 2 and 2 * --block a multiple of --every")
    if args.replicates < 1:
        parser.error("need --replicates >= 1")
    names = args.models.split(",")
    unknown = [n for n in names if n not in zoo.ZOO]
    if unknown:
        parser.error(f"unknown zoo model(s) {', '.join(unknown)}; known: {', '.join(zoo.ZOO)}")
    torch.set_num_threads(1)
    start = os.getloadavg()[0]
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, 1 torch thread, torch {torch.__version__}; "
        f"{args.replicates} x {args.rounds} rounds of 8 blocks of {block} steps, "
        f"every={args.every}; load average at start: {start:.1f}"
    )
    over = "rounds" if args.replicates == 1 else "replicates of fresh copies"
    print(f"ratios of CPU time per step, geometric mean [95% t interval over {over}]")
    print(
        "| model | plain ms/step | sampled/unsampled (target <= 2) | unsampled/plain "
        f"| overhead at every={args.every} (target <= 5%) |"
    )
    print("|---|---|---|---|---|")
    for name in names:
        got = intervals(name, args.rounds, block, args.every, args.replicates)
        sampled = got["sampled"]
        print(
            f"| {name} | {got['plain'] * 1e3:.2f} "
            f"| {sampled[0]:.2f} [{sampled[1]:.2f}, {sampled[2]:.2f}] "
            f"| {_percent(got['fixed'])} | {_percent(got['overhead'])} |",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


def _percent(interval: tuple[float, float, float]) -> str:
    ratio, low, high = (100 * (r - 1) for r in interval)
    return f"{ratio:+.1f}% [{low:+.1f}, {high:+.1f}]"


if __name__ == "__main__":
    main()
