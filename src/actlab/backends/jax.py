"""JAX backend: every catalog entry as a pure ``jax.numpy`` function (jit-able, vmap-able,
differentiable), one :class:`JaxBinding` per entry in :data:`BINDINGS` (a test fails when an
entry has none).

A binding holds the catalog's stable formula written with ``jax.numpy`` and, where autodiff
of that formula loses accuracy (a cancellation such as ``s (1 - s)`` for sigmoid or
``1 - tanh^2``, a derivative near its own zero, or the kink conventions that ``jnp.clip``
and ``jnp.minimum`` split in half), the catalog's analytic derivative, attached with
:func:`jax.custom_jvp`. Constants and Taylor series come from the catalog's definitions;
nothing is restated. ``native`` names ``jax.nn``'s own op at the catalog's parameters,
where it has one (measured in :mod:`actlab.backends.differences`).

Numerics follow the catalog's kernels, in the input's dtype (float32, or float64 with
``jax_enable_x64``): ``e = exp(-|x|)`` forms that never overflow, ``expm1`` of ``min(x, 0)``
so the unused branch of a ``where`` stays finite (and its gradient is not NaN).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import ndtr

from actlab.catalog import Activation
from actlab.catalog import build as build_activation
from actlab.catalog import get as get_activation
from actlab.catalog import numerics as nm
from actlab.catalog.definitions import article, frontier, modern, smooth

JaxFn = Callable[[jax.Array], jax.Array]
Params = Mapping[str, Any]
Builder = Callable[[Params], JaxFn]


@dataclass(frozen=True)
class JaxBinding:
    """One catalog entry in JAX."""

    forward: Builder
    """The catalog's function with ``jax.numpy``; learnable parameters may be arrays."""
    derivative: Builder | None = None
    """``f'(x)``, attached with ``jax.custom_jvp`` where autodiff of ``forward`` would lose
    accuracy (elementwise entries without learnable parameters only)."""
    native: tuple[str, Builder | None] | None = None
    """``jax.nn``'s own op: its name, and a builder (None where it lacks the parameters)."""


def _e(x: jax.Array, scale: float = 1.0) -> jax.Array:
    return jnp.exp(-scale * jnp.abs(x))


def _sigmoid(x: jax.Array) -> jax.Array:
    """1 / (1 + e) for x >= 0, e / (1 + e) below, e = exp(-|x|) (``nm.sigmoid``)."""
    e = _e(x)
    return jnp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_grad(x: jax.Array) -> jax.Array:
    e = _e(x)
    return e / ((1 + e) * (1 + e))


def _sech2_of_double(x: jax.Array) -> jax.Array:
    e = _e(x, 2.0)
    return 4 * e / ((1 + e) * (1 + e))


def _softplus(x: jax.Array, beta: float = 1.0) -> jax.Array:
    return jnp.maximum(x, 0) + jnp.log1p(_e(x, beta)) / beta


def _negative(x: jax.Array) -> jax.Array:
    """``min(x, 0)`` with derivative 1 at 0 (``jnp.minimum`` splits a tie in half)."""
    return jnp.where(x > 0, 0.0, x)


def _exact(value: jax.Array) -> jax.Array:
    """``value`` as computed: under ``jit`` XLA would fold ``(x - hi) - lo`` into
    ``x - (hi + lo)`` with ``hi + lo`` rounded, undoing the split of a constant."""
    return jax.lax.optimization_barrier(value)


def _near_zero(
    d: jax.Array, root: str, coeffs: tuple[str, ...], general: jax.Array, d_lo: Any = 0.0
) -> jax.Array:
    """``nm.near_zero`` in JAX: the catalog's Taylor series of f' within
    ``nm.TAYLOR_RADIUS`` of its zero ``root``, at ``d + d_lo`` (the root split hi + lo in
    ``d``'s dtype, so the distance to it is exact)."""
    hi, lo = nm.const2(np.empty(0, dtype=d.dtype), root)
    step = jnp.clip(_exact(d - hi) + (d_lo - lo), -1.0, 1.0)
    series = jnp.zeros_like(step)
    for c in reversed(coeffs):
        series = (series + float(c)) * step
    return jnp.where(jnp.abs(step) < nm.TAYLOR_RADIUS, series, general)


