"""What learning an activation's parameters costs in the stacked engine.

1. The stacked prelu kernel (one slope per candidate, ``[M, 1, 1]`` against ``z [M, B,
   units]``), forward + backward in x and in the slopes: ``torch.where(z > 0, z, a z)``
   (plain autograd, what a user writes) against the binding's learnable Function
   (``formulas.PRELU``: no comparison mask), with the fixed-slope ``F.leaky_relu`` as the
   floor.
2. One training epoch of the stacked MLP: ``prelu`` (slopes learned, per candidate and
   layer) against ``leaky_relu(alpha=0.25)`` (the same function, fixed).

Each pair alternates within one process (``--rounds`` rounds), so drifts in machine load
hit both alike; the figures are medians and the ratio of medians. One torch thread by
default.

    .venv/bin/python benchmarks/learnable.py [--rounds 7] [--candidates 5] [--width 128]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from datetime import date
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

from actlab.backends.torch import BINDINGS
from actlab.engine import StackedTrainer, TrainConfig


def _kernel_time(fn: Callable[..., torch.Tensor], z: torch.Tensor, a: torch.Tensor, n: int):
    """Seconds per forward + backward (gradients in z and a) of ``fn(z, a)``."""
    z = z.clone().requires_grad_(True)
    a = a.clone().requires_grad_(True)
    start = time.perf_counter()
    for _ in range(n):
        out = fn(z, a)
        torch.autograd.grad(out.sum(), (z, a), materialize_grads=True, allow_unused=True)
    return (time.perf_counter() - start) / n


def _splits(n: int, features: int) -> SimpleNamespace:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, features)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    a, b = int(0.8 * n), int(0.9 * n)
    return SimpleNamespace(
        X_train=x[:a], y_train=y[:a], X_val=x[a:b], y_val=y[a:b], X_test=x[b:], y_test=y[b:],
        task="classification", n_outputs=2, image_shape=None,
    )  # fmt: skip


def _epoch_time(splits: SimpleNamespace, spec: str, seeds: int, cfg: TrainConfig) -> float:
    trainer = StackedTrainer(splits, activations=[spec], seeds=range(seeds), config=cfg)
    start = time.perf_counter()
    trainer._train_epoch(1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200, help="kernel calls per round")
    parser.add_argument("--candidates", type=int, default=5)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    m, w = args.candidates, args.width
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(m, 64, w, generator=gen)
    a = torch.full((m, 1, 1), 0.25)
    stacked = BINDINGS["prelu"].learned({})
    assert stacked is not None
    kernels: dict[str, Callable[..., torch.Tensor]] = {
        "torch.where (plain autograd)": lambda z, a: torch.where(z > 0, z, a * z),
        "learnable Function (actlab)": lambda z, a: stacked(z, alpha=a),
        "F.leaky_relu, slope fixed": lambda z, a: F.leaky_relu(z, 0.25),
    }
    times: dict[str, list[float]] = {k: [] for k in kernels}
    for fn in kernels.values():
        _kernel_time(fn, z, a, 5)
    for _ in range(args.rounds):
        for name, fn in kernels.items():
            times[name].append(_kernel_time(fn, z, a, args.calls))
    print(
        f"torch {torch.__version__}, {platform.machine()}, {args.threads} thread(s), "
        f"{date.today()}; z [{m}, 64, {w}], {args.rounds} rounds"
    )
    print("\n| stacked prelu, forward + backward | median | vs learnable Function |")
    print("|---|---|---|")
    base = statistics.median(times["learnable Function (actlab)"])
    for name, values in times.items():
        med = statistics.median(values)
        print(f"| {name} | {med * 1e6:.0f} us | {med / base:.2f} |")

    splits = _splits(args.samples, 32)
    cfg = TrainConfig(hidden=(w, w), batch_size=64, epochs=1)
    specs = ("leaky_relu(alpha=0.25)", "prelu")
    epochs: dict[str, list[float]] = {s: [] for s in specs}
    for spec in specs:
        _epoch_time(splits, spec, m, cfg)
    for _ in range(args.rounds):
        for spec in specs:
            epochs[spec].append(_epoch_time(splits, spec, m, cfg))
    fixed, learned = (statistics.median(epochs[s]) for s in specs)
    ratios = [b / a for a, b in zip(*epochs.values(), strict=True)]
    print(f"\n| one epoch, MLP {w}-{w}, {m} seeds, {args.samples} samples | median |")
    print("|---|---|")
    print(f"| leaky_relu(alpha=0.25), fixed | {fixed * 1e3:.1f} ms |")
    print(f"| prelu, slopes learned | {learned * 1e3:.1f} ms |")
    print(f"| ratio learned / fixed | {learned / fixed:.2f} (per round: median "
          f"{statistics.median(ratios):.2f}) |")  # fmt: skip


if __name__ == "__main__":
    main()
