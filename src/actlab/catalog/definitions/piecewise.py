"""Piecewise-linear entries: identity, relu6, prelu, hard_sigmoid, hard_swish, softsign.

(relu and leaky_relu, from the seed article, live in :mod:`.article`.) Their arithmetic is
exact or a single rounding, so forward and derivative are correctly rounded.
"""

from __future__ import annotations

import math

import numpy as np

from actlab.catalog.base import Definition, FrameworkRef, Param, Properties
from actlab.catalog.registry import register


def _identity(x: np.ndarray) -> np.ndarray:
    return x.copy()


def _identity_grad(x: np.ndarray) -> np.ndarray:
    return np.ones_like(x)


register(
    Definition(
        name="identity",
        aliases=("linear", "none"),
        title="Identity (no activation)",
        forward=_identity,
        derivative=_identity_grad,
        formula="f(x) = x",
        latex=r"f(x) = x",
        derivative_formula="f'(x) = 1",
        derivative_latex=r"f'(x) = 1",
        properties=Properties(True, True, True, False, False),
        use_cases=(
            "The baseline that shows why non-linearity matters: a stack of linear layers "
            "with identity between them is a single linear map, whatever its depth.",
            "Output layer of a regression network.",
        ),
        reference="Any linear-algebra text; the seed article's 'Understanding the Need for "
        "Activation Functions' section.",
        torch=FrameworkRef("torch.nn.Identity"),
        keras=FrameworkRef("keras.activations.linear", functional="activation='linear'"),
        init="glorot",
    )
)


def _relu6(x: np.ndarray) -> np.ndarray:
    return np.clip(x, 0, 6)


def _relu6_grad(x: np.ndarray) -> np.ndarray:
    return ((x > 0) & (x < 6)).astype(x.dtype)


register(
    Definition(
        name="relu6",
        title="ReLU6",
        forward=_relu6,
        derivative=_relu6_grad,
        formula="f(x) = min(max(0, x), 6)",
        latex=r"f(x) = \min(\max(0, x), 6)",
        derivative_formula="f'(x) = 1 for 0 < x < 6, else 0 (0 at the kinks)",
        derivative_latex=r"f'(x) = \mathbb{1}[0 < x < 6]",
        properties=Properties(True, False, False, True, True),
        use_cases=(
            "Mobile networks (MobileNet v1/v2) where a bounded range makes low-precision "
            "(int8) inference robust.",
        ),
        reference="Krizhevsky 2010, 'Convolutional Deep Belief Networks on CIFAR-10'; "
        "Howard et al. 2017, 'MobileNets'.",
        torch=FrameworkRef("torch.nn.ReLU6", functional="torch.nn.functional.relu6"),
        keras=FrameworkRef("keras.activations.relu6", functional="keras.ops.relu6"),
        init="he",
        output_range=lambda _p: (0.0, 6.0),
        kinks=lambda _p: (0.0, 6.0),
    )
)


def _prelu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x >= 0, x, alpha * x)


def _prelu_grad(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, 1.0, alpha).astype(x.dtype)


register(
    Definition(
        name="prelu",
        title="Parametric ReLU",
        forward=_prelu,
        derivative=_prelu_grad,
        params=(
            Param(
                "alpha",
                0.25,
                "initial negative-side slope; learned during training",
                aliases=("init", "negative_slope"),
                learnable=True,
            ),
        ),
        formula="f(x) = x for x >= 0, a*x for x < 0, with the slope a learned",
        latex=r"f(x) = \begin{cases} x & x \ge 0 \\ a x & x < 0 \end{cases}",
        derivative_formula="f'(x) = 1 for x > 0, a for x < 0; df/da = min(x, 0)",
        derivative_latex=r"f'(x) = \begin{cases} 1 & x > 0 \\ a & x < 0 \end{cases}",
        properties=Properties(True, False, True, False, False),
        use_cases=(
            "Deep convolutional networks where a learned negative slope beats a fixed one "
            "(He et al. report it on ImageNet).",
        ),
        reference="He et al. 2015, 'Delving Deep into Rectifiers' (arXiv:1502.01852).",
        torch=FrameworkRef(
            "torch.nn.PReLU",
            defaults="num_parameters=1, init=0.25",
            functional="torch.nn.functional.prelu",
        ),
        keras=FrameworkRef(
            "keras.layers.PReLU",
            defaults="alpha_initializer='zeros'",
            differences="Keras starts the slope at 0 (a ReLU) and learns one slope per "
            "unit by default; PyTorch and actlab start at 0.25 with one shared slope.",
        ),
        init="he",
        max_derivative=lambda p: max(1.0, abs(float(p["alpha"]))),
        kinks=lambda _p: (0.0,),
        notes=(
            "The NumPy form evaluates f with the slope fixed at its current value; the "
            "torch and Keras layers make it a trainable parameter.",
        ),
    )
)


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x / 6 + 0.5, 0, 1)


def _hard_sigmoid_grad(x: np.ndarray) -> np.ndarray:
    return np.where((x > -3) & (x < 3), 1 / 6, 0.0).astype(x.dtype)


