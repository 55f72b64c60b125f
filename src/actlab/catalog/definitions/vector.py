"""Vector activations, applied over an axis: softmax."""

from __future__ import annotations

import numpy as np

from actlab.catalog.base import Definition, FrameworkRef, Param, Properties
from actlab.catalog.registry import register


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """s_i = exp(x_i - m) / sum_j exp(x_j - m), m = max_j x_j: no exp overflows and the
    largest term is exactly 1, so the sum is never 0."""
    z = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)


def _softmax_jvp(x: np.ndarray, v: np.ndarray, axis: int) -> np.ndarray:
    """J v = s * (v - sum(s * v)) along ``axis``, with J = diag(s) - s s^T."""
    s = _softmax(x, axis)
    return s * (v - np.sum(s * v, axis=axis, keepdims=True))


register(
    Definition(
        name="softmax",
        title="Softmax",
        forward=_softmax,
        derivative=None,
        jvp=_softmax_jvp,
        vector=True,
        params=(
            Param(
                "axis",
                -1,
                "the axis the probabilities sum to 1 over (default: the last)",
                kind=int,
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
            "implicitly, with a deprecation warning).",
        ),
        keras=FrameworkRef(
            "keras.layers.Softmax", defaults="axis=-1", functional="keras.activations.softmax"
        ),
        init="glorot",
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
