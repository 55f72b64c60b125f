"""Kernels of the vector entries (softmax, log-softmax, sparsemax and their Jacobian-vector
products), within 1 ulp of the exact value in the caller's dtype.

Ziv's strategy. The fast path computes each element y in the working dtype W (float64 for
float32 input, long double for float64 input) together with an a-posteriori bound B on
|y - exact|, from the error analysis in each function's docstring. u is W's unit roundoff;
``np.exp`` and ``np.log1p`` are taken to be within ``FN_ULPS`` ulp (2 FN_ULPS u) of W
(tests/test_catalog_accuracy.py measures them); depth = ceil(log2 n) is the depth of
:func:`tree_sum`; every bound is first order and multiplied by ``SLACK`` (the second-order
terms are below n B^2, and B < 2^-24 wherever it decides anything). Results below W's
normal range are covered by absolute terms in tiny_W (:func:`_unit`).

An element is decided (:func:`decided`) when |round_T(y) - y| + B <= ulp_T(|y| - B) in the
target dtype T (the caller's): then round_T(y) is within 1 ulp of the exact value, even
across a power of 2. The rows it leaves undecided, rare on random inputs, are recomputed in
double-word arithmetic where that exists (the J v of the softmax family, whose v - <s, v>
can cancel), and what is still undecided, one row at a time by :mod:`exact` (interval
decimal or exact rational arithmetic, correctly rounded). Where long double is float64 (no
80-bit type: ARM, MSVC) float64 input decides little on the fast path and is slower.

Exact zeros stay exact: J v uses w = v - v_r (r the row's maximum), so a v constant along
the axis gives w = 0, J v = 0 and B = 0; sparsemax's zeros are outside a support certified
by the signs of k x - sum_{top k} z + 1 at its two boundary elements.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from actlab.catalog import double_word as dw
from actlab.catalog import exact
from actlab.catalog.numerics import double_product, two_product, two_sum

FN_ULPS = 2
"""Assumed accuracy of ``np.exp`` and ``np.log1p`` in the working dtype, in its ulps
(measured: at most 1.03 ulp in long double, 0.65 in float64)."""
SLACK = 1.01

Fast = tuple[np.ndarray, np.ndarray, np.ndarray | None]
"""(values, bounds, rows certified or None) over the last axis."""


def target_of(work: np.dtype) -> type:
    """The caller's dtype for a working dtype: long double works for float64 input."""
    return np.float64 if work.type is np.longdouble else np.float32


def tree_sum(a: np.ndarray) -> tuple[np.ndarray, int]:
    """(sum over the last axis, keepdims; depth): pairwise by halves after zero padding to a
    power of 2, so |error| <= depth u sum |a_j| with depth = ceil(log2 n) whatever the
    memory layout (np.sum is pairwise only along a contiguous axis)."""
    n = a.shape[-1]
    size = 1 << max(n - 1, 0).bit_length()
    if size != n:
        a = np.concatenate([a, np.zeros((*a.shape[:-1], size - n), a.dtype)], axis=-1)
    depth = 0
    while a.shape[-1] > 1:
        half = a.shape[-1] // 2
        a = a[..., :half] + a[..., half:]
        depth += 1
    return a, depth


def _sum(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.generic]:
    """(hi, lo, coef): the sum over the last axis (keepdims) as hi + lo, within
    coef sum_j |a_j|: a plain :func:`tree_sum` (lo = 0, coef = depth u) in float64, which
    has 29 bits to spare over float32, a double-word one (:func:`double_word.tree_sum`,
    coef = 3 depth u^2) in long double, which has 11 over float64."""
    u, _ = _unit(a)
    if a.dtype.type is not np.longdouble:
        total, depth = tree_sum(a)
        return total, np.zeros_like(total), depth * u
    (hi, lo), depth = dw.tree_sum(a, np.zeros_like(a))
    return hi, lo, 3 * depth * u * u


