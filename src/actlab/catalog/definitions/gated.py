"""The gated family: glu, swiglu, geglu, reglu, bilinear.

A gated entry takes ``2n`` units along ``axis`` and returns ``n``: the first half is the
value ``a``, the second half the gate ``b``, and ``f(a, b) = a * g(b)`` with ``g`` an
elementwise catalog entry. This is the split of ``torch.nn.GLU`` ("a is the first half of
the input matrices and b is the second half"), ``keras.ops.glu`` and ``jax.nn.glu``. A
feed-forward layer feeding a gated activation therefore projects to twice its width: in
the papers ``FFN(x) = (g(x W) * x V) W_2``, i.e. ``b = x W``, ``a = x V``.

The kernels below are built from the gate's own kernels, so forward and partial
derivatives are the gate's (correctly rounded) value times ``a``, rounded once.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping

import numpy as np

from actlab.catalog.base import Activation, Definition, FrameworkRef, Param, Properties
from actlab.catalog.registry import get, register
from actlab.catalog.spec import ParamValue

GateSpec = Callable[[Mapping[str, ParamValue]], str]


@functools.cache
def _gate(spec: str) -> Activation:
    return get(spec)


def _halves(x: np.ndarray, axis: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    n = x.shape[axis] if x.ndim else 0
    if x.ndim == 0 or n % 2:
        raise ValueError(
            f"{name} splits its input into value and gate halves along axis {axis}: that "
            f"axis needs an even length, got shape {x.shape}"
        )
    a, b = np.split(x, 2, axis=axis)
    return a, b


def _kernels(
    name: str, gate: GateSpec
) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
    def forward(x: np.ndarray, axis: int, **params: ParamValue) -> np.ndarray:
        g = _gate(gate(params))
        a, b = _halves(x, axis, name)
        return a * g.definition.forward(b, **g.params)

    def jvp(x: np.ndarray, v: np.ndarray, axis: int, **params: ParamValue) -> np.ndarray:
        """J v = g(b) v_a + a g'(b) v_b, for v split like x."""
        g = _gate(gate(params))
        assert g.definition.derivative is not None
        a, b = _halves(x, axis, name)
        va, vb = _halves(np.broadcast_to(v, x.shape), axis, name)
        return (
            g.definition.forward(b, **g.params) * va
            + a * g.definition.derivative(b, **g.params) * vb
        )

    return forward, jvp


_NOT_IN_JAX = FrameworkRef("", differences="Not in jax.nn.")
_AXIS = Param("axis", -1, "the axis split into value and gate halves (default: the last)",
              kind=int)  # fmt: skip
_PORTING = (
    "Convention: value first, gate second, as torch.nn.GLU, keras.ops.glu and jax.nn.glu "
    "split. Fused kernels differ: Megatron-LM's swiglu (megatron/core/fusions) computes "
    "silu(first half) * second half, so weights ported from it need their halves swapped; "
    "Hugging Face LLaMA-style models use two separate projections (gate_proj, up_proj), "
    "the gate and the value."
)


def _register_gated(
    name: str,
    title: str,
    gate: GateSpec,
    gate_text: str,
    params: tuple[Param, ...],
    *,
    derivative_text: str,
    smooth: bool,
    use_cases: tuple[str, ...],
    reference: str,
    torch: FrameworkRef,
    keras: FrameworkRef,
    jax: FrameworkRef = _NOT_IN_JAX,
    kinks: tuple[float, ...] = (),
    notes: tuple[str, ...] = (),
) -> None:
    forward, jvp = _kernels(name, gate)
    register(
        Definition(
            name=name,
            title=title,
            forward=forward,
            derivative=None,
            jvp=jvp,
            vector=True,
            gate=gate,
            params=(_AXIS, *params),
            formula=f"f(a, b) = a * {gate_text}(b), (a, b) the two halves of x along axis",
            latex=rf"f(a, b) = a \odot \operatorname{{{gate_text}}}(b)",
            derivative_formula=derivative_text,
            derivative_latex=rf"\partial f/\partial a = \operatorname{{{gate_text}}}(b),\ "
            rf"\partial f/\partial b = a\,\operatorname{{{gate_text}}}'(b)",
            properties=Properties(False, smooth, True, False, False),
            use_cases=use_cases,
            reference=reference,
            torch=torch,
            keras=keras,
            jax=jax,
            max_derivative=lambda _p: math.inf,
            kinks=lambda _p: kinks,
            notes=(*notes, _PORTING),
        )
    )


