"""Monitoring probes: per hidden layer and candidate, on a fixed probe batch.

Let ``z`` be a hidden layer's pre-activations on the ``P`` probe samples, ``f`` the
candidate's activation and ``d = f'(z)`` (from autograd of ``sum f(z)`` w.r.t. ``z``; exact
for elementwise ``f``). A *unit* is a neuron of a dense layer or a channel of a
convolution (all its spatial positions together). Per layer and candidate:

* ``grad_norm``: Frobenius norm of ``dL/dW`` for the layer's weight ``W``, ``L`` the mean
  loss over the probe batch (one backward pass, no step);
* ``dead_fraction``: share of units with ``d == 0`` exactly on every probe sample (and
  position): no gradient can flow through them; for ReLU that is "never active";
* ``saturated_fraction``: share of units, dead ones excluded, with
  ``|d| < 0.01 * max f'`` (``Activation.max_derivative``) on at least 99% of the probe
  samples (x positions); for sigmoid/tanh: stuck in a flat tail;
* ``act_mean`` / ``act_std``: mean and (population) standard deviation of ``f(z)`` over
  probe samples, positions and units of the layer.

Candidates with a non-finite probe loss get NaN for every value.
"""

from __future__ import annotations

import math

import torch

from actlab.engine.metrics import candidate_loss
from actlab.engine.stacked import StackedNet

PROBES = ("grad_norm", "dead_fraction", "saturated_fraction", "act_mean", "act_std")
SATURATION_LEVEL = 0.01
SATURATION_SHARE = 0.99


def _layer_stats(d: torch.Tensor, a: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """``[4, M]``: dead, saturated, mean, std from the derivatives ``d`` and activations
    ``a``, both ``[M, P, units, positions]``; ``threshold [M]`` is ``0.01 * max f'``."""
    dead = (d == 0).all(dim=3).all(dim=1)
    small = d.abs() < threshold.view(-1, 1, 1, 1)
    saturated = (small.to(d.dtype).mean(dim=(1, 3)) >= SATURATION_SHARE) & ~dead
    std, mean = torch.std_mean(a.flatten(1), dim=1, correction=0)
    return torch.stack([dead.to(d.dtype).mean(1), saturated.to(d.dtype).mean(1), mean, std])


def probe(net: StackedNet, x: torch.Tensor, y: torch.Tensor, task: str) -> torch.Tensor:
    """All probes as one tensor ``[len(PROBES), n_hidden, M]`` (see the module docstring),
    for the probe batch ``x [P, F]``, ``y [P]`` / ``[P, K]``."""
    m = len(net.candidates)
    with torch.enable_grad():
        out, pre = net.forward(x.expand(m, *x.shape), capture=True)
        loss = candidate_loss(out, y, task)
        finite = torch.isfinite(loss)
        grads = torch.autograd.grad(torch.where(finite, loss, 0.0).sum(), net.hidden_weights())
        zs = [z.detach().requires_grad_(True) for z in pre]
        acts = [net.activate(z, dim=0) for z in zs]
        derivs = torch.autograd.grad([a.sum() for a in acts], zs)
    threshold = torch.tensor(
        [
            SATURATION_LEVEL * c.activation.max_derivative
            if math.isfinite(c.activation.max_derivative)
            else -math.inf  # no finite maximum: nothing counts as saturated
            for c in net.candidates
        ],
        dtype=out.dtype,
        device=out.device,
    )
    result = torch.stack(
        [
            torch.cat([g.flatten(1).norm(dim=1)[None], _layer_stats(d, a.detach(), threshold)])
            for g, d, a in zip(grads, derivs, acts, strict=True)
        ],
        dim=1,
    )
    return torch.where(finite, result, math.nan)
