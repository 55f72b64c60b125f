"""Brent's method in plain Python (:mod:`actlab.analysis.roots`): the same root as
``scipy.optimize.brentq`` bit for bit, the same failures; the power analysis' noncentrality
checked against ``scipy.stats.nct`` as an independent oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from actlab.analysis.roots import brentq
from actlab.analysis.stats import _noncentrality, detectable_difference, nct_sf, t_isf

FUNCTIONS = [
    (lambda x: x**3 - 2 * x - 5, 2.0, 3.0),  # extrapolation steps
    (lambda x: math.cos(x) - x, 0.0, 1.0),
    (lambda x: math.exp(x) - 10, -5.0, 5.0),
    (lambda x: (x - 1e-9) ** 3, -1.0, 2.0),  # flat at the root: bisections
    (lambda x: math.atan(x - 0.3) * 1e-200, -50.0, 50.0),  # f(a) f(b) underflows to -0
    (lambda x: x * x - 1, -2.0, 0.0),
    (lambda x: math.floor(x) - 0.5, -3.3, 7.1),  # a jump, no root
    (lambda x: x, -1.0, 1.0),  # the first bisection lands on it
    (lambda x: x - 2.0, 2.0, 5.0),  # a root at an end
    (lambda x: x * x + 1, -2.0, 0.0),  # no sign change
    (lambda x: math.nan if x > 0.5 else x - 0.7, 0.0, 1.0),  # NaN
]


def _outcome(find, f, a, b, xtol, iterations, name):
    try:
        return find(f, a, b, xtol=xtol, **{name: iterations})
    except (ValueError, RuntimeError) as exc:
        return type(exc)


@pytest.mark.parametrize("f, a, b", FUNCTIONS)
@pytest.mark.parametrize("xtol", [2e-12, 1e-8, 1e-3])
@pytest.mark.parametrize("iterations", [5, 100])
def test_brentq_is_scipys_bit_for_bit(f, a, b, xtol, iterations):
    ours = _outcome(brentq, f, a, b, xtol, iterations, "max_iterations")
    theirs = _outcome(optimize.brentq, f, a, b, xtol, iterations, "maxiter")
    assert ours == theirs and type(ours) is type(theirs)


def test_the_noncentrality_root_is_scipys_and_reaches_the_power_by_scipy_stats():
    """Over degrees of freedom 2 to 1e5, levels down to 1e-4 and powers 0.05-0.99: the
    same root as scipy.optimize.brentq would find, and ``scipy.stats.nct.sf`` at it is
    the power within the root's tolerance (1e-8 in the noncentrality)."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        df = (
            float(rng.choice([2, 4, 9, 29, 99, 9999]))
            if rng.random() < 0.5
            else rng.uniform(2, 1e5)
        )
        level, power = 10 ** rng.uniform(-4, math.log10(0.5)), rng.uniform(0.05, 0.99)
        critical = t_isf(level, df)
        lam = _noncentrality(df, critical, power)

        def gap(x: float, critical=critical, df=df, power=power) -> float:
            return float(nct_sf(critical, df, x)) - power

        hi = critical + 10.0
        while gap(hi) < 0:
            hi *= 2
        assert lam == optimize.brentq(gap, -10.0, hi, xtol=1e-8)
        oracle = stats.nct.sf(stats.t.isf(level, df), df, [lam - 1e-8, lam + 1e-8])
        assert oracle[0] <= power <= oracle[1]


def test_detectable_difference_reaches_the_power_by_scipy_stats():
    n, sd, margin, level = 7, 0.01, 0.005, 0.05 / 7
    d = detectable_difference(n, sd, margin, level)
    lam = (d - margin) / (sd / math.sqrt(n))
    critical = stats.t.isf(level, n - 1)
    assert stats.nct.sf(critical, n - 1, lam) == pytest.approx(0.8, abs=1e-8)
