"""Overhead of ``actlab.diagnose.monitor`` on the default MLP.

The default MLP: scikit-learn's digits (standardized), 2 hidden layers of 128 ReLU units
(``--activation`` picks another torch module),
Adam (lr 1e-3), batches of 64. Plain and monitored training alternate in blocks of
``--block`` steps within one process: two copies of the same model on the same batches, one
inside a single ``monitor(...)`` for the whole run, so drifts in machine load hit both alike;
the figure is the ratio of the median per-block step times. One torch thread
by default: on a shared machine, more threads for matrices this small measure contention.

    .venv/bin/python benchmarks/monitor.py [--steps 4000] [--block 100] [--every 10]
        [--activation relu|gelu|silu|tanh]
"""

from __future__ import annotations

import argparse
import copy
import platform
import statistics
import time
from datetime import date

import torch
from torch import nn

from actlab.diagnose import DEFAULT_EVERY, monitor
from actlab.diagnose.demos import digits, he_normal_, mlp


def _block(model: nn.Module, opt: torch.optim.Optimizer, steps: int, start: int) -> float:
    """Seconds per step over ``steps`` minibatch steps starting at batch ``start``."""
    x, y, _, _ = digits()
    loss_fn = nn.CrossEntropyLoss()
    n = len(x) // 64
    begin = time.perf_counter()
    for i in range(start, start + steps):
        j = (i % n) * 64
        opt.zero_grad()
        loss_fn(model(x[j : j + 64]), y[j : j + 64]).backward()
        opt.step()
    return (time.perf_counter() - begin) / steps


ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


def measure(steps: int, block: int, every: int, activation: str = "relu") -> tuple[float, float]:
    """Median seconds per step of two identical models, one of them monitored for the whole
    run; they train in alternating blocks of ``block`` steps."""
    torch.manual_seed(0)
    plain_model = mlp(2, 128, ACTIVATIONS[activation], he_normal_)
    watched_model = copy.deepcopy(plain_model)
    plain_opt = torch.optim.Adam(plain_model.parameters(), lr=1e-3)
    watched_opt = torch.optim.Adam(watched_model.parameters(), lr=1e-3)
    _block(plain_model, plain_opt, block, 0)  # warm-up
    plain, watched = [], []
    with monitor(watched_model, every=every):
        _block(watched_model, watched_opt, block, 0)  # warm-up, and the first-step tracing
        for k in range(1, steps // (2 * block) + 1):
            plain.append(_block(plain_model, plain_opt, block, k * block))
            watched.append(_block(watched_model, watched_opt, block, k * block))
    return statistics.median(plain), statistics.median(watched)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--block", type=int, default=100)
    parser.add_argument("--every", type=int, default=DEFAULT_EVERY)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--activation", choices=sorted(ACTIVATIONS), default="relu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    plain, watched = measure(args.steps, args.block, args.every, args.activation)
    print(
        f"date: {date.today()}  machine: {platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} torch threads, torch {torch.__version__}"
    )
    print(
        f"activation: {args.activation}, steps: {args.steps} (blocks of {args.block}), "
        f"every={args.every}"
    )
    print(f"plain:     {plain * 1e3:.3f} ms/step")
    print(f"monitored: {watched * 1e3:.3f} ms/step")
    print(f"overhead:  {100 * (watched / plain - 1):+.1f}%")


if __name__ == "__main__":
    main()
