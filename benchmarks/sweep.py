"""The default sweep, stacked engine vs a plain sequential PyTorch loop, in one run.

    python benchmarks/sweep.py [--epochs 30] [--seeds 5] [--threads N] [--engine-only]

8 activations (sigmoid, tanh, relu, leaky_relu, softplus, elu, selu, identity) x seeds,
scikit-learn's digits (stratified 60/20/20 split, standardized on the training part),
MLP 64-128-128-10, Adam lr 1e-3, batch 64. Every path uses the same initial weights and
minibatch order per candidate. Two sequential references, one model at a time:

* hand-tuned: minibatches sliced from one tensor, no validation, test set scored once;
* idiomatic: the loop of the PyTorch tutorials, a ``DataLoader`` over a ``TensorDataset``
  (its sampler replays the same order) and a validation pass each epoch
  (``model.eval()`` / ``torch.no_grad()``), as the engine does.

The engine's time includes its per-epoch validation pass and probes. Prints the training
times, the ratios, test accuracy per activation side by side, the engine's achieved
training GFLOP/s against a large float32 matmul timed in the same run, and peak RSS.
"""

from __future__ import annotations

import argparse
import itertools
import math
import platform
import resource
import statistics
import time
from collections import defaultdict
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler, TensorDataset

from actlab.backends.torch import get as torch_module
from actlab.data import Splits, load, split
from actlab.engine import StackedTrainer, TrainConfig, batch_order

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "selu", "identity")


def digits_splits() -> Splits:
    """The default ``actlab compare`` data: the embedded digits, actlab's stratified
    60/20/20 split (seed 0), standardized on the train part, image shape 1x8x8."""
    return split(load("digits"), seed=0)


def _sequential_model(initial: list[torch.Tensor], m: int, activation: str) -> nn.Sequential:
    """Candidate ``m`` as an ``nn.Sequential`` with the engine's initial weights."""
    layers: list[nn.Module] = []
    n_layers = len(initial) // 2
    for i in range(n_layers):
        w, b = initial[2 * i][m], initial[2 * i + 1][m]
        lin = nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            lin.weight.copy_(w.T)
            lin.bias.copy_(b.reshape(-1))
        layers.append(lin)
        if i < n_layers - 1:
            layers.append(torch_module(activation))
    return nn.Sequential(*layers)


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).double().mean())


def train_alone(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int,
    trainer: StackedTrainer,
    epochs: int,
) -> None:
    """Hand-tuned loop for one candidate: ``torch.optim.Adam`` at the engine's learning rate,
    minibatches sliced from one tensor in the engine's order for ``seed``."""
    opt = torch.optim.Adam(model.parameters(), lr=trainer.config.lr)
    loss_fn = nn.CrossEntropyLoss()
    bs = trainer.config.batch_size
    for epoch in range(1, epochs + 1):
        order = batch_order(seed, epoch, x.shape[0])
        for start in range(0, x.shape[0], bs):
            idx = order[start : start + bs]
            opt.zero_grad()
            loss_fn(model(x[idx]), y[idx]).backward()
            opt.step()


def sequential(trainer: StackedTrainer, initial: list[torch.Tensor], epochs: int) -> list[float]:
    """Hand-tuned loop: every candidate alone (nn.Sequential + torch.optim.Adam), same init
    and batches, minibatches sliced from one tensor; returns test accuracies."""
    accuracies = []
    for m, c in enumerate(trainer.candidates):
        model = _sequential_model(initial, m, c.activation.spec)
        train_alone(model, *trainer.data.train, c.seed, trainer, epochs)
        accuracies.append(_accuracy(model, *trainer.data.test))
    return accuracies


class _EpochOrder(Sampler[int]):
    """Replays the engine's permutation for ``seed``, one epoch per ``iter``."""

    def __init__(self, seed: int, n: int) -> None:
        self.seed, self.n, self.epoch = seed, n, 0

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        self.epoch += 1
        return iter(batch_order(self.seed, self.epoch, self.n).tolist())


