"""The slow path of the vector entries: one row at a time, in exact or interval arithmetic
with Python's ``decimal`` and ``fractions`` (never mpmath, which is only the tests' oracle).

Sparsemax and its Jacobian are rational in the inputs, so they are computed exactly with
:class:`fractions.Fraction` and rounded once. Softmax and log-softmax are transcendental:
each value is enclosed in an interval ``[lo, hi]`` of decimals at ``digits`` significant
digits, every operation rounded outward (floor for ``lo``, ceiling for ``hi``; ``exp`` and
``ln`` are correctly rounded by ``decimal``, so one step outward encloses them). Ziv's
strategy: when both ends round to the same number of the target dtype, that number is the
correctly rounded value; otherwise the digits are doubled, up to :data:`MAX_DIGITS`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import MAX_EMAX, MIN_EMIN, ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from fractions import Fraction

import numpy as np

START_DIGITS = 40
MAX_DIGITS = 1280
"""Enough to decide a value within 1e-600 of a rounding boundary (or of zero: values below
half the smallest subnormal round to 0 from both ends)."""
EXP_FLOOR = -20000
"""Exponents below this enclose e^d in [0, e^EXP_FLOOR] (below every dtype's subnormals)."""

Interval = tuple[Decimal, Decimal]


class _Arith:
    """Outward-rounded interval arithmetic at a fixed number of significant digits."""

    def __init__(self, digits: int) -> None:
        self.down = Context(prec=digits, rounding=ROUND_FLOOR, Emin=MIN_EMIN, Emax=MAX_EMAX)
        self.up = Context(prec=digits, rounding=ROUND_CEILING, Emin=MIN_EMIN, Emax=MAX_EMAX)

    def point(self, value: Fraction) -> Interval:
        num, den = Decimal(value.numerator), Decimal(value.denominator)
        return self.down.divide(num, den), self.up.divide(num, den)

    def add(self, a: Interval, b: Interval) -> Interval:
        return self.down.add(a[0], b[0]), self.up.add(a[1], b[1])

    def sub(self, a: Interval, b: Interval) -> Interval:
        return self.down.subtract(a[0], b[1]), self.up.subtract(a[1], b[0])

    def _combine(self, op: str, a: Interval, b: Interval) -> Interval:
        lows = [getattr(self.down, op)(p, q) for p in a for q in b]
        highs = [getattr(self.up, op)(p, q) for p in a for q in b]
        return min(lows), max(highs)

    def mul(self, a: Interval, b: Interval) -> Interval:
        return self._combine("multiply", a, b)

    def div(self, a: Interval, b: Interval) -> Interval:
        """a / b for b > 0."""
        return self._combine("divide", a, b)

    def exp(self, a: Interval) -> Interval:
        hi = self.up.exp(a[1]).next_plus(self.up) if a[1] > EXP_FLOOR else self._tiny_exp()
        lo = self.down.exp(a[0]).next_minus(self.down) if a[0] > EXP_FLOOR else Decimal(0)
        return max(lo, Decimal(0)), hi

    def _tiny_exp(self) -> Decimal:
        return self.up.exp(Decimal(EXP_FLOOR)).next_plus(self.up)

    def ln(self, a: Interval) -> Interval:
        """ln(a) for a >= 1 (a sum of exponentials whose largest is 1)."""
        return self.down.ln(a[0]).next_minus(self.down), self.up.ln(a[1]).next_plus(self.up)


def _to_target(d: Decimal, target: type) -> float:
    """``d`` rounded to the target dtype (float64 rounds correctly; float32 through float64,
    whose double rounding stays within 1 float32 ulp)."""
    return float(target(float(d)))


def _decide(
    compute: Callable[[_Arith], list[Interval]], wanted: Sequence[int], target: type
) -> dict[int, float]:
    """Ziv's loop: ``compute(arith)`` returns every element's interval; each wanted index
    gets the target value that both ends round to, at the fewest digits that decide it (at
    MAX_DIGITS, the middle's: only an exact tie can get there)."""
    digits, result, todo = START_DIGITS, {}, list(wanted)
    while todo:
        intervals = compute(_Arith(digits))
        for i in list(todo):
            lo, hi = intervals[i]
            low, high = _to_target(lo, target), _to_target(hi, target)
            if low == high or digits >= MAX_DIGITS:
                result[i] = low if low == high else _to_target((lo + hi) / 2, target)
                todo.remove(i)
        digits *= 2
    return result


def _fraction_to_target(value: Fraction, target: type) -> float:
    """``value`` rounded to the target dtype (through float64, correctly rounded)."""
    try:
        return float(target(value.numerator / value.denominator))
    except OverflowError:
        return float(target(np.inf if value > 0 else -np.inf))


def _exact(values: Sequence[np.generic]) -> list[Fraction | None]:
    """The exact values; None for -inf (a masked logit, weight e^-inf = 0)."""
    return [None if v == -np.inf else Fraction(*v.as_integer_ratio()) for v in values]


def _softmax_intervals(
    arith: _Arith, x: Sequence[Fraction], v: Sequence[Fraction] | None, kind: str
) -> list[Interval]:
    """softmax, log_softmax, their J v (kind "softmax", "log_softmax", "softmax_jvp",
    "log_softmax_jvp"), with d = x - max, w = v - v_r (r the first maximum)."""
    r = max((i for i, t in enumerate(x) if t is not None), key=lambda i: (x[i], -i))
    m = arith.point(x[r])
    minus_inf = (Decimal("-Infinity"), Decimal("-Infinity"))
    d = [minus_inf if t is None else arith.sub(arith.point(t), m) for t in x]
    e = [arith.exp(t) for t in d]
    total = e[0]
    for t in e[1:]:
        total = arith.add(total, t)
    if kind == "log_softmax":
        log_total = arith.ln(total)
        return [arith.sub(t, log_total) for t in d]
    s = [arith.div(t, total) for t in e]
    if kind == "softmax":
        return s
    assert v is not None
    vr = arith.point(v[r])
    w = [arith.sub(arith.point(t), vr) for t in v]
    dot = (Decimal(0), Decimal(0))
    for a, b in zip(s, w, strict=True):
        dot = arith.add(dot, arith.mul(a, b))
    g = [arith.sub(t, dot) for t in w]
    if kind == "log_softmax_jvp":
        return g
    return [arith.mul(a, b) for a, b in zip(s, g, strict=True)]


def softmax_row(
    kind: str, x: np.ndarray, v: np.ndarray | None, wanted: Sequence[int], target: type
) -> dict[int, float]:
    """The ``wanted`` elements of one row (a 1-d ``x``, and ``v`` for a J v), correctly
    rounded to ``target``."""
    xs = _exact(x)
    vs = None if v is None else _exact(v)
    return _decide(lambda a: _softmax_intervals(a, xs, vs, kind), wanted, target)


def sparsemax_row(x: np.ndarray, v: np.ndarray | None, target: type) -> list[float]:
    """sparsemax(x) (or its J v if ``v`` is given) of one row in exact rational arithmetic:
    tau = (sum of the top k - 1) / k with k the largest j such that 1 + j z_(j) > sum_{i<=j} z_(i)
    (z sorted descending); p = max(x - tau, 0); J v = m (v - mean of v over the support).
    Logits of -inf are outside the support."""
    xs = _exact(x)
    z = sorted((t for t in xs if t is not None), reverse=True)
    cumulative, k, top = Fraction(0), 0, Fraction(0)
    for j, t in enumerate(z, start=1):
        cumulative += t
        if 1 + j * t > cumulative:
            k, top = j, cumulative
    tau = (top - 1) / k
    support = [t is not None and t > tau for t in xs]
    if v is None:
        exact = [t - tau if m else Fraction(0) for t, m in zip(xs, support, strict=True)]
    else:
        vs = _exact(v)
        mean = sum((b for b, m in zip(vs, support, strict=True) if m), Fraction(0)) / k
        exact = [b - mean if m else Fraction(0) for b, m in zip(vs, support, strict=True)]
    return [_fraction_to_target(t, target) for t in exact]
