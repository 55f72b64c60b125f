"""Measured compute cost of each activation on this machine.

In the stacked engine all candidates share one training step, so a per-candidate epoch
time would only divide a shared number. Instead each activation's forward+backward pass is
timed on its own, on one tensor of the size a hidden layer sees in training, and reported
relative to relu: the seed article's "computational efficiency" factor, measured rather
than asserted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

from actlab.backends.torch import functional

REFERENCE = "relu"


def _time_once(fn, x: torch.Tensor, grad: torch.Tensor) -> float:
    start = time.perf_counter()
    y = fn(x)
    y.backward(grad)
    return time.perf_counter() - start


def activation_costs(
    specs: Sequence[str], *, numel: int = 1 << 20, repeats: int = 15
) -> dict[str, dict[str, float]]:
    """Fastest of ``repeats`` timings of one forward+backward pass over ``numel`` float32 elements, per
    spec, and the ratio to relu measured in the same call (interleaved, so drift in the
    machine's speed affects every activation alike)."""
    names = list(dict.fromkeys([REFERENCE, *specs]))
    fns = {s: functional(s) for s in names}
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(numel, generator=gen) * 3
    grad = torch.ones(numel)
    samples: dict[str, list[float]] = {s: [] for s in names}
    for _ in range(repeats):
        for s in names:
            x = base.clone().requires_grad_(True)
            samples[s].append(_time_once(fns[s], x, grad))
    # The fastest repeat: other load on the machine only ever adds time.
    best = {s: min(v) for s, v in samples.items()}
    ref = best[REFERENCE]
    return {s: {"seconds": best[s], "relative_to_relu": best[s] / ref} for s in specs}
