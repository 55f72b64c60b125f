"""Activations of today's large models that no framework ships: relu2 (squared ReLU),
star_relu, xielu and snake. (quick_gelu is a preset of silu; the gated family lives in
:mod:`.gated`.)
"""

from __future__ import annotations

import functools
import math
from decimal import Decimal, localcontext

import numpy as np

from actlab.catalog import numerics as nm
from actlab.catalog.base import Constraint, Definition, FrameworkRef, Param, Properties
from actlab.catalog.registry import register


def _relu2(x: np.ndarray) -> np.ndarray:
    r = np.maximum(x, 0)
    return r * r


def _relu2_grad(x: np.ndarray) -> np.ndarray:
    return 2 * np.maximum(x, 0)


register(
    Definition(
        name="relu2",
        aliases=("squared_relu", "relu_squared"),
        title="Squared ReLU",
        forward=_relu2,
        derivative=_relu2_grad,
        formula="f(x) = max(0, x)^2",
        latex=r"f(x) = \max(0, x)^2",
        derivative_formula="f'(x) = 2 max(0, x)",
        derivative_latex=r"f'(x) = 2\max(0, x)",
        properties=Properties(True, True, False, False, True),
        use_cases=(
            "Transformer feed-forward blocks: Primer found it the most useful of its "
            "searched changes, and Nemotron-4 uses it in place of GELU or SwiGLU.",
        ),
        reference="So et al. 2021, 'Primer: Searching for Efficient Transformers for Language "
        "Modeling' (arXiv:2109.08668); NVIDIA 2024, 'Nemotron-4 15B Technical Report' "
        "(arXiv:2402.16819).",
        torch=FrameworkRef("", differences="Not in torch.nn; users write F.relu(x) ** 2."),
        keras=FrameworkRef("", differences="Not in Keras; ops.square(ops.relu(x))."),
        output_range=lambda _p: (0.0, math.inf),
        max_derivative=lambda _p: math.inf,
        kinks=lambda _p: (0.0,),
        notes=("C^1 (f' = 2 relu(x) is continuous); the gradient grows without bound.",),
    )
)

STAR_RELU_SCALE = 1 / math.sqrt(1.25)
"""s = 1/sqrt(Var[relu(z)^2]) = 1/sqrt(3/2 - 1/4) for z ~ N(0, 1) (Yu et al. 2023)."""
STAR_RELU_BIAS = -0.5 / math.sqrt(1.25)
"""b = -E[relu(z)^2] s = -s/2: with s, N(0, 1) inputs give outputs of mean 0, variance 1."""
_DEKKER_SAFE = 2.0**20
"""|x| below which relu(x)^2 is split exactly (and far beyond any zero of star_relu)."""


def _star_relu(x: np.ndarray, scale: float, bias: float) -> np.ndarray:
    # s x^2 + b cancels near its zero x = sqrt(-b/s): x^2 and s x^2 are kept exactly as
    # hi + lo pairs (Dekker) and the cancelling sum by two_sum.
    r = np.maximum(x, 0)
    t = np.minimum(r, _DEKKER_SAFE)
    p_hi, p_lo = nm.two_product(t, t)
    q_hi, q_lo = nm.two_product(p_hi, scale)
    total, err = nm.two_sum(q_hi, x.dtype.type(bias))
    precise = total + (err + (q_lo + scale * p_lo))
    return np.where(r < _DEKKER_SAFE, precise, scale * r * r + bias)


def _star_relu_grad(x: np.ndarray, scale: float, bias: float) -> np.ndarray:
    return (2 * scale) * np.maximum(x, 0)


