"""When verdicts are looked at, and how much error each look may spend.

A *design* is the list of seed counts at which the verdicts are computed (the *looks*).
``--seeds 5`` is one look at 5 seeds; ``--seeds auto`` looks at 5, 10, ..., ``max_seeds``
and stops as soon as every candidate is resolved. Looking again and again at growing data
and stopping when something looks significant would make a false verdict more likely
with every look; a group-sequential design fixes that by deciding in advance how much of
the error rate each look may *spend*.

Spending function: Lan and DeMets (Biometrika 1983), O'Brien-Fleming type,

    a(t) = 2 (1 - Phi(z_{1 - a/2} / sqrt(t))),        t = seeds so far / max seeds,

the share of a one-sided level ``a`` spent by information fraction ``t`` (``a(1) = a``).
Why this rule: (1) it spends almost nothing at the first looks, where a paired t-test
rests on 4 or 9 degrees of freedom and cannot be trusted with much; (2) it keeps nearly
the whole level for the last look, so a run that goes to its budget has almost the power
of a fixed run with that many seeds; (3) a spending *function* (rather than fixed
boundaries) allows looks at any seed counts, including a budget cut short. A difference
so large that it is clear with few seeds still stops early.

Boundaries. With ``S_k = Z_k sqrt(t_k)`` (a Brownian motion observed at the looks under
the null), the upper boundary ``c_k`` of look ``k`` solves

    P(Z_1 < c_1, ..., Z_{k-1} < c_{k-1}, Z_k >= c_k) = a(t_k) - a(t_{k-1}),

computed by recursive numerical integration of the density of ``S`` on the continuation
region (Armitage, McPherson and Rowe 1969; Jennison and Turnbull 2000, ch. 19), Simpson's
rule on a grid finer than a quarter of the smallest increment's standard deviation (the
boundaries agree with a grid ten times finer to 1e-5 in z). The
look's *nominal level* is ``1 - Phi(c_k)``: a test statistic whose one-sided p-value is at
most that level crosses the boundary. With Student-t statistics (the variance is
estimated) the p-value is compared with the nominal level (Jennison and Turnbull's
"significance level approach", section 3.8): exact for known variance, approximate with
few seeds, so ``tests/test_verdict_calibration.py`` checks the resulting error rates by
simulation.

Multiplicity across comparisons: :func:`local_levels` turns raw p-values into the
smallest *local* level at which this look's boundary is crossed; Holm's step-down on those
(:mod:`actlab.analysis.verdicts`) is the graphical Holm procedure for group-sequential
designs of Maurer and Bretz (Statistics in Biopharmaceutical Research 2013): a hypothesis
rejected at any look stays rejected and passes its level on to the others. With a single
look at the full information, the nominal level equals the local level and everything
reduces to Holm's procedure.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from actlab.analysis.roots import MAX_ITERATIONS
from actlab.analysis.special import ndtr, ndtri

TAIL = 8.5
"""The density of ``S_k`` is integrated over ``[-TAIL, TAIL] sqrt(t_k)`` (beyond it: < 1e-16)."""


@dataclass(frozen=True)
class Design:
    """The seed counts at which verdicts are looked at, and the family-wise level.

    ``looks`` are increasing; the last is the budget (``--max-seeds``). The information
    fraction of a look is its seed count over the budget.
    """

    looks: tuple[int, ...]
    alpha: float = 0.05

    def __post_init__(self) -> None:
        looks = tuple(int(n) for n in self.looks)
        if not looks or looks[0] < 1 or any(b <= a for a, b in itertools.pairwise(looks)):
            raise ValueError(f"looks must be increasing positive seed counts, got {self.looks}")
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {self.alpha}")
        object.__setattr__(self, "looks", looks)

    @classmethod
    def fixed(cls, seeds: int, alpha: float = 0.05) -> Design:
        """One look, at the end: ``--seeds N``."""
        return cls((seeds,), alpha)

    @classmethod
    def auto(
        cls, start: int = 5, batch: int = 5, max_seeds: int = 30, alpha: float = 0.05
    ) -> Design:
        """``--seeds auto``: ``start`` seeds, then ``batch`` more per look up to ``max_seeds``."""
        if start < 3 or batch < 1 or max_seeds < start:
            raise ValueError(
                f"--seeds auto needs start >= 3, batch >= 1 and max_seeds >= start; got "
                f"start={start}, batch={batch}, max_seeds={max_seeds}"
            )
        looks = list(range(start, max_seeds + 1, batch))
        if looks[-1] != max_seeds:
            looks.append(max_seeds)
        return cls(tuple(looks), alpha)

    @property
    def max_seeds(self) -> int:
        return self.looks[-1]

    @property
    def sequential(self) -> bool:
        return len(self.looks) > 1

    @property
    def times(self) -> tuple[float, ...]:
        """Information fraction of each look."""
        return tuple(n / self.max_seeds for n in self.looks)

    def looks_up_to(self, seeds: int) -> tuple[int, ...]:
        """The looks already due with ``seeds`` seeds."""
        return tuple(n for n in self.looks if n <= seeds)

    def next_look(self, seeds: int) -> int | None:
        """The seed count of the next look after ``seeds`` (None: the budget is spent)."""
        return next((n for n in self.looks if n > seeds), None)

    def to_dict(self) -> dict[str, object]:
        return {
            "looks": list(self.looks),
            "alpha": self.alpha,
            "spending": SPENDING if self.sequential else None,
        }


SPENDING = "Lan-DeMets O'Brien-Fleming-type alpha spending"


def spent(t: float, level: float) -> float:
    """Cumulative one-sided level spent by information fraction ``t`` (O'Brien-Fleming type)."""
    if t <= 0:
        return 0.0
    z = ndtri(1 - level / 2)
    return float(2 * ndtr(-z / math.sqrt(min(t, 1.0))))


def _simpson(lo: float, hi: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid on ``[lo, hi]`` (an odd number of points, spacing at most ``step``) and its
    Simpson weights."""
    intervals = max(2, math.ceil((hi - lo) / step))
    intervals += intervals % 2
    x = np.linspace(lo, hi, intervals + 1)
    h = (hi - lo) / intervals
    w = np.full(x.size, 2.0)
    w[1::2] = 4.0
    w[0] = w[-1] = 1.0
    return x, w * h / 3


def _crossing(b: float, grid: np.ndarray, mass: np.ndarray, sd: float) -> float:
    """``P(S_{k-1} in continuation, S_k >= b)`` from the previous look's density ``mass``
    (weights included) on ``grid`` and an increment of standard deviation ``sd``."""
    return float(mass @ ndtr((grid - b) / sd))


def _boundary(
    grid: np.ndarray, mass: np.ndarray, sd: float, target: float, start: float, hi: float
) -> float:
    """The ``b`` in ``[-hi, hi]`` where :func:`_crossing` is ``target`` (it decreases in
    ``b``, from above ``target`` at ``-hi`` to at most ``target`` at ``hi``): Newton's
    method on ``ln P(b) - ln target``, with ``P'(b) = -sum mass phi((grid - b) / sd) / sd``
    (``ln P`` is nearly linear in the tail: three or four steps from ``start``), kept in
    the bracket by bisection, until a step is below 1e-12."""
    lo = -hi
    b = min(max(start, lo), hi)
    for _ in range(MAX_ITERATIONS):
        z = (grid - b) / sd
        p = float(mass @ ndtr(z))
        slope = -float(mass @ np.exp(-0.5 * z * z)) / (sd * math.sqrt(2 * math.pi))
        lo, hi = (b, hi) if p > target else (lo, b)
        step = (math.log(p) - math.log(target)) * p / slope if p > 0 and slope < 0 else math.nan
        if abs(step) < 1e-12:
            return b - step
        b = b - step if lo < b - step < hi else (lo + hi) / 2
    raise RuntimeError(f"no boundary within {MAX_ITERATIONS} steps (last estimate {b!r})")


@lru_cache(maxsize=4096)
def boundaries(times: tuple[float, ...], level: float) -> tuple[float, ...]:
    """Upper z-boundaries ``c_k`` of a one-sided group-sequential test at ``level`` with
    looks at information fractions ``times`` (see the module docstring). ``inf`` where a
    look spends nothing."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    increments = np.diff([0.0, *times])
    if np.any(increments <= 0) or times[-1] > 1 + 1e-12:
        raise ValueError(f"times must increase within (0, 1], got {times}")
    step = 0.25 * math.sqrt(float(increments.min()))
    out: list[float] = []
    grid = weights = density = None
    previous_spent = 0.0
    for t, dt in zip(times, increments, strict=True):
        target = spent(t, level) - previous_spent
        previous_spent += target
        sd = math.sqrt(dt)
        if grid is None:  # first look: S_1 ~ N(0, t_1)
            c = float(-ndtri(target)) if target > 0 else math.inf
        elif target <= 0:
            c = math.inf
        else:
            mass = weights * density
            hi = math.sqrt(t) * (TAIL + 2)
            if _crossing(hi, grid, mass, sd) > target:  # no room: beyond the tails
                c = math.inf
            else:  # from the boundary that ignores the earlier looks
                start = -math.sqrt(t) * float(ndtri(target))
                c = _boundary(grid, mass, sd, target, start, hi) / math.sqrt(t)
        out.append(c)
        # Density of S_k on its continuation region, for the next look.
        top = min(c * math.sqrt(t), TAIL * math.sqrt(t))
        new_grid, new_weights = _simpson(-TAIL * math.sqrt(t), top, step)
        if grid is None:
            new_density = np.exp(-0.5 * new_grid**2 / t) / math.sqrt(2 * math.pi * t)
        else:
            kernel = np.exp(-0.5 * ((new_grid[:, None] - grid[None, :]) / sd) ** 2)
            new_density = kernel @ (weights * density) / (sd * math.sqrt(2 * math.pi))
        grid, weights, density = new_grid, new_weights, new_density
    return tuple(out)


def nominal_levels(times: tuple[float, ...], level: float) -> tuple[float, ...]:
    """One-sided nominal p-value thresholds ``1 - Phi(c_k)`` of each look."""
    return tuple(float(ndtr(-c)) for c in boundaries(times, level))


_TABLE_DECADES = (-14.0, math.log10(0.5))
_TABLE_PER_DECADE = 8


@lru_cache(maxsize=64)
def _level_table(times: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """log10 local levels (a grid) and the log10 nominal level of every look at each."""
    lo, hi = _TABLE_DECADES
    logs = np.linspace(lo, hi, round((hi - lo) * _TABLE_PER_DECADE) + 1)
    nominal = np.array([nominal_levels(times, 10.0**a) for a in logs])
    with np.errstate(divide="ignore"):
        return logs, np.log10(nominal)


def local_levels(p: np.ndarray, times: tuple[float, ...], look: int) -> np.ndarray:
    """The smallest local level at which a one-sided p-value ``p`` crosses the boundary of
    look ``look`` (0-based) of a design with information fractions ``times``:
    ``beta^{-1}(p)``, ``beta(a)`` being the look's nominal level at local level ``a``.

    With one look at full information ``beta(a) = a`` and this is ``p`` itself. Otherwise
    ``beta`` is tabulated (8 local levels per decade from 1e-14 to 0.5; it increases with
    ``a``) and inverted by monotone cubic interpolation in log-log space. A ``p`` below the
    table gets the table's smallest level (1e-14); one above it, 1 (no level up to 0.5
    rejects it)."""
    p = np.asarray(p, dtype=float)
    if len(times) == 1 and times[0] == 1.0:
        return p.copy()
    logs, log_nominal = _level_table(times)
    column = log_nominal[:, look]
    finite = np.isfinite(column)
    x, y = column[finite], logs[finite]
    with np.errstate(divide="ignore", invalid="ignore"):
        lp = np.log10(p)
        out = 10.0 ** _pchip(x, y, np.clip(lp, x[0], x[-1]))
    out = np.where(lp > x[-1], 1.0, out)
    return np.where(np.isnan(p), np.nan, out)


def _pchip_end_slope(h0: float, h1: float, m0: float, m1: float) -> float:
    """An end's slope: the three-point estimate ``((2 h0 + h1) m0 - h0 m1) / (h0 + h1)``,
    set to 0 if its sign differs from ``m0``'s, and to ``3 m0`` if ``m0`` and ``m1``
    differ in sign and it exceeds that (so the end stays monotone)."""
    d = ((2 * h0 + h1) * m0 - h0 * m1) / (h0 + h1)
    if np.sign(d) != np.sign(m0):
        return 0.0
    if np.sign(m0) != np.sign(m1) and abs(d) > 3 * abs(m0):
        return 3 * m0
    return d


def _pchip(x: np.ndarray, y: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Monotone piecewise-cubic Hermite interpolation of ``y(x)`` (``x`` increasing, at least
    3 points) at ``at`` within ``[x_0, x_n]`` (Fritsch and Carlson 1980; the slopes of
    Fritsch and Butland 1984, as scipy's ``PchipInterpolator``): on each interval the cubic
    through both ends with slopes ``d_k``; inside, ``1/d_k`` is the weighted mean of the
    neighbouring secants' reciprocals ``1/m`` (weights ``2 h_k + h_{k-1}`` and ``h_k + 2
    h_{k-1}``), or ``d_k = 0`` where the secants differ in sign or one is 0, so the
    interpolant is monotone wherever the data are."""
    h = np.diff(x)
    m = np.diff(y) / h
    w1, w2 = 2 * h[1:] + h[:-1], h[1:] + 2 * h[:-1]
    flat = (np.sign(m[1:]) != np.sign(m[:-1])) | (m[1:] == 0) | (m[:-1] == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        inner = np.where(flat, 0.0, (w1 + w2) / (w1 / m[:-1] + w2 / m[1:]))
    d = np.concatenate(
        (
            [_pchip_end_slope(h[0], h[1], m[0], m[1])],
            inner,
            [_pchip_end_slope(h[-1], h[-2], m[-1], m[-2])],
        )
    )
    k = np.clip(np.searchsorted(x, at, side="right") - 1, 0, x.size - 2)
    s = at - x[k]
    c2 = (3 * m[k] - 2 * d[k] - d[k + 1]) / h[k]
    c3 = (d[k] + d[k + 1] - 2 * m[k]) / h[k] ** 2
    return y[k] + s * (d[k] + s * (c2 + s * c3))
