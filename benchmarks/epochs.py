"""The default ``actlab compare``'s training epochs: this tree against another, alternating
in one process.

    python benchmarks/epochs.py [--before SRC] [--rounds 8] [--threads 1] [--model mlp]
        [--seeds 5]

Builds the default compare's trainer (8 activations x ``--seeds`` seeds, the embedded
digits split as ``actlab compare`` splits them, the default ``TrainConfig``: MLP
64-128-128-10, Adam, batch 64) from this tree's ``actlab`` and, with ``--before``, from
another source tree's (e.g. ``git worktree add /tmp/before COMMIT``, then
``--before /tmp/before/src``). Each tree's modules are imported afresh (``actlab`` is
dropped from ``sys.modules`` in between), so each trainer runs its own tree's code. After
one warm-up epoch each, the trainers take turns, one epoch each per round, so a slow spell
of a shared machine hits both alike. Prints per tree the medians of the epoch and of its
phases (training steps, validation, probes, as ``EpochReport.phases`` times them), the
median over rounds of the before / after epoch ratio, and the largest difference between
the two trees' validation losses (float rounding only, when the change is exact math).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
from datetime import date
from typing import Any

import torch

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "selu", "identity")


def build(src: str, model: str, seeds: int) -> Any:
    """The default compare's trainer, built from the ``actlab`` under ``src``."""
    for name in [n for n in sys.modules if n == "actlab" or n.startswith("actlab.")]:
        del sys.modules[name]
    sys.path.insert(0, src)
    try:
        from actlab import data
        from actlab.engine import StackedTrainer, TrainConfig

        splits = data.split(data.load("digits"), seed=0, val_fraction=0.2, test_fraction=0.2)
        config = TrainConfig(model=model, epochs=10**6)
        return StackedTrainer(
            splits, activations=list(ACTIVATIONS), seeds=range(seeds), config=config
        )
    finally:
        sys.path.remove(src)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="another source tree (its src/) to compare against")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--model", default="mlp", choices=("mlp", "cnn"))
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    trees = {"this tree": os.path.normpath(HERE)}
    if args.before is not None:
        trees = {"before": args.before, **trees}
    trainers = {name: build(src, args.model, args.seeds) for name, src in trees.items()}
    for trainer in trainers.values():
        trainer._epoch()  # warm-up
    times: dict[str, list[list[float]]] = {name: [] for name in trainers}
    for _ in range(args.rounds):
        for name, trainer in trainers.items():
            report = trainer._epoch()
            times[name].append([report.seconds, *report.phases.values()])
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"{args.threads} thread(s), {date.today()}, model {args.model}, "
        f"{len(ACTIVATIONS)} activations x {args.seeds} seeds, {args.rounds} rounds"
    )
    print("| tree | epoch ms | training steps ms | validation ms | probes ms |")
    print("|---|---|---|---|---|")
    for name, rows in times.items():
        medians = [statistics.median(column) * 1e3 for column in zip(*rows, strict=True)]
        print(f"| {name} | " + " | ".join(f"{m:.1f}" for m in medians) + " |")
    if args.before is not None:
        ratios = [b[0] / a[0] for b, a in zip(times["before"], times["this tree"], strict=True)]
        print(
            f"epoch before / this tree: median {statistics.median(ratios):.3f} "
            f"(rounds {min(ratios):.3f}-{max(ratios):.3f})"
        )
        diff = max(
            abs(x - y)
            for a, b in zip(trainers["before"].history, trainers["this tree"].history, strict=True)
            for x, y in zip(a["val_loss"], b["val_loss"], strict=True)
        )
        print(f"largest validation-loss difference between the trees: {diff:.3g}")


if __name__ == "__main__":
    main()
