"""Cost of the NumPy catalog (the correctly rounded reference): forward and derivative of
each entry on float32 (or ``--dtype float64``) input, in microseconds per call and
nanoseconds per element. A vector entry (softmax, ...) given by name is timed on rows of
64 (``numel / 64`` of them), its "derivative" being ``jvp(x, v)``.

    .venv/bin/python benchmarks/catalog.py [SPEC ...] [--numel 8192] [--repeats 50]
        [--dtype float32|float64]

The monitor (``actlab.diagnose``) calls the derivative on every sampled step, for each
activation layer's batch, so this is part of what monitoring costs. Each figure is the
fastest of ``--repeats`` calls after a warm-up (other load on the machine only adds time).
To compare versions, run the same script with ``PYTHONPATH=OTHER/src``.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Callable
from datetime import date

import numpy as np

import actlab


def fastest(fn: Callable[[], object], repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", help="specs to time (default: every elementwise entry)")
    parser.add_argument("--numel", type=int, default=8192)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    args = parser.parse_args()
    specs = args.specs or [n for n in actlab.names() if not actlab.get(n).is_vector]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(args.numel).astype(args.dtype) * 3
    v = rng.standard_normal((args.numel // 64, 64)).astype(args.dtype)
    rows = x.reshape(v.shape)
    print(
        f"date: {date.today()}  machine: {platform.processor() or platform.machine()}, "
        f"numpy {np.__version__}, {args.numel} {args.dtype} elements"
    )
    print("| spec | forward us | derivative us | forward ns/element | derivative ns/element |")
    print("|---|---|---|---|---|")
    for spec in specs:
        act = actlab.get(spec)
        if act.is_vector:
            fwd = fastest(lambda act=act: act(rows), args.repeats)
            der = fastest(lambda act=act: act.jvp(rows, v), args.repeats)
        else:
            fwd = fastest(lambda act=act: act(x), args.repeats)
            der = fastest(lambda act=act: act.derivative(x), args.repeats)
        print(
            f"| {spec} | {fwd * 1e6:.0f} | {der * 1e6:.0f} | "
            f"{fwd / args.numel * 1e9:.1f} | {der / args.numel * 1e9:.1f} |"
        )


if __name__ == "__main__":
    main()
