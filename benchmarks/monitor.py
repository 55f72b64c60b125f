"""What ``actlab.diagnose.monitor`` costs on the real-model zoo (``tests/zoo.py``).

Per zoo model, three copies of the same model train on the same cycle of batches (16
samples, Adam), in alternating blocks of ``--block`` steps within one process, so drifts
in machine load hit all alike: a plain copy, one inside ``monitor(every=--every)``
(default: ``DEFAULT_EVERY``) and one inside ``monitor(every=1)`` (every step sampled).
Each copy's monitor stays attached for the whole run. The figure per copy is the median
over blocks of the process CPU time per step (``time.process_time``: less sensitive than
wall time to other jobs on a shared machine), with one torch thread. Printed per model:

* ``sampled/plain``: a step that records the signals, relative to a plain step (target <= 2);
* ``overhead``: the copy at the default ``every`` against the plain copy (target <= 5%).

The traced first step of each monitored copy is outside the timed blocks (a warm-up block
runs first).

    .venv/bin/python benchmarks/monitor.py [--models resnet,bert] [--steps 400] [--block 50]
        [--every 100]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import zoo
from actlab.diagnose import DEFAULT_EVERY, monitor


class _Copy:
    """One copy of a zoo model with its optimizer and an optional monitor."""

    def __init__(self, name: str, model: nn.Module, every: int | None) -> None:
        self.name = name
        self.model = model
        self.opt = torch.optim.Adam(model.parameters(), lr=zoo.ZOO[name].lr)
        self.monitor = monitor(model, every=every) if every else contextlib.nullcontext()

    def block(
        self, batches: list[tuple[tuple[Any, ...], torch.Tensor]], start: int, steps: int
    ) -> float:
        """CPU seconds per step over ``steps`` steps from batch ``start``."""
        loss_fn = zoo.ZOO[self.name].loss
        begin = time.process_time()
        for i in range(start, start + steps):
            args, y = batches[i % len(batches)]
            self.opt.zero_grad()
            loss_fn(self.model(*args), y).backward()
            self.opt.step()
        return (time.process_time() - begin) / steps


def measure(name: str, steps: int, block: int, every: int) -> tuple[float, float, float]:
    """Median CPU seconds per step: plain, monitored at ``every``, monitored every step."""
    torch.manual_seed(0)
    base = zoo.build(name)
    batches = [zoo.batch(name, 16, seed=s) for s in range(8)]
    copies = [_Copy(name, copy.deepcopy(base), e) for e in (None, every, 1)]
    times: list[list[float]] = [[], [], []]
    with contextlib.ExitStack() as stack:
        for c in copies:
            stack.enter_context(c.monitor)
            c.block(batches, 0, block)  # warm-up, and each monitor's traced first step
        for k in range(1, steps // block + 1):
            for c, t in zip(copies, times, strict=True):
                t.append(c.block(batches, k * block, block))
    plain, default, sampled = (statistics.median(t) for t in times)
    return plain, default, sampled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(zoo.ZOO), help="comma-separated zoo names")
    parser.add_argument("--steps", type=int, default=400, help="timed steps per copy")
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--every", type=int, default=DEFAULT_EVERY)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"date: {date.today()}  machine: {platform.processor() or platform.machine()}, "
        f"1 torch thread, torch {torch.__version__}; {args.steps} steps per copy in blocks "
        f"of {args.block}, every={args.every}"
    )
    print("| model | plain ms/step | sampled/plain | overhead at every |")
    print("|---|---|---|---|")
    for name in args.models.split(","):
        plain, default, sampled = measure(name, args.steps, args.block, args.every)
        print(
            f"| {name} | {plain * 1e3:.2f} | {sampled / plain:.2f} | "
            f"{100 * (default / plain - 1):+.1f}% |"
        )


if __name__ == "__main__":
    main()
