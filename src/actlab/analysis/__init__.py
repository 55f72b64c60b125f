"""Statistics over seeds, ranking, and the recommendation."""

from actlab.analysis.ranking import ActivationSummary, Ranking, rank
from actlab.analysis.recommend import Recommendation, recommend
from actlab.analysis.stats import PairedTest, Summary, paired_test, summarize

__all__ = [
    "ActivationSummary",
    "PairedTest",
    "Ranking",
    "Recommendation",
    "Summary",
    "paired_test",
    "rank",
    "recommend",
    "summarize",
]
