"""Accuracy of every catalog entry against the mpmath oracle (tests/oracle.py).

Grid, per dtype: log-spaced magnitudes from 1e-30 to the dtype's max on both signs, the
exp overflow/underflow edges of float32 (+-88.7, +-103.9) and float64 (+-709.8, +-745.1)
densely, zero and the tiniest inputs, a dense plus a random sample of [-20, 20], and points
1e-6..1e-2 either side of each hard point (a zero of f or f' where terms cancel).
Bound: forward and derivative within 1 ulp (correctly rounded to within half an ulp of
rounding error), where ulp(t) = max(2^(floor(log2|t|) - p + 1), smallest subnormal) of the
true value t. Gated entries are checked on (value, gate) pairs, the gate inputs on the
grid; vector entries on random vectors.
A true value beyond the dtype's range must come out as an infinity of the right sign;
where it is finite the result must be finite, and no floating-point exception may be
raised (over, invalid and divide are turned into errors).
"""

from __future__ import annotations

import functools
from fractions import Fraction
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import actlab
from actlab.catalog import build, numerics
from oracle import GATED_ORACLES, GATED_TANH_GELU, ORACLES, VECTOR_ORACLES, evaluate

FORWARD_ULP = 1.0
DERIVATIVE_ULP = 1.0
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
    ("hard_shrink", {"lambd": 0.2}),
    ("threshold", {"threshold": 0.5, "value": -1.0}),
    ("rrelu", {"lower": 0.01, "upper": 0.9}),
    ("squareplus", {"b": 0.5}),
    ("star_relu", {"scale": 1.7, "bias": -0.3}),
    ("xielu", {"alpha_p": 0.3, "alpha_n": 1.2, "beta": 0.25}),
    ("xielu", {"beta": 0.0}),
    ("snake", {"frequency": 2.5}),
]
CASES = [(name, {}) for name in ORACLES] + PARAM_CASES
HARD_POINTS = (
    -0.75179152469356445746,  # gelu'
    -0.75246142207101625849,  # gelu_tanh'
    -1.2784645427610737951,  # silu'
    -1.1924312145154952121,  # mish'
    -2.4324842769314479351,  # xielu
    -0.98082925301172614434,  # xielu'
    -0.48695090084678563638,  # xielu(alpha_p=0.3, alpha_n=1.2, beta=0.25)
    -0.23361485118150516938,  # and its derivative
    0.70710678118654752440,  # star_relu
    0.42008402520840293877,  # star_relu(scale=1.7, bias=-0.3)
    -0.78539816339744830962,  # snake': a x = -pi/4 + k pi
    2.3561944901923449288,
    3141591.8681916298410,
    -0.31415926535897932385,  # snake(frequency=2.5)'
    0.94247779607693797154,
)
"""Zeros of f or f' where f or f' is a difference of O(1) terms: sampled densely on both
sides."""
GATED_VALUES = (1.0, -0.3690, 123.4)
"""The values a gated entry's gate inputs (the grid) are paired with."""


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
    near_roots = np.concatenate(
        [r + np.concatenate([offsets, -offsets, [0.0]]) for r in HARD_POINTS]
    )
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
        t_hi[i], t_lo[i], ulp[i] = ulp_split(t, dtype)
    return t_hi, t_lo, ulp, over


