"""Statistics over seeds.

* :func:`summarize`: mean, sample standard deviation and a two-sided Student-t confidence
  interval, ``mean +- t_{1-a/2, n-1} * s / sqrt(n)``.
* :func:`paired_test`: compares two activations seed by seed. Seed s gives both the same
  initial weights and minibatch order, so the differences ``d_s = a_s - b_s`` remove the
  seed-to-seed noise both share. The default is the paired t-test on ``d`` (scipy's
  ``ttest_rel``). The Wilcoxon signed-rank test is available but cannot reach p < 0.05
  with fewer than 6 seeds (its smallest two-sided p-value is 2 / 2^n = 0.0625 at n = 5),
  which is why it is not the default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Method = Literal["paired t-test", "wilcoxon signed-rank"]
MIN_SEEDS_TO_CONCLUDE = 3


@dataclass(frozen=True)
class Summary:
    """Mean, sample std and ``level`` confidence interval of values over seeds."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float
    level: float

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2

    def to_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def summarize(values: list[float] | np.ndarray, level: float = 0.95) -> Summary:
    """Summary of finite values (NaN entries are dropped). With one value the interval is
    unbounded (NaN), since nothing is known about the spread."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        nan = math.nan
        return Summary(0, nan, nan, nan, nan, level)
    mean = float(arr.mean())
    if n == 1:
        return Summary(1, mean, math.nan, math.nan, math.nan, level)
    std = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half, level)


@dataclass(frozen=True)
class PairedTest:
    """Outcome of comparing ``a`` with ``b`` over the seeds both finished."""

    method: Method
    n: int
    mean_difference: float
    p_value: float
    conclusive: bool
    """False when there are fewer than :data:`MIN_SEEDS_TO_CONCLUDE` pairs."""

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def paired_test(
    a: list[float] | np.ndarray,
    b: list[float] | np.ndarray,
    method: Method = "paired t-test",
) -> PairedTest:
    """Two-sided paired test of ``a`` against ``b`` (same index = same seed).

    Pairs where either value is not finite (a diverged candidate) are dropped. Identical
    samples give p = 1. With fewer than 3 pairs the result is marked inconclusive.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise ValueError(f"paired samples need the same length, got {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    n = int(x.size)
    diff = x - y
    mean_diff = float(diff.mean()) if n else math.nan
    if n < 2 or np.all(diff == 0):
        p = 1.0 if n >= 1 and np.all(diff == 0) else math.nan
        return PairedTest(method, n, mean_diff, p, n >= MIN_SEEDS_TO_CONCLUDE)
    if method == "paired t-test":
        if np.allclose(diff, diff[0]):
            # Constant non-zero difference: zero variance, the t statistic is infinite.
            p = 0.0
        else:
            p = float(stats.ttest_rel(x, y).pvalue)
    elif method == "wilcoxon signed-rank":
        p = float(stats.wilcoxon(x, y).pvalue)
    else:
        raise ValueError(f"unknown method {method!r}")
    return PairedTest(method, n, mean_diff, p, n >= MIN_SEEDS_TO_CONCLUDE)
