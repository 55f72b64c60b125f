"""The seed article's seven: sigmoid, tanh, relu, leaky_relu, softplus, elu, selu.

Where the article is wrong, the entry's ``notes`` say so and the catalog is right.
"""

from __future__ import annotations

import math

import numpy as np

from actlab.catalog.base import Definition, FrameworkRef, Param, Properties
from actlab.catalog.registry import register


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def _relu_grad(x: np.ndarray) -> np.ndarray:
    return (x > 0).astype(x.dtype)


register(
    Definition(
        name="relu",
        title="Rectified Linear Unit",
        forward=_relu,
        derivative=_relu_grad,
        formula="f(x) = max(0, x)",
        latex=r"f(x) = \max(0, x)",
        derivative_formula="f'(x) = 1 for x > 0, 0 for x < 0 (0 at x = 0 by convention)",
        derivative_latex=r"f'(x) = \mathbb{1}[x > 0]",
        properties=Properties(True, False, False, False, True),
        use_cases=(
            "The default hidden activation for MLPs and CNNs: one comparison per element, "
            "and a gradient of exactly 1 wherever the unit is active, so deep stacks train.",
            "Risk: units whose input is negative for every sample output 0 with gradient 0 "
            "and never recover ('dying ReLU'); leaky_relu, elu or gelu avoid it.",
        ),
        reference="Nair & Hinton 2010; Glorot, Bordes & Bengio 2011, 'Deep Sparse Rectifier "
        "Neural Networks'.",
        torch=FrameworkRef("torch.nn.ReLU", functional="torch.nn.functional.relu"),
        keras=FrameworkRef("keras.activations.relu", functional="keras.layers.ReLU"),
        init="he",
        output_range=lambda _p: (0.0, math.inf),
        kinks=lambda _p: (0.0,),
    )
)


def _leaky_relu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x >= 0, x, alpha * x)


def _leaky_relu_grad(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, 1.0, alpha).astype(x.dtype)


register(
    Definition(
        name="leaky_relu",
        aliases=("leakyrelu", "lrelu"),
        title="Leaky ReLU",
        forward=_leaky_relu,
        derivative=_leaky_relu_grad,
        params=(
            Param(
                "alpha",
                0.01,
                "slope for x < 0",
                aliases=("negative_slope",),
                low=0.0,
                high=1.0,
                reason="for alpha > 1 the negative side is steeper than the positive one and "
                "max(alpha*x, x) is no longer this function; a negative slope makes it "
                "non-monotonic",
            ),
        ),
        formula="f(x) = x for x >= 0, alpha*x for x < 0",
        latex=r"f(x) = \begin{cases} x & x \ge 0 \\ \alpha x & x < 0 \end{cases}",
        derivative_formula="f'(x) = 1 for x > 0, alpha for x < 0",
        derivative_latex=r"f'(x) = \begin{cases} 1 & x > 0 \\ \alpha & x < 0 \end{cases}",
        properties=Properties(True, False, True, False, False),
        use_cases=(
            "A ReLU that cannot die: negative inputs keep a small gradient alpha.",
            "GAN discriminators (alpha = 0.2 is the usual choice there).",
        ),
        reference="Maas, Hannun & Ng 2013, 'Rectifier Nonlinearities Improve Neural Network "
        "Acoustic Models'.",
        torch=FrameworkRef(
            "torch.nn.LeakyReLU",
            defaults="negative_slope=0.01",
            functional="torch.nn.functional.leaky_relu",
        ),
        keras=FrameworkRef(
            "keras.layers.LeakyReLU",
            defaults="negative_slope=0.3",
            functional="keras.activations.leaky_relu (negative_slope=0.2)",
            differences="Default slope differs: the Keras 3 layer uses 0.3 (alpha= is a "
            "deprecated alias of negative_slope), keras.activations.leaky_relu uses 0.2, "
            "Keras 2's layer used alpha=0.3; PyTorch and actlab use 0.01.",
        ),
        init="he",
        output_range=lambda p: (-math.inf if p["alpha"] > 0 else 0.0, math.inf),
        kinks=lambda _p: (0.0,),
        notes=(
            "The seed article writes f(x) = max(alpha*x, x). That equals Leaky ReLU only for "
            "alpha <= 1; for alpha > 1 it is a different function (slope alpha for x > 0, "
            "1 for x < 0). actlab defines the piecewise form and rejects alpha > 1.",
        ),
    )
)
