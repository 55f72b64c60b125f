"""Cost of the padded stacked optimizer (``actlab.engine.optim``) against torch's fused Adam
on the unpadded stacked parameters (what the engine stepped before the padding), on the
default ``actlab compare`` model: digits' shapes, 2 hidden layers of 128, 8 activations x 5
seeds = 40 candidates, batches of 64.

Both step identical copies of the parameters with the same gradients, alternating in blocks
of ``--block`` steps within one process, so drifts in machine load hit both alike; the
figures are medians of the per-block step times and their ratio. "whole step" adds the
stacked forward and backward pass of a tanh MLP (as a training step does) to each. One
torch thread by default.

    .venv/bin/python benchmarks/optimizer.py [--blocks 40] [--block 50] [--candidates 40]
"""

from __future__ import annotations

import argparse
import itertools
import platform
import statistics
import time
from datetime import date

import torch

from actlab.engine.optim import StackedOptimizer

WIDTHS = (64, 128, 128, 10)


def _params(m: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(0)
    out = []
    for a, b in itertools.pairwise(WIDTHS):
        out.append(torch.randn(m, a, b, generator=gen).mul_(a**-0.5).requires_grad_(True))
        out.append(torch.zeros(m, 1, b).requires_grad_(True))
    return out


def _forward_backward(params: list[torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    h = x
    for i in range(0, len(params) - 2, 2):
        h = torch.tanh(torch.baddbmm(params[i + 1], h, params[i]))
    out = torch.baddbmm(params[-1], h, params[-2])
    return list(torch.autograd.grad(out.square().mean(dim=(1, 2)).sum(), params))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=40)
    parser.add_argument("--block", type=int, default=50)
    parser.add_argument("--candidates", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    m = args.candidates
    padded_params, plain_params = _params(m), _params(m)
    padded = StackedOptimizer(padded_params, "adam", lr=1e-3)
    plain = torch.optim.Adam(plain_params, lr=1e-3, fused=True)
    x = torch.randn(m, 64, WIDTHS[0], generator=torch.Generator().manual_seed(1))
    grads = [torch.randn_like(p) * 1e-3 for p in plain_params]

    def step_padded(whole: bool) -> None:
        g = _forward_backward(padded_params, x) if whole else grads
        padded.step(g, None)

    def step_plain(whole: bool) -> None:
        g = _forward_backward(plain_params, x) if whole else grads
        for p, gi in zip(plain_params, g, strict=True):
            p.grad = gi
        plain.step()

    print("| what | unpadded (torch fused) | padded (StackedOptimizer) | ratio |")
    for whole in (False, True):
        times: dict[str, list[float]] = {"padded": [], "plain": []}
        for _ in range(args.blocks):
            for name, step in (("padded", step_padded), ("plain", step_plain)):
                begin = time.perf_counter()
                for _ in range(args.block):
                    step(whole)
                times[name].append((time.perf_counter() - begin) / args.block)
        a, b = statistics.median(times["padded"]), statistics.median(times["plain"])
        what = "whole step" if whole else "optimizer step"
        print(f"| {what} | {1e6 * b:.1f} us | {1e6 * a:.1f} us | {a / b:.3f} |")
    print(
        f"({m} candidates, {args.blocks} blocks of {args.block} steps, {args.threads} thread(s); "
        f"{platform.processor() or platform.machine()}; torch {torch.__version__}; {date.today()})"
    )


if __name__ == "__main__":
    main()