_SHAZEER = "Shazeer 2020, 'GLU Variants Improve Transformer' (arXiv:2002.05202)"
_NOT_IN_TORCH = FrameworkRef(
    "",
    differences="Not in torch.nn (PyTorch issue #128712 asks for SwiGLU); users write "
    "a, b = x.chunk(2, dim=-1); a * act(b).",
)
_NOT_IN_KERAS = FrameworkRef("", differences="Not in Keras.")

_register_gated(
    "glu",
    "Gated Linear Unit",
    lambda _p: "sigmoid",
    "sigmoid",
    (),
    derivative_text="df/da = sigmoid(b), df/db = a sigmoid(b) (1 - sigmoid(b))",
    smooth=True,
    use_cases=(
        "Gated convolutional language models and GLU feed-forward blocks: the sigmoid gate "
        "decides, per unit, how much of the value passes.",
    ),
    reference="Dauphin, Fan, Auli & Grangier 2017, 'Language Modeling with Gated "
    "Convolutional Networks' (arXiv:1612.08083).",
    torch=FrameworkRef("torch.nn.GLU", defaults="dim=-1", functional="torch.nn.functional.glu"),
    keras=FrameworkRef("keras.activations.glu", defaults="axis=-1", functional="keras.ops.glu"),
    jax=FrameworkRef("jax.nn.glu", defaults="axis=-1"),
)

_register_gated(
    "swiglu",
    "SwiGLU",
    lambda p: f"silu(beta={p['beta']!r})",
    "silu",
    (
        Param(
            "beta",
            1.0,
            "the gate's Swish slope: gate silu(beta)",
            low=0.0,
            low_open=True,
            reason="beta <= 0 makes the Swish gate linear or inverted",
        ),
    ),
    derivative_text="df/da = silu(b), df/db = a silu'(b)",
    smooth=True,
    use_cases=(
        "The feed-forward block of LLaMA, PaLM, Mistral, Qwen and DeepSeek: "
        "W_2 (silu(x W) * x V), with the hidden width cut to 2/3 to keep the parameter count "
        "(LLaMA: 2/3 * 4d, rounded up to a multiple of 256).",
    ),
    reference=f"{_SHAZEER}; Touvron et al. 2023, 'LLaMA' (arXiv:2302.13971).",
    torch=_NOT_IN_TORCH,
    keras=_NOT_IN_KERAS,
)

_register_gated(
    "geglu",
    "GeGLU",
    lambda p: "gelu_tanh" if p["approximate"] else "gelu",
    "gelu",
    (
        Param(
            "approximate",
            False,
            "gate with the tanh approximation of GELU (gelu_tanh), as Gemma does",
            kind=bool,
        ),
    ),
    derivative_text="df/da = gelu(b), df/db = a gelu'(b)",
    smooth=True,
    use_cases=(
        "Transformer feed-forward blocks: Gemma (with the tanh GELU, geglu(approximate=true)), "
        "T5 v1.1 and Stable Diffusion's attention blocks; best in Shazeer's Table 1 with "
        "SwiGLU.",
    ),
    reference=f"{_SHAZEER}; Gemma Team 2024, 'Gemma' (arXiv:2403.08295).",
    torch=_NOT_IN_TORCH,
    keras=_NOT_IN_KERAS,
)

_register_gated(
    "reglu",
    "ReGLU",
    lambda _p: "relu",
    "relu",
    (),
    derivative_text="df/da = relu(b), df/db = a * 1[b > 0]",
    smooth=False,
    use_cases=(
        "A ReLU-gated feed-forward block: in Shazeer's Table 1 it beats ReLU, GELU "
        "and GLU at equal parameters.",
    ),
    reference=_SHAZEER,
    torch=_NOT_IN_TORCH,
    keras=_NOT_IN_KERAS,
    kinks=(0.0,),
)

_register_gated(
    "bilinear",
    "Bilinear (ungated GLU)",
    lambda _p: "identity",
    "identity",
    (),
    derivative_text="df/da = b, df/db = a",
    smooth=True,
    use_cases=(
        "The product of two projections without a nonlinearity: a baseline that "
        "shows how much of a gated block's gain comes from the multiplication.",
    ),
    reference=f"{_SHAZEER}; Mnih & Hinton 2007, 'Three New Graphical Models for Statistical "
    "Language Modelling'.",
    torch=_NOT_IN_TORCH,
    keras=_NOT_IN_KERAS,
)
