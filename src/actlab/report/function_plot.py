"""Plot activation functions (and their derivatives) over an interval."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from actlab.catalog import Activation
from actlab.report.palette import colours

GATE_VALUES = ((1.0, "-"), (2.0, "--"), (-1.0, ":"))
"""Values a (and line styles) at which a gated entry a * g(b) is drawn along its gate b."""


def function_figure(
    acts: Sequence[Activation],
    *,
    derivative: bool = False,
    xrange: tuple[float, float] = (-6.0, 6.0),
    points: int = 1201,
) -> Figure:
    """f(x) for each activation, and f'(x) in a second panel when ``derivative``.

    Vector activations (softmax) are drawn on the vector (x, 0), showing its first
    component: softmax([x, 0])_0 = sigmoid(x). A gated entry f(a, b) = a * g(b) is drawn
    along its gate input b = x at the values a = 1 (solid: the gate's own shape), 2
    (dashed) and -1 (dotted); its derivative panel shows df/db at the same a.
    """
    x = np.linspace(xrange[0], xrange[1], points)
    panels = 2 if derivative else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.0 * panels, 4.2), squeeze=False)
    palette = colours([a.spec for a in acts])
    for act in acts:
        colour = palette[act.spec]
        if act.is_gated:
            for a, style in GATE_VALUES:
                label = f"{act.spec}: {a:g} * {act.gate.spec}(x)"
                axes[0, 0].plot(x, act.gated(a, x), color=colour, linestyle=style,
                                label=label, linewidth=1.8)  # fmt: skip
                if derivative:
                    axes[0, 1].plot(x, act.gated_partials(a, x)[1], color=colour,
                                    linestyle=style, label=f"d/dx {label}", linewidth=1.8)  # fmt: skip
            continue
        if act.is_vector:
            pair = np.stack([x, np.zeros_like(x)], axis=-1)
            y = act(pair)[..., 0]
            label = f"{act.spec} (component 0 of [x, 0])"
        else:
            y = act(x)
            label = act.spec
        axes[0, 0].plot(x, y, color=colour, label=label, linewidth=1.8)
        if derivative and not act.is_vector:
            axes[0, 1].plot(x, act.derivative(x), color=colour, label=act.spec, linewidth=1.8)
    axes[0, 0].set_title("f(x)")
    axes[0, 0].set_ylabel("f(x)")
    if derivative:
        axes[0, 1].set_title("f'(x) (analytic derivative)")
        axes[0, 1].set_ylabel("f'(x)")
    gated = any(a.is_gated for a in acts)
    for ax in axes[0]:
        ax.set_xlabel("x (pre-activation; the gate input for a gated entry)" if gated
                      else "x (pre-activation)")  # fmt: skip
        ax.axhline(0, color="#888", linewidth=0.6)
        ax.axvline(0, color="#888", linewidth=0.6)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def save_function_plot(
    acts: Sequence[Activation],
    path: str | Path,
    *,
    derivative: bool = False,
    xrange: tuple[float, float] = (-6.0, 6.0),
) -> Path:
    """Write the figure to ``path``; the format follows the suffix (.png or .svg)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"plot output must end in .png or .svg, got {path.name!r}")
    fig = function_figure(acts, derivative=derivative, xrange=xrange)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
