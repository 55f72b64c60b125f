"""The verdicts and the recommendation in words: the one place their prose is written.

The console, ``results.json``, the HTML report and notebooks render the same decisions
(:mod:`actlab.analysis.verdicts`, :mod:`actlab.analysis.recommend`) with these sentences.
"""

from __future__ import annotations

import math

from actlab import health
from actlab.analysis.ranking import Ranking
from actlab.analysis.recommend import BASELINE, MEANINGFUL_SPEEDUP, Recommendation, Rule
from actlab.analysis.sequential import SPENDING
from actlab.analysis.stats import (
    INTERVAL_METHOD,
    MIN_SEEDS_TO_CONCLUDE,
    SEEDS_LIMIT,
    MetricScale,
    Summary,
)
from actlab.analysis.verdicts import Comparison, Verdict, Verdicts


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def value(x: float) -> str:
    """A metric value."""
    return f"{x:.4f}" if math.isfinite(x) else "n/a"


def difference(x: float, metric: str, *, signed: bool = False, unit: bool = True) -> str:
    """A difference of metric values: in points (hundredths) for accuracy, with the
    metric's name for a lower-is-better one (bits per character)."""
    if not math.isfinite(x):
        return "n/a"
    sign = "+" if signed else ""
    if metric == "accuracy":
        return f"{100 * x:{sign}.2f}" + (" points" if unit else "")
    scale = MetricScale.of(metric)
    named = unit and not scale.higher_is_better
    return f"{x:{sign}.4f}" + (f" {scale.label}" if named else "")


def leader_rule(metric: str) -> str:
    """How the leader is chosen: ``highest mean validation accuracy``, ``lowest mean
    validation bits per character``."""
    scale = MetricScale.of(metric)
    return f"{scale.best} mean validation {scale.label}"


def unit(metric: str) -> str:
    """The unit of :func:`difference` without its word, for a column header."""
    return "points" if metric == "accuracy" else metric


def p_value(p: float) -> str:
    if not math.isfinite(p):
        return "n/a"
    return "<0.001" if p < 0.001 else f"{p:.2g}" if p < 0.1 else f"{p:.2f}"


def p_is(p: float) -> str:
    """``= 0.037`` or ``< 0.001``, after "p"."""
    text = p_value(p)
    return f"< {text[1:]}" if text.startswith("<") else f"= {text}"


