"""High-precision reference values for every catalog entry, written with mpmath straight
from the mathematical definitions (never from actlab's kernels).

``ORACLES[name] = (f, df)``: ``f(x, **params)`` and ``df(x, **params)`` take and return
``mpmath.mpf``. Derivatives at a kink follow the catalog's stated convention (the value of
the left-hand formula, e.g. relu'(0) = 0, elu'(0) = alpha), so the kink itself can be on a
test grid. Each formula is chosen to be free of cancellation where the function is not
(e.g. sech(x)^2 rather than 1 - tanh(x)^2), so DPS digits are (nearly) all correct; the
accuracy tests re-evaluate a sample at twice the precision to confirm it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import mpmath as mp

DPS = 50
"""Working precision of every oracle evaluation, in decimal digits."""

with mp.workdps(DPS):  # module constants must carry all their digits
    SELU_LAMBDA = mp.mpf("1.0507009873554804934193349852946")
    SELU_ALPHA = mp.mpf("1.6732632423543772848170429916717")

Scalar = Callable[..., mp.mpf]


def _sigmoid(x: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-x))


def _sigmoid_grad(x: mp.mpf) -> mp.mpf:
    return mp.exp(-x) / (1 + mp.exp(-x)) ** 2


def _softplus(x: mp.mpf, beta: float = 1.0) -> mp.mpf:
    return mp.log1p(mp.exp(beta * x)) / beta


def _elu(x: mp.mpf, alpha: float = 1.0) -> mp.mpf:
    return x if x > 0 else alpha * mp.expm1(x)


def _elu_grad(x: mp.mpf, alpha: float = 1.0) -> mp.mpf:
    return mp.mpf(1) if x > 0 else alpha * mp.exp(x)


def _erfc(z: mp.mpf) -> mp.mpf:
    """erfc(z). mpmath's erfc fails for |z| > ~1e150, so beyond |z| = 1e4 this uses the
    asymptotic series e^(-z^2) / (z sqrt(pi)) (1 - 1/(2z^2) + 3/(4z^4) - 15/(8z^6)),
    whose relative error there is below 105/(16 z^8) < 1e-31."""
    if z < -(10**4):
        return 2 - _erfc(-z)
    if z > 10**4:
        w = 1 / (2 * z**2)
        return mp.exp(-(z**2)) / (z * mp.sqrt(mp.pi)) * (1 - w + 3 * w**2 - 15 * w**3)
    return mp.erfc(z)


def _gelu(x: mp.mpf) -> mp.mpf:
    return x * _erfc(-x / mp.sqrt(2)) / 2


def _gelu_grad(x: mp.mpf) -> mp.mpf:
    return _erfc(-x / mp.sqrt(2)) / 2 + x * mp.exp(-(x**2) / 2) / mp.sqrt(2 * mp.pi)


def _gelu_tanh_u(x: mp.mpf) -> mp.mpf:
    return mp.sqrt(2 / mp.pi) * (x + mp.mpf("0.044715") * x**3)


def _one_plus_tanh(u: mp.mpf) -> mp.mpf:
    """1 + tanh(u) = e^u / cosh(u), free of the cancellation 1 + tanh(u) has for u << 0."""
    return mp.exp(u) / mp.cosh(u)


def _gelu_tanh(x: mp.mpf) -> mp.mpf:
    return x / 2 * _one_plus_tanh(_gelu_tanh_u(x))


def _gelu_tanh_grad(x: mp.mpf) -> mp.mpf:
    u = _gelu_tanh_u(x)
    du = mp.sqrt(2 / mp.pi) * (1 + 3 * mp.mpf("0.044715") * x**2)
    return _one_plus_tanh(u) / 2 + x / 2 * mp.sech(u) ** 2 * du


def _silu(x: mp.mpf, beta: float = 1.0) -> mp.mpf:
    return x * _sigmoid(beta * x)


def _silu_grad(x: mp.mpf, beta: float = 1.0) -> mp.mpf:
    return _sigmoid(beta * x) + beta * x * _sigmoid_grad(beta * x)


def _mish(x: mp.mpf) -> mp.mpf:
    return x * mp.tanh(_softplus(x))


def _mish_grad(x: mp.mpf) -> mp.mpf:
    sp = _softplus(x)
    return mp.tanh(sp) + x * mp.sech(sp) ** 2 * _sigmoid(x)


def _celu(x: mp.mpf, alpha: float = 1.0) -> mp.mpf:
    return max(mp.mpf(0), x) + min(mp.mpf(0), alpha * mp.expm1(x / alpha))


def _celu_grad(x: mp.mpf, alpha: float = 1.0) -> mp.mpf:
    return mp.mpf(1) if x > 0 else mp.exp(x / alpha)


def _hard_swish_grad(x: mp.mpf) -> mp.mpf:
    if x <= -3:
        return mp.mpf(0)
    if x >= 3:
        return mp.mpf(1)
    return (2 * x + 3) / 6


ORACLES: dict[str, tuple[Scalar, Scalar]] = {
    "sigmoid": (_sigmoid, _sigmoid_grad),
    "tanh": (mp.tanh, lambda x: mp.sech(x) ** 2),
    "relu": (lambda x: max(mp.mpf(0), x), lambda x: mp.mpf(1) if x > 0 else mp.mpf(0)),
    "leaky_relu": (
        lambda x, alpha=0.01: x if x >= 0 else alpha * x,
        lambda x, alpha=0.01: mp.mpf(1) if x > 0 else mp.mpf(alpha),
    ),
    "softplus": (_softplus, lambda x, beta=1.0: _sigmoid(beta * x)),
    "elu": (_elu, _elu_grad),
    "selu": (
        lambda x: SELU_LAMBDA * (x if x > 0 else SELU_ALPHA * mp.expm1(x)),
        lambda x: SELU_LAMBDA * (mp.mpf(1) if x > 0 else SELU_ALPHA * mp.exp(x)),
    ),
    "gelu": (_gelu, _gelu_grad),
    "gelu_tanh": (_gelu_tanh, _gelu_tanh_grad),
    "silu": (_silu, _silu_grad),
    "mish": (_mish, _mish_grad),
    "celu": (_celu, _celu_grad),
    "log_sigmoid": (lambda x: -mp.log1p(mp.exp(-x)), lambda x: 1 / (1 + mp.exp(x))),
    "identity": (lambda x: x, lambda x: mp.mpf(1)),
    "relu6": (
        lambda x: min(max(mp.mpf(0), x), mp.mpf(6)),
        lambda x: mp.mpf(1) if 0 < x < 6 else mp.mpf(0),
    ),
    "prelu": (
        lambda x, alpha=0.25: x if x >= 0 else alpha * x,
        lambda x, alpha=0.25: mp.mpf(1) if x > 0 else mp.mpf(alpha),
    ),
    "hard_sigmoid": (
        lambda x: min(max(mp.mpf(0), x + 3), mp.mpf(6)) / 6,
        lambda x: mp.mpf(1) / 6 if -3 < x < 3 else mp.mpf(0),
    ),
    "hard_swish": (lambda x: x * min(max(mp.mpf(0), x + 3), mp.mpf(6)) / 6, _hard_swish_grad),
    "softsign": (lambda x: x / (1 + abs(x)), lambda x: 1 / (1 + abs(x)) ** 2),
}
"""Elementwise entries: name -> (f, f')."""


def softmax(x: Sequence[float]) -> list[mp.mpf]:
    """softmax of a vector: exp(x_i) / sum_j exp(x_j)."""
    e = [mp.exp(mp.mpf(float(v))) for v in x]
    total = mp.fsum(e)
    return [v / total for v in e]


def softmax_jvp(x: Sequence[float], v: Sequence[float]) -> list[mp.mpf]:
    """J v with the full Jacobian J_ij = s_i (delta_ij - s_j)."""
    s = softmax(x)
    n = len(s)
    return [
        mp.fsum(s[i] * ((1 if i == j else 0) - s[j]) * mp.mpf(float(v[j])) for j in range(n))
        for i in range(n)
    ]


def evaluate(fn: Scalar, x: float, params: dict[str, float], dps: int = DPS) -> mp.mpf:
    """fn at the exact binary value of ``x`` with ``dps`` digits."""
    with mp.workdps(dps):
        return +fn(mp.mpf(float(x)), **params)
