"""Statistics over seeds, verdicts, ranking and the recommendation.

:func:`analyse_group` computes one group's :class:`GroupAnalysis` once; every view renders it.

The names below are imported from their modules on first use (PEP 562): the compare path
imports :mod:`actlab.analysis.sequential` (the design) at start-up and the rest only when
the run is analysed, after training.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "AnalysisSettings": "group",
    "GroupAnalysis": "group",
    "analyse_group": "group",
    "ActivationSummary": "ranking",
    "Ranking": "ranking",
    "rank": "ranking",
    "Recommendation": "recommend",
    "Rule": "recommend",
    "recommend": "recommend",
    "Design": "sequential",
    "MetricScale": "stats",
    "Summary": "stats",
    "summarize": "stats",
    "Comparison": "verdicts",
    "Margin": "verdicts",
    "Verdict": "verdicts",
    "Verdicts": "verdicts",
    "judge": "verdicts",
}
"""Name -> the module of this package that defines it."""


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = sorted(_LAZY)