register(
    Definition(
        name="hard_sigmoid",
        title="Hard sigmoid",
        forward=_hard_sigmoid,
        derivative=_hard_sigmoid_grad,
        formula="f(x) = relu6(x + 3) / 6 = clip(x/6 + 1/2, 0, 1)",
        latex=r"f(x) = \frac{\min(\max(0, x + 3), 6)}{6}",
        derivative_formula="f'(x) = 1/6 for -3 < x < 3, else 0",
        derivative_latex=r"f'(x) = \tfrac{1}{6}\,\mathbb{1}[-3 < x < 3]",
        properties=Properties(True, False, False, True, True),
        use_cases=(
            "A cheap piecewise-linear stand-in for sigmoid in gates on mobile hardware "
            "(MobileNetV3's squeeze-and-excite).",
        ),
        reference="Howard et al. 2019, 'Searching for MobileNetV3' (arXiv:1905.02244).",
        torch=FrameworkRef("torch.nn.Hardsigmoid", functional="torch.nn.functional.hardsigmoid"),
        keras=FrameworkRef(
            "keras.activations.hard_sigmoid",
            differences="Keras 3 uses this definition; Keras 2 used clip(0.2x + 0.5, 0, 1), "
            "flat beyond +-2.5 (a steeper slope, 0.2 instead of 1/6).",
        ),
        init="glorot",
        output_range=lambda _p: (0.0, 1.0),
        max_derivative=lambda _p: 1 / 6,
        kinks=lambda _p: (-3.0, 3.0),
        notes=(
            "Two definitions are in use. actlab follows PyTorch, JAX and Keras 3: "
            "relu6(x + 3) / 6. Keras 2's hard_sigmoid was clip(0.2x + 0.5, 0, 1).",
        ),
    )
)


def _hard_swish(x: np.ndarray) -> np.ndarray:
    return x * (np.clip(x + 3, 0, 6) / 6)  # x * 6 would overflow near the dtype max


def _hard_swish_grad(x: np.ndarray) -> np.ndarray:
    inner = (2 * np.clip(x, -3, 3) + 3) / 6  # used only on (-3, 3); 2x may overflow
    return np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, inner)).astype(x.dtype)


register(
    Definition(
        name="hard_swish",
        aliases=("hard_silu", "hardswish"),
        title="Hard swish",
        forward=_hard_swish,
        derivative=_hard_swish_grad,
        formula="f(x) = x * relu6(x + 3) / 6",
        latex=r"f(x) = x \cdot \frac{\min(\max(0, x + 3), 6)}{6}",
        derivative_formula="f'(x) = 0 for x <= -3, (2x + 3)/6 for -3 < x < 3, 1 for x >= 3",
        derivative_latex=r"f'(x) = \begin{cases} 0 & x \le -3 \\ \frac{2x+3}{6} & |x| < 3 "
        r"\\ 1 & x \ge 3 \end{cases}",
        properties=Properties(False, False, True, False, True),
        use_cases=("Mobile networks: a piecewise-polynomial SiLU without an exponential.",),
        reference="Howard et al. 2019, 'Searching for MobileNetV3' (arXiv:1905.02244).",
        torch=FrameworkRef("torch.nn.Hardswish", functional="torch.nn.functional.hardswish"),
        keras=FrameworkRef(
            "keras.activations.hard_silu", functional="keras.activations.hard_swish (alias)"
        ),
        init="he",
        output_range=lambda _p: (-0.375, math.inf),
        max_derivative=lambda _p: 1.5,
        kinks=lambda _p: (-3.0, 3.0),
        notes=(
            "Bounded below by -3/8 (at x = -3/2). f'(x) jumps from 1.5 to 1 at x = 3: "
            "continuous, but not C^1.",
        ),
    )
)


def _softsign(x: np.ndarray) -> np.ndarray:
    return x / (1 + np.abs(x))


def _softsign_grad(x: np.ndarray) -> np.ndarray:
    # 1 / (1 + |x|)^2, written to stay finite when (1 + |x|)^2 would overflow.
    inv = 1 / (1 + np.abs(x))
    return inv * inv


register(
    Definition(
        name="softsign",
        title="Softsign",
        forward=_softsign,
        derivative=_softsign_grad,
        formula="f(x) = x / (1 + |x|)",
        latex=r"f(x) = \frac{x}{1 + |x|}",
        derivative_formula="f'(x) = 1 / (1 + |x|)^2",
        derivative_latex=r"f'(x) = \frac{1}{(1 + |x|)^2}",
        properties=Properties(True, True, True, True, True),
        use_cases=(
            "A tanh-like squashing function whose tails approach +-1 polynomially, "
            "so it saturates more gently than tanh.",
        ),
        reference="Bergstra et al. 2009; Glorot & Bengio 2010, 'Understanding the difficulty "
        "of training deep feedforward neural networks'.",
        torch=FrameworkRef("torch.nn.Softsign", functional="torch.nn.functional.softsign"),
        keras=FrameworkRef("keras.activations.softsign"),
        init="glorot",
        output_range=lambda _p: (-1.0, 1.0),
    )
)
