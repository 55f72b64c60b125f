"""How every catalog entry runs in PyTorch: one :class:`TorchBinding` per entry, in one
table. ``functional``, ``native``, the modules, the differences table, the benchmarks and
the monitor's recognition of ``torch.nn`` modules all read it; a test fails when an entry
has no binding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from actlab.backends.torch import formulas
from actlab.backends.torch.autograd import Kernels, elementwise, gated, learnable, sparsemax
from actlab.catalog import Activation

TensorFn = Callable[[torch.Tensor], torch.Tensor]
Params = Mapping[str, Any]
Builder = Callable[[Params], TensorFn | None]
ModuleSpec = Callable[[nn.Module], str | None]


@dataclass(frozen=True)
class TorchBinding:
    """One catalog entry in PyTorch."""

    native: Builder | None = None
    """torch's own op at the catalog's parameters; None where torch has none (or not at
    these parameters)."""
    native_op: str = ""
    """How that op is spelled (the differences table's column)."""
    actlab: Builder | None = None
    """actlab's implementation where it is not the native op unchanged."""
    modules: Mapping[type[nn.Module], ModuleSpec] = field(default_factory=dict)
    """torch.nn classes computing this entry, and the spec of an instance (None where it
    cannot be told, e.g. Softmax(dim=None))."""
    kernels: Kernels | None = None
    """Forward and derivative formulas: the memory-efficient Function's, or a gate's."""
    learned: Callable[[Params], Callable[..., torch.Tensor]] | None = None
    """For learnable entries: fixed params -> ``(x, **tensor params) -> y``, the tensors
    broadcasting against ``x`` (shape ``(1,)`` in a module, ``[M, 1, ...]`` in the engine)."""
    training: Builder | None = None
    """The training-mode function, where it differs (rrelu's random slopes)."""
    naive: Builder | None = None
    """The composition of torch ops a user would write, where torch has no op: the
    baseline the memory-efficient Function is benchmarked against."""


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def _prelu_native(alpha: float) -> TensorFn:
    return lambda x: F.prelu(x, x.new_tensor([alpha]))


_PRELU_STACKED = learnable(formulas.PRELU, {})


def _prelu_learned(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``x`` where ``x > 0``, else ``alpha x``: torch's kernel for one shared slope (a
    module's), otherwise ``alpha`` broadcast against ``x`` (the engine's stacked slopes,
    ``[M, 1, ...]``) through the learnable Function, the same values and gradients
    (1.5-3.4x faster than ``torch.where`` there: BENCHMARKS.md, "Learnable activations")."""
    alpha = alpha.to(x.dtype)
    if alpha.numel() == 1:
        return F.prelu(x, alpha.reshape(1))
    return _PRELU_STACKED(x, alpha=alpha)


def _softplus_exact(beta: float) -> TensorFn:
    """torch's kernel with its linear-tail threshold set by dtype: 20 is exact for float32,
    float64 needs 40 (x + log1p(exp(-x)) differs from x up to x ~ 37)."""

    def softplus(x: torch.Tensor) -> torch.Tensor:
        threshold = 40.0 if x.dtype == torch.float64 else 20.0
        return F.softplus(x, beta=beta, threshold=threshold)

    return softplus


def _hard_sigmoid_exact() -> TensorFn:
    """torch's kernel, except in float64, whose backward multiplies by 1/6 rounded to
    float32: there a Function with an exact masked division."""
    exact = elementwise(formulas.HARD_SIGMOID, {})

    def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
        return exact(x) if x.dtype == torch.float64 else F.hardsigmoid(x)

    return hard_sigmoid


def _log_softmax(dim: int) -> TensorFn:
    """(x - m) - log1p(sum of exp(x_j - m) over all but one maximum), m = max(x): torch's
    log_softmax computes log(1 + tiny) = 0 for the largest input, where the true value is
    -tiny. Plain autograd ops (the gradient is the usual v - <softmax, v>)."""

    def apply(x: torch.Tensor) -> torch.Tensor:
        top = x.max(dim, keepdim=True)
        shifted = x - top.values
        others = torch.exp(shifted).scatter(dim, top.indices, 0.0).sum(dim, keepdim=True)
        return shifted - torch.log1p(others)

    return apply


def _halves(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    a, b = x.chunk(2, dim)
    return a, b


def _gated(gate: str, dim: Callable[[Params], int]) -> tuple[Builder, Builder]:
    """(actlab, naive) builders of a gated entry whose gate is the catalog entry built by
    ``gate`` from the entry's parameters."""
    from actlab.catalog import get

    def gate_of(p: Params) -> Activation:
        return get(gate.format(**p))

    def actlab(p: Params) -> TensorFn:
        g = gate_of(p)
        kernels = BINDINGS[g.name].kernels
        assert kernels is not None, g.name
        params = {k: v for k, v in g.params.items()}
        return gated(kernels, params, dim(p))

    def naive(p: Params) -> TensorFn:
        fn = functional_of(gate_of(p))

        def apply(x: torch.Tensor) -> torch.Tensor:
            a, b = _halves(x, dim(p))
            return a * fn(b)

        return apply

    return actlab, naive


def functional_of(act: Activation) -> TensorFn:
    b = BINDINGS[act.name]
    fn = (b.actlab or b.native or (lambda _p: None))(act.params)
    if fn is None:
        raise NotImplementedError(f"actlab's torch backend has no implementation of {act.spec!r}")
    return fn


def _axis(p: Params) -> int:
    return int(p["axis"])


def _dim_spec(name: str) -> ModuleSpec:
    def spec(m: nn.Module) -> str | None:
        dim = getattr(m, "dim", None)
        return None if dim is None else f"{name}(axis={int(dim)})"

    return spec


_SWIGLU_ACTLAB, _SWIGLU_NAIVE = _gated("silu(beta={beta!r})", _axis)
_REGLU_ACTLAB, _REGLU_NAIVE = _gated("relu", _axis)
_BILINEAR_ACTLAB, _BILINEAR_NAIVE = _gated("identity", _axis)
_GEGLU_EXACT = _gated("gelu", _axis)
_GEGLU_TANH = _gated("gelu_tanh", _axis)


def _geglu(which: int) -> Builder:
    def build(p: Params) -> TensorFn | None:
        pair = _GEGLU_TANH if p["approximate"] else _GEGLU_EXACT
        return pair[which](p)

    return build


BINDINGS: dict[str, TorchBinding] = {
    "sigmoid": TorchBinding(
        native=lambda _p: torch.sigmoid,
        native_op="torch.sigmoid",
        modules={nn.Sigmoid: lambda _m: "sigmoid"},
        kernels=formulas.SIGMOID,
    ),
    "tanh": TorchBinding(
        native=lambda _p: torch.tanh, native_op="torch.tanh", modules={nn.Tanh: lambda _m: "tanh"}
    ),
    "relu": TorchBinding(
        native=lambda _p: F.relu,
        native_op="torch.nn.functional.relu",
        modules={nn.ReLU: lambda _m: "relu"},
        kernels=formulas.RELU,
    ),
    "leaky_relu": TorchBinding(
        native=lambda p: partial(F.leaky_relu, negative_slope=p["alpha"]),
        native_op="torch.nn.functional.leaky_relu",
        modules={nn.LeakyReLU: lambda m: f"leaky_relu(alpha={m.negative_slope!r})"},
    ),
    "softplus": TorchBinding(
        native=lambda p: partial(F.softplus, beta=p["beta"]),
        native_op="torch.nn.functional.softplus (threshold=20)",
        actlab=lambda p: _softplus_exact(p["beta"]),
        modules={nn.Softplus: lambda m: f"softplus(beta={float(m.beta)!r})"},
    ),
    "elu": TorchBinding(
        native=lambda p: partial(F.elu, alpha=p["alpha"]),
        native_op="torch.nn.functional.elu",
        modules={nn.ELU: lambda m: f"elu(alpha={m.alpha!r})"},
    ),
    "selu": TorchBinding(
        native=lambda _p: F.selu,
        native_op="torch.nn.functional.selu",
        modules={nn.SELU: lambda _m: "selu"},
    ),
    "gelu": TorchBinding(
        native=lambda _p: F.gelu,
        native_op="torch.nn.functional.gelu",
        modules={nn.GELU: lambda m: "gelu" if m.approximate == "none" else "gelu_tanh"},
        kernels=formulas.GELU,
    ),
    "gelu_tanh": TorchBinding(
        native=lambda _p: partial(F.gelu, approximate="tanh"),
        native_op="torch.nn.functional.gelu(approximate='tanh')",
        kernels=formulas.GELU_TANH,
    ),
    "silu": TorchBinding(
        native=lambda p: F.silu if p["beta"] == 1 else None,
        native_op="torch.nn.functional.silu",
        actlab=lambda p: F.silu if p["beta"] == 1 else elementwise(formulas.SILU, p),
        modules={nn.SiLU: lambda _m: "silu"},
        kernels=formulas.SILU,
    ),
    "mish": TorchBinding(
        native=lambda _p: F.mish,
        native_op="torch.nn.functional.mish",
        modules={nn.Mish: lambda _m: "mish"},
    ),
    "celu": TorchBinding(
        native=lambda p: partial(F.celu, alpha=p["alpha"]),
        native_op="torch.nn.functional.celu",
        modules={nn.CELU: lambda m: f"celu(alpha={m.alpha!r})"},
    ),
    "log_sigmoid": TorchBinding(
        native=lambda _p: F.logsigmoid,
        native_op="torch.nn.functional.logsigmoid",
        modules={nn.LogSigmoid: lambda _m: "log_sigmoid"},
    ),
    "identity": TorchBinding(
        native=lambda _p: _identity,
        native_op="(none: the identity)",
        modules={nn.Identity: lambda _m: "identity"},
        kernels=formulas.IDENTITY,
    ),
    "relu6": TorchBinding(
        native=lambda _p: F.relu6,
        native_op="torch.nn.functional.relu6",
        modules={nn.ReLU6: lambda _m: "relu6"},
    ),
    "prelu": TorchBinding(
        native=lambda p: _prelu_native(p["alpha"]),
        native_op="torch.nn.functional.prelu",
        actlab=lambda p: partial(F.leaky_relu, negative_slope=p["alpha"]),
        modules={
            nn.PReLU: lambda m: (
                f"prelu(alpha={float(m.weight.detach()[0])!r})" if m.num_parameters == 1 else None
            )
        },
        learned=lambda _p: _prelu_learned,
    ),
    "hard_sigmoid": TorchBinding(
        native=lambda _p: F.hardsigmoid,
        native_op="torch.nn.functional.hardsigmoid",
        actlab=lambda _p: _hard_sigmoid_exact(),
        modules={nn.Hardsigmoid: lambda _m: "hard_sigmoid"},
    ),
    "hard_swish": TorchBinding(
        native=lambda _p: F.hardswish,
        native_op="torch.nn.functional.hardswish",
        modules={nn.Hardswish: lambda _m: "hard_swish"},
    ),
    "softsign": TorchBinding(
        native=lambda _p: F.softsign,
        native_op="torch.nn.functional.softsign",
        actlab=lambda p: elementwise(formulas.SOFTSIGN, p),
        modules={nn.Softsign: lambda _m: "softsign"},
    ),
    "hard_tanh": TorchBinding(
        native=lambda p: partial(F.hardtanh, min_val=p["min_val"], max_val=p["max_val"]),
        native_op="torch.nn.functional.hardtanh",
        modules={
            nn.Hardtanh: lambda m: (
                f"hard_tanh(min_val={float(m.min_val)!r}, max_val={float(m.max_val)!r})"
            )
        },
    ),
    "hard_shrink": TorchBinding(
        native=lambda p: partial(F.hardshrink, lambd=p["lambd"]),
        native_op="torch.nn.functional.hardshrink",
        modules={nn.Hardshrink: lambda m: f"hard_shrink(lambd={float(m.lambd)!r})"},
    ),
    "soft_shrink": TorchBinding(
        native=lambda p: partial(F.softshrink, lambd=p["lambd"]),
        native_op="torch.nn.functional.softshrink",
        modules={nn.Softshrink: lambda m: f"soft_shrink(lambd={float(m.lambd)!r})"},
    ),
    "threshold": TorchBinding(
        native=lambda p: partial(F.threshold, threshold=p["threshold"], value=p["value"]),
        native_op="torch.nn.functional.threshold",
        modules={
            nn.Threshold: lambda m: (
                f"threshold(threshold={float(m.threshold)!r}, value={float(m.value)!r})"
            )
        },
    ),
    "sparse_plus": TorchBinding(
        actlab=lambda p: elementwise(formulas.SPARSE_PLUS, p),
        naive=lambda _p: (
            lambda x: torch.where(
                x <= -1, torch.zeros_like(x), torch.where(x < 1, (x + 1) ** 2 / 4, x)
            )
        ),
    ),
    "sparse_sigmoid": TorchBinding(
        actlab=lambda p: elementwise(formulas.SPARSE_SIGMOID, p),
        naive=lambda _p: lambda x: torch.clamp(x + 1, 0, 2) / 2,
    ),
    "rrelu": TorchBinding(
        native=lambda p: partial(F.rrelu, lower=p["lower"], upper=p["upper"], training=False),
        native_op="torch.nn.functional.rrelu(training=False)",
        modules={nn.RReLU: lambda m: f"rrelu(lower={float(m.lower)!r}, upper={float(m.upper)!r})"},
        training=lambda p: partial(F.rrelu, lower=p["lower"], upper=p["upper"], training=True),
    ),
    "exponential": TorchBinding(native=lambda _p: torch.exp, native_op="torch.exp"),
    "tanh_shrink": TorchBinding(
        native=lambda _p: F.tanhshrink,
        native_op="torch.nn.functional.tanhshrink",
        actlab=lambda p: elementwise(formulas.TANH_SHRINK, p),
        modules={nn.Tanhshrink: lambda _m: "tanh_shrink"},
    ),
    "squareplus": TorchBinding(
        actlab=lambda p: elementwise(formulas.SQUAREPLUS, p),
        naive=lambda p: lambda x: (x + torch.sqrt(x * x + p["b"])) / 2,
    ),
    "relu2": TorchBinding(
        actlab=lambda p: elementwise(formulas.RELU2, p),
        naive=lambda _p: lambda x: F.relu(x) ** 2,
    ),
    "star_relu": TorchBinding(
        actlab=lambda p: elementwise(formulas.STAR_RELU, p),
        learned=lambda _p: learnable(formulas.STAR_RELU, {}),
        naive=lambda p: lambda x: p["scale"] * F.relu(x) ** 2 + p["bias"],
    ),
    "xielu": TorchBinding(
        actlab=lambda p: elementwise(formulas.XIELU, p),
        learned=lambda p: learnable(formulas.XIELU, {"beta": p["beta"]}),
        naive=lambda p: (
            lambda x: torch.where(
                x > 0,
                p["alpha_p"] * x * x + p["beta"] * x,
                p["alpha_n"] * (torch.expm1(torch.clamp(x, max=0)) - x) + p["beta"] * x,
            )
        ),
    ),
    "snake": TorchBinding(
        actlab=lambda p: elementwise(formulas.SNAKE, p),
        learned=lambda _p: learnable(formulas.SNAKE, {}),
        naive=lambda p: lambda x: x + torch.sin(p["frequency"] * x) ** 2 / p["frequency"],
    ),
    "softmax": TorchBinding(
        native=lambda p: partial(torch.softmax, dim=_axis(p)),
        native_op="torch.softmax",
        modules={nn.Softmax: _dim_spec("softmax"), nn.Softmax2d: lambda _m: "softmax(axis=-3)"},
    ),
    "log_softmax": TorchBinding(
        native=lambda p: partial(F.log_softmax, dim=_axis(p)),
        native_op="torch.nn.functional.log_softmax",
        actlab=lambda p: _log_softmax(_axis(p)),
        modules={nn.LogSoftmax: _dim_spec("log_softmax")},
    ),
    "softmin": TorchBinding(
        native=lambda p: partial(F.softmin, dim=_axis(p)),
        native_op="torch.nn.functional.softmin",
        modules={nn.Softmin: _dim_spec("softmin")},
    ),
    "sparsemax": TorchBinding(
        actlab=lambda p: sparsemax(_axis(p)),
        naive=lambda p: partial(_sparsemax_naive, dim=_axis(p)),
    ),
    "glu": TorchBinding(
        native=lambda p: partial(F.glu, dim=_axis(p)),
        native_op="torch.nn.functional.glu",
        modules={nn.GLU: _dim_spec("glu")},
    ),
    "swiglu": TorchBinding(actlab=_SWIGLU_ACTLAB, naive=_SWIGLU_NAIVE),
    "geglu": TorchBinding(actlab=_geglu(0), naive=_geglu(1)),
    "reglu": TorchBinding(actlab=_REGLU_ACTLAB, naive=_REGLU_NAIVE),
    "bilinear": TorchBinding(actlab=_BILINEAR_ACTLAB, naive=_BILINEAR_NAIVE),
}


def _sparsemax_naive(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Sparsemax as plain autograd ops (Martins & Astudillo's algorithm 1)."""
    ordered = torch.sort(x, dim=dim, descending=True).values
    cumulative = ordered.cumsum(dim)
    shape = [1] * x.dim()
    shape[dim] = -1
    rank = torch.arange(1, x.shape[dim] + 1, dtype=x.dtype, device=x.device).view(shape)
    k = (ordered * rank + 1 > cumulative).sum(dim, keepdim=True)
    tau = (cumulative.gather(dim, k - 1) - 1) / k
    return torch.clamp(x - tau, min=0)


def binding(act: Activation) -> TorchBinding:
    """The entry's binding (every catalog name has one; tests/test_bindings.py)."""
    return BINDINGS[act.name]


def module_spec(module: nn.Module) -> str | None:
    """The catalog spec computed by a ``torch.nn`` module (by its exact class), or None."""
    for b in BINDINGS.values():
        spec_of = b.modules.get(type(module))
        if spec_of is not None:
            return spec_of(module)
    return None
