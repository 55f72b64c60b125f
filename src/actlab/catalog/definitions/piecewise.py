"""Piecewise entries: identity, relu6, prelu, hard_sigmoid, hard_swish, softsign, hard_tanh,
hard_shrink, soft_shrink, threshold, sparse_plus, sparse_sigmoid, rrelu.

(relu and leaky_relu, from the seed article, live in :mod:`.article`.) Their arithmetic is
exact or a single rounding, so forward and derivative are correctly rounded.
"""

from __future__ import annotations

import math

import numpy as np

from actlab.catalog.base import Constraint, Definition, FrameworkRef, Param, Properties
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
        jax=FrameworkRef("jax.nn.identity"),
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
        jax=FrameworkRef("jax.nn.relu6"),
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
        jax=FrameworkRef("jax.nn.hard_sigmoid"),
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
        jax=FrameworkRef("jax.nn.hard_silu", defaults="alias jax.nn.hard_swish"),
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
        aliases=("soft_sign",),
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
        jax=FrameworkRef("jax.nn.soft_sign"),
        output_range=lambda _p: (-1.0, 1.0),
    )
)


def _hard_tanh(x: np.ndarray, min_val: float, max_val: float) -> np.ndarray:
    return np.clip(x, min_val, max_val)


def _hard_tanh_grad(x: np.ndarray, min_val: float, max_val: float) -> np.ndarray:
    return ((x > min_val) & (x < max_val)).astype(x.dtype)


register(
    Definition(
        name="hard_tanh",
        aliases=("hardtanh",),
        title="Hard tanh",
        forward=_hard_tanh,
        derivative=_hard_tanh_grad,
        params=(
            Param("min_val", -1.0, "the lower clip value"),
            Param("max_val", 1.0, "the upper clip value"),
        ),
        constraints=(
            Constraint(
                lambda p: p["min_val"] < p["max_val"],
                ("min_val", "max_val"),
                "needs min_val < max_val",
            ),
        ),
        formula="f(x) = min(max(x, min_val), max_val) (clip to [-1, 1] by default)",
        latex=r"f(x) = \min(\max(x, m_{-}), m_{+})",
        derivative_formula="f'(x) = 1 for min_val < x < max_val, else 0",
        derivative_latex=r"f'(x) = \mathbb{1}[m_{-} < x < m_{+}]",
        properties=Properties(True, False, True, True, True),
        use_cases=(
            "A piecewise-linear tanh: cheap, exact in low precision, bounded; common in "
            "quantized and binarized networks (the straight-through estimator's clip).",
        ),
        reference="Collobert 2004, 'Large Scale Machine Learning' (PhD thesis, Universite "
        "Paris VI); Courbariaux et al. 2016, 'Binarized Neural Networks' (arXiv:1602.02830).",
        torch=FrameworkRef(
            "torch.nn.Hardtanh",
            defaults="min_val=-1.0, max_val=1.0",
            functional="torch.nn.functional.hardtanh",
        ),
        keras=FrameworkRef(
            "keras.activations.hard_tanh",
            functional="keras.ops.hard_tanh",
            differences="No parameters: Keras' hard_tanh is hard_tanh(min_val=-1, max_val=1).",
        ),
        jax=FrameworkRef(
            "jax.nn.hard_tanh",
            differences="No parameters: jax.nn.hard_tanh clips to [-1, 1].",
        ),
        output_range=lambda p: (float(p["min_val"]), float(p["max_val"])),
        kinks=lambda p: (float(p["min_val"]), float(p["max_val"])),
        notes=("relu6 is hard_tanh(min_val=0, max_val=6).",),
    )
)


def _shrink_params(what: str) -> tuple[Param, ...]:
    return (
        Param(
            "lambd",
            0.5,
            f"half-width of the band around 0 that is {what}",
            aliases=("threshold", "lambda"),
            low=0.0,
            reason="a negative band width has no meaning (PyTorch rejects it for softshrink)",
        ),
    )


def _hard_shrink(x: np.ndarray, lambd: float) -> np.ndarray:
    return np.where(np.abs(x) > lambd, x, 0.0).astype(x.dtype)


