"""actlab.torch: every catalog entry against the NumPy reference, autograd, memory use."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import actlab
import actlab.torch as at
from actlab.backends.torch import implementation, native
from actlab.backends.torch.autograd import ElementwiseFunction

EXTRA_SPECS = [
    "leaky_relu(alpha=0.2)",
    "prelu(alpha=0.1)",
    "silu(beta=1.5)",
    "softplus(beta=2)",
    "elu(alpha=0.5)",
    "celu(alpha=2)",
    "softmax(axis=0)",
]
SPECS = actlab.names() + [s for s in EXTRA_SPECS if s.split("(")[0] in actlab.names()]

# |torch - reference| <= RTOL * |reference| + ATOL. The absolute part covers torch's native
# ops losing relative accuracy where the value is far below 1 (GELU's negative tail, a
# float32 sigmoid flushed to 0 where the true value is subnormal); see docs/frameworks.md.
TOLERANCE = {
    torch.float64: (1e-14, 1e-14),
    torch.float32: (1e-6, 1e-6),
    torch.float16: (2e-3, 1e-3),
    torch.bfloat16: (1.6e-2, 1e-2),
}
NUMPY = {torch.float64: np.float64, torch.float32: np.float32, torch.float16: np.float16}


def _grid(act: actlab.Activation, dtype: torch.dtype, *, away_from_kinks: bool) -> torch.Tensor:
    x = np.concatenate([np.linspace(-8, 8, 161), [-30, -20, 20, 30]])
    if dtype == torch.float16:
        x = x[np.abs(x) <= 20]
    if away_from_kinks:
        for k in act.kinks:
            x = x[np.abs(x - k) > 1e-3]
    return torch.tensor(x, dtype=torch.float64).to(dtype)


def _reference(act: actlab.Activation, x: torch.Tensor, method: str = "__call__") -> np.ndarray:
    """The catalog's value at x (bfloat16 has no NumPy dtype: evaluate its exact values in
    float64 and round the result to bfloat16 through torch)."""
    if x.dtype == torch.bfloat16:
        out = getattr(act, method)(x.double().numpy())
        return torch.from_numpy(np.asarray(out)).to(torch.bfloat16).double().numpy()
    out = getattr(act, method)(x.numpy().astype(NUMPY[x.dtype]))
    return np.asarray(out, dtype=np.float64)


def _assert_close(actual: torch.Tensor, expected: np.ndarray, dtype: torch.dtype) -> None:
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(actual.double().numpy(), expected, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", list(TOLERANCE), ids=str)
@pytest.mark.parametrize("spec", SPECS)
def test_forward_matches_reference(spec: str, dtype: torch.dtype) -> None:
    act = actlab.get(spec)
    x = _grid(act, dtype, away_from_kinks=False)
    y = at.functional(spec)(x)
    assert y.dtype == dtype and y.shape == x.shape
    _assert_close(y, _reference(act, x), dtype)
    module = at.get(spec).to(dtype)
    # A learnable slope is a float32 parameter (as in torch.nn.PReLU): rounded before .to().
    learned = any(True for _ in module.parameters())
    tolerance = torch.float32 if learned and dtype == torch.float64 else dtype
    _assert_close(module(x).detach(), _reference(act, x), tolerance)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("spec", SPECS)
def test_gradient_matches_reference(spec: str, dtype: torch.dtype) -> None:
    act = actlab.get(spec)
    x = _grid(act, dtype, away_from_kinks=True).requires_grad_(True)
    y = at.functional(spec)(x)
    if act.is_vector:
        v = torch.linspace(-1, 1, x.numel(), dtype=dtype)
        (grad,) = torch.autograd.grad(y, x, v)  # softmax's Jacobian is symmetric: vjp = jvp
        expected = np.asarray(act.jvp(x.detach().numpy(), v.numpy()), dtype=np.float64)
    else:
        (grad,) = torch.autograd.grad(y.sum(), x)
        expected = _reference(act, x.detach(), "derivative")
    _assert_close(grad, expected, dtype)


@pytest.mark.parametrize("spec", SPECS)
def test_gradcheck_float64(spec: str) -> None:
    act = actlab.get(spec)
    x = torch.linspace(-4.3, 4.1, 23, dtype=torch.float64)
    x = x[torch.stack([(x - k).abs() > 1e-2 for k in act.kinks] or [x == x]).all(0)]
    assert torch.autograd.gradcheck(at.functional(spec), (x.requires_grad_(True),))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("spec", [s for s in SPECS if implementation(s) == "native"])
def test_native_entries_run_torchs_own_kernel(spec: str, dtype: torch.dtype) -> None:
    """Where actlab uses torch's op it calls the very same kernel, so it cannot be slower:
    identical output bits and the same backward node. (The others are timed in
    BENCHMARKS.md.)"""
    x = torch.linspace(-5, 5, 11, dtype=dtype, requires_grad=True)
    ours, theirs = at.functional(spec)(x), native(spec)(x)
    assert torch.equal(ours, theirs)
    assert type(ours.grad_fn) is type(theirs.grad_fn)


DOCUMENTED_TAIL_LOSS = {"gelu", "gelu_tanh"}
"""Native ops kept for speed that compute 1 + erf / 1 + tanh with cancellation for x < -3:
absolute error below 1e-6 there instead of a few ULP (see docs/frameworks.md)."""


UNDERFLOW_ZONE = 2.0**-100
"""Below this the result's intermediates (sigmoid(-90) inside silu(-90)) are subnormal in
float32 and lose bits; torch's float32 sigmoid even flushes them to 0."""


