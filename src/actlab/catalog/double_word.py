"""Double-word arithmetic on NumPy arrays: a value is a pair (hi, lo) of one floating dtype
with |lo| <= ulp(hi) / 2, about twice that dtype's precision (u^2 with u its unit
roundoff). Built on the error-free transformations of :mod:`numerics`; used by
:mod:`simplex` where the working dtype alone cannot decide a result.

Error bounds, first order in u^2: :func:`add` is within 3 u^2 (|a| + |b|) of a + b
(sloppy addition: not relative to a cancelling result); :func:`tree_sum` within
3 depth u^2 sum |a_j|; :func:`divide` within 6 u^2 |a / b|;
:func:`numerics.double_product` within 4 u^2 |a b|; :func:`exp` within
(2 |d| + 16) u^2 e^d relative (the Cody-Waite reduction's tail carries |d| u^2; measured
below half of that against mpmath in tests/test_catalog_accuracy.py).
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal, localcontext

import numpy as np

from actlab.catalog.numerics import double_product, two_product, two_sum

Pair = tuple[np.ndarray, np.ndarray]

_LN2 = "0.69314718055994530941723212145817656807550013436025525412068000949339362196969471560586"
_STEPS = 256
"""exp(d) = 2^(k / 256) e^r: the table of 2^(j / 256), j < 256, leaves |r| <= ln(2) / 512."""
_TERMS = 10
"""e^r = sum_{n <= 10} r^n / n! for |r| <= ln(2) / 512: the first term left out is < 2^-129."""
_PLAIN = 6
"""Terms from r^6 / 6! on (< 2^-66) are summed in the plain dtype."""


def _exact(v: np.generic) -> Decimal:
    num, den = v.as_integer_ratio()
    return Decimal(num) / Decimal(den)


@functools.cache
def _ln2_pieces(dtype: np.dtype) -> tuple[np.generic, np.generic, np.generic]:
    """ln(2) / 256 = l1 + l2 + l3, l1 and l2 of (precision - 24) bits, so k l1 and k l2 are
    exact for |k| < 2^24 (|d| < 45000)."""
    bits = np.finfo(dtype).nmant + 1 - 24
    pieces = []
    with localcontext() as ctx:
        ctx.prec = 100
        rest = Decimal(_LN2) / _STEPS
        for i in range(3):
            v = dtype.type(str(rest))
            if i < 2:
                m, e = np.frexp(v)
                v = np.ldexp(np.round(np.ldexp(m, bits)), e - bits).astype(dtype)
            pieces.append(v)
            rest = rest - _exact(v)
    return pieces[0], pieces[1], pieces[2]


def _split(exact: Decimal, dtype: np.dtype) -> tuple[np.generic, np.generic]:
    hi = dtype.type(str(exact))
    return hi, dtype.type(str(exact - _exact(hi)))


@functools.cache
def _inverse_factorials(dtype: np.dtype) -> tuple[tuple[np.generic, np.generic], ...]:
    """1 / n! for n = 0 .. _TERMS, each as hi + lo."""
    with localcontext() as ctx:
        ctx.prec = 80
        return tuple(_split(1 / Decimal(math.factorial(n)), dtype) for n in range(_TERMS + 1))


@functools.cache
def _powers_of_two(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """2^(j / 256) for j = 0 .. 255 as (hi, lo) arrays."""
    with localcontext() as ctx:
        ctx.prec = 80
        pairs = [_split((Decimal(_LN2) * j / _STEPS).exp(), dtype) for j in range(_STEPS)]
    return np.array([p[0] for p in pairs], dtype), np.array([p[1] for p in pairs], dtype)


def add(a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray, b_lo: np.ndarray) -> Pair:
    """(a_hi + a_lo) + (b_hi + b_lo)."""
    s, e = two_sum(a_hi, b_hi)
    e = e + (a_lo + b_lo)
    hi = s + e
    return hi, e - (hi - s)


def tree_sum(hi: np.ndarray, lo: np.ndarray) -> tuple[Pair, int]:
    """(sum over the last axis, keepdims; depth = ceil(log2 n)), pairwise by halves."""
    n = hi.shape[-1]
    size = 1 << max(n - 1, 0).bit_length()
    if size != n:
        pad = np.zeros((*hi.shape[:-1], size - n), hi.dtype)
        hi, lo = np.concatenate([hi, pad], axis=-1), np.concatenate([lo, pad], axis=-1)
    depth = 0
    while hi.shape[-1] > 1:
        half = hi.shape[-1] // 2
        hi, lo = add(hi[..., :half], lo[..., :half], hi[..., half:], lo[..., half:])
        depth += 1
    return (hi, lo), depth


def divide(a_hi: np.ndarray, a_lo: np.ndarray, b_hi: np.ndarray, b_lo: np.ndarray) -> Pair:
    """(a_hi + a_lo) / (b_hi + b_lo), b != 0: q1 = a_hi / b_hi, then the remainder
    a - q1 b (q1 b_hi exact by two_product) divided once more."""
    q1 = a_hi / b_hi
    p, e = two_product(q1, b_hi)
    rest = (((a_hi - p) - e) + a_lo) - q1 * b_lo
    q2 = rest / b_hi
    hi = q1 + q2
    return hi, q2 - (hi - q1)


def exp(d_hi: np.ndarray, d_lo: np.ndarray) -> Pair:
    """e^(d_hi + d_lo) for -45000 < d <= 0: d = k ln(2) / 256 + r (ln(2) / 256 in three
    pieces), |r| <= ln(2) / 512 as r_hi + r_lo, e^r by its Taylor series (Horner; the last
    6 steps in double-word), times the table's 2^((k mod 256) / 256) and 2^(k // 256)
    exactly. Results below the dtype's normal range lose relative accuracy (their absolute
    error is below its smallest subnormal)."""
    dtype = d_hi.dtype
    l1, l2, l3 = _ln2_pieces(dtype)
    k = np.rint(d_hi / l1)
    s, e = two_sum(d_hi - k * l1, -(k * l2))
    r_hi, r_lo = two_sum(s, e + (d_lo - k * l3))
    coef = _inverse_factorials(dtype)
    p = np.full_like(r_hi, coef[_TERMS][0])
    for n in range(_TERMS - 1, _PLAIN - 1, -1):
        p = p * r_hi + coef[n][0]
    p_hi, p_lo = p, np.zeros_like(p)
    for n in range(_PLAIN - 1, -1, -1):
        p_hi, p_lo = double_product(p_hi, p_lo, r_hi, r_lo)
        p_hi, p_lo = add(p_hi, p_lo, *coef[n])
    steps = k.astype(np.int64)
    table_hi, table_lo = _powers_of_two(dtype)
    j = steps % _STEPS
    p_hi, p_lo = double_product(p_hi, p_lo, table_hi[j], table_lo[j])
    scale = steps // _STEPS
    return np.ldexp(p_hi, scale), np.ldexp(p_lo, scale)