def idiomatic(trainer: StackedTrainer, initial: list[torch.Tensor], epochs: int) -> list[float]:
    """The tutorials' loop: DataLoader over a TensorDataset, train/eval modes, a validation
    pass each epoch; same init and batches; returns test accuracies."""
    x, y = trainer.data.train
    accuracies = []
    for m, c in enumerate(trainer.candidates):
        model = _sequential_model(initial, m, c.activation.spec)
        opt = torch.optim.Adam(model.parameters(), lr=trainer.config.lr)
        loss_fn = nn.CrossEntropyLoss()
        loader = DataLoader(
            TensorDataset(x, y),
            batch_size=trainer.config.batch_size,
            sampler=_EpochOrder(c.seed, x.shape[0]),
        )
        for _ in range(epochs):
            model.train()
            for xb, yb in loader:
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
            model.eval()
            _accuracy(model, *trainer.data.val)
        accuracies.append(_accuracy(model, *trainer.data.test))
    return accuracies


def _phase_seconds(trainer: StackedTrainer) -> tuple[list[Any], dict[str, float]]:
    """Run ``trainer``; its results and the seconds it reports per epoch phase, summed
    (an actlab older than the phase reports gives none: run with PYTHONPATH=OLD/src)."""
    totals: dict[str, float] = defaultdict(float)

    def add(report: Any) -> None:
        for name, seconds in getattr(report, "phases", {}).items():
            totals[name] += seconds

    return trainer.run(on_epoch=add), totals


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--engine-only",
        action="store_true",
        help="time the engine alone (to compare actlab versions: PYTHONPATH=OTHER/src)",
    )
    parser.add_argument(
        "--model",
        choices=("mlp", "cnn"),
        default="mlp",
        help="cnn: digits as 1x8x8, channels 16,32 (with --engine-only)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.model == "cnn" and not args.engine_only:
        parser.error("--model cnn needs --engine-only (benchmarks/cnn.py has a CNN loop)")
    splits = digits_splits()
    config = TrainConfig(epochs=args.epochs, model=args.model)
    trainer = StackedTrainer(
        splits, activations=list(ACTIVATIONS), seeds=range(args.seeds), config=config
    )
    initial = [p.detach().clone() for p in trainer.net.params]
    peak = sgemm_gflops()

    start = time.perf_counter()
    results, phases = _phase_seconds(trainer)
    engine_s = time.perf_counter() - start
    steps_s = phases.get("training steps", math.nan)
    if args.engine_only:
        print(f"stacked engine: {engine_s:.2f} s, training steps {steps_s:.2f} s")
        return
    start = time.perf_counter()
    seq_acc = sequential(trainer, initial, args.epochs)
    seq_s = time.perf_counter() - start
    start = time.perf_counter()
    idiom_acc = idiomatic(trainer, initial, args.epochs)
    idiom_s = time.perf_counter() - start

    n_train = splits.X_train.shape[0]
    widths = [splits.X_train.shape[1], *config.hidden, splits.n_outputs]
    forward = 2 * sum(a * b for a, b in itertools.pairwise(widths))
    flops = 3 * forward * n_train * args.epochs * len(results)  # forward + 2x backward
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(
        f"torch {torch.__version__}, {platform.machine()}, {torch.get_num_threads()} threads, "
        f"{len(ACTIVATIONS)} activations x {args.seeds} seeds, {args.epochs} epochs, "
        f"digits ({n_train} train)"
    )
    print(f"stacked engine:        {engine_s:7.2f} s  (with per-epoch validation and probes)")
    print(f"  its training steps:  {steps_s:7.2f} s")
    print(
        f"hand-tuned sequential: {seq_s:7.2f} s  speed-up {seq_s / engine_s:5.1f} x "
        f"(training steps only: {seq_s / steps_s:.1f} x)"
    )
    print(f"idiomatic sequential:  {idiom_s:7.2f} s  speed-up {idiom_s / engine_s:5.1f} x")
    print(
        f"engine training GFLOP/s: {flops / engine_s / 1e9:.1f} "
        f"(sgemm 2048^2 in this run: {peak:.1f} GFLOP/s, {flops / engine_s / 1e9 / peak:.0%})"
    )
    print(f"peak RSS: {rss_mb:.0f} MB\n")
    print("| activation | engine | hand-tuned | idiomatic |")
    print("|---|---|---|---|")
    sd = statistics.stdev if args.seeds > 1 else (lambda _v: 0.0)
    for k, spec in enumerate(ACTIVATIONS):
        rows = range(k * args.seeds, (k + 1) * args.seeds)
        cells = [
            [acc[i] for i in rows] for acc in ([r.test_metric for r in results], seq_acc, idiom_acc)
        ]
        print(
            f"| {spec} | "
            + " | ".join(f"{statistics.mean(v):.4f} +- {sd(v):.4f}" for v in cells)
            + " |"
        )


if __name__ == "__main__":
    main()
