"""Mean-field signal propagation of any catalog entry, computed by Gaussian quadrature.

A deep network with weights ``W_ij ~ N(0, sigma_w^2 / fan_in)`` and zero biases maps the
second moment ``q`` of its pre-activations, layer to layer, by (Poole et al. 2016)

    q_{l+1} = sigma_w^2 E[phi(sqrt(q_l) z)^2],            z ~ N(0, 1),

and the correlation ``c`` of two inputs' pre-activations by

    c_{l+1} = sigma_w^2 E[phi(u_1) phi(u_2)] / q*,        u_1 = sqrt(q*) z_1,
                                                        u_2 = sqrt(q*) (c z_1 + sqrt(1 - c^2) z_2).

From these, for one activation ``phi`` (:func:`signal_propagation`):

* the **variance-preserving gain** ``g = 1 / sqrt(E[phi(z)^2])``: with ``sigma_w = g`` the
  fixed point of the variance map is ``q* = 1`` (ReLU: sqrt 2; leaky ReLU:
  sqrt(2 / (1 + alpha^2)); SELU: 1, LeCun's init);
* ``chi_1 = g^2 E[phi'(z)^2]``, the mean squared singular value of a layer's Jacobian: the
  factor by which gradient norms (squared) change per layer, and the order (< 1) / chaos
  (> 1) parameter of Poole et al. 2016 and Schoenholz et al. 2017;
* the stable fixed point ``c*`` of the correlation map (1 in the ordered phase), its slope
  ``chi_c = g^2 E[phi'(u_1) phi'(u_2)]`` there, and the **depth scale**
  ``xi_c = -1 / ln chi_c``: correlations between inputs approach ``c*`` like ``exp(-l/xi_c)``,
  and Schoenholz et al. find networks trainable to a depth of about ``6 xi_c``;
* the stability slope of the variance map, ``dq_{l+1}/dq_l`` at ``q* = 1``
  (``= g^2 E[phi(z) phi'(z) z]``; below 1 the fixed point attracts).

A gated entry ``f(a, b) = a * gate(b)`` (value ``a`` and gate ``b`` from two independent
projections, both ``N(0, q)``) has ``E[f^2] = q E[gate(b)^2]``,
``chi_1 = sigma_w^2 (E[gate^2] + q E[gate'^2])`` and correlation map
``sigma_w^2 q c E[gate(u_1) gate(u_2)] / q*``; its slope adds ``c q E[gate'(u_1) gate'(u_2)]``.

Expectations are composite Gauss-Legendre quadrature over ``z`` in [-12, 12] (the normal
weight beyond is below 1e-31), split at the entry's kinks scaled by ``1/sqrt(q)``, so a kink
costs no accuracy (Gauss-Hermite converges only algebraically across a kink). The
correlation map needs two-dimensional expectations; they come from Mehler's formula,

    E[phi(z_1) phi(c z_1 + sqrt(1 - c^2) z_2)] = sum_k a_k^2 c^k,
    a_k = E[phi(z) He_k(z)] / sqrt(k!),

with the Hermite coefficients ``a_k`` (k < HERMITE_TERMS) from the same one-dimensional
quadrature, so each evaluation of the map is a polynomial in ``c``. Its truncation error is
at most ``(E[phi^2] - sum_k a_k^2) c^K`` (Parseval), which
:attr:`SignalPropagation.series_error` reports at ``c*``. NumPy only: no scipy, no torch.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from actlab.catalog.base import Activation
from actlab.catalog.registry import get
from actlab.catalog.spec import ParamValue

Z_LIMIT = 12.0
"""Quadrature covers z in [-Z_LIMIT, Z_LIMIT]."""
PANEL_WIDTH = 1.0
"""Longest panel; each gets PANEL_NODES Gauss-Legendre nodes (enough to resolve the
oscillations of He_k for k < HERMITE_TERMS)."""
PANEL_NODES = 20
HERMITE_TERMS = 160
CRITICAL_TOLERANCE = 1e-6
"""|chi_1 - 1| below this is critical: the depth scale is infinite."""

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

Fn = Callable[[np.ndarray], np.ndarray]


@functools.cache
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def quadrature_rule(breaks: Sequence[float] = (0.0,)) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (the N(0, 1) density included) of a composite Gauss-Legendre rule
    on [-Z_LIMIT, Z_LIMIT], split at ``breaks`` and into panels no wider than PANEL_WIDTH."""
    inside = np.asarray(breaks, dtype=np.float64)
    inside = inside[np.abs(inside) < Z_LIMIT]
    ends = sorted({-Z_LIMIT, Z_LIMIT, *inside.tolist()})
    t, w = _legendre(PANEL_NODES)
    nodes, weights = [], []
    for lo, hi in itertools.pairwise(ends):
        panels = max(1, math.ceil((hi - lo) / PANEL_WIDTH))
        edges = np.linspace(lo, hi, panels + 1)
        half = (edges[1:] - edges[:-1])[:, None] / 2
        z = (edges[1:] + edges[:-1])[:, None] / 2 + half * t
        nodes.append(z.ravel())
        weights.append((half * w * np.exp(-(z**2) / 2) * _INV_SQRT_2PI).ravel())
    return np.concatenate(nodes), np.concatenate(weights)


