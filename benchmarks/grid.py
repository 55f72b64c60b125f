"""Grid throughput of ``actlab sweep`` with 1 and 2 local worker processes, and Ray.

    python benchmarks/grid.py [--epochs 10] [--seeds 5] [--workers 1,2] [--ray]

Grid: digits, wine, breast_cancer and moons(n=1000) x MLP depths 1 and 2 (width 64) =
8 groups, each training 8 activations x seeds as one stacked model (Adam lr 1e-3,
batch 64). Every run starts from an empty sweep directory, so it includes worker start-up,
data loading, the per-activation cost measurement, checkpoints, results, the analysis and
the report. Prints wall time, groups per second, seconds per group and the speed-up over
one worker. ``--ray`` adds a row for the Ray executor on a private local Ray cluster with
as many CPUs as the machine (cluster start-up excluded, task scheduling included).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from actlab.comparison.config import DEFAULT_ACTIVATIONS
from actlab.sweep import sweep


def grid(epochs: int, seeds: int) -> dict:
    return {
        "datasets": ["digits", "wine", "breast_cancer", "moons(n=1000)"],
        "activations": list(DEFAULT_ACTIVATIONS),
        "seeds": seeds,
        "epochs": epochs,
        "model": {"kind": "mlp", "depths": [1, 2], "width": 64},
        "optimizer": {"name": "adam", "lr": 1e-3, "batch_size": 64},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--ray", action="store_true", help="also time the Ray executor")
    args = parser.parse_args()
    spec = grid(args.epochs, args.seeds)
    baseline = None
    print("| workers | wall s | groups/s | s/group (wall / groups) | speed-up vs 1 |")
    print("|---|---|---|---|---|")
    runs: list[tuple[str, dict]] = [(w, {"workers": int(w)}) for w in args.workers.split(",")]
    if args.ray:
        import ray

        ray.init(include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
        runs.append(("ray (local cluster)", {"ray": "auto"}))
    try:
        for label, how in runs:
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                result = sweep(spec, Path(tmp) / "run", **how)
                wall = time.perf_counter() - start
            n = len(result.groups)
            baseline = baseline or wall
            print(
                f"| {label} | {wall:.1f} | {n / wall:.3f} | {wall / n:.2f} | "
                f"{baseline / wall:.2f} |"
            )
    finally:
        if args.ray:
            ray.shutdown()


if __name__ == "__main__":
    main()
