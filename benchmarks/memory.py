"""The memory estimate (``actlab.engine.memory``) against the measured peak of real runs.

    python benchmarks/memory.py [--epochs 2] [--scale 1.0] [--only TEXT]

Each configuration trains in a fresh process (``run_comparison`` into a run directory,
with checkpoints): the measured figure is that process's peak RSS (``VmHWM``) minus its
RSS after the imports, so it holds the data, the model, the optimizer, the checkpoints
and the evaluation, as the estimate does. ``--scale`` multiplies the hidden widths.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CONFIGS = {
    "mlp 40 x 512-512 adam": {"hidden": (512, 512)},
    "mlp 40 x 256x4 sgd es": {
        "hidden": (256, 256, 256, 256),
        "optimizer": "sgd",
        "early_stopping": 3,
    },
    "mlp 40 x 128-128 batch 1024": {"hidden": (128, 128), "batch_size": 1024},
    "cnn 40 x 32-64": {"model": "cnn", "channels": (32, 64)},
}


def _status(key: str) -> int:
    for line in open("/proc/self/status").read().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(spec: str) -> None:
    """Train one configuration; print the estimate and the measured peak as JSON."""
    options = json.loads(spec)
    from actlab.comparison import CompareConfig
    from actlab.comparison.runner import _load_splits, memory_estimates, run_comparison

    for key in ("hidden", "channels"):
        if key in options:
            options[key] = tuple(options[key])
    config = CompareConfig(data="digits", seeds=(0, 1, 2, 3, 4), **options)
    _load_splits(config)  # the imports loading the data needs belong to the baseline
    base = _status("VmRSS:")
    with tempfile.TemporaryDirectory() as out:
        run_comparison(config, f"{out}/run", report=False)  # training, not the report
    peak = _status("VmHWM:") - base
    _, splits = _load_splits(config)
    (estimate,) = memory_estimates(config, splits).values()
    print(json.dumps({"estimate": estimate.total, "measured": peak}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--only", help="Only the configurations whose label contains this.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print("| configuration | estimate MiB | measured peak MiB | estimate / measured |")
    print("|---|---|---|---|")
    for label, options in CONFIGS.items():
        if args.only and args.only not in label:
            continue
        options = {**options, "epochs": args.epochs}
        for key in ("hidden", "channels"):
            if key in options:
                options[key] = [max(1, round(w * args.scale)) for w in options[key]]
        done = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(options)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        est, peak = figures["estimate"], figures["measured"]
        print(f"| {label} | {est / 2**20:.0f} | {peak / 2**20:.0f} | {est / max(peak, 1):.2f} |")


if __name__ == "__main__":
    main()
