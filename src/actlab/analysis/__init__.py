"""Statistics over seeds, verdicts, ranking and the recommendation.

:func:`analyse_group` computes one group's :class:`GroupAnalysis` once; every view renders it.

The names below are imported from their modules on first use (PEP 562): the compare path
imports :mod:`actlab.analysis.sequential` (the design) at start-up and the rest only when
the run is analysed, after training.
"""

from __future__ import annotations

from actlab._lazy import lazy_names

__getattr__, __all__ = lazy_names(
    __name__,
    {
        "AnalysisSettings": "group",
        "GroupAnalysis": "group",
        "analyse_group": "group",
        "ActivationSummary": "ranking",
        "Ranking": "ranking",
        "rank": "ranking",
        "Recommendation": "recommend",
        "Rule": "recommend",
        "Design": "sequential",
        "MetricScale": "stats",
        "Summary": "stats",
        "summarize": "stats",
        "Comparison": "verdicts",
        "Margin": "verdicts",
        "Verdict": "verdicts",
        "Verdicts": "verdicts",
        "judge": "verdicts",
    },
)