def decided(y: np.ndarray, bound: np.ndarray, target: type) -> np.ndarray:
    """|round_T(y) - y| + bound <= ulp_T(|y| - bound), ulp_T(t) = 2^(floor(log2 t) - p + 1)
    and at least the smallest subnormal of T (an exact 0 with bound 0 is decided; NaN never
    is). First the sufficient test bound <= 2^-(p+1) (1 - 2^-10) |y| (as ulp_T(t) >=
    2^-p |t|) or bound <= tiny_T / 2, then the exact one where that fails."""
    fi = np.finfo(target)
    tiny = float(fi.smallest_subnormal)
    ok = (bound <= np.abs(y) * (2.0 ** -(fi.nmant + 2) * (1 - 2.0**-10))) | (bound <= tiny / 2)
    rest = np.flatnonzero(~ok)
    if rest.size:
        yr, br = y.ravel()[rest], bound.ravel()[rest]
        with np.errstate(over="ignore", invalid="ignore"):
            error = np.abs(yr.astype(target).astype(y.dtype) - yr) + br
        low = np.abs(yr) - br
        _, e = np.frexp(np.where(low > 0, low, 1))
        ulp = np.where(low > 0, np.ldexp(np.ones_like(yr), e - (fi.nmant + 1)), 0)
        ok.ravel()[rest] = error <= np.maximum(ulp, tiny)
    return ok


def _unit(x: np.ndarray) -> tuple[np.generic, np.generic]:
    """(u, tiny_W) of the working dtype as its scalars. tiny_W is its smallest *normal*
    number: absolute errors of results in its subnormal range are below it, and bounds
    built on it stay out of slow subnormal arithmetic (it is far below every target's
    subnormals, so it costs no decision)."""
    fi = np.finfo(x.dtype)
    return fi.eps / 2, fi.smallest_normal


def _spread(d: np.ndarray) -> np.ndarray:
    """|d|, at most 1e300: where it is larger (or d = -inf, a masked logit) e^d is 0, and
    so are the bound terms |d| multiplies."""
    return np.minimum(np.abs(d), 1e300)


