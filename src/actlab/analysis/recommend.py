"""Choose one activation from the verdicts, by a stated tie-break.

The *pool* is the leader and every candidate shown ``equivalent`` to it: the candidates no
verdict separates from the leader. A candidate ``not resolved`` (or ``not concluded``)
against the leader is not in it: its difference from the leader is not known to lie
within the margin, so a tie-break that picked it (by cost or catalog order) would ignore
a difference the seeds could not yet size; the recommendation is then *provisional* and
says which candidates are open. The no-activation baseline (``identity``) is set aside: a
stack of linear layers is one linear map, so it is a finding, never a recommendation.
Then, in order, until one candidate is left:

1. **healthier gradient flow**: keep the candidates with no health problem
   (:mod:`actlab.health`: diverged seeds, vanishing or exploding gradients, dead or
   saturated units), if some have none;
2. **measured cost**: keep those within :data:`MEANINGFUL_SPEEDUP` of the cheapest
   measured forward+backward time (smaller differences are within the measurement's
   run-to-run spread);
3. **catalog order**: the simpler or more conventional activation, the article's seven
   first (:func:`~actlab.analysis.ranking.catalog_key`).

The rule that left one candidate is the one that *decided*; ``metric`` when the verdicts
alone leave one.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from actlab.analysis.ranking import ActivationSummary, Ranking, catalog_key
from actlab.analysis.verdicts import Verdict, Verdicts

BASELINE = "identity"
MEANINGFUL_SPEEDUP = 1.25
"""A candidate is preferred for cost only when it is at least this much cheaper: smaller
differences are within the run-to-run spread of the cost measurement
(:func:`actlab.comparison.cost.activation_costs`, single-threaded CPU time): on the shared
2-core machine of BENCHMARKS.md under a load average of ~15, six runs gave leaky_relu
0.92-1.20x the cost of relu, while the differences that matter for the choice, the
exponentials (tanh, ELU, SELU, softplus) against the ReLU family, are 4-6x."""


class Rule(str, enum.Enum):
    """What decided the recommendation."""

    METRIC = "metric"
    HEALTH = "healthier gradient flow"
    COST = "measured cost"
    CATALOG = "catalog order"
    NONE = "no result"


@dataclass(frozen=True)
class Step:
    """One tie-break rule applied to the pool: who was left after it."""

    rule: Rule
    kept: tuple[str, ...]
    dropped: tuple[str, ...]


@dataclass(frozen=True)
class Recommendation:
    """The decision: which activation, the pool it was chosen from, and the rule that
    decided. The words are :mod:`actlab.analysis.words`'."""

    activation: str | None
    rule: Rule
    pool: tuple[str, ...]
    """The leader and the candidates equivalent to it, baseline included."""
    steps: tuple[Step, ...]
    baseline_in_pool: bool
    provisional: bool
    """True when some candidate is not resolved (or not concluded) against the leader."""

    def to_dict(self) -> dict[str, object]:
        return {
            "activation": self.activation,
            "rule": self.rule.value,
            "pool": list(self.pool),
            "steps": [
                {"rule": s.rule.value, "kept": list(s.kept), "dropped": list(s.dropped)}
                for s in self.steps
            ],
            "baseline_in_pool": self.baseline_in_pool,
            "provisional": self.provisional,
        }


def _healthy(rows: list[ActivationSummary]) -> list[ActivationSummary]:
    """The rows with no health problem (all rows when none or all have one)."""
    return [r for r in rows if r.healthy] or rows


def _first_in_catalog(rows: list[ActivationSummary]) -> list[ActivationSummary]:
    return [min(rows, key=lambda r: catalog_key(r.activation))]


def _cheap(rows: list[ActivationSummary]) -> list[ActivationSummary]:
    """The rows within :data:`MEANINGFUL_SPEEDUP` of the cheapest measured one (all rows
    when fewer than two are measured)."""
    costed = [r for r in rows if r.cost is not None and math.isfinite(r.cost) and r.cost > 0]
    if len(costed) < 2:
        return rows
    cheapest = min(r.cost for r in costed if r.cost is not None)
    return [r for r in costed if r.cost is not None and r.cost / cheapest < MEANINGFUL_SPEEDUP]


def recommend(ranking: Ranking, verdicts: Verdicts) -> Recommendation:
    """Apply the tie-break of the module docstring."""
    if verdicts.leader is None:
        return Recommendation(None, Rule.NONE, (), (), False, False)
    tied = (Verdict.LEADER, Verdict.EQUIVALENT)
    pool = [ranking.row(c.activation) for c in verdicts.comparisons if c.verdict in tied]
    names = tuple(r.activation for r in pool)
    baseline_in_pool = BASELINE in names
    candidates = [r for r in pool if r.activation != BASELINE]
    provisional = not verdicts.resolved
    if not candidates:  # only the baseline is left: the best-ranked non-linear activation
        others = [r for r in ranking.rows if r.activation != BASELINE and math.isfinite(r.val.mean)]
        if not others:
            return Recommendation(None, Rule.NONE, names, (), baseline_in_pool, provisional)
        return Recommendation(
            others[0].activation, Rule.METRIC, names, (), baseline_in_pool, provisional
        )
    steps: list[Step] = []
    rule = Rule.METRIC
    for candidate_rule, narrow in (
        (Rule.HEALTH, _healthy),
        (Rule.COST, _cheap),
        (Rule.CATALOG, _first_in_catalog),
    ):
        if len(candidates) == 1:
            break
        kept = narrow(candidates)
        if len(kept) < len(candidates):
            steps.append(
                Step(
                    candidate_rule,
                    tuple(r.activation for r in kept),
                    tuple(r.activation for r in candidates if r not in kept),
                )
            )
            rule = candidate_rule
        candidates = kept
    return Recommendation(
        candidates[0].activation, rule, names, tuple(steps), baseline_in_pool, provisional
    )
