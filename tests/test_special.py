"""The analysis' special functions (:mod:`actlab.analysis.special`) against independent
oracles: mpmath at 50 digits (the normal distribution by ``ncdf`` and a root of it, the t
distribution by the regularized incomplete beta ``betainc`` and a root of it, the
noncentral t by numerical integration over the chi distribution) and Boost's noncentral t
(through scipy) on a wider grid; then properties (symmetry, monotonicity, round trips)
and bad input."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actlab.analysis import special
from actlab.analysis.special import nct_sf, ndtr, ndtri, stdtr, stdtrit
from actlab.analysis.stats import t_sf

mp.mp.dps = 50


def relative_error(value: float, exact: mp.mpf) -> float:
    return float(abs((mp.mpf(value) - exact) / exact))


def t_cdf(df: float, t: float) -> mp.mpf:
    """``P(T_df <= t)``: ``I_x(df/2, 1/2) / 2`` below 0, ``x = df / (df + t^2)``."""
    df, t = mp.mpf(df), mp.mpf(t)
    tail = mp.betainc(df / 2, mp.mpf(1) / 2, 0, df / (df + t * t), regularized=True) / 2
    return 1 - tail if t > 0 else tail


def nct_survival(t: float, df: float, nc: float) -> mp.mpf:
    """``P(T' > t) = int_0^inf Phi(nc - t sqrt(u / df)) chi2_df(u) du``: ``T' = (Z + nc) /
    sqrt(U / df)`` with ``U`` chi-square, integrated numerically (tanh-sinh)."""
    df, t, nc = mp.mpf(df), mp.mpf(t), mp.mpf(nc)
    half = df / 2
    log_norm = -half * mp.log(2) - mp.loggamma(half)

    def integrand(u: mp.mpf) -> mp.mpf:
        density = mp.exp(log_norm + (half - 1) * mp.log(u) - u / 2)
        return mp.ncdf(nc - t * mp.sqrt(u / df)) * density

    return mp.quad(integrand, [0, df / 4, df, 4 * df + 40, mp.inf])


# Cody's approximations are good to a few ulp; Phi's condition number |x phi(x) / Phi(x)|
# is ~x^2 in the lower tail, so rounding the argument alone costs ~x^2 ulp there: 2e-14
# allows 100 ulp at x = -37 (measured: 1e-15 at most).
NORMAL_POINTS = [
    *np.linspace(-37.5, 8.25, 160),
    -0.67448975,
    0.67448975,
    -math.sqrt(32),
    math.sqrt(32),
    -1e-10,
    0.0,
]


def test_ndtr_against_mpmath() -> None:
    for x in NORMAL_POINTS:
        assert relative_error(float(ndtr(x)), mp.ncdf(x)) < 2e-14, x
    np.testing.assert_array_equal(ndtr(np.array(NORMAL_POINTS)), [ndtr(x) for x in NORMAL_POINTS])


PROBABILITIES = [
    *np.geomspace(1e-300, 0.07, 60),
    0.075,
    0.0751,
    0.3,
    0.5,
    0.7,
    0.9249,
    0.925,
    *(1 - np.geomspace(1e-15, 0.07, 20)),
]


def test_ndtri_against_mpmath() -> None:
    """AS 241 is good to ~1e-16; near 1 the quantile of ``p = 1 - e`` is that of the
    double nearest ``1 - e`` (the oracle solves for the same double)."""
    for p in PROBABILITIES:
        exact = mp.findroot(lambda x, p=p: mp.ncdf(x) - p, float(ndtri(p)))
        if p == 0.5:
            assert ndtri(p) == 0
        else:
            assert relative_error(float(ndtri(p)), exact) < 1e-14, p


T_POINTS = [*-np.geomspace(1e-3, 300, 14), 0.0, *np.geomspace(1e-3, 30, 6)]
EPS = 2.0**-52


def t_condition(df: float, t: float) -> float:
    """``|t f(t) / F(t)|``: the relative change of ``F = P(T_df <= t)`` per relative change
    of ``t`` (``f`` the density); it reaches ``df`` in the far tail, where rounding ``t``
    to a double alone moves ``F`` by ``df / 2`` ulp."""
    df, t = mp.mpf(df), mp.mpf(t)
    density = mp.gamma((df + 1) / 2) / (mp.sqrt(df * mp.pi) * mp.gamma(df / 2))
    density *= (1 + t * t / df) ** (-(df + 1) / 2)
    return float(abs(t * density / t_cdf(df, t)))


@pytest.mark.parametrize(
    ("df", "tolerance"),
    # Beyond the conditioning, the fraction's rounding, which grows with df / 2 where
    # |t| ~ 1.7 puts x at its switch: measured 2.5e-14 up to df = 1000, 7.5e-13 at 1e4.
    [(1, 5e-14), (2, 5e-14), (3, 5e-14), (5, 5e-14), (10, 5e-14), (30, 5e-14),
     (100, 5e-14), (1000, 1e-13), (10_000, 2e-12)],
)  # fmt: skip
def test_stdtr_against_mpmath(df: float, tolerance: float) -> None:
    for t in [*T_POINTS, -1.7, -2.0, -2.5]:
        exact = t_cdf(df, t)
        if exact > 1e-300:
            allowed = tolerance + 2 * EPS * t_condition(df, t)
            assert relative_error(float(stdtr(df, t)), exact) < allowed, t
    points = np.array(T_POINTS)
    np.testing.assert_allclose(stdtr(df, points), [stdtr(df, t) for t in points], rtol=tolerance)


def t_quantile(df: float, p: float, start: float) -> mp.mpf:
    """The root of ``P(T_df <= t) = p``; below 1/2 as ``t = -e^u``, solving
    ``ln P(T_df <= -e^u) = ln p`` (far tails span hundreds of decades)."""
    if p >= 0.5:
        return mp.findroot(lambda x: t_cdf(df, x) - p, start)
    u = mp.findroot(lambda u: mp.log(t_cdf(df, -mp.exp(u))) - mp.log(p), math.log(-start))
    return -mp.exp(u)


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 30, 100, 1000, 10_000, 100_000])
def test_stdtrit_against_mpmath(df: float) -> None:
    for p in [1e-200, 1e-12, 1e-6, 0.001, 0.025, 0.3, 0.6, 0.975, 0.999]:
        t = float(stdtrit(df, p))
        assert relative_error(t, t_quantile(df, p, t)) < 1e-12, p


NCT_POINTS = [  # t, df, nc
    (1.8, 4, 2.5),
    (2.1, 9, -1.0),
    (1.65, 99, 5.8),
    (-0.7, 3, 0.4),
    (3.0, 1, 4.0),
    (0.5, 30, 10.0),
    (30.0, 10, 28.0),
    (2.0, 2, 38.0),
    (1.7, 1000, 3.0),
]


def test_nct_sf_against_mpmath_integration() -> None:
    """Measured: 1.5e-13 at most (at t = 30, nc = 28, where the series has ~400 terms)."""
    for t, df, nc in NCT_POINTS:
        assert abs(float(nct_sf(t, df, nc)) - float(nct_survival(t, df, nc))) < 1e-12


def test_nct_sf_against_boost() -> None:
    """Boost's noncentral t (scipy's kernel: independent of this code) on a grid of the
    power analysis' range: |nc| <= 40, df 1 to 1e4, probabilities from 1e-6 (measured:
    2.5e-13 at most, at t = 30, where both sum long series)."""
    nct_boost = pytest.importorskip("scipy.special._ufuncs")._nct_sf
    nc = np.linspace(-40, 40, 33)
    for df in [1, 2, 4, 10, 30, 100, 1000, 10_000]:
        for t in [-5.0, -1.5, -0.3, 0.0, 0.5, 1.7, 2.8, 6.0, 30.0]:
            ours = nct_sf(t, df, nc)
            boost = np.clip(nct_boost(t, df, nc), 0, 1)
            shown = (boost > 1e-6) | (ours > 1e-6)
            np.testing.assert_allclose(ours[shown], boost[shown], rtol=0, atol=1e-12)


def test_nct_sf_at_a_large_noncentrality() -> None:
    """``seeds_to_resolve`` asks for the power at up to 1e5 seeds, where the noncentrality
    reaches hundreds: the series then spans thousands of Poisson weights."""
    nct_boost = pytest.importorskip("scipy.special._ufuncs")._nct_sf
    for df, nc in [(99_999, 300.0), (99_999, 3.0), (20_000, 150.0)]:
        for t in (1.65, 300.0, 310.0):
            assert abs(nct_sf(t, df, nc) - nct_boost(t, df, nc)) < 1e-10, (df, nc, t)


finite = st.floats(allow_nan=False, allow_infinity=False)
dfs = st.one_of(st.integers(1, 200), st.floats(1, 1e4))


@settings(max_examples=60, deadline=None)
@given(dfs, st.floats(-1e4, 1e4), st.floats(0, 50))
def test_stdtr_is_symmetric_and_increasing(df: float, t: float, step: float) -> None:
    assert abs(stdtr(df, -t) - (1 - stdtr(df, t))) < 1e-15
    assert stdtr(df, t + step) >= stdtr(df, t)


@settings(max_examples=60, deadline=None)
@given(dfs, st.floats(-1e6, -1e-6))
def test_stdtrit_inverts_stdtr(df: float, t: float) -> None:
    """Where ``p`` is a normal double (a subnormal one has lost digits); also from ``1 - p``,
    whose rounding moves the tail ``p`` by up to ``eps / p`` relative, and ``t`` by at most
    as much."""
    p = stdtr(df, t)
    if p > 1e-300:
        assert stdtrit(df, p) == pytest.approx(t, rel=1e-10)
    if p > EPS:
        assert stdtrit(df, 1 - p) == pytest.approx(-t, rel=1e-10 + EPS / p)


@settings(max_examples=60, deadline=None)
@given(st.floats(-37, 8))
def test_ndtri_inverts_ndtr(x: float) -> None:
    """Relative to ``x``, or absolute where ``Phi(x)`` is near 1 and rounds."""
    assert ndtri(ndtr(x)) == pytest.approx(x, rel=1e-13, abs=1e-15 / max(1 - ndtr(x), 1e-16))


@settings(max_examples=40, deadline=None)
@given(dfs, st.floats(-50, 50))
def test_nct_sf_without_noncentrality_is_the_t_survival(df: float, t: float) -> None:
    assert nct_sf(t, df, 0.0) == pytest.approx(stdtr(df, -t), rel=1e-12, abs=1e-15)


def test_bad_input_gives_nan() -> None:
    nan = math.nan
    for value in (
        ndtr(nan),
        ndtri(nan),
        ndtri(-0.1),
        ndtri(1.5),
        stdtr(nan, 1.0),
        stdtr(4.0, nan),
        stdtr(0.0, 1.0),
        stdtr(-2.0, 1.0),
        stdtrit(4.0, nan),
        stdtrit(4.0, -1e-9),
        stdtrit(4.0, 1.0 + 1e-9),
        stdtrit(0.0, 0.3),
        nct_sf(nan, 4.0, 1.0),
        nct_sf(1.0, 0.0, 1.0),
        nct_sf(1.0, 4.0, nan),
    ):
        assert math.isnan(value)
    assert np.isnan(stdtr(np.array([4.0, 0.0]), np.array([nan, 1.0]))).all()
    assert np.isnan(t_sf(np.array([1.0, 1.0]), np.array([0.5, nan]))).all()  # df >= 1 only
    assert t_sf(np.array([0.0]), np.array([1.0]))[0] == 0.5


def test_limits() -> None:
    assert ndtr(-np.inf) == 0 and ndtr(np.inf) == 1 and ndtr(-40.0) == 0
    assert ndtri(0.0) == -np.inf and ndtri(1.0) == np.inf
    assert stdtr(3.0, -np.inf) == 0 and stdtr(3.0, np.inf) == 1 and stdtr(3.0, 0.0) == 0.5
    assert stdtrit(3.0, 0.0) == -np.inf and stdtrit(3.0, 1.0) == np.inf
    assert stdtr(np.inf, 1.3) == ndtr(1.3) == stdtr(np.array([np.inf, 4.0]), 1.3)[0]
    assert stdtrit(np.inf, 0.01) == pytest.approx(ndtri(0.01), rel=1e-15)
    assert nct_sf(np.inf, 4.0, 2.0) == 0 and nct_sf(-np.inf, 4.0, 2.0) == 1
    assert nct_sf(0.0, 4.0, 2.0) == pytest.approx(float(ndtr(2.0)), rel=1e-15)


def test_the_continued_fraction_reports_no_convergence(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cut short, the fraction gives NaN rather than a wrong number."""
    monkeypatch.setattr(special, "_CF_MAX_ITERATIONS", 2)
    assert math.isnan(stdtr(1000.0, -1.7))
    assert np.isnan(stdtr(np.array([1000.0]), np.array([-1.7]))).all()
