"""The catalog's numerically stable formulas written with torch ops: forward, derivative
and (for learnable entries) the derivatives in each parameter, for the entries served by
:mod:`actlab.backends.torch.autograd`'s memory-efficient Functions, and for the gates of the
gated family.

Each returns a new tensor (in-place steps only touch temporaries). Parameters are Python
numbers or tensors that broadcast against ``x`` (a learnable parameter).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from actlab.backends.torch.autograd import Kernels, TensorKernel

_INV_SQRT_2 = 1 / math.sqrt(2)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)
_GELU_TANH_CUBIC = 0.044715


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x.clone()


def _ones(x: torch.Tensor) -> torch.Tensor:
    return torch.ones_like(x)


def _sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """sigma(x) sigma(-x): no cancellation where 1 - sigma(x) would round to 0."""
    return torch.sigmoid(x).mul_(torch.sigmoid(-x))


def _relu_grad(x: torch.Tensor) -> torch.Tensor:
    return (x > 0).to(x.dtype)


def _gelu_grad(x: torch.Tensor) -> torch.Tensor:
    """Phi(x) + x phi(x), Phi as erfc(-x/sqrt 2)/2 (no cancellation for x << 0)."""
    pdf = torch.exp(x.square().mul_(-0.5)).mul_(_INV_SQRT_2PI)
    return torch.erfc(x * -_INV_SQRT_2).mul_(0.5).add_(pdf.mul_(x))


def _gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


def _gelu_tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """s + x u' s (1 - s) with s = sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3)."""
    u2 = (x.square().mul_(_GELU_TANH_CUBIC).add_(1)).mul_(x).mul_(2 * _SQRT_2_OVER_PI)
    du2 = x.square().mul_(3 * _GELU_TANH_CUBIC).add_(1).mul_(2 * _SQRT_2_OVER_PI)
    s = torch.sigmoid(u2)
    return torch.sigmoid(-u2).mul_(s).mul_(du2).mul_(x).add_(s)


def _softsign(x: torch.Tensor) -> torch.Tensor:
    """f(x) = x / (1 + |x|)."""
    denom = torch.abs(x).add_(1)
    return torch.div(x, denom, out=denom)


def _softsign_grad(x: torch.Tensor) -> torch.Tensor:
    """f'(x) = 1 / (1 + |x|)^2, as (1 / (1 + |x|))^2 so it never overflows."""
    return torch.abs(x).add_(1).reciprocal_().square_()


def _widened(kernel: TensorKernel) -> TensorKernel:
    """Evaluate a silu kernel in float64 for float32 input when beta != 1: the rounding of
    beta * x is amplified |beta x| times in sigmoid's tail (17 ulp at x = -20 otherwise)."""

    def apply(x: torch.Tensor, beta: float) -> torch.Tensor:
        if beta != 1 and x.dtype == torch.float32:
            return kernel(x.double(), beta).float()
        return kernel(x, beta)

    return apply


@_widened
def _silu(x: torch.Tensor, beta: float) -> torch.Tensor:
    """f(x) = x * sigmoid(beta * x)."""
    return torch.sigmoid(x * beta).mul_(x)


@_widened
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


_TANH_SHRINK_SERIES = (
    1 / 3,
    -2 / 15,
    17 / 315,
    -62 / 2835,
    1382 / 155925,
    -21844 / 6081075,
    929569 / 638512875,
    -6404582 / 10854718875,
    443861162 / 1856156927625,
    -18888466084 / 194896477400625,
)
"""x - tanh(x) = sum_k c_k x^(2k+1): for |x| < 1/4 ten terms reach 1e-19 relative."""


def _tanh_shrink(x: torch.Tensor) -> torch.Tensor:
    """x - tanh(x), by its Taylor series for |x| < 1/4 where the difference cancels."""
    t = x.clamp(-0.25, 0.25)
    t2 = t * t
    series = torch.zeros_like(t)
    for c in reversed(_TANH_SHRINK_SERIES):
        series.add_(c).mul_(t2)
    return torch.where(x.abs() < 0.25, series.mul_(t), x - torch.tanh(x))


def _tanh_shrink_grad(x: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x).square_()


