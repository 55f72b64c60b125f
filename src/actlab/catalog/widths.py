"""How wide a gated activation's layers are: matched parameters or matched width.

A gated activation (``a * g(b)``) needs its layer to project to a value half and a gate
half: for ``w`` output units the layer has ``2w`` columns. ``match`` says how ``w``
relates to the plain width ``h`` the run asks for (``--hidden``):

* ``"width"``: ``w = h``: the same number of units out of every layer, and about 1.5x
  the parameters in a transformer FFN (``3 d h`` weights instead of ``2 d h``);
* ``"params"`` (the default): ``w = round(2 h / 3)`` (the nearest integer, at least 1), the
  hidden-width rule of LLaMA-style FFNs (Shazeer 2020; Touvron et al. 2023 take
  ``2/3 * 4d`` and round *up* to a multiple of 256, a rounding that suits widths in the
  thousands, not the tens). In an FFN block ``d -> h -> d`` the weights then match,
  ``3 d w = 2 d h``, to rounding; in an MLP whose neighbouring layers are also resized
  they match only roughly. Each candidate's widths and parameter count are recorded with
  its results, so the match can be read off.

Plain activations always get ``w = h``.
"""

from __future__ import annotations

from collections.abc import Sequence

from actlab.catalog.base import Activation

MATCHES = ("params", "width")
MATCH_RULES = {
    "params": "matched parameters: a gated layer's width is round(2/3 x) the plain width",
    "width": "matched width: a gated layer has the plain width (and projects to twice it)",
}
"""Each ``match`` rule in words, for the views that show candidates' widths."""


def gated_width(width: int) -> int:
    """``round(2 * width / 3)``, at least 1 (``2 h / 3`` is never a half: no tie)."""
    return max(1, (2 * int(width) + 1) // 3)


def candidate_widths(activation: Activation, widths: Sequence[int], match: str) -> tuple[int, ...]:
    """The output units per layer of a candidate using ``activation`` where a plain one
    gets ``widths`` (see the module docstring)."""
    if match not in MATCHES:
        raise ValueError(f"match={match!r} must be one of {MATCHES}")
    if activation.width_factor == 1 or match == "width":
        return tuple(int(w) for w in widths)
    return tuple(gated_width(w) for w in widths)


def check_shape(match: str, d_model: int, heads: int) -> None:
    """The layer-shape settings every config shares (the run's and the engine's): the
    gated-width rule ``match`` and the ffn model's ``d_model`` split over ``heads``
    attention heads. Raises ``ValueError`` naming the bad value."""
    problems = (
        (match not in MATCHES, "match", match, f"must be one of {MATCHES}"),
        (d_model < 1, "d_model", d_model, "must be >= 1"),
        (heads < 1, "heads", heads, "must be >= 1"),
        (
            heads >= 1 and d_model % heads != 0,
            "d_model",
            d_model,
            f"must be a multiple of heads={heads}",
        ),
    )
    for bad, name, value, problem in problems:
        if bad:
            raise ValueError(f"{name}={value!r} {problem}")
