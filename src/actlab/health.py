"""Health signals of a network's activations: one definition and one threshold each.

``compare`` (its probes and recommendation), ``diagnose`` (its findings) and the reports
all read these; none of them defines its own. Framework-free: plain floats in, verdicts out.

Per activation layer, with ``z`` the pre-activation, ``f`` the activation and ``f'(z)``
its derivative, over the samples of a batch (rows, or rows x spatial positions), a *unit*
being a feature of a dense layer or a channel of a convolution:

* **dead unit**: ``f'(z) == 0`` exactly on every sample; no gradient reaches its
  incoming weights (a "dead ReLU"). A layer is *dead* when at least
  :data:`DEAD_FRACTION` of its units are; *severely* when at least
  :data:`SEVERE_DEAD_FRACTION` are.
* **saturated unit** (not dead): ``|f'(z)| < SATURATION_LEVEL * max f'`` on at least
  :data:`SATURATION_SHARE` of the samples: stuck in a flat tail (sigmoid, tanh). A layer
  is *saturated* when at least :data:`SATURATED_FRACTION` of its units are. An activation
  with no finite maximum derivative has no flat tail: nothing counts as saturated.
* **gradient ratio**: ``first / last``, the Frobenius norm of the loss gradient with
  respect to the first hidden layer's weight over the last hidden layer's. Gradients
  *vanish* when the ratio is at most ``1 / VANISHING_RATIO`` (the first layer learns at
  least 100x slower), *explode* when it is at least :data:`EXPLODING_RATIO` or any layer's
  weight-gradient norm exceeds :data:`EXPLODING_NORM`.

Anchors (see FRAMEWORK-FACTS.md): torchmortem calls gradients vanishing at a last/first
ratio of 100 and exploding above a norm of 1000; torchdiag warns at 20% dead units and
calls 50% critical; DLCheck flags sigmoid/tanh saturation.
"""

from __future__ import annotations

import math

SATURATION_LEVEL = 0.01
"""A sample is in a flat tail when ``|f'(z)|`` is below 1% of the activation's maximum
derivative (0.25 for sigmoid, 1 for tanh)."""

SATURATION_SHARE = 0.99
"""A unit is saturated when at least 99% of its samples are in a flat tail."""

DEAD_FRACTION = 0.25
"""A layer has dead units worth reporting when at least 25% of its units are dead."""

SEVERE_DEAD_FRACTION = 0.5
"""... and severely so from 50%."""

SATURATED_FRACTION = 0.25
"""A layer is saturated when at least 25% of its units are."""

VANISHING_RATIO = 100.0
"""Gradients vanish when the first hidden layer's weight-gradient norm is at most 1/100 of
the last hidden layer's."""

EXPLODING_RATIO = 100.0
"""Gradients explode when the first hidden layer's weight-gradient norm is at least 100x the
last hidden layer's (they grow on the way back) ..."""

EXPLODING_NORM = 1000.0
"""... or when some layer's weight-gradient norm exceeds 1000."""


def saturation_threshold(max_derivative: float) -> float:
    """The ``|f'|`` below which a sample is in a flat tail; ``-inf`` (nothing is) when the
    activation has no finite maximum derivative."""
    if not math.isfinite(max_derivative):
        return -math.inf
    return SATURATION_LEVEL * max_derivative


def gradient_ratio(first: float, last: float) -> float:
    """``first / last`` weight-gradient norm; ``inf`` when ``last`` is 0 and ``first`` is
    not, NaN when both are 0 or either is not finite."""
    if not (math.isfinite(first) and math.isfinite(last)):
        return math.nan
    if last == 0:
        return math.inf if first > 0 else math.nan
    return first / last


def is_vanishing(ratio: float) -> bool:
    """Whether a :func:`gradient_ratio` says the gradient vanishes (NaN says nothing)."""
    return ratio <= 1.0 / VANISHING_RATIO


def is_exploding(ratio: float, max_norm: float = 0.0) -> bool:
    """Whether a :func:`gradient_ratio`, or the largest weight-gradient norm of any layer,
    says the gradient explodes (NaN says nothing)."""
    return ratio >= EXPLODING_RATIO or max_norm > EXPLODING_NORM


def is_dead(dead_fraction: float) -> bool:
    """Whether a layer's share of dead units is worth reporting."""
    return dead_fraction >= DEAD_FRACTION


def is_saturated(saturated_fraction: float) -> bool:
    """Whether a layer's share of saturated units is worth reporting."""
    return saturated_fraction >= SATURATED_FRACTION
