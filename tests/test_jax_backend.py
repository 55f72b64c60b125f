"""actlab.jax against the catalog (the oracle: correctly rounded in float32 and float64):
every entry has a JAX binding; values and jax.grad under jit and vmap agree with the
catalog's function and analytic derivative, including at the kinks; functional() gives
Flax/Equinox-style (apply, params); jax.nn.gelu's tanh default is measured."""

from __future__ import annotations

import os

import numpy as np
import pytest

import actlab
from actlab.backends.differences import GRID
from actlab.catalog import build

try:
    import jax
except ImportError:
    if os.environ.get("CI"):  # CI installs every extra: a missing JAX is a failure there
        raise
    pytest.skip(
        "JAX is not installed: pip install actlab[jax] (set CI=1 to make this a failure)",
        allow_module_level=True,
    )
import actlab.jax as aj
from actlab.backends.jax import BINDINGS, autodiff_formula

jnp = jax.numpy

ELEMENTWISE = [n for n in actlab.names() if not actlab.get(n).is_vector]
EXTRA = ("leaky_relu(alpha=0.2)", "softplus(beta=2)", "silu(beta=1.702)", "elu(alpha=0.5)")
SPECS = ELEMENTWISE + [s for s in EXTRA if s.split("(")[0] in ELEMENTWISE]

MAX_ULP = {np.float32: 256, np.float64: 128}
"""Largest ULP distance from the catalog allowed, for values and derivatives (the catalog
works in twice the precision; the largest losses are where a closed-form f' cancels just
outside the catalog's Taylor radius around its zero, as for silu and mish)."""

FLUSH_MARGIN = 2.0**26
"""XLA on CPU flushes subnormal numbers to zero, results and intermediates alike (gelu's
x * Phi(x) is 0 where Phi(x) is subnormal though the product is not): ULPs are counted
where the catalog's value exceeds the smallest normal number by this factor."""

CONDITIONED = {"gelu_tanh": 1000}
"""float64 exceptions: gelu_tanh's sigmoid(2u) has relative condition |2u| (up to ~600 on
the grid), so rounding u itself costs that many ulp without extended precision."""


def _ordered(values: np.ndarray) -> np.ndarray:
    kind = np.int32 if values.dtype == np.float32 else np.int64
    bits = values.view(kind).astype(np.int64)
    return np.where(bits < 0, -(bits & np.iinfo(kind).max), bits)


def max_ulp(result: np.ndarray, reference: np.ndarray) -> int:
    """Max ULP distance where the reference is not near the subnormals (FLUSH_MARGIN);
    below, a result beyond twice the margin counts as 2^31 ulp, as does a NaN on one side."""
    result = np.asarray(result)
    assert result.dtype == reference.dtype
    if (np.isnan(result) ^ np.isnan(reference)).any():
        return 2**31
    small = FLUSH_MARGIN * np.finfo(reference.dtype).tiny
    normal = np.abs(reference) >= small
    if np.any(np.abs(result[~normal]) >= 2 * small):
        return 2**31
    return int(np.max(np.abs(_ordered(result) - _ordered(reference))[normal], initial=0))


@pytest.fixture(scope="module", params=[np.float32, np.float64], ids=["float32", "float64"])
def measured(request) -> dict:
    """Per spec: (value ULP, derivative ULP, autodiff-of-the-formula derivative ULP)."""
    dtype = request.param
    grid = GRID.astype(dtype)
    out = {}
    with jax.enable_x64(dtype == np.float64):
        # One compiled function for every entry's values and derivatives (one jit each
        # would spend seconds compiling); the autodiff comparison runs op by op.
        functions = {spec: aj.get(spec) for spec in SPECS}
        both = jax.jit(
            lambda g: {s: (f(g), jax.vmap(jax.grad(f))(g)) for s, f in functions.items()}
        )(grid)
        for spec in SPECS:
            act = actlab.get(spec)
            values, derivative = (np.asarray(v) for v in both[spec])
            autodiff = np.asarray(jax.vmap(jax.grad(autodiff_formula(spec)))(grid))
            assert values.dtype == derivative.dtype == dtype, spec
            ref, dref = act(grid), act.derivative(grid)
            out[spec] = (max_ulp(values, ref), max_ulp(derivative, dref), max_ulp(autodiff, dref))
    return {"dtype": dtype, "ulp": out}


@pytest.mark.parametrize("name", actlab.names())
def test_every_catalog_entry_has_a_jax_binding(name: str) -> None:
    assert name in BINDINGS, f"{name}: add its JaxBinding to actlab/backends/jax.py"


