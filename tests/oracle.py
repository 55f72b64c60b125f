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
from fractions import Fraction

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


def _guard(extra: Callable[[mp.mpf], int]) -> Callable[[Scalar], Scalar]:
    """Evaluate an oracle with ``extra(x)`` more bits, where its formula cancels."""

    def wrap(fn: Scalar) -> Scalar:
        def guarded(x: mp.mpf, **params: float) -> mp.mpf:
            with mp.extraprec(extra(x)):
                return +fn(x, **params)

        return guarded

    return wrap


def _small_x_bits(x: mp.mpf) -> int:
    """Bits lost by x - tanh(x) ~ x^3/3 (or e^x - 1 - x ~ x^2/2) for tiny x."""
    return 80 + (max(0, -2 * int(mp.mag(x))) if x else 0)


def _large_x_bits(x: mp.mpf) -> int:
    """Bits lost by x + sqrt(x^2 + b) for large negative x."""
    return 80 + (max(0, 2 * int(mp.mag(x))) if x else 0)


@_guard(_small_x_bits)
def _tanh_shrink(x: mp.mpf) -> mp.mpf:
    return x - mp.tanh(x)


@_guard(_large_x_bits)
def _squareplus(x: mp.mpf, b: float = 4.0) -> mp.mpf:
    return (x + mp.sqrt(x**2 + b)) / 2


@_guard(_large_x_bits)
def _squareplus_grad(x: mp.mpf, b: float = 4.0) -> mp.mpf:
    return (1 + x / mp.sqrt(x**2 + b)) / 2


STAR_RELU = {"scale": 1 / 1.25**0.5, "bias": -0.5 / 1.25**0.5}


@_guard(lambda _x: 80)
def _star_relu(x: mp.mpf, scale: float = STAR_RELU["scale"], bias: float = STAR_RELU["bias"]):
    return scale * max(mp.mpf(0), x) ** 2 + bias


@_guard(_small_x_bits)
def _xielu(x: mp.mpf, alpha_p: float = 0.8, alpha_n: float = 0.8, beta: float = 0.5) -> mp.mpf:
    if x > 0:
        return alpha_p * x**2 + beta * x
    return alpha_n * (mp.expm1(x) - x) + beta * x


@_guard(lambda _x: 80)
def _xielu_grad(x: mp.mpf, alpha_p: float = 0.8, alpha_n: float = 0.8, beta: float = 0.5):
    if x > 0:
        return 2 * alpha_p * x + beta
    return alpha_n * mp.expm1(x) + beta


def _snake(x: mp.mpf, frequency: float = 1.0) -> mp.mpf:
    return x + mp.sin(frequency * x) ** 2 / frequency


@_guard(lambda _x: 120)
def _snake_grad(x: mp.mpf, frequency: float = 1.0) -> mp.mpf:
    return 1 + mp.sin(2 * frequency * x)


def _rrelu(x: mp.mpf, lower: float = 0.125, upper: float = 1 / 3) -> mp.mpf:
    return x if x >= 0 else (mp.mpf(lower) + upper) / 2 * x


def _rrelu_grad(x: mp.mpf, lower: float = 0.125, upper: float = 1 / 3) -> mp.mpf:
    return mp.mpf(1) if x > 0 else (mp.mpf(lower) + upper) / 2


def _step(condition: bool) -> mp.mpf:
    return mp.mpf(1) if condition else mp.mpf(0)


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
    "hard_tanh": (
        lambda x, min_val=-1.0, max_val=1.0: min(max(mp.mpf(min_val), x), mp.mpf(max_val)),
        lambda x, min_val=-1.0, max_val=1.0: _step(min_val < x < max_val),
    ),
    "hard_shrink": (
        lambda x, lambd=0.5: x if abs(x) > lambd else mp.mpf(0),
        lambda x, lambd=0.5: _step(abs(x) > lambd),
    ),
    "soft_shrink": (
        lambda x, lambd=0.5: mp.sign(x) * max(abs(x) - lambd, mp.mpf(0)),
        lambda x, lambd=0.5: _step(abs(x) > lambd),
    ),
    "threshold": (
        lambda x, threshold=0.0, value=0.0: x if x > threshold else mp.mpf(value),
        lambda x, threshold=0.0, value=0.0: _step(x > threshold),
    ),
    "sparse_plus": (
        lambda x: mp.mpf(0) if x <= -1 else x if x >= 1 else (x + 1) ** 2 / 4,
        lambda x: mp.mpf(0) if x <= -1 else mp.mpf(1) if x >= 1 else (x + 1) / 2,
    ),
    "sparse_sigmoid": (
        lambda x: min(max(mp.mpf(0), (x + 1) / 2), mp.mpf(1)),
        lambda x: mp.mpf(1) / 2 if -1 < x < 1 else mp.mpf(0),
    ),
    "rrelu": (_rrelu, _rrelu_grad),
    "exponential": (mp.exp, mp.exp),
    "tanh_shrink": (_tanh_shrink, lambda x: mp.tanh(x) ** 2),
    "squareplus": (_squareplus, _squareplus_grad),
    "relu2": (lambda x: max(mp.mpf(0), x) ** 2, lambda x: 2 * max(mp.mpf(0), x)),
    "star_relu": (
        _star_relu,
        lambda x, scale=STAR_RELU["scale"], bias=STAR_RELU["bias"]: 2 * scale * max(mp.mpf(0), x),
    ),
    "xielu": (_xielu, _xielu_grad),
    "snake": (_snake, _snake_grad),
}
"""Elementwise entries: name -> (f, f')."""


