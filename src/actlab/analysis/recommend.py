"""Turn a ranking into a recommendation, in sentences that cite the numbers.

The seed article's factors, in order: the metric first (validation, paired by seed); among
the activations statistically tied with the best, prefer healthy gradient flow (no
vanishing gradient, few dead or saturated units), then the lower measured compute cost,
counting cost differences under ``MEANINGFUL_SPEEDUP`` as none (among equally cheap
activations, the better-ranked one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from actlab.analysis.ranking import ActivationSummary, Ranking
from actlab.health import is_dead, is_saturated, is_vanishing

BASELINE = "identity"
MEANINGFUL_SPEEDUP = 1.25
"""A tied activation is preferred for cost only when it is at least this much cheaper:
smaller differences are within the run-to-run spread of the cost measurement
(:func:`actlab.comparison.cost.activation_costs`, fastest of 15 interleaved repeats): on
the shared 2-core machine of BENCHMARKS.md, five runs gave tanh 0.98-1.28x and
leaky_relu 0.95-1.10x the cost of relu, while the differences that matter for the
choice, ELU, SELU and softplus against the ReLU family, are about 2x."""


@dataclass(frozen=True)
class Recommendation:
    activation: str | None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def text(self) -> str:
        return " ".join([*self.reasons, *self.warnings])

    def to_dict(self) -> dict[str, object]:
        return {"activation": self.activation, "reasons": self.reasons, "warnings": self.warnings}


def _healthy(row: ActivationSummary) -> bool:
    sick = (
        is_vanishing(row.gradient_ratio)
        or is_dead(row.dead_fraction)
        or is_saturated(row.saturated_fraction)
    )
    return not sick and row.diverged == 0


def _fmt_metric(ranking: Ranking, row: ActivationSummary, which: str = "val") -> str:
    s = row.val if which == "val" else row.test
    if not math.isfinite(s.mean):
        return "n/a"
    if math.isfinite(s.half_width):
        return f"{s.mean:.4f} +- {s.half_width:.4f}"
    return f"{s.mean:.4f}"


def _health_warnings(rows: list[ActivationSummary]) -> list[str]:
    out = []
    for row in rows:
        if row.diverged:
            out.append(f"{row.activation} diverged in {row.diverged} of {row.seeds} seeds.")
        if is_vanishing(row.gradient_ratio):
            out.append(
                f"{row.activation}'s first-layer gradient is {1 / row.gradient_ratio:.0f}x "
                "smaller than its last hidden layer's (vanishing gradient)."
            )
        if is_dead(row.dead_fraction):
            out.append(
                f"{row.activation}: {row.dead_fraction:.0%} of the units in its worst layer "
                "are dead (never pass a gradient on the probe batch)."
            )
        if is_saturated(row.saturated_fraction):
            out.append(
                f"{row.activation}: {row.saturated_fraction:.0%} of the units in its worst "
                "layer are saturated."
            )
    return out


def recommend(ranking: Ranking) -> Recommendation:
    """Choose an activation and say why, citing the measured numbers."""
    finite = [r for r in ranking.rows if math.isfinite(r.val.mean)]
    if not finite:
        return Recommendation(
            None,
            ["Every candidate diverged or produced no metric."],
            _health_warnings(ranking.rows),
        )
    best = finite[0]
    metric = ranking.metric
    n = ranking.n_seeds
    level = f"{ranking.level:.0%}"
    reasons = [
        f"Highest mean validation {metric}: {best.activation} "
        f"{_fmt_metric(ranking, best)} ({level} CI over {n} seed{'s' if n != 1 else ''}; "
        f"test {_fmt_metric(ranking, best, 'test')})."
    ]
    if not ranking.conclusive:
        reasons.append(
            f"With {n} seed{'s' if n != 1 else ''} no difference can be called significant "
            f"(a paired comparison needs at least 3); run more seeds to conclude."
        )
        return Recommendation(best.activation, reasons, _health_warnings(ranking.rows))
    tied = [r for r in finite if r.tied_with_best and r is not best]
    unresolved = [
        r
        for r in finite
        if r is not best and r.versus_best is not None and not r.versus_best.conclusive
    ]
    alpha = 1 - ranking.level
    if tied:
        listed = ", ".join(
            f"{r.activation} (p={r.versus_best.p_value:.2g})" for r in tied if r.versus_best
        )
        reasons.append(
            f"Statistically tied with it ({ranking.method} on validation {metric}, paired by "
            f"seed, {n} seeds, p >= {alpha:.2g}): {listed}."
        )
    elif not unresolved:
        reasons.append(
            f"Every other activation is significantly worse ({ranking.method}, paired by "
            f"seed, {n} seeds, p < {alpha:.2g})."
        )
    if unresolved:
        reasons.append(
            "Not enough paired seeds (fewer than 3 where both finished) to compare with the "
            "best: "
            + ", ".join(
                f"{r.activation} ({r.versus_best.n} pairs)" for r in unresolved if r.versus_best
            )
            + "."
        )
    pool = [best, *tied]
    # identity is the no-non-linearity baseline, never a recommendation: a stack of linear
    # layers is one linear map. If it ties with the best, that is the finding.
    baseline_tied = any(r.activation == BASELINE for r in pool)
    pool = (
        [r for r in pool if r.activation != BASELINE]
        or [r for r in finite if r.activation != BASELINE][:1]
        or pool
    )
    if baseline_tied:
        reasons.append(
            "The no-activation baseline (identity) is statistically tied with the best: on "
            "this data and model, non-linearity does not measurably help; a linear model may "
            "be enough, or the task needs more capacity or epochs to show the difference."
        )
    healthy = [r for r in pool if _healthy(r)] or pool
    choice = healthy[0]
    costed = [r for r in healthy if r.cost is not None and math.isfinite(r.cost)]
    if costed and choice.cost is not None:
        cheapest = min(costed, key=lambda r: r.cost)
        if choice.cost / cheapest.cost >= MEANINGFUL_SPEEDUP:
            # Everything within timing noise of the cheapest is as cheap as it: of those,
            # the one ranked highest on the metric (costed keeps the ranking's order).
            choice = next(r for r in costed if r.cost / cheapest.cost < MEANINGFUL_SPEEDUP)
    if choice is not best and best.activation != BASELINE:
        why = []
        if best not in healthy:
            why.append(f"{best.activation} shows unhealthy training signals (see below)")
        if choice.cost is not None and best.cost is not None and choice.cost < best.cost:
            why.append(
                f"{choice.activation} is {best.cost / choice.cost:.2f}x cheaper per forward+"
                f"backward pass than {best.activation} (measured on this machine)"
            )
        reasons.append(
            f"Recommended: {choice.activation}, tied on the metric and preferred because "
            + "; ".join(why or ["it has healthier gradient flow"])
            + "."
        )
    elif choice is not best:
        reasons.append(f"Recommended: {choice.activation}, the best non-linear activation.")
    else:
        reasons.append(f"Recommended: {choice.activation}.")
    identity = next((r for r in ranking.rows if r.activation == "identity"), None)
    if identity is not None and identity is not best and math.isfinite(identity.val.mean):
        gap = best.val.mean - identity.val.mean
        reasons.append(
            f"The no-activation baseline (identity) reaches {identity.val.mean:.4f}: "
            f"non-linearity is worth {gap:+.4f} in validation {metric} here."
        )
    return Recommendation(choice.activation, reasons, _health_warnings(ranking.rows))
