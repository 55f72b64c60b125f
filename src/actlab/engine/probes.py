"""Monitoring probes: per hidden layer and candidate, on a fixed probe batch.

Let ``z`` be a hidden layer's pre-activations on the ``P`` probe samples, ``f`` the
candidate's activation and ``d = f'(z)`` (from autograd of ``sum f(z)`` w.r.t. ``z``; exact
for elementwise ``f``). A *unit* is a neuron of a dense layer or a channel of a
convolution (all its spatial positions together). Per layer and candidate:

* ``grad_norm``: Frobenius norm of ``dL/dW`` for the layer's weight ``W``, ``L`` the mean
  loss over the probe batch (one backward pass, no step);
* ``dead_fraction``: share of units with ``d == 0`` exactly on every probe sample (and
  position): no gradient can flow through them; for ReLU that is "never active";
* ``saturated_fraction``: share of units, dead ones excluded, stuck in a flat tail on
  the probe samples (x positions), as :mod:`actlab.health` defines it;
* ``act_mean`` / ``act_std``: mean and (population) standard deviation of ``f(z)`` over
  probe samples, positions and units of the layer.

Candidates with a non-finite probe loss get NaN for every value.

The probe batch may be processed in chunks (``chunk`` samples at a time, to keep large
convolutional activations in cache): gradients are summed, per-unit counts added, and
the moments combined exactly (Chan et al.'s pairwise update of mean and sum of squared
deviations), so the values do not depend on the chunking beyond rounding.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from actlab.engine.metrics import candidate_loss
from actlab.engine.stacked import StackedNet
from actlab.health import SATURATION_SHARE, saturation_threshold

PROBES = ("grad_norm", "dead_fraction", "saturated_fraction", "act_mean", "act_std")


def _threshold(net: StackedNet, index: int) -> float:
    return saturation_threshold(net.slices[index].activation.max_derivative)


@dataclass
class _LayerTally:
    """One hidden layer's running counts over the probe chunks seen so far: ``alive
    [M, units]`` (some ``d != 0``), ``small [M, units]`` (how many ``|d|`` below the
    saturation threshold, over ``samples`` x ``positions``), and the count ``n``, ``mean``
    ``[M]`` and sum of squared deviations ``m2 [M]`` of the activations per candidate."""

    alive: torch.Tensor | None = None
    small: torch.Tensor | None = None
    samples: int = 0
    positions: int = 1
    n: int = 0
    mean: torch.Tensor | None = None
    m2: torch.Tensor | None = None

    def add(self, net: StackedNet, z: torch.Tensor, a: torch.Tensor) -> None:
        """Count one chunk's pre-activations ``z`` and activations ``a`` (``[M, B, units,
        positions]``). ``f'(z)`` comes from autograd of each activation on its own slice
        (no full-size concatenation)."""
        alive, small = [], []
        for k, (part, fn) in enumerate(zip(net.slices, net.fns, strict=True)):
            zs = z[part.start : part.stop].detach().requires_grad_(True)
            with torch.enable_grad():
                (d,) = torch.autograd.grad(fn(zs), zs, torch.ones_like(zs))
            magnitude = d.abs()
            alive.append(magnitude.amax(dim=(1, 3)) > 0)
            small.append((magnitude < _threshold(net, k)).sum(dim=(1, 3)))
        self.alive = _combine(self.alive, torch.cat(alive), torch.logical_or)
        self.small = _combine(self.small, torch.cat(small), torch.add)
        self.samples += z.shape[1]
        self.positions = z.shape[3]
        a = a.detach()
        dims = tuple(range(1, a.dim()))
        count = a.numel() // a.shape[0]
        mean = a.mean(dim=dims, keepdim=True)
        m2 = (a - mean).square_().sum(dim=dims)
        mean = mean.flatten()
        if self.mean is None or self.m2 is None:
            self.n, self.mean, self.m2 = count, mean, m2
            return
        total = self.n + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta.square() * (self.n * count / total)
        self.n = total

    def stats(self) -> torch.Tensor:
        """``[4, M]``: dead fraction, saturated fraction, mean, std."""
        assert self.alive is not None and self.small is not None
        assert self.mean is not None and self.m2 is not None
        dead = ~self.alive
        saturated = (self.small >= SATURATION_SHARE * self.samples * self.positions) & self.alive
        dtype = self.mean.dtype
        return torch.stack(
            [
                dead.to(dtype).mean(1),
                saturated.to(dtype).mean(1),
                self.mean,
                (self.m2 / self.n).sqrt(),
            ]
        )


def _combine(
    old: torch.Tensor | None,
    new: torch.Tensor,
    op: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    return new if old is None else op(old, new)


def probe(
    net: StackedNet, x: torch.Tensor, y: torch.Tensor, task: str, chunk: int | None = None
) -> torch.Tensor:
    """All probes as one tensor ``[len(PROBES), n_hidden, M]`` (see the module docstring),
    for the probe batch ``x [P, F]``, ``y [P]`` / ``[P, K]``, ``chunk`` samples at a time
    (default: all at once)."""
    m, p = len(net.candidates), x.shape[0]
    chunk = chunk or p
    tallies = [_LayerTally() for _ in range(net.n_hidden)]
    grads: list[torch.Tensor] | None = None
    finite = torch.ones(m, dtype=torch.bool, device=x.device)
    for start in range(0, p, chunk):
        xb, yb = x[start : start + chunk], y[start : start + chunk]
        with torch.enable_grad():
            out, captured = net.forward(xb.expand(m, *xb.shape), capture=True)
            loss = candidate_loss(out, yb, task)
            ok = torch.isfinite(loss)
            # d(mean loss over P)/dW = sum over chunks of d(chunk mean * B / P)/dW
            objective = torch.where(ok, loss, 0.0).sum() * (xb.shape[0] / p)
            part = torch.autograd.grad(objective, net.hidden_weights())
        finite &= ok
        grads = list(part) if grads is None else [g + q for g, q in zip(grads, part, strict=True)]
        for tally, (z, a) in zip(tallies, captured, strict=True):
            tally.add(net, z, a)
    assert grads is not None
    result = torch.stack(
        [
            torch.cat([g.flatten(1).norm(dim=1)[None], tally.stats()])
            for g, tally in zip(grads, tallies, strict=True)
        ],
        dim=1,
    )
    return torch.where(finite, result, math.nan)
