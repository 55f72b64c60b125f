"""Accuracy of every elementwise catalog entry against the mpmath oracle (tests/oracle.py).

Grid, per dtype: log-spaced magnitudes from 1e-30 to the dtype's max on both signs, the
exp overflow/underflow edges of float32 (+-88.7, +-103.9) and float64 (+-709.8, +-745.1)
densely, zero and the tiniest inputs, and a dense plus a random sample of [-20, 20].
Bounds: forward within 2 ulp, derivative within 4 ulp, where
ulp(t) = max(2^(floor(log2|t|) - p + 1), smallest subnormal) of the true value t.
A true value beyond the dtype's range must come out as an infinity of the right sign;
where it is finite the result must be finite, and no floating-point exception may be
raised (over, invalid and divide are turned into errors).
"""

from __future__ import annotations

import functools
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest

import actlab
from actlab.catalog import build, numerics
from oracle import ORACLES, evaluate, softmax, softmax_jvp

FORWARD_ULP = 2.0
DERIVATIVE_ULP = 4.0
DTYPES = (np.float32, np.float64)
EXTENDED = np.finfo(np.longdouble).nmant >= 63

# Non-default parameters, on the same grid.
PARAM_CASES = [
    ("leaky_relu", {"alpha": 0.2}),
    ("softplus", {"beta": 0.37}),
    ("softplus", {"beta": 3.0}),
    ("elu", {"alpha": 0.5}),
    ("silu", {"beta": 1.7}),
    ("celu", {"alpha": 0.3}),
    ("celu", {"alpha": 2.5}),
]
CASES = [(name, {}) for name in ORACLES] + PARAM_CASES
DERIVATIVE_ROOTS = (
    -0.75179152469356445746,  # gelu
    -0.75246142207101625849,  # gelu_tanh
    -1.2784645427610737951,  # silu
    -1.1924312145154952121,  # mish
)
"""Zeros of f', where f' is a difference of O(1) terms: sampled densely on both sides."""


def _case_id(case: tuple[str, dict[str, float]]) -> str:
    name, params = case
    return build(name, params).spec


@functools.cache
def grid(dtype: type) -> np.ndarray:
    fi = np.finfo(dtype)
    mags = np.geomspace(1e-30, float(fi.max) / 2, 300)
    edges = np.concatenate([np.linspace(c - 1, c + 1, 41) for c in (88.72, 103.97, 709.78, 745.13)])
    rng = np.random.default_rng(20240607)
    offsets = np.geomspace(1e-6, 1e-2, 9)
    near_roots = np.concatenate([r + np.concatenate([offsets, -offsets]) for r in DERIVATIVE_ROOTS])
    special = [float(fi.max), float(fi.smallest_normal), float(fi.smallest_subnormal), 1.0]
    positive = np.concatenate([mags, edges, special])
    values = np.concatenate(
        [
            positive,
            -positive,
            [0.0],
            np.linspace(-20, 20, 1201),
            rng.uniform(-20, 20, 400),
            near_roots,
        ]
    )
    return np.unique(values.astype(dtype))


