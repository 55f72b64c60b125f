"""Memory-efficient autograd for catalog entries that torch has no matching fast op for.

Each Function saves only its input ``x`` (which the previous layer usually keeps alive
anyway) and its learnable parameters, and recomputes what backward needs from them, so a
layer costs one saved tensor instead of the several intermediates plain autograd keeps:

* :class:`ElementwiseFunction`: ``y = f(x)`` with fixed parameters;
* :class:`LearnableFunction`: ``y = f(x; p)`` with tensor parameters ``p`` that receive
  gradients ``sum(grad * df/dp)`` reduced to their own shape (a shared scalar, or one per
  channel or per stacked candidate);
* :class:`GatedFunction`: ``y = a * g(b)`` for the two halves ``(a, b)`` of ``x``.

float16 and bfloat16 are computed in float32 and rounded once, as torch's own CPU kernels
do; kernels marked ``precise`` also compute float32 in float64, where the float32 formula
would cancel (star_relu and xielu next to their zeros, snake's exact product a x,
tanh_shrink near 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch.autograd.function import once_differentiable

TensorKernel = Callable[..., torch.Tensor]
_LOW_PRECISION = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class Kernels:
    """A forward ``f(x, **params)`` and its analytic derivative ``f'(x, **params)``.

    ``vjp(x, grad, **params)``, when given, computes ``grad * f'(x)`` in fewer passes than
    ``derivative`` followed by a product (e.g. one masked-gradient kernel). ``params`` maps
    each learnable parameter to ``df/dp(x, **params)``, elementwise."""

    forward: TensorKernel
    derivative: TensorKernel
    vjp: TensorKernel | None = None
    params: Mapping[str, TensorKernel] = field(default_factory=dict)
    precise: bool = False


def _compute_dtype(kernels: Kernels, dtype: torch.dtype) -> torch.dtype:
    if kernels.precise and dtype in (torch.float32, *_LOW_PRECISION):
        return torch.float64
    return torch.float32 if dtype in _LOW_PRECISION else dtype


def _opmath(
    kernel: TensorKernel, kernels: Kernels, x: torch.Tensor, params: Mapping[str, Any]
) -> torch.Tensor:
    work = _compute_dtype(kernels, x.dtype)
    if work == x.dtype:
        return kernel(x, **params)
    cast = {k: v.to(work) if isinstance(v, torch.Tensor) else v for k, v in params.items()}
    return kernel(x.to(work), **cast).to(x.dtype)


class ElementwiseFunction(torch.autograd.Function):
    """y = f(x); dL/dx = dL/dy * f'(x), with ``f'`` recomputed from the saved input."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernels: Kernels, params: Mapping[str, Any]):
        ctx.save_for_backward(x)
        ctx.kernels = kernels
        ctx.params = params
        return _opmath(kernels.forward, kernels, x, params)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        kernels: Kernels = ctx.kernels
        if kernels.vjp is not None:
            return kernels.vjp(x, grad, **ctx.params), None, None
        slope = _opmath(kernels.derivative, kernels, x, ctx.params)
        return slope.mul_(grad), None, None