def _shrink_grad(x: np.ndarray, lambd: float) -> np.ndarray:
    return (np.abs(x) > lambd).astype(x.dtype)


register(
    Definition(
        name="hard_shrink",
        aliases=("hardshrink",),
        title="Hard shrinkage",
        forward=_hard_shrink,
        derivative=_shrink_grad,
        params=_shrink_params("set to 0"),
        formula="f(x) = x for |x| > lambd, 0 otherwise",
        latex=r"f(x) = \begin{cases} x & |x| > \lambda \\ 0 & |x| \le \lambda \end{cases}",
        derivative_formula="f'(x) = 1 for |x| > lambd, 0 otherwise",
        derivative_latex=r"f'(x) = \mathbb{1}[|x| > \lambda]",
        properties=Properties(True, False, True, False, False),
        use_cases=(
            "Sparse coding and denoising: keeps large coefficients unchanged and zeroes "
            "small ones (hard thresholding).",
        ),
        reference="Donoho & Johnstone 1994, 'Ideal spatial adaptation by wavelet shrinkage' "
        "(Biometrika 81).",
        torch=FrameworkRef(
            "torch.nn.Hardshrink", defaults="lambd=0.5", functional="torch.nn.functional.hardshrink"
        ),
        keras=FrameworkRef(
            "keras.activations.hard_shrink",
            defaults="threshold=0.5",
            functional="keras.ops.hard_shrink",
            differences="The band width is called threshold.",
        ),
        kinks=lambda p: (-float(p["lambd"]), float(p["lambd"])),
        notes=("Discontinuous: f jumps by lambd at x = +-lambd (f(+-lambd) = 0).",),
    )
)


def _soft_shrink(x: np.ndarray, lambd: float) -> np.ndarray:
    return np.where(x > lambd, x - lambd, np.where(x < -lambd, x + lambd, 0.0)).astype(x.dtype)


register(
    Definition(
        name="soft_shrink",
        aliases=("softshrink",),
        title="Soft shrinkage",
        forward=_soft_shrink,
        derivative=_shrink_grad,
        params=_shrink_params("set to 0 (and the width subtracted outside it)"),
        formula="f(x) = x - lambd for x > lambd, x + lambd for x < -lambd, 0 otherwise",
        latex=r"f(x) = \operatorname{sign}(x)\max(|x| - \lambda, 0)",
        derivative_formula="f'(x) = 1 for |x| > lambd, 0 otherwise",
        derivative_latex=r"f'(x) = \mathbb{1}[|x| > \lambda]",
        properties=Properties(True, False, True, False, False),
        use_cases=(
            "The proximal operator of the L1 norm: ISTA/LISTA-style unrolled sparse coding "
            "and wavelet denoising (soft thresholding).",
        ),
        reference="Donoho 1995, 'De-noising by soft-thresholding' (IEEE Trans. Inf. Theory "
        "41); Gregor & LeCun 2010, 'Learning Fast Approximations of Sparse Coding'.",
        torch=FrameworkRef(
            "torch.nn.Softshrink", defaults="lambd=0.5", functional="torch.nn.functional.softshrink"
        ),
        keras=FrameworkRef(
            "keras.activations.soft_shrink",
            defaults="threshold=0.5",
            functional="keras.ops.soft_shrink",
            differences="The band width is called threshold.",
        ),
        kinks=lambda p: (-float(p["lambd"]), float(p["lambd"])),
    )
)


def _threshold(x: np.ndarray, threshold: float, value: float) -> np.ndarray:
    return np.where(x > threshold, x, value).astype(x.dtype)


def _threshold_grad(x: np.ndarray, threshold: float, value: float) -> np.ndarray:
    return (x > threshold).astype(x.dtype)


