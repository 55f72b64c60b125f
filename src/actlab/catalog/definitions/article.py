"""The seed article's seven: sigmoid, tanh, relu, leaky_relu, softplus, elu, selu.

Where the article is wrong, the entry's ``notes`` say so and the catalog is right.
"""

from __future__ import annotations

import math

import numpy as np

from actlab.catalog import numerics as nm
from actlab.catalog.base import Definition, FrameworkRef, Param, Properties
from actlab.catalog.registry import register

SELU_LAMBDA = "1.0507009873554804934193349852946"
"""SELU's scale lambda (Klambauer et al. 2017), as published to 32 digits."""
SELU_ALPHA = "1.6732632423543772848170429916717"
"""SELU's alpha (Klambauer et al. 2017), as published to 32 digits."""
SELU_LAMBDA_ALPHA = "1.75809934084737685994021752081231934206"
"""lambda * alpha to 39 digits: sup |selu'| and -min selu."""


def _sigmoid_grad(x: np.ndarray) -> np.ndarray:
    return nm.sigmoid_grad(x)


register(
    Definition(
        name="sigmoid",
        aliases=("logistic", "expit"),
        title="Sigmoid (logistic)",
        forward=nm.sigmoid,
        derivative=_sigmoid_grad,
        formula="f(x) = 1 / (1 + exp(-x))",
        latex=r"f(x) = \frac{1}{1 + e^{-x}}",
        derivative_formula="f'(x) = f(x) (1 - f(x))",
        derivative_latex=r"f'(x) = f(x)\,(1 - f(x))",
        properties=Properties(True, True, False, True, True),
        use_cases=(
            "Output layer for binary classification and multi-label problems: the output "
            "is a probability in (0, 1).",
            "Gates in LSTMs and GRUs, and attention or squeeze-and-excite gates.",
            "Rarely a good hidden activation in deep stacks: f' <= 1/4 shrinks gradients "
            "by at least 4x per layer, and the outputs are not zero-centred.",
        ),
        reference="Rumelhart, Hinton & Williams 1986, 'Learning representations by "
        "back-propagating errors'.",
        torch=FrameworkRef("torch.nn.Sigmoid", functional="torch.sigmoid"),
        keras=FrameworkRef("keras.activations.sigmoid", functional="keras.ops.sigmoid"),
        jax=FrameworkRef("jax.nn.sigmoid"),
        output_range=lambda _p: (0.0, 1.0),
        max_derivative=lambda _p: 0.25,
        notes=(
            "Computed as 1/(1 + e^-x) for x >= 0 and e^x/(1 + e^x) for x < 0, so it never "
            "evaluates e^-x for large negative x (where 1/(1 + exp(-x)) overflows).",
        ),
    )
)


def _tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


register(
    Definition(
        name="tanh",
        title="Hyperbolic tangent",
        forward=_tanh,
        derivative=nm.sech2_of_double,
        formula="f(x) = tanh(x) = (e^x - e^-x) / (e^x + e^-x)",
        latex=r"f(x) = \tanh(x) = \frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}",
        derivative_formula="f'(x) = 1 - tanh(x)^2 = sech(x)^2",
        derivative_latex=r"f'(x) = 1 - \tanh^2(x) = \operatorname{sech}^2(x)",
        properties=Properties(True, True, True, True, True),
        use_cases=(
            "Recurrent networks (the cell/candidate non-linearity of LSTMs and GRUs).",
            "Hidden layers of small, shallow networks, where its zero-centred output "
            "trains faster than sigmoid's.",
            "Outputs that must lie in (-1, 1), e.g. a GAN generator's image in [-1, 1].",
        ),
        reference="LeCun, Bottou, Orr & Mueller 1998, 'Efficient BackProp'.",
        torch=FrameworkRef("torch.nn.Tanh", functional="torch.tanh"),
        keras=FrameworkRef("keras.activations.tanh", functional="keras.ops.tanh"),
        jax=FrameworkRef("jax.nn.tanh"),
        output_range=lambda _p: (-1.0, 1.0),
        notes=(
            "The seed article gives f(x) = (tanh(x) + 1) / 2. That is not tanh: it equals "
            "sigmoid(2x), with range (0, 1), not (-1, 1). The catalog's tanh is the real "
            "hyperbolic tangent with range (-1, 1), as in every framework.",
            "The derivative is computed as 4e/(1 + e)^2 with e = exp(-2|x|): the textbook "
            "1 - tanh(x)^2 loses all relative accuracy for |x| > 9 and is 0 beyond 19.",
        ),
    )
)


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
        jax=FrameworkRef("jax.nn.relu"),
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
        jax=FrameworkRef("jax.nn.leaky_relu", defaults="negative_slope=0.01"),
        output_range=lambda p: (-math.inf if p["alpha"] > 0 else 0.0, math.inf),
        kinks=lambda _p: (0.0,),
        notes=(
            "The seed article writes f(x) = max(alpha*x, x). That equals Leaky ReLU only for "
            "alpha <= 1; for alpha > 1 it is a different function (slope alpha for x > 0, "
            "1 for x < 0). actlab defines the piecewise form and rejects alpha > 1.",
        ),
    )
)