def hermite_coefficients(
    values: np.ndarray, z: np.ndarray, w: np.ndarray, terms: int
) -> np.ndarray:
    """a_k = E[h(z) He_k(z)] / sqrt(k!), k < terms, from ``values`` = h at the rule's nodes
    (normalized Hermite polynomials by their three-term recurrence)."""
    out = np.empty(terms)
    prev, cur = np.zeros_like(z), np.ones_like(z)
    for k in range(terms):
        out[k] = np.sum(w * values * cur)
        prev, cur = cur, (z * cur - math.sqrt(k) * prev) / math.sqrt(k + 1)
    return out


@dataclass(frozen=True)
class _Shape:
    """An activation reduced to what the mean-field maps need: an elementwise ``phi`` (or,
    for a gated entry, its gate) with its derivative and kinks."""

    f: Fn
    df: Fn
    kinks: np.ndarray
    gated: bool

    @classmethod
    def of(cls, act: Activation) -> _Shape:
        target = act.gate if act.is_gated else act
        if target.is_vector:
            raise ValueError(
                f"signal propagation is defined for elementwise and gated activations; "
                f"{act.spec!r} acts on a whole axis (each output depends on every unit)"
            )

        def f(x: np.ndarray) -> np.ndarray:
            return np.asarray(target(x), dtype=np.float64)

        def df(x: np.ndarray) -> np.ndarray:
            return np.asarray(target.derivative(x), dtype=np.float64)

        kinks = np.array(sorted({0.0, *target.kinks}), dtype=np.float64)
        return cls(f, df, kinks, act.is_gated)

    def moments(self, q: float, *, series: bool = True) -> _Moments:
        """Everything the maps need at input variance ``q``, from one set of evaluations
        (the Hermite series only when ``series``)."""
        r = math.sqrt(q)
        z, w = quadrature_rule(self.kinks / r)
        f, df = self.f(r * z), self.df(r * z)
        g2 = float(np.sum(w * f * f))
        d2 = float(np.sum(w * df * df))
        fdz = float(np.sum(w * f * df * z)) / r  # d E[f(sqrt(q) z)^2] / dq
        squares = hermite_coefficients(f, z, w, HERMITE_TERMS) ** 2 if series else np.zeros(0)
        if not self.gated:
            return _Moments(float(np.sum(w * f)), g2, fdz, d2, squares, 0)
        # f(a, b) = a g(b), a and b independent N(0, q): E[f] = 0, E[f^2] = q E[g^2],
        # d/dq [q E[g^2]] = E[g^2] + q d/dq E[g^2], E|df|^2 = E[g^2] + q E[g'^2], and the
        # covariance at correlation c is q c E[g(u_1) g(u_2)]: the series shifted by one.
        return _Moments(0.0, q * g2, g2 + q * fdz, g2 + q * d2, q * squares, 1)