register(
    Definition(
        name="threshold",
        aliases=("thresholded_relu",),
        title="Threshold",
        forward=_threshold,
        derivative=_threshold_grad,
        params=(
            Param("threshold", 0.0, "inputs at or below it are replaced by value"),
            Param("value", 0.0, "the output for x <= threshold", aliases=("default_value",)),
        ),
        formula="f(x) = x for x > threshold, value otherwise",
        latex=r"f(x) = \begin{cases} x & x > \theta \\ v & x \le \theta \end{cases}",
        derivative_formula="f'(x) = 1 for x > threshold, 0 otherwise",
        derivative_latex=r"f'(x) = \mathbb{1}[x > \theta]",
        properties=Properties(True, False, False, False, True),
        use_cases=(
            "A ReLU whose cut is moved (thresholded ReLU, value = 0): units stay silent "
            "until their input exceeds threshold, as in zero-bias autoencoders.",
        ),
        reference="Konda, Memisevic & Krueger 2015, 'Zero-bias autoencoders and the benefits "
        "of co-adapting features' (arXiv:1402.3337), the thresholded ReLU.",
        torch=FrameworkRef(
            "torch.nn.Threshold",
            defaults="no defaults: threshold and value are required",
            functional="torch.nn.functional.threshold",
        ),
        keras=FrameworkRef(
            "keras.activations.threshold",
            defaults="no defaults: threshold and default_value are required",
            functional="keras.ops.threshold",
            differences="value is called default_value.",
        ),
        output_range=lambda p: (min(float(p["value"]), float(p["threshold"])), math.inf),
        kinks=lambda p: (float(p["threshold"]),),
        notes=(
            "threshold(threshold=0, value=0), the default, is relu. Discontinuous unless "
            "value = threshold; not monotonic when value > threshold.",
        ),
    )
)


def _sparse_plus(x: np.ndarray) -> np.ndarray:
    inner = (np.clip(x, -1, 1) + 1) ** 2 / 4
    return np.where(x >= 1, x, np.where(x <= -1, 0.0, inner)).astype(x.dtype)


def _sparse_plus_grad(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 1, 0, 2) / 2


register(
    Definition(
        name="sparse_plus",
        aliases=("sparseplus",),
        title="Sparse plus",
        forward=_sparse_plus,
        derivative=_sparse_plus_grad,
        formula="f(x) = 0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1",
        latex=r"f(x) = \begin{cases} 0 & x \le -1 \\ \frac{(x+1)^2}{4} & |x| < 1 \\ x & "
        r"x \ge 1 \end{cases}",
        derivative_formula="f'(x) = 0 for x <= -1, (x + 1)/2 for -1 < x < 1, 1 for x >= 1",
        derivative_latex=r"f'(x) = \tfrac12 \operatorname{clip}(x + 1, 0, 2)",
        properties=Properties(True, True, False, False, True),
        use_cases=(
            "A softplus with exact zeros: a smooth (C^1) rectifier whose output is exactly "
            "0 for x <= -1, so it keeps sparsity; the integral of sparse_sigmoid.",
        ),
        reference="Blondel, Martins & Niculae 2020, 'Learning with Fenchel-Young Losses' "
        "(JMLR 21).",
        torch=FrameworkRef("", differences="Not in torch.nn."),
        keras=FrameworkRef("keras.activations.sparse_plus", functional="keras.ops.sparse_plus"),
        jax=FrameworkRef("jax.nn.sparse_plus"),
        output_range=lambda _p: (0.0, math.inf),
        kinks=lambda _p: (-1.0, 1.0),
        notes=("C^1: f' is continuous, f'' jumps at +-1.",),
    )
)


def _sparse_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.clip(x + 1, 0, 2) / 2


def _sparse_sigmoid_grad(x: np.ndarray) -> np.ndarray:
    return np.where((x > -1) & (x < 1), 0.5, 0.0).astype(x.dtype)


