"""The fixed cost per step of ``actlab.diagnose.monitor``: what every training step pays
for the monitor's hooks and NaN/inf screen when it does not sample, in microseconds.

Per zoo model (``tests/zoo.py``), copies of one model train on the same cycle of batches
(16 samples, Adam) in one process, one torch thread, taking turns step by step (the turn
order rotates each step). Each copy has a role in a round: plain, inside a fresh monitor
of this tree, or (``--baseline FILE``) inside a fresh monitor of another ``monitor.py``,
e.g. an earlier commit's (``git show REV:src/actlab/diagnose/monitor.py > FILE``), loaded
beside this tree's. The monitors never sample after their traced step 0 (``every`` =
:data:`monitor.NEVER`); the first two steps of a round are not timed. The roles rotate
over the copies from round to round, which cancels what differs between copies. Each
step is timed alone in process CPU time (``time.process_time``); per round and role, the
median step (medians drop the steps another process interrupted). Printed per model:
the plain step, and per pair of roles the mean over rounds of the difference of their
median steps, with its 95% Student t interval (:func:`monitor.t_interval`,
``rounds - 1`` degrees of freedom), also as a share of the plain step.

    .venv/bin/python benchmarks/monitor_fixed.py [--models functional,convnext]
        [--rounds 40] [--steps 50] [--baseline FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch import nn

from monitor import NEVER, t_interval

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import zoo
from actlab.diagnose import monitor

Role = Callable[[nn.Module], contextlib.AbstractContextManager[Any]]


def median_steps(name: str, rounds: int, steps: int, roles: list[Role]) -> list[list[float]]:
    """Per role, its median step (CPU seconds) in each round: role ``k`` is played by
    copy ``(k + r) % len(roles)`` in round ``r``."""
    torch.manual_seed(0)
    base = zoo.build(name)
    n = len(roles)
    models = [copy.deepcopy(base) for _ in range(n)]
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
        for j in range(n):
            step(j, i)
    medians: list[list[float]] = [[] for _ in roles]
    for r in range(rounds):
        plays = [(k + r) % n for k in range(n)]  # role k -> copy
        with contextlib.ExitStack() as stack:
            for k, role in enumerate(roles):
                stack.enter_context(role(models[plays[k]]))
            for i in range(2):  # the traced step 0, and one more
                for j in range(n):
                    step(j, i)
            times: list[list[float]] = [[] for _ in roles]
            for i in range(steps):
                for k in [(i + m) % n for m in range(n)]:
                    times[k].append(step(plays[k], i))
        for k in range(n):
            medians[k].append(statistics.median(times[k]))
    return medians


def _plain(model: nn.Module) -> contextlib.AbstractContextManager[Any]:
    return contextlib.nullcontext()


def _never(factory: Callable[..., Any]) -> Role:
    return lambda model: factory(model, every=NEVER)


def _load(path: str) -> Callable[..., Any]:
    """``monitor`` of the module in ``path``, imported beside this tree's."""
    spec = importlib.util.spec_from_file_location("baseline_monitor", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.monitor  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="functional,convnext", help="comma-separated")
    parser.add_argument("--rounds", type=int, default=40, help="rounds (>= 2)")
    parser.add_argument("--steps", type=int, default=50, help="timed steps per copy and round")
    parser.add_argument("--baseline", help="another monitor.py to measure beside this tree's")
    args = parser.parse_args()
    names = args.models.split(",")
    unknown = [n for n in names if n not in zoo.ZOO]
    if unknown:
        parser.error(f"unknown zoo model(s) {', '.join(unknown)}; known: {', '.join(zoo.ZOO)}")
    if args.rounds < 2 or args.steps < 1:
        parser.error("need --rounds >= 2 and --steps >= 1")
    roles = [_plain, _never(monitor)]
    pairs = {"this tree - plain": (1, 0)}
    if args.baseline:
        if not Path(args.baseline).is_file():
            parser.error(f"--baseline {args.baseline}: no such file")
        roles.append(_never(_load(args.baseline)))
        pairs |= {"baseline - plain": (2, 0), "baseline - this tree": (2, 1)}
    torch.set_num_threads(1)
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  machine: {platform.machine()}, "
        f"{os.cpu_count()} cores, 1 torch thread, torch {torch.__version__}; "
        f"{args.rounds} rounds of {args.steps} steps per copy; "
        f"load average at start: {os.getloadavg()[0]:.1f}"
    )
    print("| model | plain ms/step | monitors | us/step [95% t interval] | share of the step |")
    print("|---|---|---|---|---|")
    for name in names:
        medians = median_steps(name, args.rounds, args.steps, roles)
        plain = statistics.median(medians[0])
        for label, (a, b) in pairs.items():
            mean, low, high = t_interval(
                [x - y for x, y in zip(medians[a], medians[b], strict=True)]
            )
            print(
                f"| {name} | {plain * 1e3:.2f} | {label} | {mean * 1e6:+.1f} "
                f"[{low * 1e6:+.1f}, {high * 1e6:+.1f}] | {100 * mean / plain:+.2f}% |",
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
