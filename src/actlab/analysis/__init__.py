"""Statistics over seeds, verdicts, ranking and the recommendation.

:func:`analyse_group` computes one group's :class:`GroupAnalysis` once; every view renders it.
"""

from actlab.analysis.group import AnalysisSettings, GroupAnalysis, analyse_group
from actlab.analysis.ranking import ActivationSummary, Ranking, rank
from actlab.analysis.recommend import Recommendation, Rule, recommend
from actlab.analysis.sequential import Design
from actlab.analysis.stats import MetricScale, Summary, summarize
from actlab.analysis.verdicts import Comparison, Margin, Verdict, Verdicts, judge

__all__ = [
    "ActivationSummary",
    "AnalysisSettings",
    "Comparison",
    "Design",
    "GroupAnalysis",
    "Margin",
    "MetricScale",
    "Ranking",
    "Recommendation",
    "Rule",
    "Summary",
    "Verdict",
    "Verdicts",
    "analyse_group",
    "judge",
    "rank",
    "recommend",
    "summarize",
]