def _split(v: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Dekker's split: ``v = high + low``, each with half of the significand's bits, so
    products of the halves are exact."""
    c = (2.0 ** ((jnp.finfo(v.dtype).nmant + 2) // 2) + 1) * v
    high = c - (c - v)
    return high, v - high


def _two_product(a: jax.Array, b: float) -> tuple[jax.Array, jax.Array]:
    """``nm.two_product`` in JAX: ``hi + lo = a * b`` exactly."""
    bb = jnp.full_like(a, b)
    hi = a * bb
    ah, al = _split(a)
    bh, bl = _split(bb)
    return hi, ((ah * bh - hi) + ah * bl + al * bh) + al * bl


def _normal_pdf(x: jax.Array) -> jax.Array:
    """phi(x) with x^2 split exactly (``nm.exp_neg_half_square``)."""
    h, lo = _split(jnp.minimum(jnp.abs(x), 160.0))
    return (jnp.exp(-(h * h) / 2) * jnp.exp(-(h * lo)) * jnp.exp(-(lo * lo) / 2)) * float(
        nm._INV_SQRT_2PI
    )


def _normal_cdf_pdf(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Phi(x) and phi(x) as ``nm.normal_cdf_pdf``: for |x| >= 2.5 the tail is
    ``phi(|x|) R(|x|)`` with Mills' ratio R as Laplace's continued fraction (``ndtr``'s
    erfc(-x/sqrt 2) rounds its argument, an error the tail multiplies by x^2: 500 ulp at
    x = -19.5 in float64); below, ``jax.scipy.special.ndtr``."""
    pdf = _normal_pdf(x)
    a = jnp.maximum(jnp.abs(x), nm._MILLS_SWITCH)
    terms = nm._MILLS_TERMS
    t = jax.lax.fori_loop(0, terms, lambda i, t: a + (terms - i).astype(a.dtype) / t, a)
    tail = pdf / t
    cdf = jnp.where(x >= 0, 1 - tail, tail)
    return jnp.where(jnp.abs(x) >= nm._MILLS_SWITCH, cdf, ndtr(x)), pdf


def _gelu_grad(x: jax.Array) -> jax.Array:
    cdf, pdf = _normal_cdf_pdf(x)
    general = cdf + x * pdf
    return _near_zero(x, modern._GELU_DERIVATIVE_ZERO, modern._GELU_DERIVATIVE_SERIES, general)


_C = float(modern._SQRT_2_OVER_PI)
_K = float(modern._GELU_TANH_CUBIC)


def _gelu_tanh_parts(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    t = jnp.clip(x, -modern._TANH_CLIP, modern._TANH_CLIP)
    return t, 2 * _C * (t + _K * t * t * t)


def _gelu_tanh(x: jax.Array) -> jax.Array:
    return x * _sigmoid(_gelu_tanh_parts(x)[1])


def _gelu_tanh_grad(x: jax.Array) -> jax.Array:
    t, u2 = _gelu_tanh_parts(x)
    general = _sigmoid(u2) + t * (2 * _C * (1 + 3 * _K * t * t)) * _sigmoid_grad(u2)
    return _near_zero(
        x, modern._GELU_TANH_DERIVATIVE_ZERO, modern._GELU_TANH_DERIVATIVE_SERIES, general
    )


def _silu_grad(x: jax.Array, beta: float) -> jax.Array:
    y = beta * x
    e = _e(y)
    den = (1 + e) * (1 + e)
    general = jnp.where(y >= 0, (1 + e + y * e) / den, e * ((1 + y) + e) / den)
    y_hi, y_lo = _two_product(jnp.clip(x, -8 / beta, 8 / beta), beta)
    return _near_zero(
        y_hi, modern._SILU_DERIVATIVE_ZERO, modern._SILU_DERIVATIVE_SERIES, general, y_lo
    )


def _tanh_softplus(x: jax.Array) -> jax.Array:
    e = _e(x)
    n = e * (e + 2)
    return jnp.where(x < 0, n / (n + 2), (1 + 2 * e) / (1 + 2 * e + 2 * e * e))


def _mish_grad(x: jax.Array) -> jax.Array:
    e = _e(x)
    n = e * (e + 2)
    neg = e * ((e + 2) * (n + 2) + 4 * x * (1 + e)) / ((n + 2) * (n + 2))
    d = 1 + 2 * e + 2 * e * e
    pos = (1 + 2 * e) / d + x * (4 * (1 + e) * (e * e) / (d * d))
    general = jnp.where(x < 0, neg, pos)
    return _near_zero(x, modern._MISH_DERIVATIVE_ZERO, modern._MISH_DERIVATIVE_SERIES, general)


_LAMBDA = float(article.SELU_LAMBDA)
_LAMBDA_ALPHA = float(article.SELU_LAMBDA_ALPHA)


def _where_positive(x: jax.Array, positive: Any, negative: Any) -> jax.Array:
    return jnp.where(x > 0, positive, negative)


def _expm1_minus_x(x: jax.Array) -> jax.Array:
    """``nm.expm1_minus_x``: e^x - 1 - x for x <= 0, by its series for |x| < 1/2."""
    t = jnp.clip(x, -0.5, 0.5)
    s = jnp.ones_like(t)
    for k in range(24, 2, -1):
        s = 1 + t * s / k
    return jnp.where(jnp.abs(x) < 0.5, t * t / 2 * s, jnp.expm1(x) - x)


def _two_sum(a: jax.Array, b: Any) -> tuple[jax.Array, jax.Array]:
    """``nm.two_sum`` (Knuth): s + e = a + b exactly."""
    total = a + b
    bb = total - a
    return total, (a - (total - bb)) + (b - bb)


def _star_relu(x: jax.Array, scale: Any, bias: Any) -> jax.Array:
    """scale relu(x)^2 + bias with relu(x)^2 and the product split exactly (Dekker), as
    the catalog does: the sum near its zero keeps full relative accuracy."""
    r = jnp.minimum(jnp.maximum(x, 0), frontier._DEKKER_SAFE)
    p_hi, p_lo = _two_product(r, r)
    q_hi, q_lo = _two_product(p_hi, scale)
    total, err = _two_sum(q_hi, bias)
    return total + (err + (q_lo + scale * p_lo))


def _xielu(x: jax.Array, alpha_p: Any, alpha_n: Any, beta: float) -> jax.Array:
    """The catalog's xielu: near the negative zero r of the x <= 0 branch (numbers, as in
    get(spec)) A (e^d - 1) + (beta - alpha_n) d, d = x - r; learned (array) alphas use the
    direct form alpha_n (e^x - 1 - x) + beta x."""
    xp, xn = jnp.maximum(x, 0), jnp.minimum(x, 0)
    positive = xp * (alpha_p * xp + beta)
    direct = alpha_n * _expm1_minus_x(xn) + beta * xn
    if beta == 0 or not isinstance(alpha_n, (int, float)):
        return jnp.where(x > 0, positive, direct)
    root, big_a, _ = frontier._xielu_roots(alpha_n, beta)
    r_hi, r_lo = nm.const2(np.empty(0, dtype=x.dtype), root)
    near = x < r_hi / 2
    d = jnp.where(near, _exact(x - r_hi) - r_lo, 0)
    shifted = float(big_a) * jnp.expm1(d) + (beta - alpha_n) * d
    direct = alpha_n * _expm1_minus_x(jnp.where(near, 0, xn)) + beta * jnp.where(near, 0, xn)
    return jnp.where(x > 0, positive, jnp.where(near, shifted, direct))


def _xielu_grad(x: jax.Array, alpha_p: float, alpha_n: float, beta: float) -> jax.Array:
    positive = 2 * alpha_p * jnp.maximum(x, 0) + beta
    if beta > 0:
        _, _, zero = frontier._xielu_roots(alpha_n, beta)
        z_hi, z_lo = nm.const2(np.empty(0, dtype=x.dtype), zero)
        negative = (alpha_n - beta) * jnp.expm1(_exact(jnp.minimum(x, 0) - z_hi) - z_lo)
    else:
        negative = alpha_n * jnp.expm1(jnp.minimum(x, 0))
    return jnp.where(x > 0, positive, negative)


def _tanh_shrink(x: jax.Array) -> jax.Array:
    """x - tanh(x), by the catalog's series for |x| < 0.25 (the difference cancels)."""
    t = jnp.clip(x, -smooth._TANH_SHRINK_SWITCH, smooth._TANH_SHRINK_SWITCH)
    t2 = t * t
    series = jnp.zeros_like(t)
    for c in reversed(smooth._TANH_SHRINK_SERIES):
        series = (series + float(c)) * t2
    return jnp.where(jnp.abs(x) < smooth._TANH_SHRINK_SWITCH, series * t, x - jnp.tanh(x))


def _squareplus_parts(x: jax.Array, b: float) -> tuple[jax.Array, jax.Array]:
    h = jnp.hypot(x, jnp.sqrt(jnp.asarray(b, dtype=x.dtype)))
    return h, jnp.where(x < 0, h / 2 - x / 2, 1)


def _squareplus(x: jax.Array, b: float) -> jax.Array:
    h, gap = _squareplus_parts(x, b)
    return jnp.where(x >= 0, x / 2 + h / 2, (b / 4) / gap)


def _reduce_pi(x: jax.Array, a: float, offset: str) -> jax.Array:
    """``nm.reduce_pi`` for ``|a x|`` below its Cody-Waite limit (~6000 in float32, 2e8 in
    float64): t = a x + offset - k pi with a x split exactly, so sin^2(t) keeps its digits
    where it is tiny; beyond the limit, a x + offset rounded (the catalog reduces those in
    exact decimal arithmetic)."""
    p1, p2, p3, limit = (float(v) for v in nm._pi_pieces(np.dtype(x.dtype)))
    moderate = jnp.abs(x) < (limit * 3.0) / abs(a)
    hi, lo = _two_product(jnp.where(moderate, x, 0), a)
    off_hi, off_lo = (float(v) for v in nm.const2(np.empty(0, dtype=x.dtype), offset))
    k = jnp.rint((hi + off_hi) / p1)
    s2, e2 = _two_sum(hi - k * p1, -(k * p2))
    s3, e3 = _two_sum(s2, off_hi)
    t = s3 + (((e2 + e3) + (lo + off_lo)) - k * p3)
    return jnp.where(moderate, t, a * x + off_hi)


def _snake(x: jax.Array, frequency: Any) -> jax.Array:
    """x + sin^2(a x) / a, the argument reduced exactly for a fixed (number) frequency."""
    if isinstance(frequency, (int, float)):
        small = jnp.abs(x) < 2.0 ** (jnp.finfo(x.dtype).nmant + 3) / frequency
        s = jnp.sin(_reduce_pi(jnp.where(small, x, 0), frequency, "0"))
        return jnp.where(small, x + s * s / frequency, x)
    s = jnp.sin(frequency * x)
    return x + s * s / frequency


def _sparsemax(x: jax.Array, axis: int) -> jax.Array:
    """Martins & Astudillo 2016, algorithm 1 (the catalog's)."""
    moved = jnp.moveaxis(x, axis, -1)
    z = -jnp.sort(-moved, axis=-1)
    j = jnp.arange(1, z.shape[-1] + 1, dtype=x.dtype)
    cumulative = jnp.cumsum(z, axis=-1)
    k = jnp.sum(1 + j * z > cumulative, axis=-1, keepdims=True)
    tau = (jnp.take_along_axis(cumulative, k - 1, axis=-1) - 1) / k.astype(x.dtype)
    return jnp.moveaxis(jnp.maximum(moved - tau, 0), -1, axis)


def _gated(p: Params, gate: JaxFn) -> JaxFn:
    """``a * gate(b)`` for the halves (value, gate) of the input along ``axis``."""
    axis = int(p["axis"])

    def apply(x: jax.Array) -> jax.Array:
        a, b = jnp.split(x, 2, axis=axis)
        return a * gate(b)

    return apply


def _gated_entry(name: str) -> Builder:
    """A gated entry: its gate is an elementwise entry with its own JAX binding (and custom
    derivative), applied to the gate half."""
    return lambda p: _gated(p, get(build_activation(name, dict(p)).gate))


def _fixed(value: Callable[[jax.Array], Any]) -> Builder:
    return lambda _p: value


_N = jax.nn

BINDINGS: dict[str, JaxBinding] = {
    "sigmoid": JaxBinding(_fixed(_sigmoid), None, ("jax.nn.sigmoid", _fixed(_N.sigmoid))),
    "tanh": JaxBinding(
        _fixed(jnp.tanh), _fixed(_sech2_of_double), ("jax.numpy.tanh", _fixed(jnp.tanh))
    ),
    "relu": JaxBinding(_fixed(_N.relu), None, ("jax.nn.relu", _fixed(_N.relu))),
    "leaky_relu": JaxBinding(
        lambda p: lambda x: _where_positive(x, x, p["alpha"] * x),
        None,
        ("jax.nn.leaky_relu", lambda p: lambda x: _N.leaky_relu(x, negative_slope=p["alpha"])),
    ),
    "softplus": JaxBinding(
        lambda p: lambda x: _softplus(x, p["beta"]),
        lambda p: lambda x: _sigmoid(p["beta"] * x),
        ("jax.nn.softplus", lambda p: _N.softplus if p["beta"] == 1 else None),
    ),
    "elu": JaxBinding(
        lambda p: lambda x: _where_positive(x, x, p["alpha"] * jnp.expm1(_negative(x))),
        lambda p: lambda x: _where_positive(x, 1.0, p["alpha"] * jnp.exp(_negative(x))),
        ("jax.nn.elu", lambda p: lambda x: _N.elu(x, alpha=p["alpha"])),
    ),
    "selu": JaxBinding(
        _fixed(lambda x: _where_positive(x, _LAMBDA * x, _LAMBDA_ALPHA * jnp.expm1(_negative(x)))),
        _fixed(lambda x: _where_positive(x, _LAMBDA, _LAMBDA_ALPHA * jnp.exp(_negative(x)))),
        ("jax.nn.selu", _fixed(_N.selu)),
    ),
    "gelu": JaxBinding(
        _fixed(lambda x: x * _normal_cdf_pdf(x)[0]),
        _fixed(_gelu_grad),
        ("jax.nn.gelu(approximate=False)", _fixed(lambda x: _N.gelu(x, approximate=False))),
    ),
    "gelu_tanh": JaxBinding(
        _fixed(_gelu_tanh),
        _fixed(_gelu_tanh_grad),
        ("jax.nn.gelu (approximate=True, its default)", _fixed(_N.gelu)),
    ),
    "silu": JaxBinding(
        lambda p: lambda x: x * _sigmoid(p["beta"] * x),
        lambda p: lambda x: _silu_grad(x, p["beta"]),
        ("jax.nn.silu", lambda p: _N.silu if p["beta"] == 1 else None),
    ),
    "mish": JaxBinding(
        _fixed(lambda x: x * _tanh_softplus(x)),
        _fixed(_mish_grad),
        ("jax.nn.mish", _fixed(_N.mish)),
    ),
    "celu": JaxBinding(
        lambda p: (
            lambda x: _where_positive(x, x, p["alpha"] * jnp.expm1(_negative(x) / p["alpha"]))
        ),
        lambda p: lambda x: _where_positive(x, 1.0, jnp.exp(_negative(x) / p["alpha"])),
        ("jax.nn.celu", lambda p: lambda x: _N.celu(x, alpha=p["alpha"])),
    ),
    "log_sigmoid": JaxBinding(
        _fixed(lambda x: jnp.minimum(x, 0) - jnp.log1p(_e(x))),
        _fixed(lambda x: _sigmoid(-x)),
        ("jax.nn.log_sigmoid", _fixed(_N.log_sigmoid)),
    ),
    "identity": JaxBinding(_fixed(lambda x: x), None, ("jax.nn.identity", _fixed(_N.identity))),
    "relu6": JaxBinding(
        _fixed(lambda x: jnp.clip(x, 0, 6)),
        _fixed(lambda x: jnp.where((x > 0) & (x < 6), 1.0, 0.0)),
        ("jax.nn.relu6", _fixed(_N.relu6)),
    ),
    "prelu": JaxBinding(lambda p: lambda x: _where_positive(x, x, p["alpha"] * x)),
    "hard_sigmoid": JaxBinding(
        _fixed(lambda x: jnp.clip((x + 3) / 6, 0, 1)),
        _fixed(lambda x: jnp.where((x > -3) & (x < 3), 1 / 6, 0.0)),
        ("jax.nn.hard_sigmoid", _fixed(_N.hard_sigmoid)),
    ),
    "hard_swish": JaxBinding(
        _fixed(lambda x: x * (jnp.clip(x + 3, 0, 6) / 6)),
        _fixed(
            lambda x: jnp.where(
                x <= -3, 0.0, jnp.where(x >= 3, 1.0, (2 * jnp.clip(x, -3, 3) + 3) / 6)
            )
        ),
        ("jax.nn.hard_swish", _fixed(_N.hard_swish)),
    ),
    "softsign": JaxBinding(
        _fixed(lambda x: x / (1 + jnp.abs(x))),
        _fixed(lambda x: 1 / ((1 + jnp.abs(x)) * (1 + jnp.abs(x)))),
        ("jax.nn.soft_sign", _fixed(_N.soft_sign)),
    ),
    "softmax": JaxBinding(
        lambda p: lambda x: _N.softmax(x, axis=int(p["axis"])),
        None,
        ("jax.nn.softmax", lambda p: lambda x: _N.softmax(x, axis=int(p["axis"]))),
    ),
    "hard_tanh": JaxBinding(
        lambda p: lambda x: jnp.clip(x, p["min_val"], p["max_val"]),
        lambda p: lambda x: jnp.where((x > p["min_val"]) & (x < p["max_val"]), 1.0, 0.0),
        (
            "jax.nn.hard_tanh",
            lambda p: _N.hard_tanh if (p["min_val"], p["max_val"]) == (-1, 1) else None,
        ),
    ),
    "hard_shrink": JaxBinding(lambda p: lambda x: jnp.where(jnp.abs(x) > p["lambd"], x, 0.0)),
    "soft_shrink": JaxBinding(
        lambda p: (
            lambda x: jnp.where(
                x > p["lambd"], x - p["lambd"], jnp.where(x < -p["lambd"], x + p["lambd"], 0.0)
            )
        )
    ),
    "threshold": JaxBinding(lambda p: lambda x: jnp.where(x > p["threshold"], x, p["value"])),
    "sparse_plus": JaxBinding(
        _fixed(
            lambda x: jnp.where(
                x >= 1, x, jnp.where(x <= -1, 0.0, (jnp.clip(x, -1, 1) + 1) ** 2 / 4)
            )
        ),
        None,
        ("jax.nn.sparse_plus", _fixed(_N.sparse_plus)),
    ),
    "sparse_sigmoid": JaxBinding(
        _fixed(lambda x: jnp.clip(x + 1, 0, 2) / 2),
        _fixed(lambda x: jnp.where((x > -1) & (x < 1), 0.5, 0.0)),
        ("jax.nn.sparse_sigmoid", _fixed(_N.sparse_sigmoid)),
    ),
    "rrelu": JaxBinding(
        lambda p: lambda x: jnp.where(x >= 0, x, (p["lower"] + p["upper"]) / 2 * x),
        lambda p: lambda x: jnp.where(x > 0, 1.0, (p["lower"] + p["upper"]) / 2),
    ),
    "exponential": JaxBinding(_fixed(jnp.exp), None, ("jax.numpy.exp", _fixed(jnp.exp))),
    "tanh_shrink": JaxBinding(_fixed(_tanh_shrink), _fixed(lambda x: jnp.tanh(x) ** 2)),
    "squareplus": JaxBinding(
        lambda p: lambda x: _squareplus(x, p["b"]),
        None,
        ("jax.nn.squareplus", lambda p: lambda x: _N.squareplus(x, b=p["b"])),
    ),
    "relu2": JaxBinding(_fixed(lambda x: jnp.square(jnp.maximum(x, 0)))),
    "star_relu": JaxBinding(lambda p: lambda x: _star_relu(x, p["scale"], p["bias"])),
    "xielu": JaxBinding(
        lambda p: lambda x: _xielu(x, p["alpha_p"], p["alpha_n"], p["beta"]),
        lambda p: lambda x: _xielu_grad(x, p["alpha_p"], p["alpha_n"], p["beta"]),
    ),
    "snake": JaxBinding(
        lambda p: lambda x: _snake(x, p["frequency"]),
        lambda p: lambda x: 2 * jnp.sin(_reduce_pi(x, p["frequency"], frontier._QUARTER_PI)) ** 2,
    ),
    "log_softmax": JaxBinding(
        lambda p: lambda x: _N.log_softmax(x, axis=int(p["axis"])),
        None,
        ("jax.nn.log_softmax", lambda p: lambda x: _N.log_softmax(x, axis=int(p["axis"]))),
    ),
    "softmin": JaxBinding(lambda p: lambda x: _N.softmax(-x, axis=int(p["axis"]))),
    "sparsemax": JaxBinding(lambda p: lambda x: _sparsemax(x, int(p["axis"]))),
    "glu": JaxBinding(
        _gated_entry("glu"),
        None,
        ("jax.nn.glu", lambda p: lambda x: _N.glu(x, axis=int(p["axis"]))),
    ),
    "swiglu": JaxBinding(_gated_entry("swiglu")),
    "geglu": JaxBinding(_gated_entry("geglu")),
    "reglu": JaxBinding(_gated_entry("reglu")),
    "bilinear": JaxBinding(_gated_entry("bilinear")),
}


def _with_derivative(forward: JaxFn, derivative: JaxFn) -> JaxFn:
    """``forward`` whose JVP is ``derivative(x) * t`` (not autodiff of ``forward``)."""
    fn = jax.custom_jvp(forward)

    @fn.defjvp
    def _jvp(primals: tuple[jax.Array], tangents: tuple[jax.Array]) -> tuple[jax.Array, jax.Array]:
        (x,), (t,) = primals, tangents
        return forward(x), derivative(x).astype(x.dtype) * t

    return fn


def binding(spec: str | Activation) -> tuple[Activation, JaxBinding]:
    act = get_activation(spec)
    if act.name not in BINDINGS:
        raise NotImplementedError(f"actlab's JAX backend has no binding for {act.spec!r}")
    return act, BINDINGS[act.name]


def get(spec: str | Activation) -> JaxFn:
    """The entry as a pure function of a JAX array, its parameters fixed at the spec's
    values: jit-able, vmap-able, and with the catalog's derivative where autodiff of the
    formula would lose accuracy. Raises :class:`actlab.SpecError` for a bad spec."""
    act, b = binding(spec)
    forward = b.forward(act.params)
    if b.derivative is None:
        return forward
    return _with_derivative(forward, b.derivative(act.params))


def autodiff_formula(spec: str | Activation) -> JaxFn:
    """The binding's formula without its custom derivative (to measure what it buys)."""
    act, b = binding(spec)
    return b.forward(act.params)


def learnable_params(spec: str | Activation) -> dict[str, jax.Array]:
    """The entry's learnable parameters at the spec's values, float32 arrays of shape ``()``."""
    act = get_activation(spec)
    return {
        p.name: jnp.asarray(act.params[p.name], dtype=jnp.float32)
        for p in act.definition.params
        if p.learnable
    }


def functional(spec: str | Activation) -> tuple[Callable[[Params, jax.Array], jax.Array], dict]:
    """``(apply, params)`` for Flax / Equinox modules: ``apply(params, x)`` is pure, and
    ``params`` holds the learnable parameters (empty when there are none) at the spec's
    values, to be owned by the module (``self.param`` in Flax, a field in Equinox) and
    differentiated with the rest of its weights."""
    act, b = binding(spec)
    params = learnable_params(act)
    if not params:
        fn = get(act)
        return (lambda _params, x: fn(x)), params
    fixed = dict(act.params)
    return (lambda learned, x: b.forward({**fixed, **learned})(x)), params


def native(spec: str | Activation) -> tuple[str, JaxFn] | None:
    """``(name, function)`` of ``jax.nn``'s own op at the spec's parameters, or ``None``."""
    act, b = binding(spec)
    if b.native is None:
        return None
    name, build = b.native
    fn = None if build is None else build(act.params)
    return None if fn is None else (name, fn)