def ulp_split(t: mp.mpf, dtype: type) -> tuple[float, float, float]:
    """(t_hi, t_lo, ulp): t = t_hi + t_lo * ulp with t_hi = float(t) and ulp = ulp(t) in
    ``dtype``, 2^(floor(log2|t|) - p + 1), at least the smallest subnormal (also at t = 0)."""
    fi = np.finfo(dtype)
    tiny = mp.mpf(2) ** (fi.minexp - fi.nmant)
    u = max(mp.mpf(2) ** (mp.frexp(t)[1] - fi.nmant - 1), tiny) if t != 0 else tiny
    hi = float(t)
    return hi, float((t - mp.mpf(hi)) / u), float(u)


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
def test_forward_within_1_ulp(case: tuple[str, dict[str, float]], dtype: type) -> None:
    _skip_without_extended(dtype)
    name, params = case
    xs, err = ulp_errors(name, params, "forward", dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= FORWARD_ULP, f"{name}{params}: {err[worst]:.2f} ulp at x = {xs[worst]!r}"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_derivative_within_1_ulp(case: tuple[str, dict[str, float]], dtype: type) -> None:
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


def test_every_entry_has_an_oracle() -> None:
    kinds = {n: actlab.get(n).kind for n in actlab.names()}
    assert {n for n, k in kinds.items() if k == "elementwise"} == set(ORACLES)
    assert {n for n, k in kinds.items() if k == "vector"} == set(VECTOR_ORACLES)
    assert {n for n, k in kinds.items() if k == "gated"} == set(GATED_ORACLES)


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


# --- gated entries: f(a, b) = a g(b) on (value, gate) pairs -----------------------------

GATED_CASES = [(name, {}) for name in GATED_ORACLES] + [
    ("swiglu", {"beta": 1.7}),
    ("geglu", {"approximate": True}),
]


def _gate_oracle(name: str, params: dict) -> tuple:
    if name == "geglu" and params.get("approximate"):
        return GATED_TANH_GELU
    return GATED_ORACLES[name]


@functools.cache
def _gated_reference(
    name: str, params: tuple, kind: str, dtype: type
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, t_hi, t_lo, ulp) of f or df/db on the pairs, overflowing pairs left out."""
    p = dict(params)
    gate_params = {"beta": p["beta"]} if "beta" in p else {}
    g, dg = _gate_oracle(name, p)
    fn = g if kind == "forward" else dg
    limit = mp.mpf(float(np.finfo(dtype).max))
    bs = grid(dtype)
    gates = [evaluate(fn, float(b), gate_params) for b in bs]
    rows = []
    for a in np.array(GATED_VALUES, dtype=dtype):
        with mp.workdps(60):
            for b, gv in zip(bs, gates, strict=True):
                t = mp.mpf(float(a)) * gv
                if abs(t) >= limit:
                    continue
                rows.append((a, b, *ulp_split(t, dtype)))
    cols = list(zip(*rows, strict=True))
    return tuple(np.array(c, dtype=dtype if i < 2 else np.float64) for i, c in enumerate(cols))


def gated_ulp_errors(name: str, params: dict, kind: str, dtype: type) -> tuple:
    """(pairs, error in ulp) of f (forward) or df/dgate (derivative)."""
    act = build(name, params)
    a, b, t_hi, t_lo, ulp = _gated_reference(name, tuple(sorted(params.items())), kind, dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = act.gated(a, b) if kind == "forward" else act.gated_partials(a, b)[1]
    assert y.dtype == dtype and np.isfinite(y).all()
    err = np.abs((y.astype(np.float64) - t_hi) / ulp - t_lo)
    return np.stack([a, b], axis=1), err


@pytest.mark.parametrize("kind", ["forward", "derivative"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", GATED_CASES, ids=_case_id)
def test_gated_within_1_ulp(case: tuple[str, dict], dtype: type, kind: str) -> None:
    """f(a, b) = a g(b) and df/db = a g'(b) correctly rounded (df/da = g(b) is the gate's
    own value, tested above)."""
    _skip_without_extended(dtype)
    name, params = case
    pairs, err = gated_ulp_errors(name, params, kind, dtype)
    worst = int(np.argmax(err))
    assert err[worst] <= FORWARD_ULP, f"{name}: {err[worst]:.2f} ulp at (a, b) = {pairs[worst]}"


@pytest.mark.parametrize("case", GATED_CASES, ids=_case_id)
def test_gated_entries_split_value_then_gate(case: tuple[str, dict]) -> None:
    """act(x) over an axis of 2n is gated(first n, last n); jvp = partials . v."""
    name, params = case
    act = build(name, params)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 8)) * 3
    v = rng.standard_normal((3, 8))
    a, b = x[:, :4], x[:, 4:]
    np.testing.assert_array_equal(act(x), act.gated(a, b))
    da, db = act.gated_partials(a, b)
    np.testing.assert_allclose(act.jvp(x, v), da * v[:, :4] + db * v[:, 4:], rtol=1e-13, atol=1e-13)
    columns = build(name, {**params, "axis": 0})
    np.testing.assert_array_equal(columns(x.T), act(x).T)
    with pytest.raises(ValueError, match="even length"):
        act(np.zeros((2, 5)))


# --- vector entries --------------------------------------------------------------------


def _vector_cases(dtype: type) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(x, v, axis): random vectors of several lengths and scales, and the hard cases."""
    rng = np.random.default_rng(7)
    cases = []
    for n, scale in [(1, 1.0), (2, 1.0), (5, 3.0), (7, 30.0), (4, 300.0), (6, 1e-20), (5, 0.2)]:
        cases.append((rng.standard_normal(n) * scale, rng.standard_normal(n), -1))
    cases += [
        (rng.standard_normal(100) * 4, rng.standard_normal(100), -1),  # a long axis
        (rng.standard_normal((5, 3)) * 2, rng.standard_normal((5, 3)), 0),  # other axes
        (rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 4, 3)), 1),
        ([1e4, 1e4 - 1, -1e4, 0.0], [1.0, -2.0, 0.5, 3.0], -1),  # overflows a naive exp
        ([40.0, 0.0, -3.0], [0.5, 1.0, -1.0], -1),  # log_softmax_0 = -4.2e-18
        ([69.0, 0.0], [1.0, 2.0], -1),  # log_softmax_0 = -1e-30
        ([0.0, -100.0, -103.0], [1.0, -1.0, 2.0], -1),  # near float32's underflow
        ([0.0, -740.0, -745.0], [1.0, -1.0, 2.0], -1),  # near float64's underflow
        ([0.3, -1.7, 2.5], [4.0, 4.0, 4.0], -1),  # v constant: J v = 0 exactly
        ([0.0, 0.0, -2.0], [1.0, -1.0, 0.0], -1),  # <s, v> = 0: J v_2 = 0 exactly
        ([0.0, 0.0, 0.0], [1.0, 2.0, 3.0], -1),  # v_1 = <s, v>: J v_1 = 0 exactly
        ([0.0, 1e-12, -1e-12], [1.0, 1.0 + 2.0**-20, 1.0 - 2.0**-20], -1),  # J v cancels
        ([1e4, 1e4 - 1 + 1e-8, 0.0], [1.0, -1.0, 3.0], -1),  # sparsemax: x - tau cancels
        ([1.0, 0.0, -1.0], [2.0, 5.0, 1.0], -1),  # sparsemax: x_1 = tau, p_1 = 0 exactly
        # sparsemax: tau = (1.5 + e) / 3 not a float, p_2 = 2 e / 3 (e = 2^-33 + 2^-53 in
        # float64; 0 in float32); J v_2 = 0.2 - (0.1 + 0.3 + 0.2) / 3, near 0
        ([1.0, 1.0, 0.5 + 2.0**-33 + 2.0**-53], [0.1, 0.3, 0.2], -1),
        ([0.5, 0.25, 0.25, -3.0], [1.0, 2.0, -7.0, 9.0], -1),  # tied at the support's edge
        # sparsemax's k: 1 + 2 z_2 > z_1 + z_2 by 2^-70, which rounds to equal (float64)
        ([1.0 + 2.0**-52, 2.0**-52 + 2.0**-70], [1.0, 3.0], -1),
    ]
    return [(np.asarray(x, dtype=dtype), np.asarray(v, dtype=dtype), axis) for x, v, axis in cases]


