"""A fixed random subsample of an activation's elements, so a sampled step costs a bounded
amount whatever the layer's size.

An activation (its input ``z``, before the activation function) has *units* along one
axis (features or channels) and *samples* along all the others (batch x positions). The
subsample keeps at most :data:`MAX_UNITS` units and ``k`` samples per unit, the same
``k`` sample positions for every kept unit, with ``units x k <= ELEMENT_BUDGET``; both
sets are drawn once per input shape from a seeded generator, so the same elements are
watched at every sampled step. The gather reads only those elements (one ``torch.take``
of their precomputed flat positions, on the tensor as it is, on its device, no copy of
the whole tensor) and converts them to float32, whatever the training dtype. It returns
them as ``[units, samples]``: each unit's samples contiguous, so the per-unit reductions
of the signals run along the last, contiguous axis.

What the subsample costs the signals (:mod:`actlab.diagnose.records`):

* mean and std come from ``n = units x k`` elements: the standard error of the mean is
  ``std / sqrt(n) * sqrt(1 - n / N)`` over the layer's ``N`` elements (0 when all are
  kept);
* a unit counts as dead when its derivative is 0 on all of its ``k`` samples: a unit alive
  on a share ``q`` of the samples is taken for dead with probability ``(1 - q)^k``
  (``k >= MIN_SAMPLES = 64``: below 0.2% for ``q >= 0.1``);
* the dead and saturated fractions are over the kept units: with ``u`` of ``U`` units
  kept, a fraction ``p`` has standard error ``sqrt(p (1 - p) / u * (1 - u / U))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

ELEMENT_BUDGET = 8192
"""At most this many elements per activation and sampled step."""

MIN_SAMPLES = 64
"""At least this many samples per kept unit (fewer only when the batch has fewer)."""

MAX_UNITS = ELEMENT_BUDGET // MIN_SAMPLES
"""At most 128 units are kept."""


@dataclass(frozen=True)
class Subsample:
    """The kept elements of an input of one shape: ``positions``, their flat (row-major)
    positions in the input, ``[units, samples]``; the kept ``units`` of ``total_units``,
    and ``samples`` per unit out of ``total_samples``."""

    positions: torch.Tensor
    units: int
    total_units: int
    samples: int
    total_samples: int

    @property
    def elements(self) -> int:
        return self.units * self.samples

    @property
    def total(self) -> int:
        return self.total_units * self.total_samples

    def mean_se(self, std: float) -> float:
        """The standard error of the subsample's mean for elements of standard deviation
        ``std``: ``std / sqrt(n) * sqrt(1 - n / N)`` (0 when every element is kept)."""
        n, total = self.elements, self.total
        return std / math.sqrt(n) * math.sqrt(max(0.0, 1.0 - n / total)) if n else 0.0

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """The kept elements of ``x``, ``[units, samples]``, float32, detached (a copy: an
        in-place change of ``x`` afterwards does not reach it)."""
        return torch.take(x.detach(), self.positions).to(torch.float32)


def _choose(n: int, k: int, gen: torch.Generator) -> torch.Tensor:
    if k >= n:
        return torch.arange(n)
    return torch.randperm(n, generator=gen)[:k].sort().values


def subsample(
    shape: tuple[int, ...], unit_axis: int, device: torch.device, seed: int = 0
) -> Subsample:
    """The fixed subsample of an input of ``shape`` with units on ``unit_axis`` (see the
    module docstring), its indices on ``device``."""
    if not shape:
        shape, unit_axis = (1,), 0
    unit_axis %= len(shape)
    total_units = shape[unit_axis]
    sample_shape = shape[:unit_axis] + shape[unit_axis + 1 :]
    total_samples = math.prod(sample_shape)
    gen = torch.Generator().manual_seed(seed)
    units = min(total_units, MAX_UNITS)
    samples = min(total_samples, max(MIN_SAMPLES, ELEMENT_BUDGET // max(units, 1)))
    unit_index = _choose(total_units, units, gen)
    flat = _choose(total_samples, samples, gen)
    sample_index = torch.unravel_index(flat, sample_shape) if sample_shape else ()
    strides = [math.prod(shape[d + 1 :]) for d in range(len(shape))]
    unit_stride = strides.pop(unit_axis)
    sample_positions = torch.zeros(samples, dtype=torch.long)
    for index, stride in zip(sample_index, strides, strict=True):
        sample_positions += index * stride
    positions = unit_index.view(-1, 1) * unit_stride + sample_positions.view(1, -1)
    return Subsample(positions.to(device), units, total_units, samples, total_samples)
