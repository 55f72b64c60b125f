"""Statistics over seeds: means with intervals that respect the metric, paired differences,
one-sided t-tests against a margin, and power.

Notation: candidate ``a``'s metric on seed ``s`` is ``x_as``; seed ``s`` gives every
candidate the same initial weights and minibatch order, so candidates are compared through
the paired differences ``d_s = x_as - x_bs`` over the seeds both finished. Tests take
``x`` oriented so that larger is better: a lower-is-better metric (bits per character)
enters as ``-x`` (:meth:`MetricScale.oriented`), so ``d_s`` is always ``a``'s advantage.

* **Resolution.** A metric measured on ``N`` evaluation samples (accuracy) moves in steps
  of ``h = 1/N``; a regression metric (R^2, computed in float32) in steps of float32's
  epsilon. With few seeds every seed can land on the same step, and a sample standard
  deviation of 0 would make any difference look certain. The spread is therefore never
  taken below that of the rounding error: ``h / sqrt(12)`` for one value (uniform on
  ``+-h/2``), ``h / sqrt(6)`` for a difference of two. Larger spreads are used as measured.
* **Intervals** (:func:`summarize`): two-sided Student-t, ``mean +- t_{1-a/2, n-1} s /
  sqrt(n)``, intersected with the metric's possible range (accuracy in [0, 1], R^2 at most
  1, bits per character at least 0). The true mean lies in that range, so the intersection keeps the coverage.
* **Tests against a margin** (:func:`p_greater`): ``P(T_{n-1} >= (dbar - m) / se)``, the
  one-sided p-value of "the difference is at most ``m``". The two one-sided tests (TOST)
  of equivalence within ``+-m`` combine ``p_greater(d, -m)`` and ``p_greater(-d, -m)``.
* **Power** (:func:`detectable_difference`, :func:`seeds_to_resolve`): from the noncentral
  t distribution of the test statistic.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from actlab.analysis import special
from actlab.analysis.roots import brentq

MIN_SEEDS_TO_CONCLUDE = 3
"""A paired comparison needs at least 3 seeds (2 degrees of freedom for its spread)."""

INTERVAL_METHOD = (
    "two-sided Student-t interval over seeds, intersected with the metric's possible range "
    "(the true mean lies in it, so the coverage is kept); the spread is never taken below "
    "the rounding error of the metric's resolution"
)
POWER = 0.8
"""The power at which detectable differences and seed counts are stated."""
SEEDS_LIMIT = 100_000
"""Seed counts beyond this are reported as "more than" it."""

FLOAT32_RESOLUTION = float(np.finfo(np.float32).eps)
BPC = "bpc"
"""The metric of next-character prediction: bits per character, lower is better."""
METRIC_LABELS = {BPC: "bits per character"}
"""A metric's name in prose where it differs from its short name."""


def bits_per_character(loss: float) -> float:
    """Cross-entropy per character in nats -> bits per character: ``loss / ln 2``."""
    return loss / math.log(2)


