"""The fixed cost per step of ``actlab.diagnose.monitor``: what every training step pays
for the monitor's hooks and NaN/inf screen when it does not sample, in microseconds.

Per zoo model (``tests/zoo.py``), two copies of one model train on the same cycle of
batches (16 samples, Adam) in one process, one torch thread, alternating step by step
(which copy goes first alternates too). In each round one copy, the other than in the
round before, is inside a fresh monitor that never samples after its traced step 0
(``every`` = :data:`monitor.NEVER`); its first two steps are not timed. Each step is timed
alone in process CPU time (``time.process_time``); per round, the fixed cost is the
median step of the monitored copy minus the median step of the plain one. Medians drop
the steps another process interrupted, the alternation makes a drifting load hit both
copies alike, and swapping the monitored copy each round cancels what differs between
the two copies. Printed per model: the plain step, and the mean fixed cost over rounds
with its 95% Student t interval (:func:`monitor.t_interval`, ``rounds - 1`` degrees of
freedom), also as a share of the plain step.

    .venv/bin/python benchmarks/monitor_fixed.py [--models functional,convnext]
        [--rounds 40] [--pairs 50]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from monitor import NEVER, t_interval

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import zoo
from actlab.diagnose import monitor


def fixed_cost(name: str, rounds: int, pairs: int) -> tuple[float, list[float]]:
    """The plain copy's median step (seconds) and the fixed cost per round (seconds)."""
    torch.manual_seed(0)
    base = zoo.build(name)
    models = [copy.deepcopy(base), copy.deepcopy(base)]
    opts = [torch.optim.Adam(m.parameters(), lr=zoo.ZOO[name].lr) for m in models]
    batches = [zoo.batch(name, 16, seed=s) for s in range(8)]
    loss_fn = zoo.ZOO[name].loss

    def step(j: int, i: int) -> float:
        args, y = batches[i % len(batches)]
        begin = time.process_time()
        opts[j].zero_grad()
        loss_fn(models[j](*args), y).backward()
        opts[j].step()
        return time.process_time() - begin

    for i in range(10):  # warm-up
        step(0, i)
        step(1, i)
    plain_steps: list[float] = []
    costs = []
    for r in range(rounds):
        on = r % 2
        with monitor(models[on], every=NEVER):
            step(on, 0)  # traced
            step(on, 1)
            times: list[list[float]] = [[], []]
            for i in range(pairs):
                for j in (on, 1 - on) if i % 2 else (1 - on, on):
                    times[j].append(step(j, i))
        plain_steps.extend(times[1 - on])
        costs.append(statistics.median(times[on]) - statistics.median(times[1 - on]))
    return statistics.median(plain_steps), costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="functional,convnext", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=40, help="rounds (>= 2)")
    parser.add_argument("--pairs", type=int, default=50, help="step pairs per round (>= 1)")
    args = parser.parse_args()
    names = args.models.split(",")
    unknown = [n for n in names if n not in zoo.ZOO]
    if unknown:
        parser.error(f"unknown zoo model(s) {', '.join(unknown)}; known: {', '.join(zoo.ZOO)}")
    if args.rounds < 2 or args.pairs < 1:
        parser.error("need --rounds >= 2 and --pairs >= 1")
    torch.set_num_threads(1)
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, 1 torch thread, torch {torch.__version__}; "
        f"{args.rounds} rounds of {args.pairs} step pairs; "
        f"load average at start: {os.getloadavg()[0]:.1f}"
    )
    print("| model | plain ms/step | fixed cost us/step [95% t interval] | share of the step |")
    print("|---|---|---|---|")
    for name in names:
        plain, costs = fixed_cost(name, args.rounds, args.pairs)
        mean, low, high = t_interval(costs)
        print(
            f"| {name} | {plain * 1e3:.2f} | {mean * 1e6:+.1f} [{low * 1e6:+.1f}, {high * 1e6:+.1f}] "
            f"| {100 * mean / plain:+.2f}% |",
            flush=True,
        )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
