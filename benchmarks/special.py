"""The analysis' own special functions (actlab.analysis.special) against scipy.special.

1. ``boundaries()`` of group-sequential designs, in one process, alternating scipy's
   ``ndtr``/``ndtri`` and actlab's inside ``actlab.analysis.sequential`` (the cache
   cleared each time), and ``_level_table`` (the 110 boundaries ``--seeds auto`` needs).
2. Per call: ``ndtr`` on a 170-point grid (``_crossing``'s size), ``stdtrit`` and
   ``nct_sf`` on scalars.
3. With ``--run DIR --before SRC``: in fresh processes, alternating ``SRC`` (a source tree
   whose analysis imports scipy) and this tree, the analysis of a finished run, then the
   local levels of a ``--seeds auto`` design (its level table and its imports).

    python benchmarks/special.py --rounds 6 --run /tmp/run --before /tmp/main/src
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import special as scipy_special
from scipy.special import _ufuncs

HERE = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(HERE))  # this tree's actlab, whatever is installed

from actlab.analysis import sequential  # noqa: E402
from actlab.analysis import special as ours  # noqa: E402
from actlab.analysis.sequential import Design  # noqa: E402

DESIGNS = [Design.auto().times, Design.auto(5, 5, 50).times, Design.auto(3, 1, 20).times]
LEVELS = [float(a) for a in np.geomspace(1e-6, 0.05, 12)]
ANALYSIS = """
import sys, time
from actlab.comparison import load
result = load(sys.argv[1])
t0 = time.perf_counter()
result.analysis()
t1 = time.perf_counter()
from actlab.analysis.sequential import Design, local_levels
local_levels([0.01], Design.auto().times, 2)
print(t1 - t0, time.perf_counter() - t1)
"""


def boundaries_seconds(module) -> tuple[float, float]:
    sequential.ndtr, sequential.ndtri = module.ndtr, module.ndtri
    sequential.boundaries.cache_clear()
    sequential._level_table.cache_clear()
    t0 = time.perf_counter()
    for times in DESIGNS:
        for level in LEVELS:
            sequential.boundaries(times, level)
    t1 = time.perf_counter()
    sequential._level_table(DESIGNS[0])
    return t1 - t0, time.perf_counter() - t1


def per_call_us(call: Callable[[], object], number: int) -> float:
    return timeit.timeit(call, number=number) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--run", type=Path, help="a finished run directory to analyse")
    parser.add_argument("--before", type=Path, help="the source tree to compare against")
    args = parser.parse_args()

    times: dict[str, list[tuple[float, float]]] = {"scipy": [], "ours": []}
    for r in range(args.rounds):
        order = [("scipy", scipy_special), ("ours", ours)]
        for name, module in order if r % 2 == 0 else order[::-1]:
            times[name].append(boundaries_seconds(module))
    print(f"boundaries of {len(DESIGNS) * len(LEVELS)} designs x levels; level table of")
    print(f"Design.auto() (110 levels); median of {args.rounds} alternating rounds:")
    print("| ndtr, ndtri in sequential | boundaries s | level table s |")
    print("|---|---|---|")
    for name in times:
        b = statistics.median(t[0] for t in times[name])
        table = statistics.median(t[1] for t in times[name])
        print(f"| {name} | {b:.4f} | {table:.4f} |")
    ratios = [o[0] / s[0] for o, s in zip(times["ours"], times["scipy"], strict=True)]
    print(f"boundaries ours / scipy: {statistics.median(ratios):.2f}x")

    grid = np.linspace(-20.0, 20.0, 170)
    number = 2000
    rows = [
        ("ndtr, 170 points", lambda: scipy_special.ndtr(grid), lambda: ours.ndtr(grid)),
        (
            "stdtrit(4, 0.975)",
            lambda: scipy_special.stdtrit(4, 0.975),
            lambda: ours.stdtrit(4, 0.975),
        ),
        (
            "nct_sf(1.8, 99, 5.8)",
            lambda: _ufuncs._nct_sf(1.8, 99, 5.8),
            lambda: ours.nct_sf(1.8, 99, 5.8),
        ),
    ]
    print("| per call | scipy us | ours us |")
    print("|---|---|---|")
    for label, theirs, own in rows:
        print(f"| {label} | {per_call_us(theirs, number):.1f} | {per_call_us(own, number):.1f} |")

    if args.run and args.before:
        env = dict(os.environ, OMP_NUM_THREADS="1")
        seconds: dict[str, list[list[float]]] = {"before": [], "this tree": []}
        for r in range(args.rounds):
            order = [("before", args.before), ("this tree", HERE)]
            for name, src in order if r % 2 == 0 else order[::-1]:
                done = subprocess.run(
                    [sys.executable, "-c", ANALYSIS, str(args.run)],
                    env={**env, "PYTHONPATH": str(src)},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                seconds[name].append([float(v) for v in done.stdout.split()])
        print(f"fresh processes, {args.rounds} pairs: the analysis of {args.run}, then the")
        print("local levels of a --seeds auto design (imports included in both):")
        print("| tree | analysis s | range s | --seeds auto levels s | range s |")
        print("|---|---|---|---|---|")
        for name, rows in seconds.items():
            cells = []
            for values in zip(*rows, strict=True):
                cells += [
                    f"{statistics.median(values):.4f}",
                    f"{min(values):.4f}-{max(values):.4f}",
                ]
            print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
