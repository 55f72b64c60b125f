"""Paired initialization of stacked weights.

For layer ``l`` with fan-in ``n_in`` and fan-out ``n_out`` every weight is
``W = std * Z`` with ``Z ~ N(0, 1)`` and

* He (Kaiming normal, fan_in):  ``std = sqrt(2 / n_in)``  (ReLU family);
* LeCun normal:                 ``std = sqrt(1 / n_in)``  (SELU, Klambauer et al. 2017);
* Glorot (Xavier) normal:       ``std = sqrt(2 / (n_in + n_out))``;
* ``gain=<g>``:                 ``std = g / sqrt(n_in)``, what ``init="auto"`` gives: g is
  the activation's variance-preserving gain, derived by signal propagation
  (:mod:`actlab.catalog.propagation`; sqrt 2 for relu = He, 1 for selu = LeCun).

All layers of a candidate (the linear output layer included) use its scheme; biases are 0.
``Z`` is drawn, layer after layer, from a ``torch.Generator`` seeded with the candidate's
seed alone, so every candidate of seed ``s`` starts from the same ``Z``: activations that
share a scheme start from identical weights, and any two schemes differ only by scale.
Fans follow PyTorch: a linear layer's ``n_in`` is its input width, a convolution's is
``in_channels * kh * kw`` (and ``n_out = out_channels * kh * kw``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from actlab.engine.candidates import GAIN_PREFIX, Candidate


@dataclass(frozen=True)
class LayerShape:
    """One layer's weight shape for a single candidate, and its fans."""

    weight: tuple[int, ...]
    bias: tuple[int, ...]
    fan_in: int
    fan_out: int


def init_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation of ``scheme`` (see the module docstring)."""
    if scheme.startswith(GAIN_PREFIX):
        gain = float(scheme.removeprefix(GAIN_PREFIX))
        if not 0 < gain < math.inf:
            raise ValueError(f"init scheme {scheme!r}: the gain must be a positive number")
        return gain / math.sqrt(fan_in)
    if scheme == "he":
        return math.sqrt(2.0 / fan_in)
    if scheme == "lecun":
        return math.sqrt(1.0 / fan_in)
    if scheme == "glorot":
        return math.sqrt(2.0 / (fan_in + fan_out))
    raise ValueError(f"init scheme {scheme!r} must be 'he', 'lecun', 'glorot' or 'gain=<g>'")


def standard_normals(seed: int, layers: Sequence[LayerShape]) -> list[torch.Tensor]:
    """The seed's ``Z`` for every layer, in float64."""
    gen = torch.Generator().manual_seed(int(seed))
    return [torch.randn(layer.weight, generator=gen, dtype=torch.float64) for layer in layers]


def stacked_parameters(
    candidates: Sequence[Candidate], layers: Sequence[LayerShape], dtype: torch.dtype
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(weight [M, *shape], bias [M, *bias])`` per layer for all ``M`` candidates."""
    normals = {s: standard_normals(s, layers) for s in dict.fromkeys(c.seed for c in candidates)}
    params = []
    for i, layer in enumerate(layers):
        weight = torch.stack(
            [normals[c.seed][i] * init_std(c.init, layer.fan_in, layer.fan_out) for c in candidates]
        ).to(dtype)
        bias = torch.zeros((len(candidates), *layer.bias), dtype=dtype)
        params.append((weight, bias))
    return params
