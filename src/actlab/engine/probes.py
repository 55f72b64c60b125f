"""Monitoring probes: per site (a hidden layer of the engine's MLP / CNN, an activation
call of a user's model) and candidate, on a fixed probe batch, computed in torch on the
training device.

Let ``z`` be a site's pre-activations on the ``P`` probe samples, ``f`` the
candidate's activation and ``d = f'(z)`` (from autograd of ``sum f(z)`` w.r.t. ``z``; exact
for elementwise ``f``). A *unit* is a neuron of a dense layer or a channel of a
convolution (all its spatial positions together). Per layer and candidate:

* ``grad_norm``: Frobenius norm of ``dL/dW`` for the weight ``W`` of the layer feeding the
  site, ``L`` the mean loss over the probe batch (one backward pass, no step);
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from actlab.engine.metrics import candidate_loss
from actlab.engine.stack import Stack
from actlab.health import SATURATION_SHARE, saturation_threshold

PROBES = ("grad_norm", "dead_fraction", "saturated_fraction", "act_mean", "act_std")


def thresholds(max_derivatives: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """Per candidate, the ``|f'|`` below which a sample is in a flat tail
    (:func:`actlab.health.saturation_threshold`), ``[M]`` on ``like``'s device."""
    return torch.tensor(
        [saturation_threshold(float(m)) for m in max_derivatives],
        dtype=torch.float64 if like.device.type != "mps" else torch.float32,
        device=like.device,
    )


@dataclass
class LayerTally:
    """One layer's running counts over the chunks seen so far, per candidate: ``alive
    [M, units]`` (some ``f'(z) != 0``), ``small [M, units]`` (how many ``|f'(z)|`` below
    the saturation threshold, over ``samples`` x ``positions``), and the count ``n``,
    ``mean [M]`` and sum of squared deviations ``m2 [M]`` of the activations.

    Tensors are in the probe layout ``[M, B, units, positions]``; everything stays on
    their device (no host copy)."""

    alive: torch.Tensor | None = None
    small: torch.Tensor | None = None
    samples: int = 0
    positions: int = 1
    n: int = 0
    mean: torch.Tensor | None = None
    m2: torch.Tensor | None = None

    def add(self, derivative: torch.Tensor, activation: torch.Tensor, flat: torch.Tensor) -> None:
        """Count one chunk: ``f'(z)``, ``f(z)`` and the per-candidate flat-tail
        threshold ``flat [M]``."""
        magnitude = derivative.detach().abs()
        alive = magnitude.amax(dim=(1, 3)) > 0
        small = _count_below(magnitude, flat.to(magnitude.dtype).view(-1, 1, 1, 1))
        self.alive = _combine(self.alive, alive, torch.logical_or)
        self.small = _combine(self.small, small, torch.add)
        self.samples += derivative.shape[1]
        self.positions = derivative.shape[3]
        a = activation.detach()
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


def layer_signals(
    derivative: torch.Tensor, activation: torch.Tensor, max_derivative: Sequence[float]
) -> torch.Tensor:
    """Dead fraction, saturated fraction, mean and std of one layer, ``[4, M]``, from
    ``f'(z)`` and ``f(z)`` in the probe layout ``[M, samples, units, positions]`` and each
    candidate's ``max |f'|`` (definitions: the module docstring and :mod:`actlab.health`).
    A single model is ``M = 1``; computed in torch on the tensors' device."""
    tally = LayerTally()
    tally.add(derivative, activation, thresholds(max_derivative, derivative))
    return tally.stats()


EXACT_FLOAT32 = 2**24
"""Whole numbers up to this are exact in float32 (and so is every partial sum of ones)."""


def _count_below(magnitude: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """How many of ``magnitude [M, samples, units, positions]`` are below ``threshold``
    (broadcast against it), per candidate and unit, ``[M, units]`` (int64).

    The comparison writes 1.0 / 0.0 into a float32 tensor, which is summed: exact while a
    unit has at most :data:`EXACT_FLOAT32` values (every partial sum is a whole number no
    larger than ``samples * positions``); past that, the boolean comparison is counted.
    On the CPU the float sum took a fifth of the time of the boolean one (torch 2.13
    writes booleans one byte at a time: 0.2 against 1.0 ms for the default compare's
    40 x 256 x 128 probe values)."""
    if magnitude.shape[1] * magnitude.shape[3] > EXACT_FLOAT32:
        return (magnitude < threshold).sum(dim=(1, 3))
    below = torch.empty(magnitude.shape, dtype=torch.float32, device=magnitude.device)
    torch.lt(magnitude, threshold, out=below)
    return below.sum(dim=(1, 3)).long()


def _combine(
    old: torch.Tensor | None,
    new: torch.Tensor,
    op: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    return new if old is None else op(old, new)


def probe(
    stack: Stack, x: torch.Tensor, y: torch.Tensor, task: str, chunk: int | None = None
) -> torch.Tensor:
    """All probes as one tensor ``[len(PROBES), sites, M]`` (see the module docstring),
    for the probe batch ``x [P, ...]``, ``y [P]`` / ``[P, K]``, ``chunk`` samples at a time
    (default: all at once). A site without a feeding weight layer has a NaN
    ``grad_norm``."""
    m, p = len(stack), x.shape[0]
    chunk = chunk or p
    weights = stack.site_weights()
    present = [w for w in weights if w is not None]
    flat = thresholds(stack.max_derivatives().tolist(), x)
    tallies = [LayerTally() for _ in weights]
    grads: list[torch.Tensor] | None = None
    finite = torch.ones(m, dtype=torch.bool, device=x.device)
    for start in range(0, p, chunk):
        xb, yb = x[start : start + chunk], y[start : start + chunk]
        with torch.enable_grad():
            out, captured = stack.forward(xb.expand(m, *xb.shape), capture=True)
            loss = candidate_loss(out, yb, task)
            ok = torch.isfinite(loss)
            # d(mean loss over P)/dW = sum over chunks of d(chunk mean * B / P)/dW
            objective = torch.where(ok, loss, 0.0).sum() * (xb.shape[0] / p)
            derivatives = stack.derivatives(captured)
            part = (
                torch.autograd.grad(objective, present, materialize_grads=True) if present else ()
            )
        finite &= ok
        grads = list(part) if grads is None else [g + q for g, q in zip(grads, part, strict=True)]
        for tally, d, (_, a) in zip(tallies, derivatives, captured, strict=True):
            tally.add(d, a, flat)
    assert grads is not None
    norms = iter(grads)
    rows = []
    for w, tally in zip(weights, tallies, strict=True):
        stats = tally.stats()
        norm = (
            next(norms).flatten(1).norm(dim=1)
            if w is not None
            else torch.full_like(stats[0], math.nan)
        )
        rows.append(torch.cat([norm.to(stats.dtype)[None], stats]))
    result = torch.stack(rows, dim=1)
    return torch.where(finite, result, math.nan)