register(
    Definition(
        name="star_relu",
        aliases=("starrelu",),
        title="StarReLU",
        forward=_star_relu,
        derivative=_star_relu_grad,
        params=(
            Param("scale", STAR_RELU_SCALE, "s, the learned scale of relu(x)^2", learnable=True),
            Param("bias", STAR_RELU_BIAS, "b, the learned offset", learnable=True),
        ),
        constraints=(
            Constraint(
                lambda p: p["scale"] != 0,
                ("scale",),
                "needs scale != 0 (scale = 0 is the constant bias)",
            ),
        ),
        formula="f(x) = s * max(0, x)^2 + b, s and b learned",
        latex=r"f(x) = s\,\max(0, x)^2 + b",
        derivative_formula="f'(x) = 2 s max(0, x); df/ds = max(0, x)^2, df/db = 1",
        derivative_latex=r"f'(x) = 2 s \max(0, x)",
        properties=Properties(True, True, True, False, True),
        use_cases=(
            "MetaFormer-style vision models (CAFormer, ConvFormer): squared ReLU with a "
            "learned scale and bias that keep the output's mean near 0 and variance near 1.",
        ),
        reference="Yu et al. 2023, 'MetaFormer Baselines for Vision' (arXiv:2210.13452), "
        "section 3.",
        torch=FrameworkRef(
            "",
            differences="Not in torch.nn; the reference code (sail-sg/metaformer, timm's "
            "StarReLU) starts the learnable scale at 1 and bias at 0, i.e. relu2.",
        ),
        keras=FrameworkRef("", differences="Not in Keras."),
        output_range=lambda p: (
            (float(p["bias"]), math.inf) if p["scale"] > 0 else (-math.inf, float(p["bias"]))
        ),
        max_derivative=lambda _p: math.inf,
        kinks=lambda _p: (0.0,),
        notes=(
            "Defaults s = 1/sqrt(1.25) = 0.8944 and b = -0.5/sqrt(1.25) = -0.4472 are the "
            "paper's derivation for N(0, 1) inputs (mean 0, variance 1 out); the authors' "
            "code starts at s = 1, b = 0 (star_relu(scale=1, bias=0) is relu2).",
            "Near its zero x = sqrt(-b/s) the sum s x^2 + b is evaluated exactly (Dekker "
            "products), so the result keeps full relative accuracy there.",
        ),
    )
)


@functools.cache
def _xielu_roots(alpha_n: float, beta: float) -> tuple[str, str, str]:
    """(r, A, r') to 45 digits: the negative zero r of the x <= 0 branch
    g(x) = alpha_n (e^x - 1 - x) + beta x, A = alpha_n e^r, and the zero
    r' = log(1 - beta/alpha_n) of g'. Newton from x0 = -alpha_n/(alpha_n - beta) - 1, where
    g > 0 and g is convex, converges monotonically."""
    with localcontext() as ctx:
        ctx.prec = 60
        an, b = Decimal(alpha_n), Decimal(beta)
        r = -an / (an - b) - 1
        for _ in range(200):
            e = r.exp()
            step = (an * (e - 1 - r) + b * r) / (an * (e - 1) + b)
            r -= step
            if abs(step) <= Decimal(10) ** -50 * abs(r):
                break
        ctx.prec = 45
        return str(+r), str(an * r.exp()), str((1 - b / an).ln())


def _xielu(x: np.ndarray, alpha_p: float, alpha_n: float, beta: float) -> np.ndarray:
    xp, xn = np.maximum(x, 0), np.minimum(x, 0)  # a branch not taken must not overflow
    positive = xp * (alpha_p * xp + beta)
    if beta == 0:
        return np.where(x > 0, positive, alpha_n * nm.expm1_minus_x(xn))
    # alpha_n (e^x - 1 - x) and beta x cancel near the zero r < 0. With f(r) = 0,
    # f(r + d) = A (e^d - 1) + (beta - alpha_n) d exactly, A = alpha_n e^r: no cancellation
    # left for x < r/2 (d computed exactly from r = hi + lo), where it is used.
    root, big_a, _ = _xielu_roots(alpha_n, beta)
    r_hi, r_lo = nm.const2(x, root)
    near = x < r_hi / 2
    d = np.where(near, (x - r_hi) - r_lo, 0)
    slope = x.dtype.type(beta) - x.dtype.type(alpha_n)
    shifted = nm.const(x, big_a) * np.expm1(d) + slope * d
    direct_x = np.where(near, 0, xn)
    direct = alpha_n * nm.expm1_minus_x(direct_x) + beta * direct_x
    return np.where(x > 0, positive, np.where(near, shifted, direct))