@dataclass(frozen=True)
class _Moments:
    mean: float
    second: float
    """E[f^2] (the covariance at c = 1)."""
    second_slope: float
    """d E[f^2] / dq."""
    jacobian: float
    """E[|df|^2]: E[phi'^2], or E[g^2] + q E[g'^2] for a gated entry."""
    series: np.ndarray
    """The covariance at correlation c is sum_k series[k] c^(k + shift)."""
    shift: int

    def _powers(self) -> np.ndarray:
        return np.arange(self.series.size) + self.shift

    def covariance(self, c: float) -> float:
        return float(np.sum(self.series * c ** self._powers()))

    def covariance_slope(self, c: float) -> float:
        k = self._powers()
        return float(np.sum(self.series[k > 0] * k[k > 0] * c ** (k[k > 0] - 1)))

    def series_error(self, c: float) -> float:
        """Bound on the truncation error of :meth:`covariance` at c, relative to E[f^2]:
        the missing mass E[f^2] - sum_k series[k] (Parseval) times |c|^K."""
        missing = max(0.0, self.second - float(np.sum(self.series)))
        return missing / self.second * abs(c) ** (self.series.size + self.shift)


def variance_map(spec: str | Activation, q: float, sigma_w: float, sigma_b: float = 0.0) -> float:
    """``q_{l+1} = sigma_w^2 E[f^2 | inputs N(0, q)] + sigma_b^2``: one layer's map of the
    pre-activations' second moment."""
    shape = _Shape.of(get(spec))
    return sigma_w**2 * shape.moments(q, series=False).second + sigma_b**2


def covariance(spec: str | Activation, c: float, q: float = 1.0) -> float:
    """E[f(u_1) f(u_2)] for pre-activations N(0, q) with correlation ``c`` (Mehler's series;
    for a gated entry, value and gate pairs both correlated ``c``)."""
    return _Shape.of(get(spec)).moments(q).covariance(c)


def covariance_error(spec: str | Activation, c: float, q: float = 1.0) -> float:
    """A bound on the truncation error of :func:`covariance` (Parseval's missing mass times
    |c|^K)."""
    m = _Shape.of(get(spec)).moments(q)
    return m.series_error(c) * m.second


def fixed_point(
    spec: str | Activation,
    sigma_w: float,
    sigma_b: float = 0.0,
    *,
    q0: float = 1.0,
    max_steps: int = 200,
    tolerance: float = 1e-12,
) -> float:
    """The fixed point ``q*`` the variance map reaches from ``q0`` (``inf`` when it grows
    without bound, 0 when the signal dies out), by Steffensen's iteration (Aitken's
    extrapolation of two map steps, kept only where it moves the way the steps do, so it
    cannot jump to an unstable fixed point; a plain step otherwise)."""
    shape = _Shape.of(get(spec))

    def step(q: float) -> float:
        return sigma_w**2 * shape.moments(q, series=False).second + sigma_b**2

    q = float(q0)
    for _ in range(max_steps):
        q1 = step(q)
        q2 = step(q1) if 0 < q1 < 1e12 else q1
        if not math.isfinite(q2) or q2 >= 1e12:
            return math.inf
        if q2 < 1e-30:
            return 0.0
        denominator = q2 - 2 * q1 + q
        new = q2 - (q2 - q1) ** 2 / denominator if denominator != 0 else q2
        if not (0 < new < 1e12 and (new - q) * (q2 - q) > 0):
            new = q2
        if abs(new - q) <= tolerance * q:
            return new
        q = new
    return q


