"""``nn.Conv1d/2d/3d`` in a user-model stack: one grouped convolution on the layout
oneDNN is fast on, with the bias fused and no copy between layers.

Under ``torch.func.vmap`` a convolution with per-candidate weights ``W [M, O, C/g, k...]``
is ``M`` independent convolutions. :class:`StackedConv` computes them as one
convolution with ``groups = M g`` on the samples' channels laid out candidate-major,
``x [N, M C, ...]``: candidate ``m`` owns input channels ``[m C, (m+1) C)`` and output
channels ``[m O, (m+1) O)``, so no output mixes two candidates (what the engine's own
:class:`~actlab.engine.stacked.StackedCNN` does)::

    y[n, m] = conv(x[n, m], W[m], groups=g) + b[m]

The result stays physically ``[N, M, O, ...]`` (vmap's candidate axis second), so the next
convolution, a :class:`~actlab.engine.selector.Selector` and batch norm read it as it is.
vmap's own rule for a batched convolution gives the same numbers but adds a batched bias
in a separate pass and moves the candidate axis around each layer (copies).

Outside vmap (a stack that runs its candidates one at a time) the layer is the plain
convolution, with autograd's own derivative.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class _Conv(torch.autograd.Function):
    """``F.conv{d}d(x, w, b, stride, padding, dilation, groups)`` with a vmap rule that
    computes every candidate's convolution as one grouped convolution."""

    @staticmethod
    def forward(
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
    ) -> torch.Tensor:
        return _CONV[w.dim() - 2](x, w, b, stride, padding, dilation, groups)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        x, w, b, *conf = inputs
        ctx.save_for_backward(x, w, b)
        ctx.conf = conf

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w, b = ctx.saved_tensors
        inputs = [t.detach().requires_grad_(True) for t in (x, w) if t is not None]
        bias = None if b is None else b.detach().requires_grad_(True)
        with torch.enable_grad():
            out = _CONV[w.dim() - 2](*inputs, bias, *ctx.conf)
            wanted = [*inputs, *([] if bias is None else [bias])]
            grads = torch.autograd.grad(out, wanted, g)
        dx, dw = grads[0], grads[1]
        db = grads[2] if bias is not None else None
        return dx, dw, db, None, None, None, None

    @staticmethod
    def vmap(
        info: Any,
        in_dims: tuple[int | None, ...],
        x: torch.Tensor,
        w: torch.Tensor,
        b: torch.Tensor | None,
        stride: Any,
        padding: Any,
        dilation: Any,
        groups: int,
    ) -> tuple[torch.Tensor, int]:
        m = info.batch_size
        x_dim, w_dim, b_dim = in_dims[:3]
        w = w.expand(m, *w.shape) if w_dim is None else w.movedim(w_dim, 0)
        spatial = w.dim() - 3
        unbatched = x.dim() - (x_dim is not None) == spatial + 1  # one sample [C, ...]
        if x_dim is None:
            x, x_dim = x.expand(m, *x.shape), 0
        x = x.movedim(x_dim, 0).unsqueeze(0) if unbatched else x.movedim(x_dim, 1)
        n = x.shape[0]
        flat = x.reshape(n, m * x.shape[2], *x.shape[3:])
        bias = None
        if b is not None:
            bias = (b.expand(m, *b.shape) if b_dim is None else b.movedim(b_dim, 0)).reshape(-1)
        out = _CONV[spatial](
            flat, w.reshape(-1, *w.shape[2:]), bias, stride, padding, dilation, groups * m
        )
        out = out.view(n, m, -1, *out.shape[2:])
        if unbatched:
            return out[0], 0
        return out, 1


class StackedConv(nn.Module):
    """Mixin: a convolution (same parameters, same names) computed by :class:`_Conv`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _Conv.apply(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )


class StackedConv1d(StackedConv, nn.Conv1d):
    """An ``nn.Conv1d`` computed by :class:`_Conv`."""


class StackedConv2d(StackedConv, nn.Conv2d):
    """An ``nn.Conv2d`` computed by :class:`_Conv`."""


class StackedConv3d(StackedConv, nn.Conv3d):
    """An ``nn.Conv3d`` computed by :class:`_Conv`."""


STACKED_CONV = {nn.Conv1d: StackedConv1d, nn.Conv2d: StackedConv2d, nn.Conv3d: StackedConv3d}


def use_stacked_conv(model: nn.Module, on: bool = True) -> int:
    """Turn every plain ``nn.Conv1d/2d/3d`` of ``model`` with zero padding into its
    :class:`StackedConv` (or back, ``on=False``) in place; returns how many layers
    changed. Subclasses keep their own ``forward``."""
    pairs = STACKED_CONV.items() if on else ((new, old) for old, new in STACKED_CONV.items())
    swap = dict(pairs)
    changed = 0
    for module in model.modules():
        new = swap.get(type(module))
        if new is not None and getattr(module, "padding_mode", "zeros") == "zeros":
            module.__class__ = new
            changed += 1
    return changed
