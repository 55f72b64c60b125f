"""One group's analysis, computed once: ranking, verdicts and recommendation, with their
words. The console, ``results.json`` and the HTML report all render this object."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from actlab.analysis import words
from actlab.analysis.ranking import Ranking, rank
from actlab.analysis.recommend import Recommendation, recommend
from actlab.analysis.sequential import Design
from actlab.analysis.stats import MetricScale
from actlab.analysis.verdicts import ADJUSTMENTS, Adjustment, Margin, Verdicts, judge

if TYPE_CHECKING:
    from actlab.engine.results import CandidateResult


@dataclass(frozen=True)
class AnalysisSettings:
    """How verdicts are reached: the family-wise level, the practical margin (None: the
    default rule of :meth:`Margin.default`) and the multiplicity adjustment."""

    alpha: float = 0.05
    margin: float | None = None
    adjustment: Adjustment = "holm"

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 0.5:
            raise ValueError(f"alpha must be in (0, 0.5), got {self.alpha}")
        if self.margin is not None:
            Margin.given(self.margin)  # validates
        if self.adjustment not in ADJUSTMENTS:
            raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, got {self.adjustment!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GroupAnalysis:
    """Everything said about one group of candidates."""

    group: str
    settings: AnalysisSettings
    ranking: Ranking
    verdicts: Verdicts
    recommendation: Recommendation

    @property
    def headline(self) -> str:
        return words.headline(self.ranking, self.verdicts, self.recommendation)

    @property
    def reasons(self) -> list[str]:
        return words.reasons(self.ranking, self.verdicts, self.recommendation)

    @property
    def warnings(self) -> list[str]:
        return words.warnings(self.ranking)

    @property
    def method(self) -> str:
        return words.method(self.verdicts)

    def text(self) -> str:
        """The answer, the evidence and the warnings, one sentence a line."""
        warnings = [f"Warning: {w}" for w in self.warnings]
        return "\n".join([self.headline, *self.reasons, *warnings])

    def to_dict(self) -> dict[str, Any]:
        v = self.verdicts
        return {
            "ranking": self.ranking.to_dict(),
            "verdicts": {
                "metric": v.metric,
                "leader": v.leader,
                "margin": {"value": v.margin.value, "rule": v.margin.rule},
                "alpha": v.alpha,
                "level": v.level,
                "adjustment": v.adjustment,
                "design": v.design.to_dict(),
                "seeds": v.seeds,
                "family_worse": v.family_worse,
                "family_equivalent": v.family_equivalent,
                "resolved": v.resolved,
                "next_seeds": v.next_seeds,
                "looks": [asdict(look) for look in v.looks],
                "stopped": v.stopped,
                "comparisons": [_comparison_dict(c) for c in v.comparisons],
            },
            "recommendation": {
                **self.recommendation.to_dict(),
                "headline": self.headline,
                "reasons": self.reasons,
                "warnings": self.warnings,
            },
            "method": self.method,
        }


def _comparison_dict(c: Any) -> dict[str, Any]:
    out = asdict(c)
    out["verdict"] = c.verdict.value
    return out


def analyse_group(
    group: str,
    candidates: Sequence[CandidateResult],
    *,
    metric: str,
    n_val: int | None = None,
    n_eval: int | None = None,
    costs: Mapping[str, float] | None = None,
    settings: AnalysisSettings | None = None,
    design: Design | None = None,
) -> GroupAnalysis:
    """Rank ``candidates`` (one group's records), judge them and recommend one.

    ``n_val``: validation samples (the compared metric's resolution); ``n_eval``: the
    smaller evaluation split (the default margin). ``design``: the looks of ``--seeds
    auto`` (default: one look at all seeds); only seeds up to its last look due are used."""
    settings = settings or AnalysisSettings()
    scale = MetricScale.of(metric, n_val)
    seeds = sorted({c.seed for c in candidates})
    design = design or Design.fixed(max(len(seeds), 1), settings.alpha)
    due = design.looks_up_to(len(seeds))
    used = set(seeds[: due[-1]] if due else seeds)
    records = [c for c in candidates if c.seed in used]
    level = 1 - settings.alpha
    ranking = rank(records, metric=metric, scale=scale, costs=costs, level=level)
    margin = (
        Margin.given(settings.margin)
        if settings.margin is not None
        else Margin.default(scale, n_eval)
    )
    verdicts = judge(
        [r.activation for r in ranking.rows],
        ranking.scores(),
        scale=scale,
        margin=margin,
        design=design,
        adjustment=settings.adjustment,
    )
    return GroupAnalysis(group, settings, ranking, verdicts, recommend(ranking, verdicts))


__all__ = ["AnalysisSettings", "GroupAnalysis", "analyse_group"]
