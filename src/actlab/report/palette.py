"""One colour per activation, the same in every figure of a run."""

from __future__ import annotations

from collections.abc import Sequence

# Tableau 10 followed by a darker set: distinguishable, colour-blind friendlier than defaults.
_COLOURS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    "#1f3b73", "#a64d00", "#7a1f2b", "#2f6f6a", "#2d5a27",
)  # fmt: skip


def colours(specs: Sequence[str]) -> dict[str, str]:
    """Map each spec (in the given order) to a colour; cycles past 15 entries."""
    return {spec: _COLOURS[i % len(_COLOURS)] for i, spec in enumerate(specs)}
