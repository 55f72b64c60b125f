"""actlab.torch: every catalog entry against the NumPy reference, autograd, memory use,
learnable parameters and training-mode behaviour."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import actlab
import actlab.torch as at
from actlab.backends.torch import BINDINGS, implementation, native
from actlab.backends.torch.autograd import (
    ElementwiseFunction,
    GatedFunction,
    LearnableFunction,
    SparsemaxFunction,
)
from oracle import ORACLES

EXTRA_SPECS = [
    "leaky_relu(alpha=0.2)",
    "prelu(alpha=0.1)",
    "silu(beta=1.5)",
    "softplus(beta=2)",
    "elu(alpha=0.5)",
    "celu(alpha=2)",
    "softmax(axis=0)",
    "hard_tanh(min_val=-2, max_val=0.5)",
    "threshold(threshold=0.5, value=-1)",
    "squareplus(b=0.5)",
    "star_relu(scale=1.7, bias=-0.3)",
    "xielu(alpha_p=0.3, alpha_n=1.2, beta=0.25)",
    "snake(frequency=2.5)",
    "log_softmax(axis=0)",
    "swiglu(beta=1.7)",
    "geglu(approximate=true)",
    "glu(axis=0)",
]
SPECS = actlab.names() + EXTRA_SPECS

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
GATE_VALUES = (1.0, -2.5, 0.75)


def _points(act: actlab.Activation, dtype: torch.dtype, *, away_from_kinks: bool) -> np.ndarray:
    x = np.concatenate([np.linspace(-8, 8, 161), [-30, -20, 20, 30]])
    if dtype == torch.float16:
        x = x[np.abs(x) <= 20]
    scale = max(1.0, abs(act.params.get("frequency", 1.0)))
    if away_from_kinks:
        for k in act.kinks:
            x = x[np.abs(x - k) > 1e-3]
    if act.name in ("exponential", "relu2", "star_relu", "xielu") and dtype == torch.float16:
        x = x[np.abs(x) <= 8]  # the result must fit in float16
    return x / scale if act.name == "snake" else x


def _grid(act: actlab.Activation, dtype: torch.dtype, *, away_from_kinks: bool) -> torch.Tensor:
    """Points for the entry: a vector for elementwise and vector entries, (value, gate)
    pairs along the axis for a gated one."""
    x = _points(act, dtype, away_from_kinks=away_from_kinks)
    if act.is_gated:
        pairs = np.stack([np.resize(GATE_VALUES, x.shape), x], axis=-1)
        x = pairs if act.params["axis"] == -1 else pairs.T
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
    expected = _reference(act, x)
    assert y.dtype == dtype and y.shape == expected.shape
    _assert_close(y, expected, dtype)
    module = at.get(spec).to(dtype).eval()
    # A learnable parameter is a float32 parameter (as in torch.nn.PReLU): rounded before .to().
    learned = any(True for _ in module.parameters())
    tolerance = torch.float32 if learned and dtype == torch.float64 else dtype
    _assert_close(module(x).detach(), expected, tolerance)


def _vjp_reference(act: actlab.Activation, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """u^T J from the catalog: the gated partials, or the Jacobian of a vector entry built
    column by column from its JVP."""
    if act.is_gated:
        axis = act.params["axis"]
        a, b = np.split(x, 2, axis=axis)
        da, db = act.gated_partials(a, b)
        return np.concatenate([da * u, db * u], axis=axis)
    flat = x.ravel()
    jacobian = np.stack(
        [np.ravel(act.jvp(x, np.eye(flat.size)[i].reshape(x.shape))) for i in range(flat.size)],
        axis=1,
    )
    return (u.ravel() @ jacobian).reshape(x.shape)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("spec", SPECS)
def test_gradient_matches_reference(spec: str, dtype: torch.dtype) -> None:
    act = actlab.get(spec)
    x = _grid(act, dtype, away_from_kinks=True).requires_grad_(True)
    y = at.functional(spec)(x)
    if act.is_vector:
        u = torch.linspace(-1, 1, y.numel(), dtype=dtype).reshape(y.shape)
        (grad,) = torch.autograd.grad(y, x, u)
        xs = x.detach().double().numpy()
        expected = _vjp_reference(act, xs, u.double().numpy())
    else:
        (grad,) = torch.autograd.grad(y.sum(), x)
        expected = _reference(act, x.detach(), "derivative")
    _assert_close(grad, expected, dtype)


@pytest.mark.parametrize("spec", SPECS)
def test_gradcheck_float64(spec: str) -> None:
    act = actlab.get(spec)
    x = torch.linspace(-4.3, 4.1, 23, dtype=torch.float64)
    x = x[torch.stack([(x - k).abs() > 1e-2 for k in act.kinks] or [x == x]).all(0)]
    if act.is_gated:
        x = x[: 2 * (x.numel() // 2)].reshape(-1, 2)
        x = x if act.params["axis"] == -1 else x.T.contiguous()
    assert torch.autograd.gradcheck(at.functional(spec), (x.requires_grad_(True),))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=str)
@pytest.mark.parametrize("spec", [s for s in SPECS if implementation(s) == "native"])
def test_native_entries_run_torchs_own_kernel(spec: str, dtype: torch.dtype) -> None:
    """Where actlab uses torch's op it calls the very same kernel, so it cannot be slower:
    identical output bits and the same backward node. (The others are timed in
    BENCHMARKS.md.)"""
    x = torch.linspace(-5, 5, 12, dtype=dtype, requires_grad=True)
    ours, theirs = at.functional(spec)(x), native(spec)(x)
    assert torch.equal(ours, theirs)
    assert type(ours.grad_fn) is type(theirs.grad_fn)


DOCUMENTED_TAIL_LOSS = {"gelu", "gelu_tanh", "geglu", "geglu(approximate=true)"}
"""Native ops kept for speed that compute 1 + erf / 1 + tanh with cancellation for x < -3:
absolute error below 1e-6 there instead of a few ULP (see docs/frameworks.md)."""


UNDERFLOW_ZONE = 2.0**-100
"""Below this the result's intermediates (sigmoid(-90) inside silu(-90)) are subnormal in
float32 and lose bits; torch's float32 sigmoid even flushes them to 0."""