@dataclass(frozen=True)
class MetricScale:
    """What values a metric can take: its range ``[low, high]``, its resolution, and its
    direction. This is the one place a metric's direction is stated: ``higher_is_better``
    is False for bits per character (a loss), True for accuracy and R^2. Every consumer
    orients values through :meth:`oriented` (``x`` or ``-x``), so that the ranking, the
    leader and the verdicts always compare "better" as "larger oriented value"."""

    name: str
    low: float
    high: float
    resolution: float
    higher_is_better: bool = True

    @classmethod
    def of(cls, metric: str, n_eval: int | None = None) -> MetricScale:
        """Accuracy on ``n_eval`` samples (resolution ``1/n_eval``), bits per character
        (``bpc``: cross-entropy / ln 2, in ``[0, inf)``, float32; lower is better) or R^2
        (float32)."""
        if metric == "accuracy":
            resolution = 1.0 / n_eval if n_eval else FLOAT32_RESOLUTION
            return cls(metric, 0.0, 1.0, resolution)
        if metric == BPC:
            return cls(metric, 0.0, math.inf, FLOAT32_RESOLUTION, higher_is_better=False)
        return cls(metric, -math.inf, 1.0, FLOAT32_RESOLUTION)

    @property
    def label(self) -> str:
        """The metric in prose: ``bits per character`` for ``bpc``, else its name."""
        return METRIC_LABELS.get(self.name, self.name)

    @property
    def better(self) -> str:
        """Which way is better, in one word: ``higher`` or ``lower``."""
        return "higher" if self.higher_is_better else "lower"

    @property
    def best(self) -> str:
        """The superlative of :attr:`better`: ``highest`` or ``lowest``."""
        return "highest" if self.higher_is_better else "lowest"

    def oriented(self, x: Any) -> Any:
        """``x`` where higher is better, ``-x`` where lower is (so larger is better)."""
        return x if self.higher_is_better else -x

    @property
    def value_sd_floor(self) -> float:
        """Smallest spread of one value: the rounding error's, ``h / sqrt(12)``."""
        return self.resolution / math.sqrt(12)

    @property
    def difference_sd_floor(self) -> float:
        """Smallest spread of a difference of two values: ``h / sqrt(6)``."""
        return self.resolution / math.sqrt(6)

    def clip(self, low: float, high: float, *, difference: bool = False) -> tuple[float, float]:
        """``[low, high]`` intersected with the possible values (of a difference)."""
        lo, hi = (
            (self.low - self.high, self.high - self.low) if difference else (self.low, self.high)
        )
        return max(low, lo), min(high, hi)