def interval(lo: float, hi: float, metric: str, *, short: bool = False) -> str:
    """An interval of a difference, leader minus candidate; ``short``: ``(lo, hi)``
    without units."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return "n/a"
    a = difference(lo, metric, signed=True, unit=not short)
    b = difference(hi, metric, signed=True, unit=not short)
    return f"({a}, {b})" if short else f"{a} to {b}"


def summary(s: Summary, level: float, *, short: bool = False) -> str:
    """``mean (95% CI lo-hi)`` of a metric over seeds; ``short``: ``mean (lo-hi)``."""
    if not math.isfinite(s.mean):
        return "n/a"
    if not math.isfinite(s.ci_low):
        return f"{s.mean:.4f}"
    label = "" if short else f"{level:.0%} CI "
    return f"{s.mean:.4f} ({label}{s.ci_low:.4f}-{s.ci_high:.4f})"


def verdict_label(c: Comparison) -> str:
    """The verdict in a table cell."""
    if c.verdict is Verdict.NOT_CONCLUDED:
        return f"not concluded (n={c.paired_seeds})"
    return c.verdict.value


def adjusted_p(c: Comparison) -> str:
    """For a table cell: the test nearest to a verdict (the one the verdict came from, or
    the smaller adjusted p-value), raw and adjusted."""
    tests = [(t, name) for t, name in ((c.worse, "worse"), (c.equivalent, "equiv.")) if t]
    if not tests:
        return "-"
    if c.verdict is Verdict.EQUIVALENT:
        test, name = tests[1]
    elif c.verdict is Verdict.WORSE:
        test, name = tests[0]
    else:
        test, name = min(tests, key=lambda tn: tn[0].p_adjusted)
    return f"{name} {p_value(test.p)} / {p_value(test.p_adjusted)}"


def power_note(c: Comparison, v: Verdicts) -> str:
    """What the seeds could see, and what more seeds would likely show."""
    p = c.power
    if p is None:
        return ""
    metric = v.metric
    parts = []
    if math.isfinite(p.detectable):
        parts.append(
            f"with {plural(c.paired_seeds, 'seed')} a difference of "
            f"{difference(p.detectable, metric)} or more would be called worse with 80% power"
        )
    if p.resolves_as is not None:
        if p.seeds_needed is None:
            parts.append(
                f"the observed difference is so close to the margin that more than "
                f"{SEEDS_LIMIT:,} seeds would be needed to resolve it"
            )
        else:
            parts.append(
                f"about {p.seeds_needed} seeds would show it {p.resolves_as} "
                "(if the observed difference and spread are the true ones)"
            )
    return "; ".join(parts)


def comparison(c: Comparison, v: Verdicts) -> str:
    """One sentence on one candidate against the leader."""
    m = v.metric
    margin = difference(v.margin.value, m)
    diff = f"{difference(c.difference, m)} behind (95% CI {interval(c.ci_low, c.ci_high, m)})"
    if c.verdict is Verdict.LEADER:
        return f"{c.activation} leads."
    if c.verdict is Verdict.NO_RESULT:
        return f"{c.activation}: every seed diverged; nothing to compare."
    if c.verdict is Verdict.NOT_CONCLUDED:
        text = (
            f"{c.activation}: not concluded, only {plural(c.paired_seeds, 'seed')} pair it "
            f"with {v.leader} (a comparison needs {MIN_SEEDS_TO_CONCLUDE})"
        )
        note = power_note(c, v)
        return text + (f"; {note}." if note else ".")
    assert c.worse is not None and c.equivalent is not None
    if c.verdict is Verdict.WORSE:
        return (
            f"{c.activation} is worse than {v.leader} by more than the margin of {margin}: "
            f"{diff}, adjusted p {p_is(c.worse.p_adjusted)}."
        )
    if c.verdict is Verdict.EQUIVALENT:
        return (
            f"{c.activation} is equivalent to {v.leader} within +-{margin}: {diff}, "
            f"adjusted TOST p {p_is(c.equivalent.p_adjusted)}."
        )
    note = power_note(c, v)
    return (
        f"{c.activation} is not resolved against {v.leader}: {diff}, neither worse "
        f"beyond +-{margin} (adjusted p {p_is(c.worse.p_adjusted)}) nor within it "
        f"(adjusted p {p_is(c.equivalent.p_adjusted)})" + (f"; {note}." if note else ".")
    )


def _be(items: list[str]) -> str:
    return "is" if len(items) == 1 else "are"


def _names(items: list[str] | tuple[str, ...]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def headline(ranking: Ranking, v: Verdicts, rec: Recommendation) -> str:
    """The answer, in plain words: which activation, how sure, and what decided."""
    if rec.activation is None:
        return "No recommendation: every candidate diverged or produced no metric."
    chosen, leader = rec.activation, v.leader
    if v.seeds < MIN_SEEDS_TO_CONCLUDE:
        return (
            f"Use {chosen}, provisionally: with {plural(v.seeds, 'seed')} no difference can "
            f"be tested; run at least {MIN_SEEDS_TO_CONCLUDE}."
        )
    margin = difference(v.margin.value, v.metric)
    others = [c for c in v.comparisons if c.verdict is not Verdict.LEADER]
    if chosen == leader and all(c.verdict in (Verdict.WORSE, Verdict.NO_RESULT) for c in others):
        return f"Use {chosen}: every other activation is worse by more than {margin}."
    parts = []
    if chosen != leader:
        who = f"the leader {leader}"
        if leader == BASELINE:
            parts.append("the no-activation baseline (identity) leads")
            who = "it"
        relation = {
            Verdict.EQUIVALENT: f"equivalent to {who} within +-{margin}",
            Verdict.WORSE: f"behind {who} by more than {margin}",
            Verdict.NOT_RESOLVED: f"not resolved against {who}",
            Verdict.NOT_CONCLUDED: f"not concluded against {who} (too few paired seeds)",
        }[v.of(chosen).verdict]
        parts.append(f"{chosen} is {relation}")
    against = "it" if chosen == leader else leader
    open_ = [c.activation for c in v.unresolved if c.activation != chosen]
    if open_:
        parts.append(f"{_names(open_)} {_be(open_)} not resolved against {against}")
    equivalent = [
        c.activation
        for c in v.comparisons
        if c.verdict is Verdict.EQUIVALENT and c.activation != chosen
    ]
    if equivalent and chosen == leader:
        parts.append(f"{_names(equivalent)} {_be(equivalent)} equivalent to it within +-{margin}")
    text = f"Use {chosen}" + (", provisionally" if rec.provisional else "")
    if parts:
        text += ": " + "; ".join(parts)
    if rec.rule not in (Rule.METRIC, Rule.NONE):
        text += f"; chosen by {rec.rule.value}"
    return text + "."


def _rule_reason(ranking: Ranking, rec: Recommendation, v: Verdicts) -> str:
    pool = [a for a in rec.pool if a != BASELINE]
    if rec.rule is Rule.METRIC:
        if len(pool) == 1 and rec.activation == v.leader:
            return f"Recommended: {rec.activation}, the leader."
        return f"Recommended: {rec.activation}, the best-ranked non-linear activation."
    said = []
    for step in rec.steps:
        if step.rule is Rule.HEALTH:
            problems = {a: ", ".join(ranking.row(a).problems) for a in step.dropped}
            said.append(
                "healthier gradient flow than "
                + "; ".join(f"{a} ({p})" for a, p in problems.items())
            )
        elif step.rule is Rule.COST:
            cheapest = min(ranking.row(a).cost or math.inf for a in step.kept)
            dearer = [
                f"{a} ({(ranking.row(a).cost or math.nan) / cheapest:.2f}x)" for a in step.dropped
            ]
            said.append(
                f"a measured cost at least {MEANINGFUL_SPEEDUP:g}x below "
                + _names(dearer)
                + " (smaller differences are within the measurement's spread)"
            )
        elif step.rule is Rule.CATALOG:
            said.append(
                "the simpler or more conventional choice (catalog order, the article's "
                f"seven first) over {_names(step.dropped)}"
            )
    return (
        f"Recommended: {rec.activation}, among {_names(pool)} (the leader and those "
        f"equivalent to it), for " + "; then ".join(said) + f". Decided by: {rec.rule.value}."
    )


def reasons(ranking: Ranking, v: Verdicts, rec: Recommendation) -> list[str]:
    """The evidence, leader first, then each verdict, then the choice."""
    if v.leader is None:
        return ["Every candidate diverged or produced no metric."]
    leader = ranking.row(v.leader)
    rule = leader_rule(v.metric)
    scale = MetricScale.of(v.metric)
    lower = "" if scale.higher_is_better else " (lower is better)"
    out = [
        f"{rule[0].upper()}{rule[1:]}{lower}: {v.leader} {summary(leader.val, v.level)} over "
        f"{plural(leader.val.n, 'seed')}; test {value(leader.test.mean)}."
    ]
    out += [comparison(c, v) for c in v.comparisons if c.verdict is not Verdict.LEADER]
    if rec.activation is not None:
        out.append(_rule_reason(ranking, rec, v))
    if v.design.sequential:
        out.append(stopping(v))
    if rec.baseline_in_pool:
        out.append(
            "The no-activation baseline (identity) leads or is equivalent to the leader: on "
            "this data and model, non-linearity does not measurably help; a linear model "
            "may be enough, or the task needs more capacity or epochs to show the difference."
        )
    identity = next((r for r in ranking.rows if r.activation == BASELINE), None)
    if (
        identity is not None
        and identity.activation != v.leader
        and math.isfinite(identity.val.mean)
    ):
        gap = scale.oriented(leader.val.mean - identity.val.mean)
        worth = (
            f"{difference(gap, v.metric, signed=True)} in validation {v.metric}"
            if scale.higher_is_better
            else f"{difference(gap, v.metric, unit=False)} {scale.better} validation {scale.label}"
        )
        out.append(
            f"The no-activation baseline (identity) reaches {identity.val.mean:.4f}: "
            f"non-linearity is worth {worth} here."
        )
    return out


def _vanished(ratio: float) -> str:
    """How much smaller the first layer's gradient is than the last hidden layer's, from
    their :func:`actlab.health.gradient_ratio` (0 when it underflowed to exactly zero)."""
    if ratio == 0:
        return "first-layer gradient is exactly zero while its last hidden layer's is not"
    times = 1 / ratio
    shown = f"{times:.0f}" if times < 1e6 else f"{times:.2g}"
    return f"first-layer gradient is {shown}x smaller than its last hidden layer's"


def warnings(ranking: Ranking) -> list[str]:
    """Health problems, by :mod:`actlab.health`'s definitions."""
    out = []
    for row in ranking.rows:
        a = row.activation
        if row.diverged:
            out.append(f"{a} diverged in {row.diverged} of {row.seeds} seeds.")
        if health.is_vanishing(row.gradient_ratio):
            out.append(f"{a}'s {_vanished(row.gradient_ratio)} (vanishing gradient).")
        if health.is_exploding(row.gradient_ratio, row.max_grad_norm):
            out.append(
                f"{a}'s gradients explode (grow towards the input or exceed a norm of "
                f"{health.EXPLODING_NORM:g})."
            )
        if health.is_dead(row.dead_fraction):
            out.append(
                f"{a}: {row.dead_fraction:.0%} of the units in its worst layer are dead "
                "(never pass a gradient on the probe batch)."
            )
        if health.is_saturated(row.saturated_fraction):
            out.append(
                f"{a}: {row.saturated_fraction:.0%} of the units in its worst layer are saturated."
            )
    return out