@pytest.mark.parametrize("spec", actlab.names())
def test_float32_accuracy_in_ulp(spec: str) -> None:
    """Within 2 ULP of the correctly rounded float32 value, except in the underflow zone,
    where the absolute error stays below 2^-100."""
    act = actlab.get(spec)
    x = np.concatenate([np.linspace(-20, 20, 4001), [-100, -90, -50, 50, 90, 100, 1000]])
    x = x.astype(np.float32).reshape(-1, 3) if act.is_vector else x.astype(np.float32)
    expected = act(x)
    with torch.no_grad():
        actual = at.functional(spec)(torch.from_numpy(x)).numpy()
    regular = np.abs(expected) >= UNDERFLOW_ZONE
    error = np.abs(actual.astype(np.float64) - expected)
    ulps = error / np.spacing(np.abs(expected)).astype(np.float64)
    if spec in DOCUMENTED_TAIL_LOSS:
        assert np.all((ulps[regular] <= 2) | (error[regular] < 1e-6))
    else:
        assert ulps[regular].max() <= 2
    assert np.all(error[~regular] < UNDERFLOW_ZONE)


def _saved(fn, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
    packed: list[torch.Tensor] = []

    def pack(t: torch.Tensor) -> torch.Tensor:
        packed.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        y = fn(x)
    return y, packed


def _uses_function(spec: str) -> bool:
    x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    return isinstance(at.functional(spec)(x).grad_fn, ElementwiseFunction._backward_cls)


CUSTOM = [s for s in SPECS if _uses_function(s)]


@pytest.mark.parametrize("spec", CUSTOM)
def test_custom_functions_save_only_their_input(spec: str) -> None:
    x = torch.randn(64, dtype=torch.float64, requires_grad=True)
    _, packed = _saved(at.functional(spec), x)
    assert len(packed) == 1 and packed[0] is x


def test_some_entries_use_the_memory_efficient_function() -> None:
    assert "softsign" in CUSTOM and "hard_sigmoid" in CUSTOM  # float64 only, see functional
    x = torch.randn(8, requires_grad=True)
    y = at.functional("softsign")(x)
    assert isinstance(y.grad_fn, ElementwiseFunction._backward_cls)
    assert y.grad_fn.saved_tensors[0] is x or torch.equal(y.grad_fn.saved_tensors[0], x)
    assert implementation("softsign") == "actlab" and implementation("relu") == "native"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_custom_function_backward_in_low_precision(dtype: torch.dtype) -> None:
    x = torch.linspace(-5, 5, 41, dtype=dtype, requires_grad=True)
    at.functional("softsign")(x).sum().backward()
    expected = actlab.get("softsign").derivative(x.detach().double().numpy())
    _assert_close(x.grad, torch.from_numpy(expected).to(dtype).double().numpy(), dtype)


def test_softplus_float64_tail_is_exact() -> None:
    """torch's threshold=20 returns x where x + log1p(exp(-x)) still differs in float64."""
    if "softplus" not in actlab.names():
        pytest.skip("softplus not in the catalog yet")
    x = torch.tensor([21.0, 25.0, 30.0, 36.0, 45.0], dtype=torch.float64)
    expected = actlab.get("softplus")(x.numpy())
    np.testing.assert_array_max_ulp(at.functional("softplus")(x).numpy(), expected, maxulp=1)
    assert (native("softplus")(x).numpy() != expected).any()


def test_prelu_module_learns_its_slope() -> None:
    module = at.get("prelu")
    (weight,) = module.parameters()
    assert weight.shape == (1,) and weight.item() == pytest.approx(0.25)
    assert at.get("prelu(alpha=0.1)").weight.item() == pytest.approx(0.1)
    x = torch.tensor([-2.0, -1.0, 3.0])
    module(x).sum().backward()
    assert weight.grad.item() == pytest.approx(-3.0)  # df/da = min(x, 0)
    assert "prelu" in repr(module) and "0.25" in repr(module)


def test_modules_show_their_spec_and_have_no_parameters() -> None:
    module = at.get("leaky_relu(alpha=0.2)")
    assert repr(module) == "ActivationModule(leaky_relu(alpha=0.2))"
    assert list(module.parameters()) == []
    assert module.spec == "leaky_relu(alpha=0.2)"


@pytest.mark.parametrize("bad", ["nope", "relu(alpha=1)", "leaky_relu(alpha=2)", "relu("])
def test_bad_spec_raises_the_catalog_error(bad: str) -> None:
    for make in (at.get, at.functional):
        with pytest.raises(actlab.SpecError):
            make(bad)