VECTOR_DPS = 400
"""Digits for the vector oracles: J v = s (v - <s, v>) can cancel far below float64's
smallest subnormal relative to its terms (e^-700 weights), which 50 digits misjudge."""


def vector_ulp_errors(
    name: str, x: np.ndarray, v: np.ndarray, axis: int
) -> tuple[np.ndarray, np.ndarray]:
    """Errors in ulp of f(x) and J v, each row along ``axis`` against the mpmath oracle;
    raises if a floating-point exception is signalled."""
    act = build(name, {"axis": axis})
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y, jv = act(x), act.jvp(x, v)
    assert y.dtype == x.dtype and jv.dtype == x.dtype and y.shape == x.shape == jv.shape
    f_mp, jvp_mp = VECTOR_ORACLES[name]
    n = x.shape[axis]
    rows = [np.moveaxis(a, axis, -1).reshape(-1, n) for a in (x, v, y, jv)]
    errors = []
    for got, fn in ((rows[2], lambda xr, _: f_mp(xr)), (rows[3], jvp_mp)):
        err = np.zeros(got.shape)
        with mp.workdps(VECTOR_DPS):
            for i, (xr, vr) in enumerate(zip(rows[0], rows[1], strict=True)):
                for j, t in enumerate(fn(xr, vr)):
                    if mp.isinf(t):  # log_softmax of a masked logit
                        err[i, j] = 0 if float(got[i, j]) == t else np.inf
                        continue
                    hi, lo, ulp = ulp_split(t, x.dtype.type)
                    err[i, j] = abs((float(got[i, j]) - hi) / ulp - lo)
        errors.append(err)
    return errors[0], errors[1]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(VECTOR_ORACLES))