def stopping(v: Verdicts) -> str:
    """``--seeds auto``: the looks made, what each left open, and why seeds stopped."""
    made = "; ".join(f"{look.seeds} seeds, {look.unresolved} unresolved" for look in v.looks)
    text = f"Seeds were added in batches (looks: {made or 'none yet'}). "
    if v.stopped == "resolved":
        return text + (
            f"Stopped at {plural(v.seeds, 'seed')} because every candidate is resolved "
            f"against {v.leader}."
        )
    if v.stopped == "budget":
        return text + (
            f"Stopped at {plural(v.seeds, 'seed')} because the budget (--max-seeds "
            f"{v.design.max_seeds}) was reached with {len(v.unresolved)} still unresolved."
        )
    upcoming = v.design.next_look(v.seeds)
    return text + (
        f"Not finished: the next look is due at {upcoming} seeds (a run that was "
        "interrupted continues with --resume)."
    )


def method(v: Verdicts) -> str:
    """How the verdicts were reached, for the report's method note."""
    margin = difference(v.margin.value, v.metric)
    adjustment = {"holm": "Holm's step-down", "bonferroni": "Bonferroni"}[v.adjustment]
    text = (
        f"Leader: {leader_rule(v.metric)} (selected on validation, test reported). "
        f"Verdicts compare each candidate with the leader, paired by seed (same seed = same "
        f"initial weights and batches), over {plural(v.seeds, 'seed')}. Worse: a one-sided "
        f"paired t-test shows the leader ahead by more than the margin of {margin} "
        f"({v.margin.rule}). Equivalent: two one-sided tests (TOST) show the difference "
        f"within +-{margin}. Not resolved: neither. Not concluded: fewer than "
        f"{MIN_SEEDS_TO_CONCLUDE} paired seeds. p-values are adjusted by {adjustment} over "
        f"every pair of candidates ({v.family_worse} ordered comparisons for worse, "
        f"{v.family_equivalent} pairs for equivalence), because the leader is picked by the "
        f"same data; the chance of any false 'worse', and of any false 'equivalent', is at "
        f"most {v.alpha:g}. Intervals: {v.level:.0%} {INTERVAL_METHOD}; the interval of a "
        f"difference is for that comparison alone."
    )
    if v.design.sequential:
        looks = ", ".join(map(str, v.design.looks))
        text += (
            f" Seeds were added in batches (looks planned at {looks} seeds, stopping at the "
            f"first look where every candidate is resolved) with {SPENDING} (Lan and DeMets "
            f"1983): each look tests against a boundary that spends only part of the level, "
            f"and Holm's procedure carries over the looks (Maurer and Bretz 2013), so the "
            f"repeated looks keep these error rates."
        )
    return text