def _exp_shifted(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(r, d, e): r the index of the (first) maximum m, d = fl(x - m) <= 0 (within u |d|),
    e = e^d within (2 FN_ULPS + |d|) u e (plus 4 tiny_W where it is subnormal); e_r = 1."""
    r = np.argmax(x, axis=-1, keepdims=True)
    d = x - np.take_along_axis(x, r, axis=-1)
    return r, d, np.exp(d)


def _softmax_parts(
    x: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.generic, np.ndarray, np.ndarray]:
    """(r, s, rel, abs, eps_total, |d|): s_i = e_i / S, S = sum_j e_j >= 1 by :func:`_sum`
    rounded once, with |s_i - exact| <= rel_i s_i + abs. S is within eps_total S of the
    exact sum, eps_total = (2 FN_ULPS + 1) u + coef + u sum_j e_j |d_j| / S (the terms'
    errors, the sum's, the rounding), so rel_i = (2 FN_ULPS + 1 + |d_i|) u + eps_total, and
    abs = 4 (n + 1) tiny_W."""
    n = x.shape[-1]
    u, tiny = _unit(x)
    r, d, e = _exp_shifted(x)
    total, total_lo, coef = _sum(e)
    total = total + total_lo
    spread = _spread(d)
    eps_total = (2 * FN_ULPS + 1) * u + coef
    eps_total = eps_total + u * np.sum(e * spread, axis=-1, keepdims=True) / total
    rel = SLACK * ((2 * FN_ULPS + 1) * u + u * spread + eps_total)
    return r, e / total, rel, 4 * (n + 1) * tiny, eps_total, spread


def softmax_fast(x: np.ndarray) -> Fast:
    _, s, rel, abs_, _, _ = _softmax_parts(x)
    return s, SLACK * (rel * s + abs_), None


def log_softmax_fast(x: np.ndarray) -> Fast:
    """f_i = d_i - L, L = log1p(R), R = sum_{j != r} e_j (the terms other than the
    maximum's own 1, so f keeps its digits where it is near 0). d <= 0 <= L, so the
    subtraction does not cancel: |error| <= u |d| + dL + u |f| (d's rounding, L's error, the
    subtraction), dL = 2 FN_ULPS u L + (2 FN_ULPS u R + depth u R + u sum e |d|) / (1 + R)
    + 4 n tiny_W (log1p's own error, then R's error times d log1p(R) / dR)."""
    n = x.shape[-1]
    u, tiny = _unit(x)
    r, d, e = _exp_shifted(x)
    np.put_along_axis(e, r, 0, axis=-1)
    rest, depth = tree_sum(e)
    log_total = np.log1p(rest)
    spread = _spread(d)
    spread_sum = u * np.sum(e * spread, axis=-1, keepdims=True)
    d_rest = (2 * FN_ULPS + depth) * u * rest + spread_sum
    d_log = 2 * FN_ULPS * u * log_total + d_rest / (1 + rest) + 4 * n * tiny
    f = d - log_total
    return f, SLACK * (d_log + u * spread + u * np.abs(f)), None


def _centred_dot(
    x: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.generic]:
    """(s, g, dg, rel, abs): g_i = v_i - <s, v> = w_i - <s, w> with w = fl(v - v_r) (sum s
    = 1; within u |w|), as (w - c_hi) - c_lo, c = sum_j s_j w_j by :func:`_sum` (within
    coef M, M = sum_j |s_j w_j|). s_j's error is its own (2 FN_ULPS + 1 + |d_j|) u s_j plus
    S's relative error eps_total, common to all j, so |c - exact| <= (2 FN_ULPS + 3) u M +
    coef M + u sum_j |s_j w_j| |d_j| + eps_total |c| + abs n max|w|, with w's and the
    products' rounding, and |g_i - exact| <= that + u |w_i| + 2 u |g_i| (the two
    subtractions)."""
    n = x.shape[-1]
    u, _ = _unit(x)
    r, s, rel, abs_, eps_total, spread = _softmax_parts(x)
    w = v - np.take_along_axis(v, r, axis=-1)
    terms = s * w
    c_hi, c_lo, coef = _sum(terms)
    size = np.abs(terms)
    magnitude = np.sum(size, axis=-1, keepdims=True)
    d_c = (
        ((2 * FN_ULPS + 3) * u + coef) * magnitude
        + u * np.sum(size * spread, axis=-1, keepdims=True)
        + eps_total * np.abs(c_hi)
        + abs_ * n * np.max(np.abs(w), axis=-1, keepdims=True)
    )
    g = (w - c_hi) - c_lo
    return s, g, SLACK * (SLACK * d_c + u * np.abs(w) + 2 * u * np.abs(g)), rel, abs_


def softmax_jvp_fast(x: np.ndarray, v: np.ndarray) -> Fast:
    """J v = s * g (g from :func:`_centred_dot`): |error| <= |g| ds + s dg + u |s g|."""
    u, _ = _unit(x)
    s, g, d_g, rel, abs_ = _centred_dot(x, v)
    jv = s * g
    return jv, SLACK * (np.abs(g) * (rel * s + abs_) + s * d_g + u * np.abs(jv)), None


def log_softmax_jvp_fast(x: np.ndarray, v: np.ndarray) -> Fast:
    """J v = v - <s, v> = g of :func:`_centred_dot`."""
    _, g, d_g, _, _ = _centred_dot(x, v)
    return g, d_g, None


def _centred_dot_dw(
    x: np.ndarray, v: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dw.Pair, dw.Pair, np.ndarray, np.ndarray, float]:
    """The medium path of :func:`_centred_dot`, in double-word arithmetic (:mod:`double_word`;
    eta = 2 * 8 u^2 per operation below, generously): e_j = e^(d_j) (relative error
    (2 |d_j| + 16) u^2; exponents below `floor`, where e^d is below W's normal range plus
    50, are left out: 0 < e_j < e^floor), S = sum_j e_j, c = sum_j e_j w_j / S, g = w - c,
    s = e / S. Returns (s, g, dg, rho, abs) with |g_i - exact| <= dg_i and
    |s_i - exact| <= rho s_i + abs."""
    n = x.shape[-1]
    u, tiny = _unit(x)
    eta = 16 * u * u
    floor = np.log(tiny) + 50
    r = np.argmax(x, axis=-1, keepdims=True)
    d_hi, d_lo = two_sum(x, -np.take_along_axis(x, r, axis=-1))
    kept = d_hi > floor
    e_hi, e_lo = dw.exp(np.where(kept, d_hi, 0), np.where(kept, d_lo, 0))
    e_hi, e_lo = np.where(kept, e_hi, 0), np.where(kept, e_lo, 0)
    eps_e = (2 * np.max(np.where(kept, -d_hi, 0), axis=-1, keepdims=True) + 16) * u * u
    (t_hi, t_lo), depth = dw.tree_sum(e_hi, e_lo)
    w_hi, w_lo = two_sum(v, -np.take_along_axis(v, r, axis=-1))
    p_hi, p_lo = double_product(e_hi, e_lo, w_hi, w_lo)
    (c_hi, c_lo), _ = dw.tree_sum(p_hi, p_lo)
    c_hi, c_lo = dw.divide(c_hi, c_lo, t_hi, t_lo)
    g_hi, g_lo = dw.add(w_hi, w_lo, -c_hi, -c_lo)
    s = dw.divide(e_hi, e_lo, t_hi, t_lo)
    magnitude = SLACK * np.sum(np.abs(p_hi), axis=-1, keepdims=True) / t_hi
    lost = n * (np.exp(floor) + 4 * tiny)  # terms left out, subnormal ones
    rel = eps_e + (depth + 4) * eta
    widest = np.max(np.abs(w_hi), axis=-1, keepdims=True) * 2
    d_g = rel * (magnitude + np.abs(c_hi) + np.abs(w_hi)) + lost * widest
    return s, (g_hi, g_lo), SLACK * d_g, SLACK * (2 * eps_e + (depth + 3) * eta), lost


def _narrow(x: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, v, floor) for the double-word path: long double rows whose values are float64
    numbers below 2^900 (float64 input) go to float64 pairs, 106 bits and several times
    faster than long double pairs; ``floor`` (16 float64 subnormals) then covers the bound's
    own terms that underflow in float64, on the rows where v is not constant (where it is,
    J v is exactly 0 with a bound of exactly 0). Other rows stay as they are (floor 0)."""
    if x.dtype.type is not np.longdouble:
        return x, v, np.zeros((x.shape[0], 1))
    xn, vn = x.astype(np.float64), v.astype(np.float64)
    small = max(np.max(np.abs(xn), initial=0), np.max(np.abs(vn), initial=0)) < 2.0**900
    if small and np.array_equal(xn, x) and np.array_equal(vn, v):
        varies = np.ptp(vn, axis=-1, keepdims=True) > 0
        return xn, vn, varies * (16 * float(np.finfo(np.float64).smallest_subnormal))
    return x, v, np.zeros((x.shape[0], 1))


def softmax_jvp_medium(x: np.ndarray, v: np.ndarray) -> Fast:
    """J v = s g in double-word (:func:`_centred_dot_dw`, on :func:`_narrow`'s rows), rounded
    to W (u |J v| more)."""
    u, _ = _unit(x)
    xn, vn, floor = _narrow(x, v)
    un, _ = _unit(xn)
    (s_hi, s_lo), (g_hi, g_lo), d_g, rel, abs_ = _centred_dot_dw(xn, vn)
    jv_hi, jv_lo = double_product(s_hi, s_lo, g_hi, g_lo)
    jv = jv_hi.astype(x.dtype) + jv_lo.astype(x.dtype)
    bound = np.abs(g_hi) * (rel * s_hi + abs_) + s_hi * d_g + 16 * un * un * np.abs(jv_hi)
    return jv, SLACK * (bound.astype(x.dtype) + u * np.abs(jv) + floor), None


def log_softmax_jvp_medium(x: np.ndarray, v: np.ndarray) -> Fast:
    """J v = g in double-word (:func:`_centred_dot_dw`, on :func:`_narrow`'s rows), rounded
    to W (u |g| more)."""
    u, _ = _unit(x)
    xn, vn, floor = _narrow(x, v)
    _, (g_hi, g_lo), d_g, _, _ = _centred_dot_dw(xn, vn)
    g = g_hi.astype(x.dtype) + g_lo.astype(x.dtype)
    return g, SLACK * (d_g.astype(x.dtype) + u * np.abs(g) + floor), None


def _sparsemax_parts(
    x: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(p, bound, certified, order, k as W, top) of sparsemax over the last axis, p and bound
    on the first K columns in descending order (``order``, the argsort; K = max k + 1, so
    every row's support and the element after it), ``top`` marking the support there.

    z = x sorted descending, k = #{j : 1 + j z_j > sum_{i <= j} z_i} (Martins & Astudillo
    2016, algorithm 1), in double-word arithmetic (eta = 8 u^2 per operation, generously):
    Z = sum of the top k (|error| <= dZ = depth eta sum|z_top|), N_j = (k z_j - Z) + 1 =
    k (z_j - tau) with k z_j exact (two_product) and |error| <= dZ + 2 eta (|k z_j| + |Z| +
    1 + |N_j|), p_j = fl(fl(N_j) / k) (2 u |p_j| more). The row is certified when N > its
    bound at z_k and N < -its bound at z_(k+1) (or k = n): then tau lies in [z_(k+1), z_k),
    which makes it the exact tau and the first k the exact support; elsewhere p is
    exactly 0."""
    n = x.shape[-1]
    u, _ = _unit(x)
    eta = 8 * u * u
    order = np.argsort(-x, axis=-1, kind="stable")
    z = np.take_along_axis(x, order, axis=-1)
    j = np.arange(1, n + 1, dtype=x.dtype)
    k = np.maximum(np.sum(1 + j * z > np.cumsum(z, axis=-1), axis=-1, keepdims=True), 1)
    width = min(int(k.max()) + 1, n)
    order, z, j = order[:, :width], z[:, :width], j[:width]
    top = j <= k
    support_z = np.where(top, z, 0)
    (z_hi, z_lo), depth = dw.tree_sum(support_z, np.zeros_like(support_z))
    d_total = depth * eta * np.sum(np.abs(support_z), axis=-1, keepdims=True)
    kw = k.astype(x.dtype)
    kz_hi, kz_lo = two_product(z, kw)
    num_hi, num_lo = dw.add(kz_hi, kz_lo, -z_hi, -z_lo)
    num_hi, num_lo = dw.add(num_hi, num_lo, np.ones_like(num_hi), np.zeros_like(num_lo))
    size = np.abs(kz_hi) + np.abs(z_hi) + 1 + np.abs(num_hi)
    num, d_num = num_hi + num_lo, SLACK * (d_total + 2 * eta * size)
    at_k = np.take_along_axis(num, k - 1, axis=-1) > np.take_along_axis(d_num, k - 1, axis=-1)
    after = np.minimum(k, width - 1)
    below = np.take_along_axis(num, after, axis=-1) < -np.take_along_axis(d_num, after, axis=-1)
    below |= np.take_along_axis(z, after, axis=-1) == -np.inf  # a masked logit
    certified = at_k & ((k == n) | below)
    p = np.where(top, num / kw, 0)
    bound = np.where(top, SLACK * (d_num / kw + 2 * u * np.abs(p)), 0)
    return p, bound, certified[:, 0], order, kw, top


def _scatter(values: np.ndarray, order: np.ndarray, n: int) -> np.ndarray:
    """Values given on the columns ``order`` of each row, zeros elsewhere."""
    out = np.zeros((values.shape[0], n), values.dtype)
    np.put_along_axis(out, order, values, axis=-1)
    return out


def sparsemax_fast(x: np.ndarray) -> Fast:
    p, bound, certified, order, _, _ = _sparsemax_parts(x)
    n = x.shape[-1]
    return _scatter(p, order, n), _scatter(bound, order, n), certified


def sparsemax_jvp_fast(x: np.ndarray, v: np.ndarray) -> Fast:
    """J v = m (v - mean_S v) = (k w_i - sum_S w) / k on the support S, 0 outside, with
    w = v - v_r as an exact pair (r the maximum, in S), in double-word arithmetic:
    |error| <= (depth eta sum_S |w| + 2 eta (|k w_i| + |sum_S w| + |G_i|)) / k + 2 u |result|,
    G_i = k w_i - sum_S w."""
    n = x.shape[-1]
    u, _ = _unit(x)
    eta = 8 * u * u
    _, _, certified, order, kw, top = _sparsemax_parts(x)
    vs = np.take_along_axis(v, order, axis=-1)
    w_hi, w_lo = two_sum(vs, -vs[:, :1])
    on_hi, on_lo = np.where(top, w_hi, 0), np.where(top, w_lo, 0)
    (t_hi, t_lo), depth = dw.tree_sum(on_hi, on_lo)
    kw_hi, kw_lo = two_product(w_hi, kw)
    g_hi, g_lo = dw.add(kw_hi, kw_lo + kw * w_lo, -t_hi, -t_lo)
    g = (g_hi + g_lo) / kw
    spread = depth * eta * np.sum(np.abs(on_hi), axis=-1, keepdims=True)
    size = np.abs(kw_hi) + np.abs(t_hi) + np.abs(g_hi)
    bound = SLACK * ((spread + 2 * eta * size) / kw + 2 * u * np.abs(g))
    g, bound = np.where(top, g, 0), np.where(top, bound, 0)
    return _scatter(g, order, n), _scatter(bound, order, n), certified


def _slow_row(
    kind: str, x: np.ndarray, v: np.ndarray | None, idx: np.ndarray, target: type
) -> dict[int, float]:
    if kind.startswith("sparsemax"):
        values = exact.sparsemax_row(x, v, target)
        return {int(i): values[int(i)] for i in idx}
    return exact.softmax_row(kind, x, v, [int(i) for i in idx], target)


def _undecided(y: np.ndarray, bound: np.ndarray, certified: np.ndarray | None, target: type):
    todo = ~decided(y, bound, target)
    return todo if certified is None else todo | ~certified[:, None]


def run(
    kind: str,
    fast: Callable[..., Fast],
    x: np.ndarray,
    v: np.ndarray | None,
    axis: int,
    medium: Callable[..., Fast] | None = None,
    target: type | None = None,
) -> np.ndarray:
    """``fast`` over ``axis`` of ``x`` (and ``v``); the rows it leaves undecided go through
    ``medium`` if given, and what is still undecided is recomputed by :mod:`exact` (``kind``
    names the function there). ``target`` defaults to the caller's dtype (:func:`target_of`).
    Logits of -inf (masked) are allowed; rows with a NaN, a +inf or a non-finite v keep
    the fast path's values (NaN where the result is undefined)."""
    target = target or target_of(x.dtype)
    moved = np.moveaxis(x, axis, -1)
    n = moved.shape[-1]
    rows = [np.ascontiguousarray(moved).reshape(-1, n)]
    if v is not None:
        rows.append(np.ascontiguousarray(np.moveaxis(v, axis, -1)).reshape(-1, n))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # NaN: undecided
        y, bound, certified = fast(*rows)
    todo = _undecided(y, bound, certified, target)
    usable = (~np.isnan(rows[0]) & (rows[0] < np.inf)).all(axis=-1)
    usable &= (rows[0] > -np.inf).any(axis=-1)
    if v is not None:
        usable &= np.isfinite(rows[1]).all(axis=-1)
    todo &= usable[:, None]
    pending = np.flatnonzero(todo.any(axis=-1))
    if medium is not None and pending.size:
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            y_m, bound_m, certified_m = medium(*(a[pending] for a in rows))
        y[pending] = y_m
        todo[pending] = _undecided(y_m, bound_m, certified_m, target)
        pending = pending[todo[pending].any(axis=-1)]
    for row in pending:
        row_v = None if v is None else rows[1][row]
        for i, value in _slow_row(
            kind, rows[0][row], row_v, np.flatnonzero(todo[row]), target
        ).items():
            y[row, i] = value
    return np.moveaxis(y.reshape(moved.shape), -1, axis)