def test_vector_forward_and_jvp_within_1_ulp(name: str, dtype: type) -> None:
    """Forward and J v within 1 ulp of the exact values on every case of _vector_cases:
    random rows (lengths 1 to 100, scales 1e-20 to 300, along other axes too), large logits,
    probabilities near 1 and near underflow, J v that cancels or is exactly 0, sparsemax's
    x - tau that cancels or is exactly 0."""
    _skip_without_extended(dtype)
    for x, v, axis in _vector_cases(dtype):
        forward, jvp = vector_ulp_errors(name, x, v, axis)
        assert forward.max() <= FORWARD_ULP, (name, x, forward)
        assert jvp.max() <= DERIVATIVE_ULP, (name, x, v, jvp)


_SCALES = st.sampled_from([1e-20, 1e-3, 1.0, 30.0, 700.0])


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    name=st.sampled_from(list(VECTOR_ORACLES)),
    dtype=st.sampled_from(DTYPES),
    scale=_SCALES,
    pairs=st.lists(
        st.tuples(st.floats(-1, 1), st.sampled_from([-2.0, -1.0, 0.0, 0.5, 1.0, 3.0])),
        min_size=1,
        max_size=6,
    ),
)
def test_vector_entries_within_1_ulp_property(
    name: str, dtype: type, scale: float, pairs: list[tuple[float, float]]
) -> None:
    """Rows of inputs at one scale with tangents drawn from a few values (so ties and
    constant tangents are frequent): forward and J v within 1 ulp."""
    if dtype is np.float64 and not EXTENDED:
        return
    x = np.array([a * scale for a, _ in pairs], dtype=dtype)
    v = np.array([b for _, b in pairs], dtype=dtype)
    forward, jvp = vector_ulp_errors(name, x, v, -1)
    assert forward.max() <= FORWARD_ULP and jvp.max() <= DERIVATIVE_ULP, (x, v, forward, jvp)


