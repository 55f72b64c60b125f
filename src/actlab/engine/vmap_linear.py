"""``nn.Linear`` in a user-model stack: a batched matmul whose backward keeps the layout
CPU kernels are fast on.

Under ``torch.func.vmap`` a linear layer with per-candidate weights ``W [M, out, in]``
becomes ``bmm(x, W^T)`` on ``x [M, N, in]``, and autograd differentiates it as any
``bmm``: ``dW^T = x^T @ g``, a product with the narrow output ``[M, in, out]``. With
``out`` small (a classifier head: ``in`` = 2048, ``out`` = 10) that product ran 3-6x
slower on this CPU than the same numbers computed as ``dW = g^T @ x`` (BENCHMARKS.md,
"User models"). :class:`StackedLinear` gives the layer a vmap rule whose backward is
written out::

    y  = x W^T + b          (per candidate)
    dx = g W
    dW = g^T x              (summed over every sample position)
    db = sum of g over every sample position

Outside vmap (a stack that runs its candidates one at a time) the layer is the plain
``F.linear`` with autograd's own derivative.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def _save_inputs(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
    """What a linear layer's backward needs: ``x``, ``w`` and whether there is a bias."""
    x, w, b = inputs
    ctx.save_for_backward(x, w)
    ctx.has_bias = b is not None


class _BatchedLinear(torch.autograd.Function):
    """``x [M, N, in]``, ``w [M, out, in]``, ``b [M, out]`` or ``None`` -> ``[M, N, out]``."""

    @staticmethod
    def forward(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        if b is None:
            return torch.bmm(x, w.transpose(1, 2))
        return torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2))

    setup_context = staticmethod(_save_inputs)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w = ctx.saved_tensors
        dx = torch.bmm(g, w) if ctx.needs_input_grad[0] else None
        dw = torch.bmm(g.transpose(1, 2), x) if ctx.needs_input_grad[1] else None
        db = g.sum(1) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db


class _Linear(torch.autograd.Function):
    """``F.linear`` with a vmap rule that calls :class:`_BatchedLinear`."""

    @staticmethod
    def forward(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        return F.linear(x, w, b)

    setup_context = staticmethod(_save_inputs)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w = ctx.saved_tensors
        rows = g.reshape(-1, g.shape[-1])
        dx = g @ w if ctx.needs_input_grad[0] else None
        dw = rows.T @ x.reshape(-1, x.shape[-1]) if ctx.needs_input_grad[1] else None
        db = rows.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return dx, dw, db

    @staticmethod
    def vmap(
        info: Any,
        in_dims: tuple[int | None, ...],
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None,
    ) -> tuple[torch.Tensor, int]:
        m = info.batch_size

        def front(t: torch.Tensor, dim: int | None) -> torch.Tensor:
            return t.expand(m, *t.shape) if dim is None else t.movedim(dim, 0)

        x, w = front(x, in_dims[0]), front(w, in_dims[1])
        b = None if b is None else front(b, in_dims[2])
        shape = x.shape
        out = _BatchedLinear.apply(x.reshape(m, -1, shape[-1]), w, b)
        return out.reshape(*shape[:-1], w.shape[1]), 0


class StackedLinear(nn.Linear):
    """An ``nn.Linear`` (same parameters, same names) computed by :class:`_Linear`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Linear.apply(x, self.weight, self.bias)


def use_stacked_linear(model: nn.Module, on: bool = True) -> int:
    """Turn every plain ``nn.Linear`` of ``model`` into a :class:`StackedLinear` (or back,
    ``on=False``) in place; returns how many layers changed. Subclasses of ``nn.Linear``
    keep their own ``forward``."""
    old, new = (nn.Linear, StackedLinear) if on else (StackedLinear, nn.Linear)
    changed = 0
    for module in model.modules():
        if type(module) is old:
            module.__class__ = new
            changed += 1
    return changed
