"""A root of a scalar function in a bracket, by Brent's method (Brent 1973, ch. 4), in
plain Python: the analysis' root (the noncentrality reaching a power) takes a few dozen
evaluations, and importing ``scipy.optimize`` for it took longer (~0.15 s) than every
evaluation together.

The steps are those of ``scipy.optimize.brentq`` (Charles Harris's variant: inverse
quadratic extrapolation or secant interpolation while the function's magnitude shrinks,
bisection otherwise), in the same floating-point operations, so the root is the same
number (tested against scipy bit for bit).

Each step keeps ``x`` (the newest estimate, ``|f(x)|`` smallest), ``p`` (the estimate
before it) and ``b`` with ``f(b)`` of the other sign, so the root lies between ``x`` and
``b``. With tolerance ``delta = (xtol + rtol |x|) / 2`` the search stops once
``|b - x| / 2 < delta`` (or ``f(x) = 0``) and returns ``x``. A trial step ``s`` from
``x`` is the secant through ``p`` and ``x`` when ``p = b``, else inverse quadratic
extrapolation through ``p``, ``x`` and ``b``; it is taken when ``2|s|`` is below both the
step before last and ``3 |b - x| / 2 - delta``, otherwise the step bisects. A step is
never shorter than ``delta``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

RTOL = 4 * 2.220446049250313e-16
"""The smallest relative tolerance: four units in the last place of float64."""
MAX_ITERATIONS = 100


def brentq(
    f: Callable[[float], float],
    a: float,
    b: float,
    xtol: float = 2e-12,
    rtol: float = RTOL,
    max_iterations: int = MAX_ITERATIONS,
) -> float:
    """The root of ``f`` between ``a`` and ``b`` (``f(a)`` and ``f(b)`` of opposite signs,
    or one of them 0), within ``xtol + rtol |root|``. Raises ``ValueError`` for a bracket
    without a sign change or a NaN value of ``f``, ``RuntimeError`` when
    ``max_iterations`` steps do not converge."""

    def value(x: float) -> float:
        y = f(x)
        if math.isnan(y):
            raise ValueError(f"the function is NaN at {x!r}")
        return y

    p, x = a, b
    fp, fx = value(p), value(x)
    if fp * fx > 0:
        raise ValueError(f"f({a!r}) and f({b!r}) have the same sign: no bracketed root")
    if fp == 0:
        return p
    if fx == 0:
        return x
    other, f_other = 0.0, 0.0
    step = before = 0.0  # the last step and the one before it
    for _ in range(max_iterations):
        if fp != 0 and fx != 0 and (fp < 0) != (fx < 0):  # p is the new other end
            other, f_other = p, fp
            step = before = x - p
        if abs(f_other) < abs(fx):  # keep x the end with the smaller |f|
            p, x, other = x, other, x
            fp, fx, f_other = fx, f_other, fx
        delta = (xtol + rtol * abs(x)) / 2
        half = (other - x) / 2
        if fx == 0 or abs(half) < delta:
            return x
        if abs(before) > delta and abs(fx) < abs(fp):
            if p == other:  # secant through p and x
                trial = -fx * (x - p) / (fx - fp)
            else:  # inverse quadratic through p, x and other
                slope_p = (fp - fx) / (p - x)
                slope_o = (f_other - fx) / (other - x)
                trial = (
                    -fx * (f_other * slope_o - fp * slope_p) / (slope_o * slope_p * (f_other - fp))
                )
            if 2 * abs(trial) < min(abs(before), 3 * abs(half) - delta):
                before, step = step, trial
            else:
                before = step = half
        else:
            before = step = half
        p, fp = x, fx
        x += step if abs(step) > delta else (delta if half > 0 else -delta)
        fx = value(x)
    raise RuntimeError(f"no root within {max_iterations} iterations (last estimate {x!r})")
