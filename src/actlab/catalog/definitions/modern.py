"""Entries users expect beyond the seed article: gelu, gelu_tanh, silu (swish, and the
preset quick_gelu), mish, celu, log_sigmoid.

Extremes quoted below (minimum values, sup |f'|) were computed once with mpmath at
40 digits; ``tests/test_catalog_entries.py`` recomputes them.
"""

from __future__ import annotations

import math

import numpy as np

from actlab.catalog import numerics as nm
from actlab.catalog.base import Definition, FrameworkRef, Param, Preset, Properties
from actlab.catalog.registry import register

GELU_MIN = -0.16997120747990366169
"""min_x x Phi(x), attained at x = -0.75179152469356445746."""
GELU_MAX_DERIVATIVE = 1.1289041451851547863
"""sup_x (Phi(x) + x phi(x)), attained at x = sqrt(2)."""
GELU_TANH_MIN = -0.17004075057125405064
GELU_TANH_MAX_DERIVATIVE = 1.1289930686587717655
SILU_MIN = -0.27846454276107379511
"""min_y y sigma(y) = -W(1/e) (Lambert W), attained at y = -1 - W(1/e) = -1.27846...;
silu(beta) has minimum SILU_MIN / beta."""
SILU_MAX_DERIVATIVE = 1.0998393201288669170
"""sup_y d/dy [y sigma(y)], attained at y = 2.3994; independent of beta."""
MISH_MIN = -0.30884341301725040663
"""min_x mish(x), attained at x = -1.1924312145154952121."""
MISH_MAX_DERIVATIVE = 1.0884981612517278612
"""sup_x mish'(x), attained at x = 1.4905711794854284593."""

# Zeros of f' and Taylor coefficients c_1..c_12 of f' there (mpmath, 60 digits);
# see numerics.near_zero.
_GELU_DERIVATIVE_ZERO = "-0.7517915246935644574579049467795240396645"
_GELU_DERIVATIVE_SERIES = (
    "0.4314939923140469197865072",
    "0.3882849829905519978580804",
    "-0.01819967639867108710056929",
    "-0.114008233297221708552437",
    "-0.01477152214824433771783813",
    "0.01942167983818906588903428",
    "0.004539228379125415573634314",
    "-0.002239538068073497151278949",
    "-0.0007448268386746816242731353",
    "0.0001863397462323351328044368",
    "0.00008615947861116571627794471",
    "-0.00001121438018842664137520905",
)
_GELU_TANH_DERIVATIVE_ZERO = "-0.7524614220710162584879544432889160906054"
_GELU_TANH_DERIVATIVE_SERIES = (
    "0.4304000910248585090799274",
    "0.3875184461357889264213778",
    "-0.0157828535218480283419059",
    "-0.1139444830809589871106425",
    "-0.01661932834305256269227603",
    "0.01968230945983311748701955",
    "0.005261059254921911879379609",
    "-0.002422731845875097299239679",
    "-0.0009274420230205448962683819",
    "0.0002639276405268105256778031",
    "0.0001242522780263978193793871",
    "-0.00003495617169443611732972887",
)
_SILU_DERIVATIVE_ZERO = "-1.278464542761073795109358739022980155439"
_SILU_DERIVATIVE_SERIES = (
    "0.2178117057198000987797029",
    "0.1466487969969469001794081",
    "0.01887481422378231340716336",
    "-0.01522265522318803168878182",
    "-0.006606589138356696436301172",
    "0.0001266274100811219972716417",
    "0.0007985218818397997761221495",
    "0.0001857072436118649565274327",
    "-0.00004090534237428611680515426",
    "-0.0000297335422132639158387753",
    "-0.000002942631888842463993917224",
    "0.000002346029682463866049406405",
)
_MISH_DERIVATIVE_ZERO = "-1.192431214515495212137588340420739405601"
_MISH_DERIVATIVE_SERIES = (
    "0.2669479140495345113166231",
    "0.2047312640801058663477057",
    "0.04190782104360987308085516",
    "-0.02027182271668424612810112",
    "-0.01582112656173338098207242",
    "-0.003360684927023268668301642",
    "0.001092405540944585493052099",
    "0.0009898181021289196696076389",
    "0.0002541293638619107318682572",
    "-0.00004196149603169612879119022",
    "-0.00005582891567360687890890536",
    "-0.00001729927081030439955645145",
)