def test_values_and_derivatives_match_the_catalog_under_jit_and_vmap(measured) -> None:
    dtype = measured["dtype"]
    for spec, (value, derivative, _) in measured["ulp"].items():
        bound = CONDITIONED.get(spec, MAX_ULP[dtype]) if dtype == np.float64 else MAX_ULP[dtype]
        assert value <= bound and derivative <= bound, (spec, dtype, value, derivative)


def test_the_custom_derivative_is_only_where_autodiff_of_the_formula_loses_accuracy(
    measured,
) -> None:
    """An entry without a custom derivative is exact under autodiff (a lossy formula added
    without one fails here); each custom derivative fixes a measured loss in float32."""
    for spec, (_, derivative, autodiff) in measured["ulp"].items():
        name = actlab.get(spec).name
        if BINDINGS[name].derivative is None:
            assert autodiff == derivative, spec
        elif measured["dtype"] == np.float32 and spec == name:
            assert autodiff > max(4, derivative), (spec, autodiff, derivative)


def test_kinks_follow_the_catalogs_convention() -> None:
    """At the points where a piecewise derivative jumps, jax.grad gives the catalog's value
    (jnp.clip and jnp.minimum would give the mean of both sides)."""
    kinks = np.array([-3.0, 0.0, 3.0, 6.0], dtype=np.float32)
    for spec in ("relu", "leaky_relu", "relu6", "hard_sigmoid", "hard_swish", "elu", "celu",
                 "selu", "prelu", "softplus", "log_sigmoid"):  # fmt: skip
        grads = np.asarray(jax.vmap(jax.grad(aj.get(spec)))(kinks))
        expected = actlab.get(spec).derivative(kinks)
        np.testing.assert_allclose(grads, expected, rtol=1.2e-7, atol=0, err_msg=spec)


VECTOR = [n for n in actlab.names() if actlab.get(n).is_vector]


def test_vector_and_gated_entries_are_jitted_vmapped_and_their_jvp_is_the_catalogs() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(scale=5, size=(4, 4, 6)).astype(np.float32)
    v = rng.normal(size=x.shape).astype(np.float32)
    for name in VECTOR:
        for axis in (-1, 1):
            act = build(name, {"axis": axis})
            f = aj.get(act)
            np.testing.assert_allclose(jax.jit(f)(x), act(x), rtol=1e-5, atol=1e-6, err_msg=name)
            _, tangent = jax.jvp(f, (x,), (v,))
            np.testing.assert_allclose(
                tangent, act.jvp(x, v), rtol=1e-4, atol=1e-5, err_msg=f"{name} axis={axis}"
            )
        np.testing.assert_allclose(
            jax.jit(jax.vmap(aj.get(name)))(x), actlab.get(name)(x), rtol=1e-5, atol=1e-6
        )


def test_functional_gives_pure_apply_and_learnable_params() -> None:
    """prelu's slope is a parameter the caller owns (Flax ``self.param``, an Equinox field):
    d/dalpha sum(f(x)) = sum(min(x, 0)); entries without one get an empty dict."""
    apply, params = aj.functional("prelu(alpha=0.1)")
    assert set(params) == {"alpha"} and float(params["alpha"]) == pytest.approx(0.1)
    x = jnp.asarray([-2.0, -0.5, 0.0, 3.0])
    grads = jax.jit(jax.grad(lambda p: apply(p, x).sum()))(params)
    assert float(grads["alpha"]) == pytest.approx(-2.5)
    np.testing.assert_allclose(apply({"alpha": jnp.float32(0.3)}, x), [-0.6, -0.15, 0, 3])
    apply, params = aj.functional("gelu")
    assert params == {}
    np.testing.assert_array_equal(apply(params, x), aj.get("gelu")(x))


def test_jax_nn_gelu_defaults_to_the_tanh_form() -> None:
    """The porting bug the catalog prevents: jax.nn.gelu(x) is gelu_tanh, not gelu."""
    x = jnp.linspace(-4.0, 4.0, 801)
    default = np.asarray(jax.nn.gelu(x))
    np.testing.assert_allclose(default, aj.get("gelu_tanh")(x), rtol=0, atol=1e-6)
    assert np.max(np.abs(default - np.asarray(aj.get("gelu")(x)))) > 1e-4
    name, exact = aj.native("gelu")
    assert "approximate=False" in name
    np.testing.assert_allclose(exact(x), aj.get("gelu")(x), rtol=1e-5, atol=1e-6)


def test_bad_specs_get_the_catalogs_one_line_errors() -> None:
    for spec in ("lekyrelu", "leaky_relu(alpha=5)", "gelu(", "prelu(alpha=nan)"):
        with pytest.raises(actlab.SpecError) as jax_error:
            aj.get(spec)
        with pytest.raises(actlab.SpecError) as catalog_error:
            actlab.get(spec)
        assert str(jax_error.value) == str(catalog_error.value)
        assert "\n" not in str(jax_error.value)