@pytest.mark.parametrize("spec", SPECS)
def test_float32_accuracy_in_ulp(spec: str) -> None:
    """Within 2 ULP of the correctly rounded float32 value, except in the underflow zone,
    where the absolute error stays below 2^-100."""
    act = actlab.get(spec)
    x = np.concatenate([np.linspace(-20, 20, 4001), [-100, -90, -50, 50, 90, 100, 1000]])
    if act.name == "exponential":
        x = x[x < 88]  # beyond, the float32 result is inf on both sides
    if act.is_gated:
        x = np.stack([np.resize(GATE_VALUES, x.shape), x], axis=act.params["axis"])
    elif act.is_vector:
        x = x[: 3 * (x.size // 3)].reshape(-1, 3)
        x = x if act.params["axis"] == -1 else x.T
    x = x.astype(np.float32)
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


_FUNCTIONS = (ElementwiseFunction, GatedFunction, LearnableFunction)


def _uses_function(spec: str) -> bool:
    x = torch.ones(2, 4, dtype=torch.float64, requires_grad=True)
    node = at.functional(spec)(x).grad_fn
    return any(isinstance(node, f._backward_cls) for f in _FUNCTIONS)


CUSTOM = [s for s in SPECS if _uses_function(s)]


@pytest.mark.parametrize("spec", CUSTOM)
def test_custom_functions_save_only_their_input(spec: str) -> None:
    x = torch.randn(8, 64, dtype=torch.float64, requires_grad=True)
    _, packed = _saved(at.functional(spec), x)
    assert len(packed) == 1 and packed[0] is x


def test_sparsemax_saves_only_its_output() -> None:
    x = torch.randn(8, 64, dtype=torch.float64, requires_grad=True)
    y, packed = _saved(at.functional("sparsemax"), x)
    assert isinstance(y.grad_fn, SparsemaxFunction._backward_cls)
    assert len(packed) == 1 and torch.equal(packed[0], y)


def test_which_entries_use_the_memory_efficient_functions() -> None:
    for name in ("softsign", "hard_sigmoid", "relu2", "squareplus", "tanh_shrink", "snake"):
        assert name in CUSTOM
    for name in ("swiglu", "geglu", "reglu", "bilinear"):
        assert name in CUSTOM
    assert implementation("softsign") == "actlab" and implementation("relu") == "native"
    assert implementation("glu") == "native" and implementation("swiglu") == "actlab"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("spec", ["softsign", "star_relu", "swiglu"])
def test_custom_function_backward_in_low_precision(spec: str, dtype: torch.dtype) -> None:
    act = actlab.get(spec)
    x = _grid(act, torch.float64, away_from_kinks=True)
    x = x[(x.abs() <= 5).all(-1)] if act.is_gated else x[x.abs() <= 5]
    x = x.to(dtype).requires_grad_(True)
    y = at.functional(spec)(x)
    u = torch.ones_like(y)
    (grad,) = torch.autograd.grad(y, x, u)
    xs = x.detach().double().numpy()
    if act.is_gated:
        expected = _vjp_reference(act, xs, u.double().numpy())
    else:
        expected = act.derivative(xs)
    _assert_close(grad, torch.from_numpy(expected).to(dtype).double().numpy(), dtype)


def test_softplus_float64_tail_is_exact() -> None:
    """torch's threshold=20 returns x where x + log1p(exp(-x)) still differs in float64."""
    x = torch.tensor([21.0, 25.0, 30.0, 36.0, 45.0], dtype=torch.float64)
    expected = actlab.get("softplus")(x.numpy())
    np.testing.assert_array_max_ulp(at.functional("softplus")(x).numpy(), expected, maxulp=1)
    assert (native("softplus")(x).numpy() != expected).any()


def test_gated_functional_refuses_an_odd_axis() -> None:
    with pytest.raises(ValueError, match="even length"):
        at.functional("swiglu")(torch.ones(3, 5))


# --- learnable parameters -----------------------------------------------------------


def _mp_param_derivative(name: str, params: dict, param: str, x: float) -> float:
    """d f(x; p) / d param by mpmath's numerical differentiation of the oracle."""
    f = ORACLES[name][0]
    with mp.workdps(40):

        def in_param(v: mp.mpf) -> mp.mpf:
            return f(mp.mpf(x), **{**params, param: v})

        return float(mp.diff(in_param, mp.mpf(params[param])))


@pytest.mark.parametrize(
    "spec",
    ["prelu(alpha=0.1)", "star_relu", "xielu", "xielu(alpha_p=0.3, alpha_n=1.2, beta=0.25)",
     "snake(frequency=2.5)"],
)  # fmt: skip
def test_learnable_parameters_get_the_exact_gradient(spec: str) -> None:
    """d(sum f(x))/d(stored parameter) against mpmath's derivative in the parameter (with
    the softplus chain rule for xielu's stored alphas)."""
    act = actlab.get(spec)
    module = at.get(spec).double()
    xs = np.concatenate([np.linspace(-4, 4, 17), [-0.3, 0.7]])
    module(torch.tensor(xs)).sum().backward()
    params = {k: float(v) for k, v in module.current.params.items()}
    for p in act.definition.params:
        if not p.learnable:
            continue
        stored = dict(module.named_parameters())[module.parameter_name(p.name)]
        want = sum(_mp_param_derivative(act.name, params, p.name, float(x)) for x in xs)
        if p.learn_above is not None:  # value = bound + softplus(raw)
            want *= 1 / (1 + math.exp(-float(stored.detach())))
        assert float(stored.grad) == pytest.approx(want, rel=1e-9), p.name


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_stacked_prelu_slopes_equal_torch_prelu_row_by_row(dtype: torch.dtype) -> None:
    """The binding's prelu with one slope per row (the engine's stacked candidates, a
    comparison-free formula) against ``F.prelu`` on each row alone: the same outputs and
    gradients in x (bit for bit) and in the slope, zeros of both signs included."""
    learned = BINDINGS["prelu"].learned({})
    assert learned is not None
    row = [-3.5, -1e-30, -0.0, 0.0, 1e-30, 2.25, 1e30]
    x = torch.tensor([row, row[::-1]], dtype=dtype, requires_grad=True)
    alpha = torch.tensor([[0.1], [-0.7]], dtype=dtype, requires_grad=True)
    grad = torch.linspace(-1, 2, 14, dtype=dtype).view(2, 7)
    out = learned(x, alpha=alpha)
    gx, ga = torch.autograd.grad(out, (x, alpha), grad)
    for i in range(2):
        xi = x[i].detach().requires_grad_(True)
        ai = alpha[i].detach().requires_grad_(True)
        want = F.prelu(xi, ai)
        wx, wa = torch.autograd.grad(want, (xi, ai), grad[i])
        assert torch.equal(out[i], want) and torch.equal(gx[i], wx)
        torch.testing.assert_close(ga[i], wa)  # a sum: its order may differ


def test_learnable_modules_start_at_the_spec_and_learn() -> None:
    module = at.get("prelu")
    (weight,) = module.parameters()
    assert weight.shape == (1,) and weight.item() == pytest.approx(0.25)
    assert at.get("prelu(alpha=0.1)").alpha.item() == pytest.approx(0.1)
    xielu = at.get("xielu(alpha_p=0.3, alpha_n=1.2, beta=0.25)")
    assert xielu.learned() == pytest.approx({"alpha_p": 0.3, "alpha_n": 1.2})
    assert set(dict(xielu.named_parameters())) == {"alpha_p_raw", "alpha_n_raw"}
    snake = at.get("snake(frequency=2)")
    optimizer = torch.optim.SGD(snake.parameters(), lr=0.1)
    x = torch.linspace(-3, 3, 50)
    for _ in range(3):
        optimizer.zero_grad()
        ((snake(x) - torch.sin(3 * x)) ** 2).mean().backward()
        optimizer.step()
    assert snake.learned()["frequency"] != 2.0
    assert snake.current.name == "snake" and "learned frequency=" in repr(snake)


def test_modules_show_their_spec_and_have_no_parameters() -> None:
    module = at.get("leaky_relu(alpha=0.2)")
    assert repr(module) == "ActivationModule(leaky_relu(alpha=0.2))"
    assert list(module.parameters()) == []
    assert module.spec == "leaky_relu(alpha=0.2)"


def test_rrelu_module_draws_slopes_in_training_only() -> None:
    """Training: each negative element gets its own slope in [lower, upper], as torch's
    RReLU; eval: the mean slope, the catalog's function."""
    module = at.get("rrelu(lower=0.1, upper=0.3)")
    x = -torch.ones(10000)
    torch.manual_seed(0)
    slopes = -module.train()(x)
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.05
    assert slopes.mean().item() == pytest.approx(0.2, abs=0.005)
    assert torch.equal(module.eval()(x), torch.full_like(x, -0.2))


@pytest.mark.parametrize("bad", ["nope", "relu(alpha=1)", "leaky_relu(alpha=2)", "relu("])
def test_bad_spec_raises_the_catalog_error(bad: str) -> None:
    for make in (at.get, at.functional):
        with pytest.raises(actlab.SpecError):
            make(bad)


def test_every_entry_has_a_torch_binding() -> None:
    assert set(BINDINGS) == set(actlab.names())
    for name, b in BINDINGS.items():
        act = actlab.get(name)
        assert b.native is not None or b.actlab is not None, name
        assert (b.learned is not None) == bool(act.learnable), name
        assert (b.training is not None) == bool(act.info.training), name
        if b.native is None:
            assert b.naive is not None, f"{name}: no torch op, so a naive baseline to bench"