def elementwise(
    kernels: Kernels, params: Mapping[str, Any]
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> f(x)`` through :class:`ElementwiseFunction` with the parameters bound."""
    frozen = dict(params)

    def apply(x: torch.Tensor) -> torch.Tensor:
        return ElementwiseFunction.apply(x, kernels, frozen)

    return apply


class LearnableFunction(torch.autograd.Function):
    """y = f(x; p) with tensor parameters p: dL/dx = dL/dy f'(x), and for each p
    dL/dp = sum of dL/dy df/dp over the elements p is broadcast to."""

    @staticmethod
    def forward(
        ctx: Any,
        x: torch.Tensor,
        kernels: Kernels,
        fixed: Mapping[str, Any],
        names: tuple[str, ...],
        *values: torch.Tensor,
    ):
        ctx.save_for_backward(x, *values)
        ctx.kernels, ctx.fixed, ctx.names = kernels, fixed, names
        return _opmath(
            kernels.forward, kernels, x, {**fixed, **dict(zip(names, values, strict=True))}
        )

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor):
        x, *values = ctx.saved_tensors
        kernels: Kernels = ctx.kernels
        params = {**ctx.fixed, **dict(zip(ctx.names, values, strict=True))}
        grad_x = _opmath(kernels.derivative, kernels, x, params).mul_(grad)
        grads = []
        for name, value in zip(ctx.names, values, strict=True):
            if not ctx.needs_input_grad[4 + len(grads)]:
                grads.append(None)
                continue
            partial = _opmath(kernels.params[name], kernels, x, params).mul_(grad)
            grads.append(partial.sum_to_size(value.shape).to(value.dtype))
        return grad_x, None, None, None, *grads


def learnable(kernels: Kernels, fixed: Mapping[str, Any]) -> Callable[..., torch.Tensor]:
    """``(x, **tensor_params) -> f(x)`` through :class:`LearnableFunction`."""
    frozen = dict(fixed)

    def apply(x: torch.Tensor, **values: torch.Tensor) -> torch.Tensor:
        names = tuple(values)
        return LearnableFunction.apply(x, kernels, frozen, names, *values.values())

    return apply


class GatedFunction(torch.autograd.Function):
    """y = a * g(b) with (a, b) = x.chunk(2, dim); backward from the saved x alone:
    dL/da = dL/dy g(b), dL/db = dL/dy a g'(b)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, gate: Kernels, params: Mapping[str, Any], dim: int):
        ctx.save_for_backward(x)
        ctx.gate, ctx.params, ctx.dim = gate, params, dim
        a, b = x.chunk(2, dim)
        return _opmath(gate.forward, gate, b, params).mul_(a)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        gate: Kernels = ctx.gate
        a, b = x.chunk(2, ctx.dim)
        grad_a = _opmath(gate.forward, gate, b, ctx.params).mul_(grad)
        grad_b = _opmath(gate.derivative, gate, b, ctx.params).mul_(a).mul_(grad)
        return torch.cat([grad_a, grad_b], ctx.dim), None, None, None


def gated(
    gate: Kernels, params: Mapping[str, Any], dim: int
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> a * g(b)`` through :class:`GatedFunction`; an odd length along ``dim`` is an
    error naming the shape."""
    frozen = dict(params)

    def apply(x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 0 or x.shape[dim] % 2:
            raise ValueError(
                f"a gated activation splits dim {dim} into value and gate halves: it needs "
                f"an even length, got shape {tuple(x.shape)}"
            )
        return GatedFunction.apply(x, gate, frozen, dim)

    return apply


class SparsemaxFunction(torch.autograd.Function):
    """Sparsemax along ``dim`` (Martins & Astudillo 2016: tau from the k-th cumulative sum
    of the sorted inputs, p = max(x - tau, 0)); backward from the saved output p:
    J v = m (v - sum(m v) / sum(m)), m = [p > 0]."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, dim: int):
        # float64 for float32 and narrower: p = x - tau cancels for outputs near 0
        work = torch.float64 if x.dtype in (torch.float32, *_LOW_PRECISION) else x.dtype
        z = x.to(work)
        ordered = torch.sort(z, dim=dim, descending=True).values
        cumulative = ordered.cumsum(dim)
        shape = [1] * z.dim()
        shape[dim] = -1
        rank = torch.arange(1, z.shape[dim] + 1, dtype=work, device=x.device).view(shape)
        k = (ordered * rank + 1 > cumulative).sum(dim, keepdim=True)
        tau = (cumulative.gather(dim, k - 1) - 1) / k.to(work)
        p = (z - tau).clamp_(min=0).to(x.dtype)
        ctx.save_for_backward(p)
        ctx.dim = dim
        return p

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor):
        (p,) = ctx.saved_tensors
        m = (p > 0).to(grad.dtype)
        mean = (m * grad).sum(ctx.dim, keepdim=True) / m.sum(ctx.dim, keepdim=True)
        return m * (grad - mean), None


def sparsemax(dim: int) -> Callable[[torch.Tensor], torch.Tensor]:
    def apply(x: torch.Tensor) -> torch.Tensor:
        return SparsemaxFunction.apply(x, dim)

    return apply
