"""Vector activations, applied over an axis: softmax (and its preset softmax2d),
log_softmax, softmin, sparsemax."""

from __future__ import annotations

import math

import numpy as np

from actlab.catalog import simplex
from actlab.catalog.base import Definition, FrameworkRef, Param, Preset, Properties
from actlab.catalog.registry import register


def _axis_param(what: str) -> tuple[Param, ...]:
    return (Param("axis", -1, f"the axis {what} (default: the last)", kind=int),)


def _softmax(x: np.ndarray, axis: int, target: type | None = None) -> np.ndarray:
    """s_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j: no exp overflows and the
    largest term is exactly 1, so the sum is never 0 (error bound: :mod:`simplex`)."""
    return simplex.run("softmax", simplex.softmax_fast, x, None, axis, target=target)


def _softmax_jvp(x: np.ndarray, v: np.ndarray, axis: int, target: type | None = None) -> np.ndarray:
    """J v = s * (v - <s, v>) along ``axis``, with J = diag(s) - s s^T, as
    s * (w - <s, w>), w = v - v_r (r the maximum): exactly 0 for v constant along the axis."""
    return simplex.run(
        "softmax_jvp", simplex.softmax_jvp_fast, x, v, axis, simplex.softmax_jvp_medium, target
    )


register(
    Definition(
        name="softmax",
        title="Softmax",
        forward=_softmax,
        derivative=None,
        jvp=_softmax_jvp,
        vector=True,
        params=_axis_param("the probabilities sum to 1 over"),
        presets=(
            Preset(
                "softmax2d",
                {"axis": -3},
                "torch.nn.Softmax2d: softmax over the channels of (C, H, W) or (N, C, H, W)",
            ),
        ),
        formula="f(x)_i = exp(x_i) / sum_j exp(x_j), over one axis",
        latex=r"f(x)_i = \frac{e^{x_i}}{\sum_j e^{x_j}}",
        derivative_formula="J = diag(s) - s s^T; J v = s * (v - <s, v>)",
        derivative_latex=r"\frac{\partial f_i}{\partial x_j} = s_i(\delta_{ij} - s_j)",
        properties=Properties(True, True, False, True, True),
        use_cases=(
            "Output layer for multi-class (single-label) classification: turns logits into "
            "a probability distribution; pair it with cross-entropy.",
            "Attention weights in transformers.",
            "Not a hidden-layer activation: it couples all units of a layer.",
        ),
        reference="Bridle 1990, 'Probabilistic Interpretation of Feedforward Classification "
        "Network Outputs, with Relationships to Statistical Pattern Recognition'.",
        torch=FrameworkRef(
            "torch.nn.Softmax",
            defaults="dim=None",
            functional="torch.nn.functional.softmax",
            differences="PyTorch has no default axis: pass dim=-1 (dim=None picks one "
            "implicitly, with a deprecation warning). torch.nn.Softmax2d is "
            "softmax(axis=-3) (the preset softmax2d).",
        ),
        keras=FrameworkRef(
            "keras.layers.Softmax", defaults="axis=-1", functional="keras.activations.softmax"
        ),
        jax=FrameworkRef("jax.nn.softmax", defaults="axis=-1"),
        output_range=lambda _p: (0.0, 1.0),
        max_derivative=lambda _p: 0.5,
        notes=(
            "A vector activation: each output depends on every input along the axis, so it "
            "has a Jacobian (use .jvp(x, v)) rather than an elementwise derivative.",
            "Invariant to adding a constant along the axis; computed after subtracting the "
            "maximum, so large logits do not overflow.",
            "max_derivative is the largest spectral norm of the Jacobian, 1/2 "
            "(v^T J v is the variance of v under s).",
        ),
    )
)


def _log_softmax(x: np.ndarray, axis: int, target: type | None = None) -> np.ndarray:
    """(x_i - m) - log(sum_j exp(x_j - m)), the log of the sum as log1p of the terms other
    than the maximum's own 1, so an output near 0 (a probability near 1) keeps its digits."""
    return simplex.run("log_softmax", simplex.log_softmax_fast, x, None, axis, target=target)


def _log_softmax_jvp(
    x: np.ndarray, v: np.ndarray, axis: int, target: type | None = None
) -> np.ndarray:
    """J v = v - <s, v> with J = I - 1 s^T, s = softmax(x), as w - <s, w>, w = v - v_r."""
    return simplex.run(
        "log_softmax_jvp",
        simplex.log_softmax_jvp_fast,
        x,
        v,
        axis,
        simplex.log_softmax_jvp_medium,
        target,
    )


register(
    Definition(
        name="log_softmax",
        aliases=("logsoftmax",),
        title="Log-softmax",
        forward=_log_softmax,
        derivative=None,
        jvp=_log_softmax_jvp,
        vector=True,
        params=_axis_param("the log-probabilities are normalized over"),
        formula="f(x)_i = x_i - log(sum_j exp(x_j)), over one axis",
        latex=r"f(x)_i = x_i - \log\sum_j e^{x_j}",
        derivative_formula="J = I - 1 s^T (s = softmax(x)); J v = v - <s, v>",
        derivative_latex=r"\frac{\partial f_i}{\partial x_j} = \delta_{ij} - s_j",
        properties=Properties(True, True, False, True, False),
        use_cases=(
            "Output layer of a classifier trained with negative log-likelihood "
            "(torch.nn.NLLLoss): log-probabilities without forming tiny probabilities.",
        ),
        reference="Bridle 1990 (as softmax); the log-sum-exp form as in Goodfellow, Bengio & "
        "Courville 2016, 'Deep Learning', section 4.1.",
        torch=FrameworkRef(
            "torch.nn.LogSoftmax",
            defaults="dim=None",
            functional="torch.nn.functional.log_softmax",
            differences="No default axis in PyTorch: pass dim=-1.",
        ),
        keras=FrameworkRef(
            "keras.activations.log_softmax", defaults="axis=-1", functional="keras.ops.log_softmax"
        ),
        jax=FrameworkRef("jax.nn.log_softmax", defaults="axis=-1"),
        output_range=lambda _p: (-math.inf, 0.0),
        max_derivative=lambda _p: math.inf,
        notes=(
            "max_derivative is infinite: the spectral norm of I - 1 s^T grows like the "
            "square root of the axis length as s concentrates on one entry.",
        ),
    )
)