def _xielu_grad(x: np.ndarray, alpha_p: float, alpha_n: float, beta: float) -> np.ndarray:
    positive = 2 * alpha_p * np.maximum(x, 0) + beta
    if beta > 0:
        # alpha_n (e^x - 1) + beta = (alpha_n - beta) expm1(x - r') exactly, r' its zero.
        _, _, zero = _xielu_roots(alpha_n, beta)
        z_hi, z_lo = nm.const2(x, zero)
        d = (np.minimum(x, 0) - z_hi) - z_lo
        negative = (x.dtype.type(alpha_n) - x.dtype.type(beta)) * np.expm1(d)
    else:
        negative = alpha_n * np.expm1(np.minimum(x, 0))
    return np.where(x > 0, positive, negative)


def _xielu_min(p: dict) -> float:
    """min f = -beta - (alpha_n - beta) r' at r' = log(1 - beta/alpha_n) (0 when beta = 0)."""
    alpha_n, beta = float(p["alpha_n"]), float(p["beta"])
    return -beta - (alpha_n - beta) * math.log1p(-beta / alpha_n)


register(
    Definition(
        name="xielu",
        title="xIELU (expanded integral of ELU)",
        forward=_xielu,
        derivative=_xielu_grad,
        params=(
            Param(
                "alpha_p",
                0.8,
                "curvature of the positive side (learned)",
                low=0.0,
                low_open=True,
                reason="the positive side is alpha_p x^2 + beta x; implementations keep "
                "alpha_p = softplus(raw) > 0",
                learnable=True,
                learn_above=0.0,
            ),
            Param(
                "alpha_n",
                0.8,
                "scale of the negative side (learned); must exceed beta",
                low=0.0,
                low_open=True,
                reason="implementations keep alpha_n = beta + softplus(raw) > beta",
                learnable=True,
                learn_above="beta",
            ),
            Param(
                "beta",
                0.5,
                "the slope at 0 (fixed)",
                low=0.0,
                reason="a negative slope at 0 inverts the function near the origin",
            ),
        ),
        constraints=(
            Constraint(
                lambda p: p["alpha_n"] > p["beta"], ("alpha_n", "beta"), "needs alpha_n > beta"
            ),
        ),
        formula="f(x) = alpha_p x^2 + beta x for x > 0, "
        "alpha_n (exp(x) - 1 - x) + beta x for x <= 0",
        latex=r"f(x) = \begin{cases} \alpha_p x^2 + \beta x & x > 0 \\ "
        r"\alpha_n (e^{x} - 1 - x) + \beta x & x \le 0 \end{cases}",
        derivative_formula="f'(x) = 2 alpha_p x + beta for x > 0, "
        "alpha_n (exp(x) - 1) + beta for x <= 0",
        derivative_latex=r"f'(x) = \begin{cases} 2\alpha_p x + \beta & x > 0 \\ "
        r"\alpha_n (e^{x} - 1) + \beta & x \le 0 \end{cases}",
        properties=Properties(False, True, True, False, True),
        use_cases=(
            "LLM feed-forward blocks (Apertus): a learnable, non-monotonic unit whose "
            "gradient grows linearly for positive inputs like relu2's and stays nonzero "
            "for negative ones.",
        ),
        reference="Huang & Schlag 2024, 'Deriving Activation Functions Using Integration' "
        "(arXiv:2411.13010); Swiss AI 2025, 'Apertus' technical report.",
        torch=FrameworkRef(
            "",
            differences="Not in torch.nn. Hugging Face transformers' XIELUActivation "
            "(alpha_p_init=0.8, alpha_n_init=0.8, beta=0.5) computes "
            "expm1(min(x, eps)) with eps = -1e-6: for -1e-6 < x <= 0 it returns "
            "alpha_n (expm1(-1e-6) - x) + beta x, off by up to alpha_n * 1e-6 (f(0) = -8e-7 "
            "instead of 0).",
        ),
        keras=FrameworkRef("", differences="Not in Keras."),
        output_range=lambda p: (_xielu_min(p), math.inf),
        max_derivative=lambda _p: math.inf,
        kinks=lambda _p: (0.0,),
        notes=(
            "C^1 at 0 (both sides have slope beta); f'' jumps from alpha_n to 2 alpha_p.",
            "Non-monotonic: decreasing for x < log(1 - beta/alpha_n) (-0.981 by default) "
            "and growing again as x -> -inf, with slope beta - alpha_n.",
            "Near its negative zero (-2.40 by default) it is evaluated as "
            "A expm1(x - r) + (beta - alpha_n)(x - r) around the zero r, and f' as "
            "(alpha_n - beta) expm1(x - r'), so both keep full relative accuracy.",
        ),
    )
)

