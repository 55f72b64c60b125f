"""Memory-efficient autograd for catalog entries that torch has no matching fast op for.

:class:`ElementwiseFunction` saves only its input ``x`` for backward and recomputes
``f'(x)`` there, so a layer costs one saved tensor (the input, which the previous layer
usually keeps alive anyway) instead of the several intermediates plain autograd would keep.
float16 and bfloat16 inputs are computed in float32 and rounded once, as torch's own CPU
kernels do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch.autograd.function import once_differentiable

TensorKernel = Callable[..., torch.Tensor]
_LOW_PRECISION = (torch.float16, torch.bfloat16)


@dataclass(frozen=True)
class Kernels:
    """A forward ``f(x, **params)`` and its analytic derivative ``f'(x, **params)``.

    ``vjp(x, grad, **params)``, when given, computes ``grad * f'(x)`` in fewer passes than
    ``derivative`` followed by a product (e.g. one masked-gradient kernel)."""

    forward: TensorKernel
    derivative: TensorKernel
    vjp: TensorKernel | None = None


def _opmath(kernel: TensorKernel, x: torch.Tensor, params: Mapping[str, Any]) -> torch.Tensor:
    if x.dtype in _LOW_PRECISION:
        return kernel(x.float(), **params).to(x.dtype)
    return kernel(x, **params)


class ElementwiseFunction(torch.autograd.Function):
    """y = f(x); dL/dx = dL/dy * f'(x), with ``f'`` recomputed from the saved input."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, kernels: Kernels, params: Mapping[str, Any]):
        ctx.save_for_backward(x)
        ctx.kernels = kernels
        ctx.params = params
        return _opmath(kernels.forward, x, params)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        kernels: Kernels = ctx.kernels
        if kernels.vjp is not None:
            return kernels.vjp(x, grad, **ctx.params), None, None
        slope = _opmath(kernels.derivative, x, ctx.params)
        return slope.mul_(grad), None, None


def elementwise(
    kernels: Kernels, params: Mapping[str, Any]
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``x -> f(x)`` through :class:`ElementwiseFunction` with the parameters bound."""
    frozen = dict(params)

    def apply(x: torch.Tensor) -> torch.Tensor:
        return ElementwiseFunction.apply(x, kernels, frozen)

    return apply
