"""Smooth entries from the frameworks' catalogs: exponential, tanh_shrink, squareplus."""

from __future__ import annotations

import math

import numpy as np

from actlab.catalog import numerics as nm
from actlab.catalog.base import Definition, FrameworkRef, Param, Properties
from actlab.catalog.registry import register


def _exponential(x: np.ndarray) -> np.ndarray:
    return np.exp(x)


register(
    Definition(
        name="exponential",
        aliases=("exp",),
        title="Exponential",
        forward=_exponential,
        derivative=_exponential,
        formula="f(x) = exp(x)",
        latex=r"f(x) = e^{x}",
        derivative_formula="f'(x) = exp(x)",
        derivative_latex=r"f'(x) = e^{x}",
        properties=Properties(True, True, False, False, True),
        use_cases=(
            "Output layer for a positive rate or scale (Poisson or exponential regression, "
            "the log link of a generalized linear model).",
            "Not a hidden activation: it overflows for x > 88.7 in float32 and its gradient "
            "grows with it.",
        ),
        reference="Nelder & Wedderburn 1972, 'Generalized Linear Models' (J. R. Stat. Soc. A "
        "135): the inverse of the log link.",
        torch=FrameworkRef("", functional="torch.exp", differences="Not in torch.nn; torch.exp."),
        keras=FrameworkRef("keras.activations.exponential", functional="keras.ops.exp"),
        output_range=lambda _p: (0.0, math.inf),
        max_derivative=lambda _p: math.inf,
    )
)

# Taylor coefficients of x - tanh(x) = sum_k c_k x^(2k+1), k = 1..16 (mpmath, 40 digits).
_TANH_SHRINK_SERIES = (
    "0.3333333333333333333333333333",
    "-0.1333333333333333333333333333",
    "0.05396825396825396825396825397",
    "-0.02186948853615520282186948854",
    "0.00886323552990219656886323553",
    "-0.00359212803657248101692546137",
    "0.001455834387051318268249485181",
    "-0.0005900274409455859813780759937",
    "0.0002391291142435524814857314589",
    "-0.00009691537956929450325595875",
    "0.00003927832388331683405337080809",
    "-0.00001591890506932896474074427982",
    "0.000006451689215655430763190842315",
    "-0.000002614771151290754554263594256",
    "0.000001059726832010465435091355394",
    "-0.000000429491107827380585482035128",
)
_TANH_SHRINK_SWITCH = 0.25
"""Below this |x| the series is used: x - tanh(x) ~ x^3/3 loses log2(3/x^2) bits."""


def _tanh_shrink(x: np.ndarray) -> np.ndarray:
    # Series: (x^2)^k terms shrink by (2x/pi)^2 < 0.026 each, so 16 terms reach 1e-25.
    t = nm.clip_magnitude(x, _TANH_SHRINK_SWITCH)
    t2 = t * t
    series = np.zeros_like(t)
    for c in reversed(_TANH_SHRINK_SERIES):
        series = (series + nm.const(x, c)) * t2
    return np.where(np.abs(x) < _TANH_SHRINK_SWITCH, series * t, x - np.tanh(x))


def _tanh_shrink_grad(x: np.ndarray) -> np.ndarray:
    t = np.tanh(x)
    return t * t


register(
    Definition(
        name="tanh_shrink",
        aliases=("tanhshrink",),
        title="Tanh shrink",
        forward=_tanh_shrink,
        derivative=_tanh_shrink_grad,
        formula="f(x) = x - tanh(x)",
        latex=r"f(x) = x - \tanh(x)",
        derivative_formula="f'(x) = tanh(x)^2",
        derivative_latex=r"f'(x) = \tanh^2(x)",
        properties=Properties(True, True, True, False, False),
        use_cases=(
            "A smooth shrinkage: near 0 it is x^3/3 (flat), far from 0 it is x -+ 1, so it "
            "suppresses small values like soft_shrink without a kink.",
        ),
        reference="Collobert, Kavukcuoglu & Farabet 2011, 'Torch7: A Matlab-like Environment "
        "for Machine Learning' (BigLearn, NIPS workshop), the TanhShrink module.",
        torch=FrameworkRef("torch.nn.Tanhshrink", functional="torch.nn.functional.tanhshrink"),
        keras=FrameworkRef("keras.activations.tanh_shrink", functional="keras.ops.tanh_shrink"),
        notes=(
            "For |x| < 0.25 it is evaluated by its Taylor series: x - tanh(x) computed "
            "literally loses every digit for tiny x (torch's and Keras' do).",
        ),
    )
)