@dataclass(frozen=True)
class Summary:
    """Mean, sample std and ``level`` confidence interval of values over seeds."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    level: float

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def t_interval(
    mean: float, sd: float, n: int, level: float, scale: MetricScale, *, difference: bool = False
) -> tuple[float, float]:
    """Student-t interval for a mean of ``n`` values with spread ``sd``, within the range."""
    if n < 2 or not math.isfinite(sd):
        return math.nan, math.nan
    half = t_ppf(0.5 + level / 2, n - 1) * sd / math.sqrt(n)
    return scale.clip(mean - half, mean + half, difference=difference)


def summarize(
    values: list[float] | np.ndarray, level: float = 0.95, scale: MetricScale | None = None
) -> Summary:
    """Summary of the finite values (NaN entries are dropped). With one value the interval
    is unknown (NaN): nothing is known about the spread. ``scale`` bounds the interval and
    floors the spread (default: unbounded, no floor)."""
    scale = scale or MetricScale("value", -math.inf, math.inf, 0.0)
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, level)
    mean = float(arr.mean())
    std = float(arr.std(ddof=1)) if n > 1 else math.nan
    lo, hi = t_interval(mean, max(std, scale.value_sd_floor), n, level, scale)
    return Summary(n, mean, std, lo, hi, level)


@dataclass(frozen=True)
class PairedDifferences:
    """Every pair's paired differences, row minus column, over the seeds both finished.

    Arrays are shaped ``[..., K, K]``; ``sd`` is floored (see the module docstring)."""

    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray

    @property
    def se(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.sd / np.sqrt(self.n)

    @property
    def df(self) -> np.ndarray:
        return self.n - 1


def paired_differences(scores: np.ndarray, sd_floor: float = 0.0) -> PairedDifferences:
    """Paired differences of ``scores`` shaped ``[..., K, S]`` (candidates x seeds; NaN:
    no result), computed from per-pair sums over the common seeds (vectorised over any
    leading axes). Pairs with fewer than 2 common seeds get a NaN spread."""
    x = np.asarray(scores, dtype=float)
    finite = np.isfinite(x)
    m = finite.astype(float)
    # Centre each candidate (over its finite seeds) so the sums of squares do not cancel.
    count = m.sum(axis=-1, keepdims=True)
    centre = np.where(finite, x, 0.0).sum(axis=-1, keepdims=True) / np.maximum(count, 1)
    y = np.where(finite, x - centre, 0.0)
    mt = np.swapaxes(m, -1, -2)
    n = m @ mt
    sum_a = y @ mt  # sum over common seeds of y_a (rows)
    sum_b = np.swapaxes(sum_a, -1, -2)
    sq_a = (y * y) @ mt
    sq_b = np.swapaxes(sq_a, -1, -2)
    cross = y @ np.swapaxes(y, -1, -2)
    offset = centre - np.swapaxes(centre, -1, -2)  # centre_a - centre_b, [..., K, K]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_y = (sum_a - sum_b) / n
        ss = (sq_a - 2 * cross + sq_b) - n * mean_y**2
        var = np.maximum(ss, 0.0) / (n - 1)
    sd = np.where(n >= 2, np.maximum(np.sqrt(var), sd_floor), np.nan)
    mean = np.where(n >= 1, mean_y + offset, np.nan)
    return PairedDifferences(n.round().astype(int), mean, sd)


@lru_cache(maxsize=4096)
def t_ppf(q: float, df: float) -> float:
    """The Student-t quantile ``t`` with ``P(T_df <= t) = q``
    (:func:`actlab.analysis.special.stdtrit`; cached: the power search asks for the same
    levels and seed counts for every candidate)."""
    return float(special.stdtrit(df, q))


def t_isf(p: float, df: float) -> float:
    """The Student-t quantile with upper tail ``p``, ``P(T_df >= t) = p``: ``-t_ppf(p)``."""
    return -t_ppf(p, df)


def nct_sf(x: float, df: float, nc: np.ndarray | float) -> np.ndarray:
    """``P(T'_{df, nc} >= x)`` of the noncentral t distribution, in ``[0, 1]``
    (:func:`actlab.analysis.special.nct_sf`)."""
    return special.nct_sf(x, df, nc)


def t_sf(x: np.ndarray, df: np.ndarray) -> np.ndarray:
    """``P(T_df >= x)`` (NaN where ``df < 1`` or ``x`` is NaN)."""
    df = np.asarray(df, dtype=float)
    return np.where(df >= 1, special.stdtr(np.maximum(df, 1), -np.asarray(x)), np.nan)


def p_greater(mean: np.ndarray, se: np.ndarray, df: np.ndarray, bound: float) -> np.ndarray:
    """One-sided p-value of "the mean difference is at most ``bound``" (so a small p says it
    is larger): ``P(T_df >= (mean - bound) / se)``."""
    excess = np.asarray(mean, dtype=float) - bound
    with np.errstate(divide="ignore", invalid="ignore"):
        z = excess / se
    # 0 / 0: a difference exactly at the bound with no spread (only without a floor).
    return np.where((excess == 0) & (se == 0), 0.5, t_sf(z, df))


def p_worse(mean: np.ndarray, se: np.ndarray, df: np.ndarray, margin: float) -> np.ndarray:
    """p-value of "the leader is better by at most ``margin``"; small: worse beyond it."""
    return p_greater(mean, se, df, margin)


def p_equivalent(mean: np.ndarray, se: np.ndarray, df: np.ndarray, margin: float) -> np.ndarray:
    """TOST p-value of "the difference is at least ``margin`` in size"; small: equivalent
    within ``+-margin``. The larger of the two one-sided p-values (Schuirmann 1987)."""
    lower = p_greater(mean, se, df, -margin)
    upper = p_greater(-np.asarray(mean), se, df, -margin)
    return np.maximum(lower, upper)


@lru_cache(maxsize=1024)
def _noncentrality(df: float, critical: float, power: float) -> float:
    """The noncentrality at which ``P(T'_{df} >= critical) = power`` (Brent's method,
    :func:`actlab.analysis.roots.brentq`; cached: every comparison of a group asks for the
    same seeds, level and power)."""

    def gap(lam: float) -> float:
        return float(nct_sf(critical, df, lam)) - power

    hi = critical + 10.0
    while gap(hi) < 0:
        hi *= 2
    return brentq(gap, -10.0, hi, xtol=1e-8)


def detectable_difference(
    n: int, sd: float, margin: float, level: float, power: float = POWER
) -> float:
    """The smallest true difference that a one-sided test of "at most ``margin``" at
    ``level`` rejects with probability ``power`` with ``n`` paired seeds of spread ``sd``:
    ``margin + lambda * sd / sqrt(n)``, ``lambda`` the noncentrality reaching ``power``."""
    if n < 2 or not (math.isfinite(sd) and sd > 0):
        return math.nan
    df = n - 1
    critical = t_isf(level, df)
    return margin + _noncentrality(df, critical, power) * sd / math.sqrt(n)


def _power_worse(n: int, diff: float, sd: float, margin: float, level: float) -> float:
    df = n - 1
    lam = (diff - margin) / (sd / math.sqrt(n))
    return float(nct_sf(t_isf(level, df), df, lam))


def _power_equivalent(n: int, diff: float, sd: float, margin: float, level: float) -> float:
    """TOST power, bounded below by ``P(A) + P(B) - 1`` (A, B its two one-sided tests)."""
    df = n - 1
    critical = t_isf(level, df)
    se = sd / math.sqrt(n)
    lower = nct_sf(critical, df, (margin + diff) / se)
    upper = nct_sf(critical, df, (margin - diff) / se)
    return float(max(0.0, lower + upper - 1))


def seeds_to_resolve(
    diff: float,
    sd: float,
    margin: float,
    level_worse: float,
    level_equivalent: float,
    power: float = POWER,
) -> tuple[str, int | None] | None:
    """Roughly how many seeds would resolve a comparison whose true difference and spread
    are the observed ``diff`` and ``sd``: ``("worse", n)`` when ``diff`` is beyond the
    margin, ``("equivalent", n)`` when within it; ``n`` is None when more than
    :data:`SEEDS_LIMIT` would be needed. None when nothing can be said (no spread, or
    the candidate is ahead of the leader by more than the margin)."""
    if not (math.isfinite(diff) and math.isfinite(sd) and sd > 0):
        return None
    if diff > margin:
        verdict, power_of, level = "worse", _power_worse, level_worse
    elif abs(diff) < margin:
        verdict, power_of, level = "equivalent", _power_equivalent, level_equivalent
    else:
        return None

    def reaches(k: int) -> bool:
        return power_of(k, diff, sd, margin, level) >= power

    # The search is exact; it starts at the normal approximation with Guenther's (1981)
    # correction for the t, n ~ ((z_level + z_power) sd / gap)^2 + z_level^2 / 2 (for
    # equivalence the nearer margin's test, which decides the power unless diff ~ 0).
    z_level, z_power = -float(special.ndtri(level)), float(special.ndtri(power))
    gap = diff - margin if verdict == "worse" else margin - abs(diff)
    guess = ((z_level + z_power) * sd / gap) ** 2 + z_level**2 / 2
    return verdict, first_reaching(reaches, guess)


def first_reaching(reaches: Callable[[int], bool], guess: float) -> int | None:
    """The smallest seed count ``n`` in ``[MIN_SEEDS_TO_CONCLUDE, SEEDS_LIMIT]`` with
    ``reaches(n)`` (which must stay true for every larger ``n``), None if even the limit
    does not: steps doubling away from ``guess`` until they bracket the answer, then
    bisection. A guess within a few seeds costs ~4 evaluations; a search from the
    smallest count, ``2 log2(n)``."""
    least = MIN_SEEDS_TO_CONCLUDE
    n = min(max(math.ceil(guess) if math.isfinite(guess) else SEEDS_LIMIT, least), SEEDS_LIMIT)
    step = 1
    if reaches(n):  # walk down to a count that does not reach
        hi = n
        while True:
            if hi == least:
                return least
            lo = max(hi - step, least)
            if not reaches(lo):
                break
            hi, step = lo, step * 2
    else:  # walk up to a count that does
        lo = n
        while True:
            if lo == SEEDS_LIMIT:
                return None
            hi = min(lo + step, SEEDS_LIMIT)
            if reaches(hi):
                break
            lo, step = hi, step * 2
    while hi - lo > 1:  # not reaches(lo), reaches(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if not reaches(mid) else (lo, mid)
    return hi