def _correlation_fixed_point(m: _Moments, sigma_w2: float, chi1: float) -> float:
    """The stable fixed point of ``c -> sigma_w^2 covariance(c) / q*`` (q* = 1).

    c = 1 is always a fixed point; it is the stable one unless the phase is chaotic
    (chi_1 > 1). Then ``h(c) = map(c) - c`` is negative just below 1 and
    ``h(0) = sigma_w^2 E[f]^2 >= 0``: c* is 0 when E[f] = 0 (odd activations, gated
    ones), else the root in (0, 1), found by bisection."""
    if chi1 <= 1.0 + CRITICAL_TOLERANCE:
        return 1.0

    def h(c: float) -> float:
        return sigma_w2 * m.covariance(c) - c

    if abs(h(0.0)) < 1e-14:
        return 0.0
    lo, hi = 0.0, 1.0 - 1e-9
    if h(hi) >= 0:  # numerically critical: no sign change below 1
        return 1.0
    while hi - lo > 1e-14:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if h(mid) > 0 else (lo, mid)
    return (lo + hi) / 2


def _depth(slope: float) -> float:
    """-1 / ln(slope): the number of layers over which a deviation shrinks by e."""
    if not slope > 0:
        return 0.0
    if abs(slope - 1.0) < CRITICAL_TOLERANCE:
        return math.inf
    return -1.0 / math.log(slope) if slope < 1 else math.inf


def phase_of(chi1: float) -> str:
    """'ordered' (chi_1 < 1), 'critical' or 'chaotic' (chi_1 > 1)."""
    if abs(chi1 - 1.0) < CRITICAL_TOLERANCE:
        return "critical"
    return "ordered" if chi1 < 1 else "chaotic"


@dataclass(frozen=True)
class FrameworkGain:
    """A framework's published gain for this entry, and what it does to the signal."""

    framework: str
    call: str
    gain: float
    fixed_point: float
    """q* the variance map reaches from q = 1 with this gain (inf: grows without bound)."""
    chi1: float | None
    """chi_1 at that fixed point (None where q* is 0 or inf)."""
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "call": self.call,
            "gain": self.gain,
            "fixed_point": None if math.isinf(self.fixed_point) else self.fixed_point,
            "chi1": self.chi1,
            "note": self.note,
        }


@dataclass(frozen=True)
class SignalPropagation:
    """The mean-field quantities of one activation at its variance-preserving gain
    (``sigma_w = gain``, ``sigma_b = 0``, so ``q* = 1``); see the module docstring."""

    spec: str
    gain: float
    mean: float
    """E[f] at the fixed point: the activations' mean (0 for SELU, 1/sqrt(2 pi) for ReLU)."""
    variance_slope: float
    """d q_{l+1} / d q_l at q* = 1; below 1 the variance fixed point attracts."""
    chi1: float
    c_star: float
    chi_c: float
    depth_scale: float
    """xi_c = -1 / ln chi_c; inf at criticality."""
    gradient_depth_scale: float
    """1 / |ln chi_1|: layers over which gradient norms (squared) change by a factor e."""
    phase: str
    series_error: float
    """Bound on the relative error of the Hermite series at c* (0 when c* = 1)."""
    torch: FrameworkGain | None

    def to_dict(self) -> dict[str, Any]:
        def num(v: float) -> float | None:
            return None if math.isinf(v) else v

        return {
            "spec": self.spec,
            "gain": self.gain,
            "mean": self.mean,
            "variance_slope": self.variance_slope,
            "chi1": self.chi1,
            "c_star": self.c_star,
            "chi_c": self.chi_c,
            "depth_scale": num(self.depth_scale),
            "gradient_depth_scale": num(self.gradient_depth_scale),
            "phase": self.phase,
            "series_error": self.series_error,
            "pytorch": None if self.torch is None else self.torch.to_dict(),
        }


def _leaky_torch_gain(params: Mapping[str, ParamValue]) -> float:
    return math.sqrt(2.0 / (1.0 + float(params["alpha"]) ** 2))