def _squareplus_parts(x: torch.Tensor, b: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(sqrt(x^2 + b), h/2 - x/2): hypot never overflows, and h - x has no cancellation."""
    h = torch.hypot(x, torch.tensor(math.sqrt(b), dtype=x.dtype, device=x.device))
    return h, h / 2 - x / 2


def _squareplus(x: torch.Tensor, b: float) -> torch.Tensor:
    """(x + h)/2 for x >= 0; (b/4) / (h/2 - x/2) for x < 0, where x + h cancels."""
    h, gap = _squareplus_parts(x, b)
    return torch.where(x >= 0, (x + h) / 2, (b / 4) / gap)


def _squareplus_grad(x: torch.Tensor, b: float) -> torch.Tensor:
    h, gap = _squareplus_parts(x, b)
    return torch.where(x >= 0, (x / h + 1) / 2, (b / 4) / h / gap)


def _sparse_plus(x: torch.Tensor) -> torch.Tensor:
    inner = (x.clamp(-1, 1) + 1).square_().div_(4)
    return torch.where(x >= 1, x, inner)


def _half_clip(x: torch.Tensor) -> torch.Tensor:
    """clip(x + 1, 0, 2) / 2: sparse_plus' derivative and sparse_sigmoid."""
    return (x + 1).clamp_(0, 2).div_(2)


def _sparse_sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    return ((x > -1) & (x < 1)).to(x.dtype).div_(2)


def _prelu(x: torch.Tensor, alpha) -> torch.Tensor:
    """max(x, 0) + alpha min(x, 0): exactly x or alpha x (adding a zero), with no
    comparison mask (torch's CPU ``where`` and ``>`` cost several float passes each)."""
    return x.clamp(min=0).add_(x.clamp(max=0).mul_(alpha))


def _prelu_grad(x: torch.Tensor, alpha) -> torch.Tensor:
    """1 for x > 0, else alpha (torch's prelu at 0), from p = max(sign(x), 0) in {0, 1}:
    p + alpha (1 - p)."""
    positive = x.sign().clamp_(min=0)
    return (1 - positive).mul_(alpha).add_(positive)


def _prelu_alpha(x: torch.Tensor, alpha) -> torch.Tensor:
    return x.clamp(max=0)


def _relu2(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x).square_()


def _relu2_grad(x: torch.Tensor) -> torch.Tensor:
    return torch.relu(x).mul_(2)


def _star_relu(x: torch.Tensor, scale, bias) -> torch.Tensor:
    return torch.relu(x).square_().mul_(scale).add_(bias)


def _star_relu_grad(x: torch.Tensor, scale, bias) -> torch.Tensor:
    return torch.relu(x).mul_(scale).mul_(2)


def _star_relu_scale(x: torch.Tensor, scale, bias) -> torch.Tensor:
    return torch.relu(x).square_()


def _star_relu_bias(x: torch.Tensor, scale, bias) -> torch.Tensor:
    return torch.ones_like(x)


def _xielu(x: torch.Tensor, alpha_p, alpha_n, beta: float) -> torch.Tensor:
    neg = x.clamp(max=0)
    negative = torch.expm1(neg).sub_(neg).mul_(alpha_n)
    positive = x.clamp(min=0)
    positive = positive.mul(alpha_p).add_(beta).mul_(positive)
    return torch.where(x > 0, positive, negative.add_(x * beta))


def _xielu_grad(x: torch.Tensor, alpha_p, alpha_n, beta: float) -> torch.Tensor:
    negative = torch.expm1(x.clamp(max=0)).mul_(alpha_n).add_(beta)
    positive = x.mul(alpha_p).mul_(2).add_(beta)
    return torch.where(x > 0, positive, negative)


def _xielu_alpha_p(x: torch.Tensor, alpha_p, alpha_n, beta: float) -> torch.Tensor:
    return x.clamp(min=0).square_()


def _xielu_alpha_n(x: torch.Tensor, alpha_p, alpha_n, beta: float) -> torch.Tensor:
    neg = x.clamp(max=0)
    return torch.expm1(neg).sub_(neg)


def _snake(x: torch.Tensor, frequency) -> torch.Tensor:
    s = torch.sin(x * frequency)
    return s.square_().div_(frequency).add_(x)


def _snake_grad(x: torch.Tensor, frequency) -> torch.Tensor:
    """1 + sin(2 a x) as (sin(a x) + cos(a x))^2: never negative."""
    ax = x * frequency
    return torch.sin(ax).add_(torch.cos(ax)).square_()


def _snake_frequency(x: torch.Tensor, frequency) -> torch.Tensor:
    """df/da = x sin(2 a x) / a - sin(a x)^2 / a^2."""
    ax = x * frequency
    s = torch.sin(ax)
    return torch.sin(2 * ax).mul_(x).sub_(s.square_().div_(frequency)).div_(frequency)


IDENTITY = Kernels(_identity, _ones)
SIGMOID = Kernels(torch.sigmoid, _sigmoid_grad)
RELU = Kernels(torch.relu, _relu_grad)
GELU = Kernels(F.gelu, _gelu_grad)
GELU_TANH = Kernels(_gelu_tanh, _gelu_tanh_grad)
SILU = Kernels(_silu, _silu_grad)
HARD_SIGMOID = Kernels(_hard_sigmoid, _hard_sigmoid_grad, _hard_sigmoid_vjp)
SOFTSIGN = Kernels(_softsign, _softsign_grad)
TANH_SHRINK = Kernels(_tanh_shrink, _tanh_shrink_grad, precise=True)
SQUAREPLUS = Kernels(_squareplus, _squareplus_grad)
SPARSE_PLUS = Kernels(_sparse_plus, _half_clip)
SPARSE_SIGMOID = Kernels(_half_clip, _sparse_sigmoid_grad)
RELU2 = Kernels(_relu2, _relu2_grad)
PRELU = Kernels(_prelu, _prelu_grad, params={"alpha": _prelu_alpha})
STAR_RELU = Kernels(
    _star_relu,
    _star_relu_grad,
    params={"scale": _star_relu_scale, "bias": _star_relu_bias},
    precise=True,
)
XIELU = Kernels(
    _xielu,
    _xielu_grad,
    params={"alpha_p": _xielu_alpha_p, "alpha_n": _xielu_alpha_n},
    precise=True,
)
SNAKE = Kernels(_snake, _snake_grad, params={"frequency": _snake_frequency}, precise=True)
