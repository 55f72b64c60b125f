"""The signals of every watched site of one sampled step in one pass, in torch.

The signals are those of :mod:`actlab.diagnose.records` (definitions: :mod:`actlab.health`
for the flat tail, :func:`actlab.engine.probes.layer_signals` for the engine's own
layers): per site ``j`` with ``f'(z)`` and ``f(z)`` on its subsample
(:mod:`actlab.diagnose.sampling`, ``[u_j, k_j]``: units x samples),

* dead fraction: share of the ``u_j`` units with ``sum_s |f'(z_us)| == 0`` (no sample
  passes a gradient; a NaN counts as no gradient, as in the engine);
* saturated fraction: share of units, not dead, with ``|f'(z_us)| < t_j`` on at least
  ``SATURATION_SHARE * k_j`` of their samples, ``t_j = saturation_threshold(max |f'_j|)``;
* mean and population standard deviation of ``f(z)`` over the ``u_j * k_j`` elements
  (two passes: the mean, then the squared deviations from it).

The sites of a step have different subsample shapes, so instead of one engine call per
shape, the subsamples are laid end to end in one flat tensor (site after site, each unit's
samples contiguous) and reduced by segment sums (:func:`torch.segment_reduce` on CPU and
CUDA, ``index_add_`` elsewhere): a fixed number of tensor operations per sampled step,
whatever the number of sites. The layout
(segment lengths, per-element thresholds) depends only on the sites' shapes, so it is
built once and reused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from actlab.health import SATURATION_SHARE, saturation_threshold


@dataclass(frozen=True)
class Layout:
    """Sites ``[u_j, k_j]`` laid end to end, ``sizes`` elements each; on the device, the
    segment lengths ``unit_samples [U]`` (``k`` of each unit, all sites' units in order),
    ``site_units [S]`` and ``site_sizes [S]``, the same as float32 in ``units`` and
    ``elements``, ``saturated_at [U]`` (``SATURATION_SHARE * k`` of each unit), per
    element its site's flat-tail ``threshold [E]``, its site ``element_site [E]`` and its
    unit ``element_unit [E]``, and per unit its site ``unit_site [U]``."""

    sizes: tuple[int, ...]
    unit_samples: torch.Tensor
    site_units: torch.Tensor
    site_sizes: torch.Tensor
    units: torch.Tensor
    elements: torch.Tensor
    saturated_at: torch.Tensor
    threshold: torch.Tensor
    element_site: torch.Tensor
    element_unit: torch.Tensor
    unit_site: torch.Tensor


def layout(
    shapes: Sequence[tuple[int, int]], max_derivatives: Sequence[float], device: torch.device
) -> Layout:
    """The layout of sites with subsamples of ``shapes`` (``(units, samples)``, both
    positive) and activations of ``max |f'|`` ``max_derivatives``."""
    if not shapes or any(u < 1 or k < 1 for u, k in shapes):
        raise ValueError(f"every site needs at least one unit and one sample, got {shapes}")
    sizes = tuple(u * k for u, k in shapes)
    units = torch.tensor([u for u, _ in shapes])
    counts = torch.tensor(sizes)
    unit_samples = torch.tensor([k for _, k in shapes]).repeat_interleave(units)
    flat = torch.tensor([saturation_threshold(float(m)) for m in max_derivatives])
    return Layout(
        sizes,
        unit_samples.to(device),
        units.to(device),
        counts.to(device),
        units.to(device, torch.float32),
        counts.to(device, torch.float32),
        (SATURATION_SHARE * unit_samples).to(device, torch.float32),
        flat.to(torch.float32).repeat_interleave(counts).to(device),
        torch.arange(len(shapes)).repeat_interleave(counts).to(device),
        torch.arange(len(unit_samples)).repeat_interleave(unit_samples).to(device),
        torch.arange(len(shapes)).repeat_interleave(units).to(device),
    )


def signals(derivative: torch.Tensor, activation: torch.Tensor, places: Layout) -> torch.Tensor:
    """Dead fraction, saturated fraction, mean and std per site, ``[4, S]`` float32, from
    ``f'(z)`` and ``f(z)`` laid out as ``places`` says (flat, ``[E]``); on their device."""
    magnitude = derivative.detach().float().abs()
    a = activation.detach().float()
    alive = _segments(magnitude, places.unit_samples, places.element_unit) > 0
    below = torch.lt(magnitude, places.threshold, out=torch.empty_like(magnitude))  # 0/1
    small = _segments(below, places.unit_samples, places.element_unit)
    saturated = (small >= places.saturated_at) & alive
    dead = _segments((~alive).float(), places.site_units, places.unit_site) / places.units
    saturated_share = _segments(saturated.float(), places.site_units, places.unit_site)
    saturated_share /= places.units
    mean = _segments(a, places.site_sizes, places.element_site) / places.elements
    deviation = a - mean.index_select(0, places.element_site)
    m2 = _segments(deviation.square_(), places.site_sizes, places.element_site)
    std = (m2 / places.elements).sqrt()
    return torch.stack([dead, saturated_share, mean, std])


SEGMENT_REDUCE = frozenset({"cpu", "cuda"})
"""Device types with a :func:`torch.segment_reduce` kernel."""


def _segments(x: torch.Tensor, lengths: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Sums of ``x`` over consecutive segments of ``lengths`` (``ids``: each element's
    segment, for devices without :func:`torch.segment_reduce`)."""
    if x.device.type in SEGMENT_REDUCE:
        return torch.segment_reduce(x, "sum", lengths=lengths, unsafe=True)
    return x.new_zeros(len(lengths)).index_add_(0, ids, x)