TORCH_GAINS: dict[str, tuple[str, Callable[[Mapping[str, ParamValue]], float], str]] = {
    "identity": ("calculate_gain('linear')", lambda _p: 1.0, ""),
    "sigmoid": (
        "calculate_gain('sigmoid')",
        lambda _p: 1.0,
        "a convention, not derived: sigmoid's output has mean 1/2, and preserving the "
        "second moment needs a larger gain",
    ),
    "tanh": (
        "calculate_gain('tanh')",
        lambda _p: 5.0 / 3.0,
        "a heuristic: PyTorch's 5/3 is not the variance-preserving value",
    ),
    "relu": ("calculate_gain('relu')", lambda _p: math.sqrt(2.0), "He et al. 2015: exact"),
    "leaky_relu": (
        "calculate_gain('leaky_relu', alpha)",
        _leaky_torch_gain,
        "He et al. 2015: exact",
    ),
    "selu": (
        "calculate_gain('selu')",
        lambda _p: 0.75,
        "PyTorch's 3/4 gives up SELU's fixed point (mean 0, variance 1 needs gain 1, "
        "LeCun's init) for more stable gradients in rectangular layers, as its docs say",
    ),
}
"""``torch.nn.init.calculate_gain``'s value for the entries it knows (checked against the
installed torch in the tests), and how it relates to the derived gain."""


def _framework_gain(act: Activation, shape: _Shape) -> FrameworkGain | None:
    known = TORCH_GAINS.get(act.name)
    if known is None:
        return None
    call, gain_of, note = known
    gain = gain_of(act.params)
    q = fixed_point(act, gain)
    chi1 = gain**2 * shape.moments(q, series=False).jacobian if 0 < q < math.inf else None
    return FrameworkGain("pytorch", f"torch.nn.init.{call}", gain, q, chi1, note)


@functools.cache
def signal_propagation(spec: str | Activation) -> SignalPropagation:
    """Signal propagation of ``spec`` at its variance-preserving gain (module docstring).

    Raises ``ValueError`` for a vector activation, or where no gain preserves the variance
    (E[f^2] is 0 or infinite at q = 1)."""
    act = get(spec)
    shape = _Shape.of(act)
    m = shape.moments(1.0)
    sigma_w2 = _preserving_weight_variance(act, m)
    chi1 = sigma_w2 * m.jacobian
    c_star = _correlation_fixed_point(m, sigma_w2, chi1)
    chi_c = chi1 if c_star == 1.0 else sigma_w2 * m.covariance_slope(c_star)
    critical = abs(chi1 - 1) < CRITICAL_TOLERANCE
    return SignalPropagation(
        spec=act.spec,
        gain=math.sqrt(sigma_w2),
        mean=m.mean,
        variance_slope=sigma_w2 * m.second_slope,
        chi1=chi1,
        c_star=c_star,
        chi_c=chi_c,
        depth_scale=_depth(chi_c),
        gradient_depth_scale=math.inf if critical else 1.0 / abs(math.log(chi1)),
        phase=phase_of(chi1),
        series_error=0.0 if c_star == 1.0 else m.series_error(c_star),
        torch=_framework_gain(act, shape),
    )


def _preserving_weight_variance(act: Activation, m: _Moments) -> float:
    """``sigma_w^2 = 1 / E[f(z)^2]`` from the moments at ``q = 1``; ``ValueError`` where
    ``E[f(z)^2]`` is 0 or infinite."""
    if not (m.second > 0 and math.isfinite(m.second)):
        raise ValueError(
            f"{act.spec}: E[f(z)^2] = {m.second:g} for z ~ N(0, 1), so no gain preserves "
            "the variance"
        )
    return 1.0 / m.second


@functools.cache
def variance_preserving_gain(spec: str | Activation) -> float:
    """The gain ``g`` with ``g^2 E[f(z)^2] = 1``: init ``std = g / sqrt(fan_in)`` keeps the
    pre-activations' second moment at 1 layer after layer (:attr:`SignalPropagation.gain`,
    from one quadrature: what ``init="auto"`` needs, without the rest of
    :func:`signal_propagation`)."""
    act = get(spec)
    return math.sqrt(_preserving_weight_variance(act, _Shape.of(act).moments(1.0, series=False)))