@pytest.mark.parametrize("name", list(VECTOR_ORACLES))
def test_vector_kernels_without_extended_precision(name: str) -> None:
    """Where long double is float64, float64 input works in float64: the kernels decide in
    float64 itself (``target``), so nearly every element goes through the double-word and
    exact paths, and must still be within 1 ulp."""
    definition = actlab.get(name).definition
    rng = np.random.default_rng(3)
    cases = [(x, v, axis) for x, v, axis in _vector_cases(np.float64) if x.size <= 15]
    cases.append((rng.standard_normal((2, 6)) * 3, rng.standard_normal((2, 6)), -1))
    for x, v, axis in cases:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            y = definition.forward(x, axis=axis, target=np.float64)
            jv = definition.jvp(x, v=v, axis=axis, target=np.float64)
        assert y.dtype == jv.dtype == np.float64
        with mp.workdps(VECTOR_DPS):
            n = x.shape[axis]
            for got, want in ((y, VECTOR_ORACLES[name][0]), (jv, VECTOR_ORACLES[name][1])):
                rows = zip(
                    *(np.moveaxis(a, axis, -1).reshape(-1, n) for a in (x, v, got)), strict=True
                )
                for xr, vr, gr in rows:
                    exact = want(xr) if want is VECTOR_ORACLES[name][0] else want(xr, vr)
                    for value, t in zip(gr, exact, strict=True):
                        hi, lo, ulp = ulp_split(t, np.float64)
                        assert abs((value - hi) / ulp - lo) <= 1, (name, x, v, value, t)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_vector_entries_take_masked_logits(dtype: type) -> None:
    """A logit of -inf (an attention mask; +inf for softmin) has weight 0: the others are
    still within 1 ulp, with no floating-point warning; sparsemax equals sparsemax of the
    unmasked entries, 0 at the masked ones."""
    _skip_without_extended(dtype)
    x = np.array([[-np.inf, 1.0, 0.5, -np.inf], [0.3, -np.inf, -40.0, 2.0]], dtype=dtype)
    v = np.array([[3.0, -1.0, 2.0, 5.0], [1.0, 1.0, -2.0, 0.5]], dtype=dtype)
    for name in ("softmax", "log_softmax"):
        forward, jvp = vector_ulp_errors(name, x, v, -1)
        assert forward.max() <= FORWARD_ULP and jvp.max() <= DERIVATIVE_ULP, name
    forward, jvp = vector_ulp_errors("softmin", -x, v, -1)
    assert forward.max() <= FORWARD_ULP and jvp.max() <= DERIVATIVE_ULP
    act = actlab.get("sparsemax")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p, jv = act(x), act.jvp(x, v)
    for row, kept in enumerate(np.isfinite(x)):
        np.testing.assert_array_equal(p[row, kept], act(x[row, kept]))
        np.testing.assert_array_equal(jv[row, kept], act.jvp(x[row, kept], v[row, kept]))
        assert not p[row, ~kept].any() and not jv[row, ~kept].any()


@pytest.mark.parametrize("work", [np.float64, np.longdouble], ids=["float64", "longdouble"])
def test_vector_fast_paths_keep_exact_zeros(work: type) -> None:
    """The fast paths give J v = 0 with a zero error bound for v constant along the axis
    (w = v - v_r is exactly 0), so it is decided there and never recomputed."""
    from actlab.catalog import simplex

    x = np.random.default_rng(6).standard_normal((4, 9)).astype(work)
    v = np.full_like(x, 0.3)
    for fast in (
        simplex.softmax_jvp_fast,
        simplex.log_softmax_jvp_fast,
        simplex.softmax_jvp_medium,
        simplex.log_softmax_jvp_medium,
        simplex.sparsemax_jvp_fast,
    ):
        jv, bound, _ = fast(x, v)
        assert not jv.any() and not bound.any(), fast.__name__


@pytest.mark.parametrize("dtype", [np.float64, np.longdouble], ids=["float64", "longdouble"])
def test_library_functions_within_assumed_ulps(dtype: type) -> None:
    """The vector kernels' error bounds assume np.exp and np.log1p within FN_ULPS ulp of
    the working dtype, and double_word.exp within (2 |d| + 16) u^2 relative (below the
    dtype's normal range: within its smallest normal number): measured on a sample against
    mpmath."""
    if dtype is np.longdouble and not EXTENDED:
        pytest.skip("long double is float64 here")
    from actlab.catalog import double_word, simplex

    rng = np.random.default_rng(4)
    d = np.concatenate([-rng.exponential(8, 150), -rng.uniform(0, 1e-3, 30), [-700.0, -3000.0]])
    r = np.concatenate([rng.exponential(1, 100), rng.uniform(0, 1e-9, 30), [40.0, 1e5]])
    fi = np.finfo(dtype)
    exact = lambda a: mp.mpf(a.as_integer_ratio()[0]) / a.as_integer_ratio()[1]  # noqa: E731
    floor = exact(fi.smallest_normal)
    with mp.workdps(60):
        for fn, oracle, points in ((np.exp, mp.exp, d), (np.log1p, mp.log1p, r)):
            xs = points.astype(dtype)
            for a, b in zip(xs, fn(xs), strict=True):
                t = oracle(exact(a))
                ulp = mp.mpf(2) ** (mp.frexp(t)[1] - fi.nmant - 1)
                assert abs(exact(b) - t) <= simplex.FN_ULPS * ulp + floor, (fn.__name__, a)
        xs = d.astype(dtype)
        hi, lo = double_word.exp(xs, np.zeros_like(xs))
        u2 = (mp.mpf(2) ** -(fi.nmant + 1)) ** 2
        for a, h, low in zip(xs, hi, lo, strict=True):
            t = mp.exp(exact(a))
            assert abs(exact(h) + exact(low) - t) <= (2 * abs(exact(a)) + 16) * u2 * t + floor, a


