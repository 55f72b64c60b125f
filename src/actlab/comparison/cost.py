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
from actlab.store.errors import one_line

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
    machine's speed affects every activation alike). A spec torch cannot run gets
    ``seconds`` and ``relative_to_relu`` None and the reason in ``error``."""
    names = list(dict.fromkeys([REFERENCE, *specs]))
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(numel, generator=gen) * 3
    grad = torch.ones(numel)
    fns, failed = {}, {}
    for s in names:
        try:  # a spec torch cannot run (a parameter beyond float32) is marked, not fatal
            fns[s] = functional(s)
            _time_once(fns[s], base[:8].clone().requires_grad_(True), grad[:8])
        except (RuntimeError, ValueError, OverflowError, TypeError) as exc:
            fns.pop(s, None)
            failed[s] = one_line(exc) or type(exc).__name__
    samples: dict[str, list[float]] = {s: [] for s in fns}
    for _ in range(repeats):
        for s in fns:
            x = base.clone().requires_grad_(True)
            samples[s].append(_time_once(fns[s], x, grad))
    # The fastest repeat: other load on the machine only ever adds time.
    best = {s: min(v) for s, v in samples.items()}
    ref = best.get(REFERENCE)
    return {
        s: {"seconds": None, "relative_to_relu": None, "error": failed[s]}
        if s in failed
        else {"seconds": best[s], "relative_to_relu": best[s] / ref if ref else None}
        for s in specs
    }
