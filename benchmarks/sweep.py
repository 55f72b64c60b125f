"""The default sweep, stacked engine vs a plain sequential PyTorch loop, in one run.

    python benchmarks/sweep.py [--epochs 30] [--seeds 5] [--threads N]

8 activations (sigmoid, tanh, relu, leaky_relu, softplus, elu, selu, identity) x seeds,
scikit-learn's digits (stratified 60/20/20 split, standardized on the training part),
MLP 64-128-128-10, Adam lr 1e-3, batch 64. Both paths use the same initial weights and
minibatch order per candidate. The engine's time includes its per-epoch validation pass
and probes; the sequential loop trains and evaluates the test set only. Prints both
training times, their ratio, test accuracy per activation side by side, the engine's
achieved training GFLOP/s against a large float32 matmul timed in the same run, and peak RSS.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import resource
import statistics
import time
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from actlab.backends.torch import get as torch_module
from actlab.engine import StackedTrainer, TrainConfig, batch_order

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "selu", "identity")


def digits_splits() -> SimpleNamespace:
    x, y = load_digits(return_X_y=True)
    x_tr, x_rest, y_tr, y_rest = train_test_split(x, y, test_size=0.4, random_state=0, stratify=y)
    x_va, x_te, y_va, y_te = train_test_split(
        x_rest, y_rest, test_size=0.5, random_state=0, stratify=y_rest
    )
    mean, std = x_tr.mean(0), x_tr.std(0)
    std[std == 0] = 1.0

    def scale(a: np.ndarray) -> np.ndarray:
        return ((a - mean) / std).astype(np.float32)

    return SimpleNamespace(
        X_train=scale(x_tr), y_train=y_tr, X_val=scale(x_va), y_val=y_va,
        X_test=scale(x_te), y_test=y_te, task="classification", n_outputs=10,
    )  # fmt: skip


def sequential(trainer: StackedTrainer, initial: list[torch.Tensor], epochs: int) -> list[float]:
    """Train every candidate alone (nn.Sequential + torch.optim.Adam), same init and batches;
    returns test accuracies in candidate order."""
    x, y = trainer.data.train
    x_test, y_test = trainer.data.test
    accuracies = []
    for m, c in enumerate(trainer.candidates):
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
                layers.append(torch_module(c.activation))
        model = nn.Sequential(*layers)
        opt = torch.optim.Adam(model.parameters(), lr=trainer.config.lr)
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(1, epochs + 1):
            order = batch_order(c.seed, epoch, x.shape[0])
            for start in range(0, x.shape[0], trainer.config.batch_size):
                idx = order[start : start + trainer.config.batch_size]
                opt.zero_grad()
                loss_fn(model(x[idx]), y[idx]).backward()
                opt.step()
        with torch.no_grad():
            accuracies.append(float((model(x_test).argmax(1) == y_test).double().mean()))
    return accuracies


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
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    splits = digits_splits()
    config = TrainConfig(epochs=args.epochs)
    trainer = StackedTrainer(
        splits, activations=list(ACTIVATIONS), seeds=range(args.seeds), config=config
    )
    initial = [p.detach().clone() for p in trainer.net.params]
    peak = sgemm_gflops()

    start = time.perf_counter()
    results = trainer.run()
    engine_s = time.perf_counter() - start
    start = time.perf_counter()
    seq_acc = sequential(trainer, initial, args.epochs)
    seq_s = time.perf_counter() - start

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
    print(f"stacked engine:      {engine_s:7.2f} s  (with per-epoch validation and probes)")
    print(f"sequential PyTorch:  {seq_s:7.2f} s")
    print(f"speed-up:            {seq_s / engine_s:7.1f} x")
    print(
        f"engine training GFLOP/s: {flops / engine_s / 1e9:.1f} "
        f"(sgemm 2048^2 in this run: {peak:.1f} GFLOP/s, {flops / engine_s / 1e9 / peak:.0%})"
    )
    print(f"peak RSS: {rss_mb:.0f} MB\n")
    print("| activation | engine test acc (mean +- sd) | sequential test acc (mean +- sd) |")
    print("|---|---|---|")
    for k, spec in enumerate(ACTIVATIONS):
        rows = range(k * args.seeds, (k + 1) * args.seeds)
        eng = [results[i].test_metric for i in rows]
        seq = [seq_acc[i] for i in rows]
        sd = statistics.stdev if args.seeds > 1 else (lambda _v: 0.0)
        print(
            f"| {spec} | {statistics.mean(eng):.4f} +- {sd(eng):.4f} "
            f"| {statistics.mean(seq):.4f} +- {sd(seq):.4f} |"
        )


if __name__ == "__main__":
    main()
