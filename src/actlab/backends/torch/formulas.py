"""The catalog's numerically stable formulas written with torch ops, for the entries
served by :class:`~actlab.backends.torch.autograd.ElementwiseFunction`.

Each returns a new tensor (in-place steps only touch temporaries).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from actlab.backends.torch.autograd import Kernels


def _softsign(x: torch.Tensor) -> torch.Tensor:
    """f(x) = x / (1 + |x|)."""
    denom = torch.abs(x).add_(1)
    return torch.div(x, denom, out=denom)


def _softsign_grad(x: torch.Tensor) -> torch.Tensor:
    """f'(x) = 1 / (1 + |x|)^2, as (1 / (1 + |x|))^2 so it never overflows."""
    return torch.abs(x).add_(1).reciprocal_().square_()


def _silu(x: torch.Tensor, beta: float) -> torch.Tensor:
    """f(x) = x * sigmoid(beta * x)."""
    return torch.sigmoid(x * beta).mul_(x)


def _silu_grad(x: torch.Tensor, beta: float) -> torch.Tensor:
    """f'(x) = s + beta * x * s * sigmoid(-beta * x) with s = sigmoid(beta * x).

    ``sigmoid(-beta x)`` is evaluated directly rather than as ``1 - s``, which would cancel
    to 0 for large ``beta x``."""
    bx = x * beta
    s = torch.sigmoid(bx)
    return torch.sigmoid(-bx).mul_(bx).add_(1).mul_(s)


def _hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """f(x) = clip(x / 6 + 1/2, 0, 1); torch's forward kernel is exact in every dtype."""
    return F.hardsigmoid(x)


def _hard_sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """f'(x) = 1/6 for -3 < x < 3, else 0."""
    return ((x > -3) & (x < 3)).to(x.dtype).div_(6)


def _hard_sigmoid_vjp(x: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """grad / 6 where -3 < x < 3, else 0: torch's hardtanh mask, then one exact division
    (torch's own hardsigmoid backward multiplies by 1/6 rounded to float32)."""
    return torch.ops.aten.hardtanh_backward(grad, x, -3.0, 3.0).div_(6)


HARD_SIGMOID = Kernels(_hard_sigmoid, _hard_sigmoid_grad, _hard_sigmoid_vjp)
SOFTSIGN = Kernels(_softsign, _softsign_grad)
SILU = Kernels(_silu, _silu_grad)