@pytest.mark.parametrize("name", list(VECTOR_ORACLES))
def test_vector_axis_parameter(name: str) -> None:
    x = np.arange(12.0).reshape(3, 4) / 3
    rows = actlab.get(name)(x)
    cols = actlab.get(f"{name}(axis=0)")(x)
    np.testing.assert_allclose(cols, actlab.get(name)(x.T).T, rtol=1e-15)
    if name != "log_softmax":  # probabilities
        assert np.allclose(rows.sum(axis=1), 1) and np.allclose(cols.sum(axis=0), 1)
    # each is invariant to adding a constant along its axis: J 1 = 0
    constant_shift = actlab.get(f"{name}(axis=0)").jvp(x, np.ones_like(x))
    assert np.allclose(constant_shift, 0, atol=1e-15)


@pytest.mark.parametrize("name", list(VECTOR_ORACLES) + list(GATED_ORACLES))
def test_vector_entries_have_no_elementwise_derivative(name: str) -> None:
    with pytest.raises(TypeError, match="jvp"):
        actlab.get(name).derivative(np.zeros(4))


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


# --- docs/accuracy.md is the measurement ---------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs" / "accuracy.md"
_COLUMNS = [("forward", np.float32), ("forward", np.float64),
            ("derivative", np.float32), ("derivative", np.float64)]  # fmt: skip


def measured_rows() -> dict[str, list[float]]:
    """spec -> worst ulp error (forward f32, forward f64, derivative f32, derivative f64)
    of every elementwise and gated case (df/dgate as the gated derivative) and of every
    vector entry over _vector_cases (J v as its derivative)."""
    rows = {}
    for name, params in CASES:
        rows[build(name, params).spec] = [
            float(ulp_errors(name, params, kind, dtype)[1].max()) for kind, dtype in _COLUMNS
        ]
    for name, params in GATED_CASES:
        rows[build(name, params).spec] = [
            float(gated_ulp_errors(name, params, kind, dtype)[1].max()) for kind, dtype in _COLUMNS
        ]
    for name in VECTOR_ORACLES:
        worst = {}
        for dtype in DTYPES:
            errors = [vector_ulp_errors(name, x, v, axis) for x, v, axis in _vector_cases(dtype)]
            worst["forward", dtype] = max(float(f.max()) for f, _ in errors)
            worst["derivative", dtype] = max(float(j.max()) for _, j in errors)
        rows[name] = [worst[column] for column in _COLUMNS]
    return rows


def documented_rows() -> dict[str, list[float]]:
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[1][:1].isdigit():
            rows[cells[0]] = [float(c) for c in cells[1:]]
    return rows


def test_docs_table_is_the_measurement() -> None:
    """docs/accuracy.md has a row for every case, with the worst errors measured here
    (regenerate with ``python tests/test_catalog_accuracy.py``)."""
    documented = documented_rows()
    expected = {build(n, p).spec for n, p in CASES + GATED_CASES} | set(VECTOR_ORACLES)
    assert set(documented) == expected, set(documented) ^ expected
    if not EXTENDED:
        pytest.skip("the documented figures are those of 80-bit long double")
    for spec, values in measured_rows().items():
        assert documented[spec] == pytest.approx(values, abs=0.02), spec


def table() -> str:
    lines = [
        "| entry | forward f32 | forward f64 | derivative f32 | derivative f64 |",
        "|---|---|---|---|---|",
    ]
    for spec, values in measured_rows().items():
        lines.append(f"| {spec} | " + " | ".join(f"{v:.2f}" for v in values) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("| entry | forward f32")
    end = text.index("\n\n", start)
    DOCS.write_text(text[:start] + table() + text[end:], encoding="utf-8")