@functools.cache
def reference(
    name: str, params: tuple[tuple[str, float], ...], kind: str, dtype: type
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(t_hi, t_lo, ulp, overflow) of the true values on ``grid(dtype)``: t = t_hi + t_lo*ulp
    with t_hi = float(t), ``overflow`` = +-1 where t rounds to +-inf in ``dtype``, else 0."""
    fn = ORACLES[name][0 if kind == "forward" else 1]
    fi = np.finfo(dtype)
    p = fi.nmant + 1
    tiny = mp.mpf(2) ** (fi.minexp - fi.nmant)
    limit = mp.mpf(float(fi.max)) + mp.mpf(2) ** (fi.maxexp - p - 1)
    xs = grid(dtype)
    t_hi = np.zeros(xs.size)
    t_lo = np.zeros(xs.size)
    ulp = np.ones(xs.size)
    over = np.zeros(xs.size)
    for i, x in enumerate(xs):
        t = evaluate(fn, float(x), dict(params))
        if abs(t) >= limit:
            over[i] = 1 if t > 0 else -1
            continue
        u = max(mp.mpf(2) ** (mp.frexp(t)[1] - p), tiny) if t != 0 else tiny
        t_hi[i] = float(t)
        t_lo[i] = float((t - mp.mpf(t_hi[i])) / u)
        ulp[i] = float(u)
    return t_hi, t_lo, ulp, over


def ulp_errors(
    name: str, params: dict[str, float], kind: str, dtype: type
) -> tuple[np.ndarray, np.ndarray]:
    """(x, error in ulp) over the grid; raises if any floating-point exception is signalled
    or an overflow comes out wrong."""
    act = build(name, params)
    fn = act if kind == "forward" else act.derivative
    xs = grid(dtype)
    t_hi, t_lo, ulp, over = reference(name, tuple(sorted(params.items())), kind, dtype)
    finite = over == 0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = np.asarray(fn(xs[finite]))
    assert y.dtype == dtype
    bad = ~np.isfinite(y)
    assert not bad.any(), f"non-finite {kind} at x = {xs[finite][bad][:5]}"
    if (~finite).any():
        # The true value overflows: the result must be +-inf, with no warning raised
        # (Activation._apply rounds to the caller's dtype with overflow silenced).
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y_over = np.asarray(fn(xs[~finite]))
        assert np.array_equal(y_over, over[~finite] * np.inf), (
            f"expected +-inf at x = {xs[~finite]}, got {y_over}"
        )
    err = np.abs((y.astype(np.float64) - t_hi[finite]) / ulp[finite] - t_lo[finite])
    return xs[finite], err


def _skip_without_extended(dtype: type) -> None:
    if dtype is np.float64 and not EXTENDED:
        pytest.skip("float64 accuracy relies on 80-bit long double, absent on this platform")


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_forward_within_2_ulp(case: tuple[str, dict[str, float]], dtype: type) -> None:
    _skip_without_extended(dtype)
    name, params = case
    xs, err = ulp_errors(name, params, "forward", dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= FORWARD_ULP, f"{name}{params}: {err[worst]:.2f} ulp at x = {xs[worst]!r}"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_derivative_within_4_ulp(case: tuple[str, dict[str, float]], dtype: type) -> None:
    _skip_without_extended(dtype)
    name, params = case
    xs, err = ulp_errors(name, params, "derivative", dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= DERIVATIVE_ULP, (
        f"{name}{params}: {err[worst]:.2f} ulp at x = {xs[worst]!r}"
    )


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_kernels_work_without_extended_precision(case: tuple[str, dict[str, float]]) -> None:
    """Where long double is float64 (e.g. ARM, MSVC) the kernels get plain float64: no
    exception, finite wherever the true value is, and within 1e-11 relative for results
    in the normal range (subnormal results and the float64 rounding of the arguments of
    exp cost more ulps there, which is accepted and not bounded here)."""
    name, params = case
    act = build(name, params)
    xs = grid(np.float64)
    for kind, kernel in (
        ("forward", act.definition.forward),
        ("derivative", act.definition.derivative),
    ):
        t_hi, _, _, over = reference(name, tuple(sorted(params.items())), kind, np.float64)
        finite = over == 0
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            y = kernel(xs[finite], **act.params)
        assert y.dtype == np.float64 and np.isfinite(y).all(), kind
        normal = np.abs(t_hi[finite]) > 1e-290
        rel = np.abs(y[normal] - t_hi[finite][normal]) / np.abs(t_hi[finite][normal])
        assert rel.max() <= 1e-11, (kind, xs[finite][normal][np.argmax(rel)])


def test_every_elementwise_entry_has_an_oracle() -> None:
    elementwise = {n for n in actlab.names() if not actlab.get(n).is_vector}
    assert elementwise == set(ORACLES)


@pytest.mark.parametrize("name", list(ORACLES))
def test_oracle_digits_are_stable(name: str) -> None:
    """The oracle's formulas keep their digits: the same values at 50 and at 100 digits
    agree to 1e-35 relative on a sample of the float64 grid (both tails included), or
    are both far below the smallest float64 subnormal (e.g. gelu(-1e308) ~ exp(-5e615),
    whose exponent alone needs 616 digits)."""
    floor = mp.mpf(2) ** -1200
    xs = grid(np.float64)[::37]
    for fn in ORACLES[name]:
        for x in xs:
            lo, hi = evaluate(fn, float(x), {}, dps=50), evaluate(fn, float(x), {}, dps=100)
            assert abs(lo - hi) <= mp.mpf("1e-35") * abs(hi) or abs(hi) + abs(lo) < floor, x


def _softmax_cases(dtype: type) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    cases = []
    for n, scale in [(2, 1.0), (5, 3.0), (7, 30.0), (4, 300.0), (6, 1e-20)]:
        x = (rng.standard_normal(n) * scale).astype(dtype)
        v = rng.standard_normal(n).astype(dtype)
        cases.append((x, v))
    big = np.array([1e4, 1e4 - 1, -1e4, 0.0], dtype=dtype)  # would overflow a naive exp
    cases.append((big, np.array([1.0, -2.0, 0.5, 3.0], dtype=dtype)))
    return cases


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_softmax_forward_and_jvp_against_mpmath(dtype: type) -> None:
    _skip_without_extended(dtype)
    act = actlab.get("softmax")
    tol = 4 * np.finfo(dtype).eps
    for x, v in _softmax_cases(dtype):
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            s = act(x)
            jv = act.jvp(x, v)
        assert s.dtype == dtype and jv.dtype == dtype
        with mp.workdps(50):
            ts = softmax(x)
            tj = softmax_jvp(x, v)
            scale_j = max(abs(t) for t in tj) + sum(
                abs(a * b) for a, b in zip(ts, [mp.mpf(float(w)) for w in v], strict=True)
            )
            for got, want in zip(s, ts, strict=True):
                assert abs(mp.mpf(float(got)) - want) <= tol * want + mp.mpf(
                    float(np.finfo(dtype).smallest_subnormal)
                )
            for got, want in zip(jv, tj, strict=True):
                # J v sums terms of both signs: an absolute bound on the scale of the terms.
                assert abs(mp.mpf(float(got)) - want) <= tol * scale_j


def test_softmax_axis_parameter() -> None:
    x = np.arange(12.0).reshape(3, 4)
    rows = actlab.get("softmax")(x)
    cols = actlab.get("softmax(axis=0)")(x)
    assert np.allclose(rows.sum(axis=1), 1) and np.allclose(cols.sum(axis=0), 1)
    assert np.allclose(cols, actlab.get("softmax")(x.T).T)
    v = np.ones_like(x)
    assert np.allclose(actlab.get("softmax(axis=0)").jvp(x, v), 0, atol=1e-15)


def test_softmax_has_no_elementwise_derivative() -> None:
    with pytest.raises(TypeError, match="jvp"):
        actlab.get("softmax").derivative(np.zeros(3))


@pytest.mark.parametrize("dtype", [np.float64, np.longdouble], ids=["float64", "longdouble"])
def test_two_product_is_exact(dtype: type) -> None:
    """silu's derivative near its zero needs beta * x exactly, as hi + lo."""
    rng = np.random.default_rng(11)
    a = (rng.standard_normal(200) * 3).astype(dtype)
    for b in (1.7, 0.1, 3.0000000000000004):
        hi, lo = numerics.two_product(a, b)
        exact = [Fraction(*v.as_integer_ratio()) for v in (*a, *hi, *lo)]
        n = a.size
        for i in range(n):
            assert exact[n + i] + exact[2 * n + i] == exact[i] * Fraction(b)