def _squareplus_parts(x: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(h, b/4, gap): h = sqrt(x^2 + b) as hypot, so x^2 never overflows, and for x < 0
    gap = h/2 - x/2 = (h - x)/2 (> 0, no cancellation, no overflow); 1 elsewhere."""
    h = np.hypot(x, np.sqrt(x.dtype.type(b)))
    gap = np.where(x < 0, h / 2 - x / 2, 1)
    return h, x.dtype.type(b) / 4, gap


def _squareplus(x: np.ndarray, b: float) -> np.ndarray:
    # x >= 0: (x + h)/2. x < 0: b / (2 (h - x)) = (b/4) / gap, free of the cancellation
    # x + h has there.
    h, quarter_b, gap = _squareplus_parts(x, b)
    return np.where(x >= 0, x / 2 + h / 2, quarter_b / gap)


def _squareplus_grad(x: np.ndarray, b: float) -> np.ndarray:
    # (1 + x/h)/2; for x < 0 that is b / (2h (h - x)) = (b/4)/h / gap.
    h, quarter_b, gap = _squareplus_parts(x, b)
    return np.where(x >= 0, (1 + x / h) / 2, quarter_b / h / gap)


register(
    Definition(
        name="squareplus",
        title="Squareplus",
        forward=_squareplus,
        derivative=_squareplus_grad,
        params=(
            Param(
                "b",
                4.0,
                "curvature at 0: f(0) = sqrt(b)/2; b -> 0 gives relu",
                low=0.0,
                low_open=True,
                reason="b = 0 is relu (use relu) and b < 0 takes the root of a negative number",
            ),
        ),
        formula="f(x) = (x + sqrt(x^2 + b)) / 2",
        latex=r"f(x) = \frac{x + \sqrt{x^2 + b}}{2}",
        derivative_formula="f'(x) = (1 + x / sqrt(x^2 + b)) / 2",
        derivative_latex=r"f'(x) = \frac12\left(1 + \frac{x}{\sqrt{x^2 + b}}\right)",
        properties=Properties(True, True, False, False, True),
        use_cases=(
            "A softplus without exp or log: algebraic, so cheap and stable wherever a "
            "smooth positive rectifier is wanted.",
        ),
        reference="Barron 2021, 'Squareplus: A Softplus-Like Algebraic Rectifier' "
        "(arXiv:2112.11687).",
        torch=FrameworkRef("", differences="Not in torch.nn."),
        keras=FrameworkRef(
            "keras.activations.squareplus",
            defaults="b=4",
            functional="keras.ops.squareplus",
            differences="Computed as (x + sqrt(x^2 + b))/2: 0 instead of b/(4|x|) for "
            "x < -2^12 (float32), where x + sqrt(x^2 + b) cancels.",
        ),
        jax=FrameworkRef(
            "jax.nn.squareplus",
            defaults="b=4",
            differences="Computed as (x + sqrt(x^2 + b))/2, with the same cancellation for "
            "large negative x.",
        ),
        output_range=lambda _p: (0.0, math.inf),
        notes=(
            "For x < 0 computed as b / (2 (sqrt(x^2 + b) - x)): the textbook form cancels "
            "to 0 for large negative x, where the true value is b / (4|x|).",
        ),
    )
)