_SQRT_2_OVER_PI = "0.79788456080286535587989211986876373695171726232986931533185165"
_GELU_TANH_CUBIC = "0.044715"
_TWO_SQRT_2_OVER_PI = "1.5957691216057307117597842397375274739034345246597386306637"
_TANH_CLIP = 100.0
"""|x| beyond which gelu_tanh's sigmoid(2u) is 0 or 1 even in longdouble."""


def _gelu(x: np.ndarray) -> np.ndarray:
    cdf, _ = nm.normal_cdf_pdf(x)
    return x * cdf


def _gelu_grad(x: np.ndarray) -> np.ndarray:
    cdf, pdf = nm.normal_cdf_pdf(x)
    return nm.near_zero(x, 0.0, _GELU_DERIVATIVE_ZERO, _GELU_DERIVATIVE_SERIES, cdf + x * pdf)


register(
    Definition(
        name="gelu",
        title="Gaussian Error Linear Unit (exact)",
        forward=_gelu,
        derivative=_gelu_grad,
        formula="f(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))",
        latex=r"f(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \operatorname{erf}"
        r"\left(\frac{x}{\sqrt{2}}\right)\right)",
        derivative_formula="f'(x) = Phi(x) + x * phi(x), phi(x) = exp(-x^2/2) / sqrt(2 pi)",
        derivative_latex=r"f'(x) = \Phi(x) + x\,\frac{e^{-x^2/2}}{\sqrt{2\pi}}",
        properties=Properties(False, True, True, False, True),
        use_cases=(
            "Transformers (BERT, GPT-2, ViT) and modern MLP blocks: the default feed-forward "
            "non-linearity of attention models.",
            "A smooth ReLU-like function whose small negative dip keeps gradients alive.",
        ),
        reference="Hendrycks & Gimpel 2016, 'Gaussian Error Linear Units (GELUs)' "
        "(arXiv:1606.08415).",
        torch=FrameworkRef(
            "torch.nn.GELU",
            defaults="approximate='none'",
            functional="torch.nn.functional.gelu",
        ),
        keras=FrameworkRef(
            "keras.activations.gelu",
            defaults="approximate=False",
            functional="keras.ops.gelu (approximate=True)",
            differences="keras.activations.gelu (and activation='gelu') is exact, but "
            "keras.ops.gelu defaults to approximate=True, the tanh form (actlab's "
            "gelu_tanh); JAX's jax.nn.gelu also defaults to the tanh form.",
        ),
        jax=FrameworkRef(
            "jax.nn.gelu",
            defaults="approximate=True",
            differences="jax.nn.gelu defaults to the tanh form (actlab's gelu_tanh): pass approximate=False for this function.",
        ),
        output_range=lambda _p: (GELU_MIN, math.inf),
        max_derivative=lambda _p: GELU_MAX_DERIVATIVE,
        notes=(
            "Phi is evaluated in the working precision with Mills' continued fraction in "
            "the tail and a positive-term series near 0, because scipy.special's erfc is "
            "only accurate to several ulp and does not take extended precision.",
            "Minimum -0.16997 at x = -0.75179; non-monotonic below that point.",
        ),
    )
)