register(
    Definition(
        name="sparse_sigmoid",
        aliases=("sparsesigmoid",),
        title="Sparse sigmoid",
        forward=_sparse_sigmoid,
        derivative=_sparse_sigmoid_grad,
        formula="f(x) = clip((x + 1) / 2, 0, 1)",
        latex=r"f(x) = \tfrac12 \operatorname{clip}(x + 1, 0, 2)",
        derivative_formula="f'(x) = 1/2 for -1 < x < 1, else 0",
        derivative_latex=r"f'(x) = \tfrac12\,\mathbb{1}[-1 < x < 1]",
        properties=Properties(True, False, False, True, True),
        use_cases=(
            "A sigmoid that reaches 0 and 1 exactly: sparsemax of the two logits (x, 0), "
            "for gates and probabilities that should be able to switch off completely.",
        ),
        reference="Martins & Astudillo 2016, 'From Softmax to Sparsemax' (arXiv:1602.02068); "
        "Blondel, Martins & Niculae 2020, 'Learning with Fenchel-Young Losses' (JMLR 21).",
        torch=FrameworkRef("", differences="Not in torch.nn."),
        keras=FrameworkRef(
            "keras.activations.sparse_sigmoid", functional="keras.ops.sparse_sigmoid"
        ),
        jax=FrameworkRef("jax.nn.sparse_sigmoid"),
        output_range=lambda _p: (0.0, 1.0),
        max_derivative=lambda _p: 0.5,
        kinks=lambda _p: (-1.0, 1.0),
        notes=("sparse_sigmoid(x) = sparsemax([x, 0])[0] = hard_sigmoid with slope 1/2.",),
    )
)


def _rrelu_slope(lower: float, upper: float) -> float:
    return (lower + upper) / 2


def _rrelu(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    slope = (x.dtype.type(lower) + x.dtype.type(upper)) / 2
    return np.where(x >= 0, x, slope * x)


def _rrelu_grad(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    slope = (x.dtype.type(lower) + x.dtype.type(upper)) / 2
    return np.where(x > 0, x.dtype.type(1), slope).astype(x.dtype)


register(
    Definition(
        name="rrelu",
        title="Randomized leaky ReLU (eval mode)",
        forward=_rrelu,
        derivative=_rrelu_grad,
        params=(
            Param(
                "lower",
                0.125,
                "smallest negative-side slope drawn in training",
                low=0.0,
                high=1.0,
                reason="a slope outside [0, 1] breaks the leaky-ReLU shape",
            ),
            Param(
                "upper",
                1 / 3,
                "largest negative-side slope drawn in training",
                low=0.0,
                high=1.0,
                reason="a slope outside [0, 1] breaks the leaky-ReLU shape",
            ),
        ),
        constraints=(
            Constraint(
                lambda p: p["lower"] <= p["upper"], ("lower", "upper"), "needs lower <= upper"
            ),
        ),
        formula="f(x) = x for x >= 0, a*x for x < 0 with a = (lower + upper) / 2 (eval mode)",
        latex=r"f(x) = \begin{cases} x & x \ge 0 \\ \frac{l + u}{2} x & x < 0 \end{cases}",
        derivative_formula="f'(x) = 1 for x > 0, (lower + upper) / 2 for x < 0",
        derivative_latex=r"f'(x) = \begin{cases} 1 & x > 0 \\ \frac{l + u}{2} & x < 0 "
        r"\end{cases}",
        properties=Properties(True, False, True, False, False),
        use_cases=(
            "Small-data image classification, where the random slope acts as a regularizer "
            "(Xu et al. report it beating ReLU, leaky ReLU and PReLU on CIFAR and NDSB).",
        ),
        reference="Xu, Wang, Chen & Li 2015, 'Empirical Evaluation of Rectified Activations "
        "in Convolutional Network' (arXiv:1505.00853).",
        torch=FrameworkRef(
            "torch.nn.RReLU",
            defaults="lower=0.125, upper=0.3333333333333333",
            functional="torch.nn.functional.rrelu",
        ),
        keras=FrameworkRef("", differences="Not in Keras 3; actlab's layer samples like torch's."),
        training="In training mode each negative element's slope is drawn from U(lower, upper) "
        "afresh on every forward pass (the gradient uses the drawn slope); in eval mode the "
        "slope is the mean (lower + upper)/2, the function computed here. actlab's torch "
        "module and Keras layer follow the mode; actlab.torch.functional is the eval-mode "
        "function.",
        output_range=lambda p: (
            -math.inf if _rrelu_slope(p["lower"], p["upper"]) > 0 else 0.0,
            math.inf,
        ),
        kinks=lambda _p: (0.0,),
        notes=("rrelu in eval mode is leaky_relu(alpha=(lower + upper)/2): 0.22917 by default.",),
    )
)