def _softmin(x: np.ndarray, axis: int, target: type | None = None) -> np.ndarray:
    return _softmax(-x, axis, target)


def _softmin_jvp(x: np.ndarray, v: np.ndarray, axis: int, target: type | None = None) -> np.ndarray:
    """softmin(x) = softmax(-x), so J_softmin(x) v = -J_softmax(-x) v."""
    return -_softmax_jvp(-x, v, axis, target)


register(
    Definition(
        name="softmin",
        title="Softmin",
        forward=_softmin,
        derivative=None,
        jvp=_softmin_jvp,
        vector=True,
        params=_axis_param("the weights sum to 1 over"),
        formula="f(x)_i = exp(-x_i) / sum_j exp(-x_j) = softmax(-x)_i",
        latex=r"f(x)_i = \frac{e^{-x_i}}{\sum_j e^{-x_j}}",
        derivative_formula="J = -(diag(s) - s s^T), s = softmin(x)",
        derivative_latex=r"\frac{\partial f_i}{\partial x_j} = -s_i(\delta_{ij} - s_j)",
        properties=Properties(False, True, False, True, True),
        use_cases=(
            "Weights that favour the smallest values: soft nearest-neighbour or soft "
            "assignment by distance (weights exp(-d_i) / sum exp(-d_j)).",
        ),
        reference="Bridle 1990 (softmax of the negated inputs); Goldberger et al. 2004, "
        "'Neighbourhood Components Analysis'.",
        torch=FrameworkRef(
            "torch.nn.Softmin",
            defaults="dim=None",
            functional="torch.nn.functional.softmin",
            differences="No default axis in PyTorch: pass dim=-1.",
        ),
        keras=FrameworkRef("", differences="Not in Keras; softmax(-x)."),
        output_range=lambda _p: (0.0, 1.0),
        max_derivative=lambda _p: 0.5,
        notes=("Monotonically decreasing in each input's own value: not monotonic.",),
    )
)


def _sparsemax(x: np.ndarray, axis: int, target: type | None = None) -> np.ndarray:
    """p = max(x - tau, 0): sort descending, k = the largest j with
    1 + j z_(j) > sum_{i <= j} z_(i), tau = (sum_{i <= k} z_(i) - 1) / k (Martins &
    Astudillo 2016, algorithm 1), x_i - tau computed as (k x_i - sum_{i <= k} z_(i) + 1) / k."""
    return simplex.run("sparsemax", simplex.sparsemax_fast, x, None, axis, target=target)


def _sparsemax_jvp(
    x: np.ndarray, v: np.ndarray, axis: int, target: type | None = None
) -> np.ndarray:
    """J v = m * (v - sum(m * v) / sum(m)), m the support indicator: J = diag(m) -
    m m^T / |S|, the projection onto the support's zero-sum directions."""
    return simplex.run("sparsemax_jvp", simplex.sparsemax_jvp_fast, x, v, axis, target=target)


register(
    Definition(
        name="sparsemax",
        title="Sparsemax",
        forward=_sparsemax,
        derivative=None,
        jvp=_sparsemax_jvp,
        vector=True,
        params=_axis_param("the probabilities sum to 1 over"),
        formula="f(x) = argmin_p ||p - x||^2 over the probability simplex "
        "= max(x - tau, 0), tau such that the outputs sum to 1",
        latex=r"f(x) = \operatorname*{argmin}_{p \in \Delta} \lVert p - x \rVert^2 "
        r"= [x - \tau]_+",
        derivative_formula="J = diag(m) - m m^T / |S| (m: 1 on the support S); "
        "J v = m * (v - mean_S(v))",
        derivative_latex=r"J = \operatorname{diag}(m) - \frac{m m^\top}{|S|}",
        properties=Properties(True, False, False, True, True),
        use_cases=(
            "Sparse attention and multi-label outputs: like softmax, but small logits get "
            "exactly zero probability.",
        ),
        reference="Martins & Astudillo 2016, 'From Softmax to Sparsemax: A Sparse Model of "
        "Attention and Multi-Label Classification' (arXiv:1602.02068).",
        torch=FrameworkRef("", differences="Not in torch.nn."),
        keras=FrameworkRef(
            "keras.activations.sparsemax", defaults="axis=-1", functional="keras.ops.sparsemax"
        ),
        output_range=lambda _p: (0.0, 1.0),
        notes=(
            "Outputs are exact zeros outside the support; inside it, x_i - tau is computed "
            "as (k x_i - sum of the top k + 1) / k, within 1 ulp even where it cancels.",
            "max_derivative is 1: the Jacobian is an orthogonal projection.",
        ),
    )
)