_QUARTER_PI = "0.785398163397448309615660845819875721049292349843776455243736"


def _snake(x: np.ndarray, frequency: float) -> np.ndarray:
    a = frequency
    # Beyond |a x| = 2^(p+2) the ripple sin^2(a x)/a <= 1/a is below a quarter ulp of x in
    # the working precision (p mantissa bits): f = x there, and no reduction is needed.
    small = np.abs(x) < 2.0 ** (np.finfo(x.dtype).nmant + 3) / a
    t = nm.reduce_pi(np.where(small, x, 0), a, "0")  # sin^2(a x) = sin^2(t)
    s = np.sin(t)
    return np.where(small, x + s * s / a, x)


def _snake_grad(x: np.ndarray, frequency: float) -> np.ndarray:
    # 1 + sin(2 a x) = 2 sin^2(a x + pi/4): zero at a x = -pi/4 + k pi, where the reduced
    # argument keeps full relative accuracy.
    s = np.sin(nm.reduce_pi(x, frequency, _QUARTER_PI))
    return 2 * s * s


register(
    Definition(
        name="snake",
        title="Snake",
        forward=_snake,
        derivative=_snake_grad,
        params=(
            Param(
                "frequency",
                1.0,
                "a: the period of the ripple is pi/a and its height 1/a (learned)",
                aliases=("a", "alpha"),
                low=0.0,
                high=1e4,
                low_open=True,
                reason="a = 0 divides by zero (its limit is the identity), and above 1e4 the "
                "ripple (height 1/a) is below 1e-4: the identity to four digits",
                learnable=True,
            ),
        ),
        formula="f(x) = x + sin(a x)^2 / a, a learned",
        latex=r"f(x) = x + \frac{\sin^2(a x)}{a}",
        derivative_formula="f'(x) = 1 + sin(2 a x) = 2 sin(a x + pi/4)^2; "
        "df/da = x sin(2 a x)/a - sin(a x)^2/a^2",
        derivative_latex=r"f'(x) = 1 + \sin(2 a x)",
        properties=Properties(True, True, True, False, False),
        use_cases=(
            "Signals with periodic structure (audio, time series, physics): extrapolates "
            "periodically where relu or tanh networks cannot; BigVGAN uses it per channel "
            "in its vocoder.",
        ),
        reference="Ziyin, Hartwig & Ueda 2020, 'Neural Networks Fail to Learn Periodic "
        "Functions and How to Fix It' (NeurIPS, arXiv:2006.08195); Lee et al. 2023, "
        "'BigVGAN' (arXiv:2206.04658).",
        torch=FrameworkRef("", differences="Not in torch.nn."),
        keras=FrameworkRef("", differences="Not in Keras."),
        max_derivative=lambda _p: 2.0,
        notes=(
            "Monotonic: f' = 2 sin^2(a x + pi/4) >= 0, zero at a x = -pi/4 + k pi.",
            "The argument a x is reduced modulo pi exactly (Cody-Waite, and decimal "
            "arithmetic for |a x| > 2e8), so f' keeps full relative accuracy even next to "
            "its zeros and for huge x.",
            "BigVGAN learns one frequency per channel, sometimes as log(a); actlab's layers "
            "learn one shared a, like PReLU's default.",
        ),
    )
)