def _mpf(q: Fraction) -> mp.mpf:
    return mp.mpf(q.numerator) / q.denominator


def softmax(x: Sequence[float]) -> list[mp.mpf]:
    """softmax of a vector: exp(x_i) / sum_j exp(x_j)."""
    e = [mp.exp(mp.mpf(float(v))) for v in x]
    total = mp.fsum(e)
    return [v / total for v in e]


def softmax_jvp(x: Sequence[float], v: Sequence[float]) -> list[mp.mpf]:
    """J v with J_ij = s_i (delta_ij - s_j): s_i (v_i - <s, v>), see _centred."""
    return [a * b for a, b in zip(softmax(x), _centred(x, v), strict=True)]


def _centred(x: Sequence[float], v: Sequence[float]) -> list[mp.mpf]:
    """v_i - <s, v> = sum_j e^(x_j - m) (v_i - v_j) / sum_j e^(x_j - m) (sum_j s_j = 1) for
    every i, the terms of equal x_j gathered first in exact rational arithmetic, so that a
    J v that is exactly 0 (v constant, or cancelling by symmetry) comes out 0. Deeper
    cancellations need the caller's working precision (the tests use 400 digits)."""
    m = mp.mpf(max(float(a) for a in x))
    weight = {float(a): mp.exp(mp.mpf(float(a)) - m) for a in x}
    total = mp.fsum(weight[float(a)] for a in x)
    out = []
    for i in range(len(x)):
        groups: dict[float, Fraction] = {}
        for a, b in zip(x, v, strict=True):
            gap = Fraction(float(v[i])) - Fraction(float(b))
            groups[float(a)] = groups.get(float(a), Fraction(0)) + gap
        out.append(mp.fsum(weight[a] * _mpf(q) for a, q in groups.items() if q) / total)
    return out


def log_softmax(x: Sequence[float]) -> list[mp.mpf]:
    """x_i - log(sum_j exp(x_j)) = (x_i - m) - log1p(sum_{j != r} exp(x_j - m)), x_r = m the
    maximum: the log of a sum near 1 keeps its digits, and a single entry gives exactly 0."""
    xs = [mp.mpf(float(v)) for v in x]
    r = xs.index(max(xs))
    d = [v - xs[r] for v in xs]
    log_total = mp.log1p(mp.fsum(mp.exp(v) for j, v in enumerate(d) if j != r))
    return [v - log_total for v in d]


def log_softmax_jvp(x: Sequence[float], v: Sequence[float]) -> list[mp.mpf]:
    """J v with J_ij = delta_ij - s_j: v_i - <s, v>, see _centred."""
    return _centred(x, v)


def softmin(x: Sequence[float]) -> list[mp.mpf]:
    return softmax([-float(v) for v in x])


def softmin_jvp(x: Sequence[float], v: Sequence[float]) -> list[mp.mpf]:
    return [-t for t in softmax_jvp([-float(a) for a in x], v)]


def _sparsemax_exact(x: Sequence[float]) -> list[Fraction]:
    """The Euclidean projection onto the simplex, by its definition, in exact rational
    arithmetic: the tau with sum_i max(x_i - tau, 0) = 1, found among the candidate supports
    (largest first)."""
    xs = [Fraction(float(v)) for v in x]
    ordered = sorted(xs, reverse=True)
    for k in range(len(xs), 0, -1):
        tau = (sum(ordered[:k], Fraction(0)) - 1) / k
        if ordered[k - 1] > tau:
            return [max(v - tau, Fraction(0)) for v in xs]
    raise AssertionError("unreachable: k = 1 always qualifies")


def sparsemax(x: Sequence[float]) -> list[mp.mpf]:
    return [_mpf(p) for p in _sparsemax_exact(x)]


def sparsemax_jvp(x: Sequence[float], v: Sequence[float]) -> list[mp.mpf]:
    """J v = m (v - mean of v over the support), m the support indicator (exact)."""
    p = _sparsemax_exact(x)
    vs = [Fraction(float(b)) for b in v]
    support = [i for i, t in enumerate(p) if t > 0]
    mean = sum((vs[i] for i in support), Fraction(0)) / len(support)
    return [_mpf(b - mean) if t > 0 else mp.mpf(0) for b, t in zip(vs, p, strict=True)]


VECTOR_ORACLES = {
    "softmax": (softmax, softmax_jvp),
    "log_softmax": (log_softmax, log_softmax_jvp),
    "softmin": (softmin, softmin_jvp),
    "sparsemax": (sparsemax, sparsemax_jvp),
}
"""Vector entries: name -> (f over a vector, J v)."""

GATED_ORACLES: dict[str, tuple[Scalar, Scalar]] = {
    "glu": ORACLES["sigmoid"],
    "swiglu": ORACLES["silu"],
    "geglu": ORACLES["gelu"],
    "reglu": ORACLES["relu"],
    "bilinear": ORACLES["identity"],
}
"""Gated entries: name -> (g, g') of the gate, from the papers (GLU: sigmoid; SwiGLU:
Swish_beta; GeGLU: GELU; ReGLU: ReLU; bilinear: none), so f(a, b) = a g(b),
df/da = g(b), df/db = a g'(b)."""
GATED_TANH_GELU = ORACLES["gelu_tanh"]
"""geglu(approximate=true)'s gate (Gemma)."""


def evaluate(fn: Scalar, x: float, params: dict[str, float], dps: int = DPS) -> mp.mpf:
    """fn at the exact binary value of ``x`` with ``dps`` digits."""
    with mp.workdps(dps):
        return +fn(mp.mpf(float(x)), **params)