def _softplus(x: np.ndarray, beta: float) -> np.ndarray:
    # max(x, 0) + log1p(e^(-beta |x|)) / beta; |x| is clipped where e^(-beta |x|) is 0
    # anyway, so beta * |x| cannot overflow.
    tail = np.log1p(np.exp(-beta * np.abs(nm.clip_magnitude(x, nm.EXP_CUTOFF / beta))))
    return np.maximum(x, 0) + tail / beta


def _softplus_grad(x: np.ndarray, beta: float) -> np.ndarray:
    return nm.sigmoid(beta * nm.clip_magnitude(x, nm.EXP_CUTOFF / beta))


register(
    Definition(
        name="softplus",
        title="Softplus",
        forward=_softplus,
        derivative=_softplus_grad,
        params=(
            Param(
                "beta",
                1.0,
                "sharpness: f(x) = log(1 + exp(beta x)) / beta tends to relu as beta grows",
                low=0.0,
                low_open=True,
                reason="beta <= 0 divides by zero or turns the function upside down",
            ),
        ),
        formula="f(x) = log(1 + exp(beta*x)) / beta",
        latex=r"f(x) = \frac{1}{\beta}\log\left(1 + e^{\beta x}\right)",
        derivative_formula="f'(x) = sigmoid(beta*x)",
        derivative_latex=r"f'(x) = \sigma(\beta x) = \frac{1}{1 + e^{-\beta x}}",
        properties=Properties(True, True, False, False, True),
        use_cases=(
            "Where an output must be strictly positive, e.g. a predicted standard deviation "
            "or rate (the output layer of a probabilistic regression model).",
            "A smooth ReLU for hidden layers: never exactly zero gradient, so no dead units, "
            "at the cost of an exp and a log per element.",
        ),
        reference="Dugas et al. 2001, 'Incorporating Second-Order Functional Knowledge for "
        "Better Option Pricing'; Glorot, Bordes & Bengio 2011.",
        torch=FrameworkRef(
            "torch.nn.Softplus",
            defaults="beta=1.0, threshold=20.0",
            functional="torch.nn.functional.softplus",
            differences="PyTorch returns x unchanged where beta*x > threshold (20): a "
            "relative error of about exp(-20)/20 ~ 1e-10 just above the threshold, which "
            "is inexact in float64 until beta*x ~ 37. actlab has no threshold.",
        ),
        keras=FrameworkRef(
            "keras.activations.softplus",
            functional="keras.ops.softplus",
            differences="No beta parameter: Keras' softplus is actlab's softplus(beta=1).",
        ),
        jax=FrameworkRef(
            "jax.nn.softplus",
            differences="No beta parameter: jax.nn.softplus is softplus(beta=1), computed as logaddexp(x, 0).",
        ),
        output_range=lambda _p: (0.0, math.inf),
        notes=(
            "Computed as max(x, 0) + log1p(exp(-beta |x|)) / beta: the article's "
            "ln(1 + exp(x)) overflows for x > 709 (float64) and is 0 instead of e^x for "
            "x < -37.",
        ),
    )
)


def _elu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))


