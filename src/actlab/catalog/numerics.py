"""Numerically stable building blocks shared by the catalog's kernels.

Every function takes an array of a floating working dtype (``float64`` or
``numpy.longdouble``) and returns the same dtype. None of them overflows where its true
value is finite, and none loses relative accuracy in a tail: each is written so that the
only rounding errors are a few units in the last place of the working dtype.
Constants are parsed from decimal strings into the working dtype, so extended precision
keeps its extra bits.
"""

from __future__ import annotations

import functools
from decimal import Decimal, localcontext

import numpy as np

EXP_CUTOFF = 20000.0
"""|t| beyond which exp(-|t|) is zero in every dtype (longdouble underflows near 11400)."""

_INV_SQRT_2PI = "0.39894228040143267793994605993438186847585863116493465766592583"
_MILLS_SWITCH = 2.5
_MILLS_TERMS = 120
_SERIES_TERMS = 45


def const(x: np.ndarray, text: str) -> np.generic:
    """The decimal constant ``text`` rounded once to ``x``'s dtype."""
    return x.dtype.type(text)


@functools.cache
def _split_decimal(dtype: np.dtype, text: str) -> tuple[np.generic, np.generic]:
    hi = dtype.type(text)
    exact = np.format_float_scientific(hi, unique=False, precision=80)
    with localcontext() as ctx:
        ctx.prec = 100
        lo = Decimal(text) - Decimal(exact)
    return hi, dtype.type(str(lo))


def const2(x: np.ndarray, text: str) -> tuple[np.generic, np.generic]:
    """The decimal constant ``text`` as hi + lo in ``x``'s dtype: twice its precision."""
    return _split_decimal(x.dtype, text)


def two_product(a: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) with hi = fl(a*b) and hi + lo = a*b exactly (Dekker), for |a*b| well
    inside the dtype's range."""
    factor = 2.0 ** ((np.finfo(a.dtype).nmant + 2) // 2) + 1

    def split(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = factor * v
        high = c - (c - v)
        return high, v - high

    bb = np.full_like(a, b)
    hi = a * bb
    ah, al = split(a)
    bh, bl = split(bb)
    lo = ((ah * bh - hi) + ah * bl + al * bh) + al * bl
    return hi, lo


TAYLOR_RADIUS = 0.02
"""Half-width of the interval around a zero of f' where its Taylor series is used."""


def near_zero(
    d_hi: np.ndarray,
    d_lo: np.ndarray | float,
    root: str,
    coeffs: tuple[str, ...],
    general: np.ndarray,
) -> np.ndarray:
    """``general`` except within TAYLOR_RADIUS of ``root``, where sum_k c_k d^k is used,
    d = (d_hi - root) + d_lo computed with the root split in two (so d is exact to the
    working precision however close d_hi is to the root).

    Near a simple zero a derivative like Phi(x) + x phi(x) is a difference of O(1) terms
    and loses log2(1/|d|) bits; the series keeps full relative accuracy. ``coeffs`` are
    c_1, c_2, ... (c_0 = 0); 12 terms make the truncation error below 1e-23 relative for
    |d| < 0.02.
    """
    r_hi, r_lo = const2(d_hi, root)
    d = np.clip((d_hi - r_hi) + (d_lo - r_lo), -1.0, 1.0)  # far values are not used
    series = np.zeros_like(d)
    for c in reversed(coeffs):
        series = (series + const(d, c)) * d
    return np.where(np.abs(d) < TAYLOR_RADIUS, series, general)


def clip_magnitude(x: np.ndarray, limit: float) -> np.ndarray:
    """x clipped to [-limit, limit]; ``limit`` may be inf."""
    return np.clip(x, -limit, limit)


def sigmoid(x: np.ndarray) -> np.ndarray:
    """sigma(x) = 1 / (1 + e^-x), through e = e^-|x| so nothing overflows:
    1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    """sigma(x) (1 - sigma(x)) = e / (1 + e)^2 with e = e^-|x| (even in x, no cancellation)."""
    e = np.exp(-np.abs(x))
    return e / ((1 + e) * (1 + e))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|): a sum of two non-negative terms."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def sech2_of_double(x: np.ndarray) -> np.ndarray:
    """sech^2(x) = 1 - tanh^2(x) = 4 e / (1 + e)^2 with e = e^-2|x|, accurate in the tails
    (``1 - tanh(x)**2`` loses every digit for |x| > 20)."""
    e = np.exp(-2 * np.minimum(np.abs(x), EXP_CUTOFF))
    return 4 * e / ((1 + e) * (1 + e))


def exp_neg_half_square(a: np.ndarray) -> np.ndarray:
    """e^(-a^2/2) for 0 <= a <= 1e4, with a^2 split exactly: a = h + l where h has 24
    significant bits, so h^2 and h*l are exact and the exponent carries no rounding error
    (e^(-a^2/2) amplifies an error in a^2 by a^2/2, up to 745 in float64)."""
    h = a.astype(np.float32).astype(a.dtype)
    lo = a - h
    return np.exp(-(h * h) / 2) * np.exp(-(h * lo)) * np.exp(-(lo * lo) / 2)


def normal_cdf_pdf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Phi(x) and phi(x) = e^(-x^2/2) / sqrt(2 pi) of the standard normal, both to a few
    ulp of the working dtype (scipy.special does not take longdouble).

    With a = |x|, the lower tail Q = Phi(-a) is
    - for a < 2.5: 1/2 - phi(a) * a * sum_n a^(2n) / (1*3*...*(2n+1))  (all terms positive);
    - for a >= 2.5: phi(a) * R(a), with Mills' ratio as Laplace's continued fraction
      R(a) = 1 / (a + 1 / (a + 2 / (a + 3 / (a + ...)))).
    Then Phi(x) = Q for x < 0 and 1 - Q for x >= 0 (Q <= 1/2, so no cancellation).

    In float64 (the working dtype of float32 input) Phi is ``scipy.special.ndtr``, itself
    within a few float64 ulp in both tails and 10-20x faster than the 165 terms above;
    scipy has no longdouble version, so extended precision keeps the series.
    """
    a = np.minimum(np.abs(x), 160.0)  # phi(160) is zero even in longdouble
    pdf = exp_neg_half_square(a) * const(x, _INV_SQRT_2PI)
    if x.dtype == np.float64:
        from scipy.special import ndtr

        return ndtr(x), pdf
    # Mills' ratio, evaluated bottom-up; only meaningful for a >= 2.5.
    am = np.maximum(a, _MILLS_SWITCH)
    t = am.copy()
    for k in range(_MILLS_TERMS, 0, -1):
        t = am + k / t
    tail = pdf / t
    # Series for erf; only used for a < 2.5.
    a2 = np.minimum(a, _MILLS_SWITCH) ** 2
    s = np.ones_like(a2)
    for n in range(_SERIES_TERMS, 0, -1):
        s = 1 + a2 * s / (2 * n + 1)
    central = const(x, "0.5") - pdf * np.minimum(a, _MILLS_SWITCH) * s
    q = np.where(a >= _MILLS_SWITCH, tail, central)
    cdf = np.where(x >= 0, 1 - q, q)
    return cdf, pdf
