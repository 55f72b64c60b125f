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


def two_product(a: np.ndarray, b: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) with hi = fl(a*b) and hi + lo = a*b exactly (Dekker), for |a|, |b| and
    |a*b| well inside the dtype's range (|v| * 2^33 must not overflow)."""
    factor = 2.0 ** ((np.finfo(a.dtype).nmant + 2) // 2) + 1

    def split(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = factor * v
        high = c - (c - v)
        return high, v - high

    bb = np.broadcast_to(np.asarray(b, dtype=a.dtype), a.shape)
    hi = a * bb
    ah, al = split(a)
    bh, bl = split(bb)
    lo = ((ah * bh - hi) + ah * bl + al * bh) + al * bl
    return hi, lo


def two_sum(a: np.ndarray, b: np.ndarray | np.generic) -> tuple[np.ndarray, np.ndarray]:
    """(s, e) with s = fl(a + b) and s + e = a + b exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def double_product(
    a_hi: np.ndarray, a_lo: np.ndarray | float, b_hi: np.ndarray | float, b_lo: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """(hi, lo) ~ (a_hi + a_lo)(b_hi + b_lo) to about twice the working precision
    (double-word product: the exact product of the high parts plus the cross terms)."""
    p, e = two_product(a_hi, b_hi)
    e = e + (a_hi * b_lo + a_lo * b_hi)
    hi = p + e
    return hi, e - (hi - p)


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


def expm1_minus_x(x: np.ndarray) -> np.ndarray:
    """e^x - 1 - x for x <= 0 without cancellation: for |x| < 1/2 the series
    x^2/2 (1 + x/3 (1 + x/4 (1 + ...))) (terms below 2^-70 after 24 factors), else
    expm1(x) - x, which loses at most 2 bits there (|x| / (e^x - 1 - x) <= 4.7)."""
    t = np.clip(x, -0.5, 0.5)
    s = np.ones_like(t)
    for k in range(24, 2, -1):
        s = 1 + t * s / k
    return np.where(np.abs(x) < 0.5, t * t / 2 * s, np.expm1(np.maximum(x, -EXP_CUTOFF)) - x)


@functools.cache
def decimal_pi(digits: int) -> Decimal:
    """pi to ``digits`` significant digits (the series of the ``decimal`` module's recipe)."""
    with localcontext() as ctx:
        ctx.prec = digits + 5
        three = Decimal(3)
        lasts, t, s, n, na, d, da = 0, three, three, 1, 0, 0, 24
        while s != lasts:
            lasts = s
            n, na = n + na, na + 8
            d, da = d + da, da + 32
            t = (t * n) / d
            s += t
    with localcontext() as ctx:
        ctx.prec = digits
        return +s


def _exact_decimal(v: np.generic) -> Decimal:
    numerator, denominator = v.as_integer_ratio()
    return Decimal(numerator) / Decimal(denominator)


@functools.cache
def _pi_pieces(dtype: np.dtype) -> tuple[np.generic, np.generic, np.generic, int]:
    """pi = p1 + p2 + p3 with p1, p2 of ``bits`` significant bits (so k * p1, k * p2 are
    exact for |k| < 2^(mantissa - bits)), and that bound on |k|."""
    mantissa = np.finfo(dtype).nmant + 1
    bits = mantissa // 2
    pieces = []
    with localcontext() as ctx:
        ctx.prec = 200
        rest = decimal_pi(120)
        for i in range(3):
            v = dtype.type(str(rest))
            if i < 2:  # keep `bits` significant bits
                m, e = np.frexp(v)
                v = np.ldexp(np.round(np.ldexp(m, bits)), e - bits).astype(dtype)
            pieces.append(v)
            rest = rest - _exact_decimal(v)
    return pieces[0], pieces[1], pieces[2], 2 ** (mantissa - bits - 1)


def reduce_pi(x: np.ndarray, a: float, offset: str) -> np.ndarray:
    """t = a x + offset - k pi in [-pi/2, pi/2] (k the nearest integer) for the *exact*
    product a x, accurate to the working precision relative to t even where t is tiny:
    sin^2(a x + offset) = sin^2(t).

    Where |k| is small enough (|a x| < 2e8 in float64, 6.7e9 in long double) a x = hi + lo
    by :func:`two_product` and pi in three pieces (Cody-Waite), with the cancelling sums
    kept exact by :func:`two_sum`; beyond, each element is reduced in exact decimal
    arithmetic (pi to 420 digits covers |a x| up to 1e330). ``offset`` is a decimal
    string, e.g. pi/4, or "0"."""
    dtype = x.dtype
    p1, p2, p3, limit = _pi_pieces(dtype)
    moderate = np.abs(x) < (limit * 3.0) / abs(a)
    xm = np.where(moderate, x, 0)
    hi, lo = two_product(xm, a)
    off_hi, off_lo = const2(x, offset)
    k = np.rint((hi + off_hi) / p1)
    # hi - k p1 and k p2 are exact; two_sum keeps the rounding errors of the cancelling
    # sums, so t is exact up to the small terms' own rounding.
    s2, e2 = two_sum(hi - k * p1, -(k * p2))
    s3, e3 = two_sum(s2, off_hi)
    t = s3 + (((e2 + e3) + (lo + off_lo)) - k * p3)
    if moderate.all():
        return t
    with localcontext() as ctx:
        ctx.prec = 420
        pi = decimal_pi(420)
        a_exact = Decimal(a.as_integer_ratio()[0]) / Decimal(a.as_integer_ratio()[1])
        off = Decimal(offset)
        flat_x, flat_t = x.ravel(), t.ravel()
        for i in np.flatnonzero(~moderate.ravel()):
            v = _exact_decimal(flat_x[i]) * a_exact + off
            flat_t[i] = dtype.type(str(v - (v / pi).to_integral_value() * pi))
        return flat_t.reshape(t.shape)
