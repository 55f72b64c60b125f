"""Measured compute cost of each activation on this machine.

In the stacked engine all candidates share one training step, so a per-candidate epoch
time would only divide a shared number. Instead each activation's forward+backward pass is
timed on its own and reported relative to relu: the seed article's "computational
efficiency" factor, measured rather than asserted.

How, so that the figure holds on a busy machine and costs little (it runs with every
comparison; BENCHMARKS.md has the spread across runs and the comparison with
``benchmarks/kernels.py``):

* one torch thread while timing, and the CPU time of that thread (``time.thread_time``),
  not the wall clock: time the operating system gives to other jobs is not counted (with
  two threads every call would also wait for the slower one, whichever core another job
  is using);
* a tensor of :data:`NUMEL` elements, the size of a stacked hidden layer, so the timing is
  the activation's arithmetic and memory traffic, not Python's call overhead;
* rounds of every activation in turn (drift in the machine's speed hits all alike), in a
  rotating order, until :data:`BUDGET` seconds of CPU time are spent; each activation's
  fastest call counts, since other load (cache, memory bandwidth) only ever adds time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

from actlab.backends.torch import functional
from actlab.store.errors import one_line

REFERENCE = "relu"
NUMEL = 1 << 18
"""Float32 elements per timed call (1 MB): a stacked hidden layer's size (the default
run's 40 candidates x 64 samples x 128 units is 327,680); relu takes ~0.2 ms on it, so
Python's ~15 us per call is a few percent."""
BUDGET = 0.05
"""CPU seconds spent timing, in all: ~0.08 s of a compare's wall time with the default
eight activations (0.15 s took ~0.2 s). On the loaded 2-core machine, 8 runs each, the
ratios' medians agreed within 3% and their range widened from +-4% to +-8% around the
median (leaky_relu/relu 0.95-1.14, tanh/relu 5.3-6.3; BENCHMARKS.md), still well inside
the recommendation's 1.25x threshold."""
MIN_ROUNDS = 5
MAX_ROUNDS = 60


@contextmanager
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class _Seed(torch.autograd.Function):
    """A scalar whose backward hands ``grad`` to ``out``'s backward: ``out.backward(grad)``
    without its ``grad_outputs`` check, which imports sympy (~0.3 s, more than all the
    timing), and without the reduction ``out.sum()`` would add to the timed pass."""

    @staticmethod
    def forward(ctx: Any, out: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
        ctx.grad = grad
        return out.new_zeros(())

    @staticmethod
    def backward(ctx: Any, _: torch.Tensor) -> tuple[torch.Tensor, None]:
        return ctx.grad, None


def _time_once(
    fn: Callable[[torch.Tensor], torch.Tensor], base: torch.Tensor, grad: torch.Tensor
) -> float:
    x = base.clone().requires_grad_(True)
    start = time.thread_time()
    out = fn(x)
    _Seed.apply(out, grad[: out.numel()].view_as(out)).backward()  # gated: half the input
    return time.thread_time() - start


def activation_costs(
    specs: Sequence[str],
    *,
    numel: int = NUMEL,
    budget: float = BUDGET,
    min_rounds: int = MIN_ROUNDS,
    max_rounds: int = MAX_ROUNDS,
) -> dict[str, dict[str, float]]:
    """Per spec, the fastest single-threaded forward+backward pass over ``numel`` float32
    elements (``seconds``; a gated entry reads them as value and gate halves and returns
    ``numel / 2``) and its ratio to relu's measured in the same rounds
    (``relative_to_relu``). Rounds continue until ``budget`` seconds have been spent
    timing, within ``[min_rounds, max_rounds]``. A spec torch cannot run gets ``seconds``
    and ``relative_to_relu`` None and the reason in ``error``."""
    names = list(dict.fromkeys([REFERENCE, *specs]))
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(numel, generator=gen) * 3
    grad = torch.ones(numel)
    fns, failed = {}, {}
    for s in names:
        try:  # a spec torch cannot run (a parameter beyond float32) is marked, not fatal
            fns[s] = functional(s)
            _time_once(fns[s], base[:8], grad[:8])
        except (RuntimeError, ValueError, OverflowError, TypeError) as exc:
            fns.pop(s, None)
            failed[s] = one_line(exc) or type(exc).__name__
    timed = list(fns)
    best = dict.fromkeys(timed, float("inf"))
    with _one_thread():
        for s in timed:  # warm-up: first calls allocate and load kernels
            _time_once(fns[s], base, grad)
        spent, rounds = 0.0, 0
        while timed and (rounds < min_rounds or (spent < budget and rounds < max_rounds)):
            shift = rounds % len(timed)
            for s in timed[shift:] + timed[:shift]:
                seconds = _time_once(fns[s], base, grad)
                best[s] = min(best[s], seconds)
                spent += seconds
            rounds += 1
    ref = best.get(REFERENCE)
    return {
        s: {"seconds": None, "relative_to_relu": None, "error": failed[s]}
        if s in failed
        else {"seconds": best[s], "relative_to_relu": best[s] / ref if ref else None}
        for s in specs
    }