def _gelu_tanh_parts(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(t, sigmoid(2u), sigmoid(-2u)) with t = x clipped to +-100 and
    2u = 2 sqrt(2/pi) t (1 + 0.044715 t^2).

    2u is formed in double-word arithmetic (hi + lo), and the sigmoids corrected to first
    order in lo: sigmoid(hi + lo) = sigmoid(hi) (1 + sigmoid(-hi) lo). An error in 2u is
    amplified |2u| times in e^(2u), up to 500x at x = -20, which a single-precision 2u
    would pass on to the result."""
    t = nm.clip_magnitude(x, _TANH_CLIP)
    sq_hi, sq_lo = nm.two_product(t, t)
    k_hi, k_lo = nm.const2(x, _GELU_TANH_CUBIC)
    kt2_hi, kt2_lo = nm.double_product(sq_hi, sq_lo, k_hi, k_lo)
    w_hi, w_lo = nm.two_sum(np.ones_like(t), kt2_hi)
    c_hi, c_lo = nm.const2(x, _TWO_SQRT_2_OVER_PI)
    ct_hi, ct_lo = nm.double_product(t, 0.0, c_hi, c_lo)
    u_hi, u_lo = nm.double_product(ct_hi, ct_lo, w_hi, w_lo + kt2_lo)
    s_plus, s_minus = nm.sigmoid(u_hi), nm.sigmoid(-u_hi)
    return t, s_plus * (1 + s_minus * u_lo), s_minus * (1 - s_plus * u_lo)


def _gelu_tanh(x: np.ndarray) -> np.ndarray:
    # x/2 (1 + tanh u) = x sigmoid(2u): no cancellation for negative x.
    _, s_plus, _ = _gelu_tanh_parts(x)
    return x * s_plus


def _gelu_tanh_grad(x: np.ndarray) -> np.ndarray:
    t, s_plus, s_minus = _gelu_tanh_parts(x)
    c = nm.const(x, _SQRT_2_OVER_PI)
    k = nm.const(x, _GELU_TANH_CUBIC)
    du2 = 2 * c * (1 + 3 * k * t * t)
    general = s_plus + t * du2 * (s_plus * s_minus)
    return nm.near_zero(x, 0.0, _GELU_TANH_DERIVATIVE_ZERO, _GELU_TANH_DERIVATIVE_SERIES, general)


register(
    Definition(
        name="gelu_tanh",
        aliases=("gelu_approximate", "approximate_gelu"),
        title="GELU, tanh approximation",
        forward=_gelu_tanh,
        derivative=_gelu_tanh_grad,
        formula="f(x) = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))",
        latex=r"f(x) = \frac{x}{2}\left(1 + \tanh\left(\sqrt{2/\pi}\,"
        r"(x + 0.044715\,x^3)\right)\right)",
        derivative_formula="f'(x) = s + 2 x u'(x) s (1 - s), s = sigmoid(2u), "
        "u = sqrt(2/pi) (x + 0.044715 x^3), u' = sqrt(2/pi) (1 + 0.134145 x^2)",
        derivative_latex=r"f'(x) = \tfrac12(1 + \tanh u) + \tfrac{x}{2}\,"
        r"\operatorname{sech}^2(u)\,u'(x),\ u = \sqrt{2/\pi}\,(x + 0.044715\,x^3)",
        properties=Properties(False, True, True, False, True),
        use_cases=(
            "Reproducing models trained with the tanh form: GPT-2, the original BERT code, "
            "and JAX / keras.ops defaults.",
        ),
        reference="Hendrycks & Gimpel 2016, 'Gaussian Error Linear Units (GELUs)' "
        "(arXiv:1606.08415), section 2.",
        torch=FrameworkRef(
            "torch.nn.GELU",
            defaults="approximate='tanh'",
            functional="torch.nn.functional.gelu(approximate='tanh')",
        ),
        keras=FrameworkRef(
            "keras.activations.gelu",
            defaults="approximate=True",
            functional="keras.ops.gelu",
            differences="keras.ops.gelu uses this form by default; keras.activations.gelu "
            "needs approximate=True.",
        ),
        jax=FrameworkRef(
            "jax.nn.gelu", defaults="approximate=True", differences="jax.nn.gelu's default."
        ),
        output_range=lambda _p: (GELU_TANH_MIN, math.inf),
        max_derivative=lambda _p: GELU_TANH_MAX_DERIVATIVE,
        notes=(
            "An approximation of gelu, not gelu: the two differ by up to about 4.7e-4 "
            "(near |x| = 2.7). Evaluated exactly as written, as x * sigmoid(2u).",
        ),
    )
)


def _silu_arg(x: np.ndarray, beta: float) -> np.ndarray:
    """y = beta * x, with x clipped where sigmoid(y) is 0 or 1 anyway."""
    return beta * nm.clip_magnitude(x, nm.EXP_CUTOFF / beta)


def _silu(x: np.ndarray, beta: float) -> np.ndarray:
    return x * nm.sigmoid(_silu_arg(x, beta))


def _silu_grad(x: np.ndarray, beta: float) -> np.ndarray:
    # f' = s(y) (1 + y s(-y)), y = beta x. With e = exp(-|y|):
    # y >= 0: (1 + e + y e) / (1 + e)^2;  y < 0: e (1 + e + y) / (1 + e)^2.
    y = _silu_arg(x, beta)
    e = np.exp(-np.abs(y))
    den = (1 + e) * (1 + e)
    general = np.where(y >= 0, (1 + e + y * e) / den, e * ((1 + y) + e) / den)
    # Near the zero of f' in y, y = beta x must be exact: split it into hi + lo.
    y_hi, y_lo = nm.two_product(nm.clip_magnitude(x, 8 / beta), beta)
    return nm.near_zero(y_hi, y_lo, _SILU_DERIVATIVE_ZERO, _SILU_DERIVATIVE_SERIES, general)


register(
    Definition(
        name="silu",
        aliases=("swish",),
        presets=(
            Preset(
                "quick_gelu",
                {"beta": 1.702},
                "QuickGELU (OpenAI CLIP; Hugging Face QuickGELUActivation): "
                "x * sigmoid(1.702 x), a cheap approximation of gelu (max difference 0.02)",
            ),
        ),
        title="SiLU / Swish",
        forward=_silu,
        derivative=_silu_grad,
        params=(
            Param(
                "beta",
                1.0,
                "slope inside the gate: f(x) = x sigmoid(beta x); beta -> inf gives relu",
                low=0.0,
                low_open=True,
                reason="beta = 0 gives the linear x/2 and beta < 0 an inverted gate",
            ),
        ),
        formula="f(x) = x * sigmoid(beta*x)",
        latex=r"f(x) = x\,\sigma(\beta x) = \frac{x}{1 + e^{-\beta x}}",
        derivative_formula="f'(x) = s + beta*x*s*(1 - s), s = sigmoid(beta*x)",
        derivative_latex=r"f'(x) = \sigma(\beta x)\left(1 + \beta x\,(1 - \sigma(\beta x))"
        r"\right)",
        properties=Properties(False, True, True, False, True),
        use_cases=(
            "Deep CNNs for vision (EfficientNet, YOLO) and LLaMA-style SwiGLU feed-forward "
            "blocks: often a small accuracy gain over ReLU in deep models.",
            "Reinforcement learning (introduced there as SiLU by Elfwing et al.).",
        ),
        reference="Elfwing, Uchibe & Doya 2018, 'Sigmoid-Weighted Linear Units' "
        "(arXiv:1702.03118); Ramachandran, Zoph & Le 2017, 'Searching for Activation "
        "Functions' (arXiv:1710.05941).",
        torch=FrameworkRef(
            "torch.nn.SiLU",
            functional="torch.nn.functional.silu",
            differences="No beta parameter: PyTorch's SiLU is silu(beta=1).",
        ),
        keras=FrameworkRef(
            "keras.activations.silu",
            defaults="alias keras.activations.swish",
            functional="keras.ops.silu",
            differences="No beta parameter: Keras' silu/swish is silu(beta=1).",
        ),
        jax=FrameworkRef(
            "jax.nn.silu",
            defaults="alias jax.nn.swish",
            differences="No beta parameter: jax.nn.silu is silu(beta=1).",
        ),
        output_range=lambda p: (SILU_MIN / float(p["beta"]), math.inf),
        max_derivative=lambda _p: SILU_MAX_DERIVATIVE,
        notes=(
            "sup f' = 1.0998 (> 1) at beta*x = 2.3994, whatever beta; minimum "
            "-0.27846/beta at beta*x = -1.27846.",
            "Swish (Ramachandran et al.) with beta = 1 is SiLU; the alias swish maps here.",
        ),
    )
)


def _tanh_softplus(x: np.ndarray) -> np.ndarray:
    """tanh(log(1 + e^x)) = n / (n + 2) with n = e^x (e^x + 2), written with e = e^-|x|:
    x < 0: e (e + 2) / (e (e + 2) + 2);  x >= 0: (1 + 2e) / (1 + 2e + 2e^2)."""
    e = np.exp(-np.abs(x))
    n = e * (e + 2)
    return np.where(x < 0, n / (n + 2), (1 + 2 * e) / (1 + 2 * e + 2 * e * e))


def _mish(x: np.ndarray) -> np.ndarray:
    return x * _tanh_softplus(x)


def _mish_grad(x: np.ndarray) -> np.ndarray:
    # f' = tanh(sp) + x sech^2(sp) sigmoid(x), sp = softplus(x), e = exp(-|x|):
    # x < 0: e ((e + 2)(n + 2) + 4x (1 + e)) / (n + 2)^2 with n = e (e + 2)
    # x >= 0: tanh(sp) + 4x (1 + e) e^2 / (1 + 2e + 2e^2)^2
    t = nm.clip_magnitude(x, nm.EXP_CUTOFF)  # beyond it e = 0 and f' = 0 or 1
    e = np.exp(-np.abs(t))
    n = e * (e + 2)
    neg = e * ((e + 2) * (n + 2) + 4 * t * (1 + e)) / ((n + 2) * (n + 2))
    d = 1 + 2 * e + 2 * e * e
    pos = (1 + 2 * e) / d + t * (4 * (1 + e) * (e * e) / (d * d))  # t * 0, never 4t = inf
    general = np.where(x < 0, neg, pos)
    return nm.near_zero(x, 0.0, _MISH_DERIVATIVE_ZERO, _MISH_DERIVATIVE_SERIES, general)


register(
    Definition(
        name="mish",
        title="Mish",
        forward=_mish,
        derivative=_mish_grad,
        formula="f(x) = x * tanh(softplus(x)) = x * tanh(log(1 + exp(x)))",
        latex=r"f(x) = x \tanh\left(\log\left(1 + e^{x}\right)\right)",
        derivative_formula="f'(x) = tanh(sp) + x * sech(sp)^2 * sigmoid(x), sp = softplus(x)",
        derivative_latex=r"f'(x) = \tanh(\mathrm{sp}(x)) + x\,\operatorname{sech}^2"
        r"(\mathrm{sp}(x))\,\sigma(x)",
        properties=Properties(False, True, True, False, True),
        use_cases=(
            "Object detection backbones (YOLOv4's CSPDarknet) and other deep CNNs where it "
            "is reported to edge out SiLU and ReLU.",
        ),
        reference="Misra 2019, 'Mish: A Self Regularized Non-Monotonic Activation Function' "
        "(arXiv:1908.08681).",
        torch=FrameworkRef("torch.nn.Mish", functional="torch.nn.functional.mish"),
        keras=FrameworkRef("keras.activations.mish"),
        jax=FrameworkRef("jax.nn.mish"),
        output_range=lambda _p: (MISH_MIN, math.inf),
        max_derivative=lambda _p: MISH_MAX_DERIVATIVE,
        notes=(
            "tanh(softplus(x)) is evaluated as the rational function n/(n + 2) of e^x, "
            "so it keeps full relative accuracy for very negative x (where it is ~ 2e^x) "
            "and never overflows.",
            "sup f' = 1.0885 (> 1) at x = 1.4906; minimum -0.30884 at x = -1.19243.",
        ),
    )
)


def _celu_arg(x: np.ndarray, alpha: float) -> np.ndarray:
    """min(x, 0) / alpha, with x clipped where exp(x / alpha) is 0 anyway."""
    return np.maximum(np.minimum(x, 0), -nm.EXP_CUTOFF * alpha) / alpha


def _celu(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(_celu_arg(x, alpha)))


def _celu_grad(x: np.ndarray, alpha: float) -> np.ndarray:
    return np.where(x > 0, 1, np.exp(_celu_arg(x, alpha))).astype(x.dtype)


register(
    Definition(
        name="celu",
        title="Continuously differentiable ELU",
        forward=_celu,
        derivative=_celu_grad,
        params=(
            Param(
                "alpha",
                1.0,
                "the negative saturation value: f(x) -> -alpha as x -> -inf",
                low=0.0,
                low_open=True,
                reason="CELU divides by alpha: alpha = 0 is undefined and alpha < 0 "
                "breaks monotonicity",
            ),
        ),
        formula="f(x) = max(0, x) + min(0, alpha * (exp(x / alpha) - 1))",
        latex=r"f(x) = \max(0, x) + \min\left(0, \alpha\left(e^{x/\alpha} - 1\right)\right)",
        derivative_formula="f'(x) = 1 for x > 0, exp(x / alpha) for x <= 0",
        derivative_latex=r"f'(x) = \begin{cases} 1 & x > 0 \\ e^{x/\alpha} & x \le 0 "
        r"\end{cases}",
        properties=Properties(True, True, True, False, True),
        use_cases=(
            "Where ELU's behaviour is wanted with alpha != 1: unlike ELU, CELU stays C^1 "
            "(slope 1 at 0) for every alpha.",
        ),
        reference="Barron 2017, 'Continuously Differentiable Exponential Linear Units' "
        "(arXiv:1704.07483).",
        torch=FrameworkRef(
            "torch.nn.CELU", defaults="alpha=1.0", functional="torch.nn.functional.celu"
        ),
        keras=FrameworkRef(
            "keras.activations.celu", defaults="alpha=1.0", functional="keras.ops.celu"
        ),
        jax=FrameworkRef("jax.nn.celu", defaults="alpha=1.0"),
        output_range=lambda p: (-float(p["alpha"]), math.inf),
        notes=("celu(alpha=1) is elu(alpha=1).",),
    )
)


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    # -softplus(-x) = min(x, 0) - log1p(exp(-|x|)): two non-positive terms.
    return -nm.softplus(-x)


def _log_sigmoid_grad(x: np.ndarray) -> np.ndarray:
    return nm.sigmoid(-x)


register(
    Definition(
        name="log_sigmoid",
        aliases=("logsigmoid",),
        title="Log-sigmoid",
        forward=_log_sigmoid,
        derivative=_log_sigmoid_grad,
        formula="f(x) = log(sigmoid(x)) = -softplus(-x)",
        latex=r"f(x) = \log \sigma(x) = -\log\left(1 + e^{-x}\right)",
        derivative_formula="f'(x) = sigmoid(-x) = 1 - sigmoid(x)",
        derivative_latex=r"f'(x) = \sigma(-x) = 1 - \sigma(x)",
        properties=Properties(True, True, False, True, False),
        use_cases=(
            "Numerically stable log-probabilities for binary outputs (logistic loss, "
            "noise-contrastive and negative-sampling objectives).",
        ),
        reference="Standard; see e.g. Goodfellow, Bengio & Courville 2016, 'Deep Learning', "
        "section 6.2.2.2.",
        torch=FrameworkRef("torch.nn.LogSigmoid", functional="torch.nn.functional.logsigmoid"),
        keras=FrameworkRef("keras.activations.log_sigmoid", functional="keras.ops.log_sigmoid"),
        jax=FrameworkRef("jax.nn.log_sigmoid"),
        output_range=lambda _p: (-math.inf, 0.0),
        notes=(
            "Computed as min(x, 0) - log1p(exp(-|x|)): log(sigmoid(x)) returns -inf for "
            "x < -745 (float64) where the true value is x.",
        ),
    )
)