def _elu_grad(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, 1, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


register(
    Definition(
        name="elu",
        title="Exponential Linear Unit",
        forward=_elu,
        derivative=_elu_grad,
        params=(
            Param(
                "alpha",
                1.0,
                "the negative saturation value: f(x) -> -alpha as x -> -inf",
                low=0.0,
                low_open=True,
                reason="ELU saturates at -alpha for negative inputs; alpha <= 0 makes it "
                "non-negative or non-monotonic, which defeats its purpose",
            ),
        ),
        formula="f(x) = x for x > 0, alpha * (exp(x) - 1) for x <= 0",
        latex=r"f(x) = \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 \end{cases}",
        derivative_formula="f'(x) = 1 for x > 0, alpha * exp(x) for x <= 0",
        derivative_latex=r"f'(x) = \begin{cases} 1 & x > 0 \\ \alpha e^{x} & x \le 0 "
        r"\end{cases}",
        properties=Properties(True, True, True, False, True),
        use_cases=(
            "Deep fully-connected and convolutional networks: negative outputs push mean "
            "activations toward zero, which speeds up learning, and units cannot die.",
            "A drop-in replacement for ReLU when training is slow or many units are dead.",
        ),
        reference="Clevert, Unterthiner & Hochreiter 2016, 'Fast and Accurate Deep Network "
        "Learning by Exponential Linear Units (ELUs)' (arXiv:1511.07289).",
        torch=FrameworkRef(
            "torch.nn.ELU", defaults="alpha=1.0", functional="torch.nn.functional.elu"
        ),
        keras=FrameworkRef(
            "keras.layers.ELU", defaults="alpha=1.0", functional="keras.activations.elu"
        ),
        jax=FrameworkRef("jax.nn.elu", defaults="alpha=1.0"),
        output_range=lambda p: (-float(p["alpha"]), math.inf),
        max_derivative=lambda p: max(1.0, float(p["alpha"])),
        kinks=lambda p: () if p["alpha"] == 1 else (0.0,),
        notes=(
            "Differentiable at 0 only for alpha = 1 (f' jumps from alpha to 1 otherwise).",
            "Computed with expm1 on min(x, 0): where(x > 0, x, exp(x) - 1) evaluates exp in "
            "the untaken branch, overflows for large x and turns gradients NaN, and "
            "exp(x) - 1 loses all digits for tiny negative x.",
        ),
    )
)


def _selu(x: np.ndarray) -> np.ndarray:
    lam = nm.const(x, SELU_LAMBDA)
    lam_alpha = nm.const(x, SELU_LAMBDA_ALPHA)
    return np.where(x > 0, lam * np.maximum(x, 0), lam_alpha * np.expm1(np.minimum(x, 0)))


def _selu_grad(x: np.ndarray) -> np.ndarray:
    lam = nm.const(x, SELU_LAMBDA)
    lam_alpha = nm.const(x, SELU_LAMBDA_ALPHA)
    return np.where(x > 0, lam, lam_alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


register(
    Definition(
        name="selu",
        title="Scaled Exponential Linear Unit",
        forward=_selu,
        derivative=_selu_grad,
        formula="f(x) = lambda * x for x > 0, lambda * alpha * (exp(x) - 1) for x <= 0, "
        f"lambda = {SELU_LAMBDA}, alpha = {SELU_ALPHA}",
        latex=r"f(x) = \lambda \begin{cases} x & x > 0 \\ \alpha (e^{x} - 1) & x \le 0 "
        r"\end{cases},\ \lambda \approx 1.0507,\ \alpha \approx 1.6733",
        derivative_formula="f'(x) = lambda for x > 0, lambda * alpha * exp(x) for x <= 0",
        derivative_latex=r"f'(x) = \begin{cases} \lambda & x > 0 \\ \lambda \alpha e^{x} "
        r"& x \le 0 \end{cases}",
        properties=Properties(True, False, True, False, True, self_normalizing=True),
        use_cases=(
            "Deep plain MLPs without batch normalization: with LeCun-normal initialization, "
            "standardized inputs and AlphaDropout, activations keep mean 0 and variance 1 "
            "layer after layer (self-normalizing networks).",
            "Tabular data with many fully-connected layers.",
        ),
        reference="Klambauer, Unterthiner, Mayr & Hochreiter 2017, 'Self-Normalizing Neural "
        "Networks' (arXiv:1706.02515).",
        torch=FrameworkRef("torch.nn.SELU", functional="torch.nn.functional.selu"),
        keras=FrameworkRef("keras.activations.selu", functional="keras.ops.selu"),
        jax=FrameworkRef("jax.nn.selu"),
        output_range=lambda _p: (-float(SELU_LAMBDA_ALPHA), math.inf),
        max_derivative=lambda _p: float(SELU_LAMBDA_ALPHA),
        kinks=lambda _p: (0.0,),
        notes=(
            "lambda and alpha are fixed, not tunable: they are the unique values for which "
            "mean 0 / variance 1 is a stable fixed point (Klambauer et al. 2017). The "
            "self-normalizing property needs LeCun-normal initialization (init='lecun').",
            "f' jumps at 0 from lambda*alpha ~ 1.758 to lambda ~ 1.051, so SELU is not C^1.",
            "The seed article writes lambda * alpha(exp(x) - 1): the product of the two "
            "constants, which the catalog makes explicit.",
        ),
    )
)
