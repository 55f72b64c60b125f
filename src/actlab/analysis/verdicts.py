"""Verdicts: every candidate against the leader, decided once, with a known error rate.

The *leader* is the candidate with the best mean validation metric (the highest, or the
lowest for a lower-is-better metric such as bits per character; among those with at least
3 finished seeds, when some have that many). Each other candidate gets one verdict from
the paired differences ``d_s = leader_s - candidate_s`` of the oriented metric
(:meth:`~actlab.analysis.stats.MetricScale.oriented`: ``candidate_s - leader_s`` for a
lower-is-better one), so ``d_s > 0`` always means the leader did better:

* ``worse``: the leader is better by more than the margin ``m``: the one-sided test of
  "``E[d] <= m``" rejects after the family-wise adjustment. (This implies both that the
  difference is significant and that it exceeds the margin.)
* ``equivalent``: the two one-sided tests (TOST) reject "``|E[d]| >= m``" after the
  adjustment: the difference lies within ``+-m``.
* ``not resolved``: neither.
* ``not concluded``: fewer than 3 seeds pair the two (nothing is tested).

Why every pair is in the family. The leader is chosen by the same data the tests use: when
all candidates are truly equal, the leader is simply the luckiest, and the leader-minus-
candidate differences are biased upwards. Adjusting only the ``K - 1`` comparisons with the
leader then calls some candidate ``worse`` far more often than the stated level (about 18%
instead of 5% with 8 candidates and 5 seeds, one-sided Holm; ``tests/test_verdict_calibration.py``
shows it). Every claim "``a`` is worse than ``b`` by more than ``m``" is therefore one
hypothesis of a family of all ``K (K - 1)`` ordered pairs, and every claim "``a`` and ``b``
are equivalent" one of all ``K (K - 1) / 2`` unordered pairs; only the leader's are reported,
the others pass their level on when rejected. Holm's step-down (default) or Bonferroni
adjusts within each family, so the probability of any false ``worse`` is at most ``alpha``,
and so is the probability of any false ``equivalent``, whatever the true differences.

Looks. A fixed run is one look. ``--seeds auto`` looks at several seed counts
(:class:`~actlab.analysis.sequential.Design`); each look's raw p-values are first mapped to
the local level whose alpha-spending boundary they cross, then adjusted as above; a
hypothesis rejected at any look stays rejected and passes its level on (Maurer and Bretz
2013). The verdicts stay calibrated however the looks stop. :func:`decide` is vectorised
over leading axes of ``scores``, so the calibration tests run the production procedure on
many simulated runs at once.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from actlab.analysis.sequential import Design, boundaries, local_levels, spent
from actlab.analysis.special import ndtr
from actlab.analysis.stats import (
    MIN_SEEDS_TO_CONCLUDE,
    MetricScale,
    detectable_difference,
    p_equivalent,
    p_worse,
    paired_differences,
    seeds_to_resolve,
    t_interval,
)

Adjustment = Literal["holm", "bonferroni"]
ADJUSTMENTS: tuple[str, ...] = ("holm", "bonferroni")
DEFAULT_MARGIN_POINTS = 0.005
"""Half a percentage point of accuracy (or 0.005 of R^2, or of bits per character)."""


class Verdict(str, enum.Enum):
    """A candidate's standing against the leader."""

    LEADER = "leader"
    WORSE = "worse"
    EQUIVALENT = "equivalent"
    NOT_RESOLVED = "not resolved"
    NOT_CONCLUDED = "not concluded"
    NO_RESULT = "no result"
    """Every seed diverged: nothing to compare."""


_CODES = tuple(Verdict)
_LEADER, _WORSE, _EQUIVALENT, _NOT_RESOLVED, _NOT_CONCLUDED, _NO_RESULT = range(6)
RESOLVED = (Verdict.WORSE, Verdict.EQUIVALENT, Verdict.NO_RESULT)


@dataclass(frozen=True)
class Margin:
    """The practical margin: differences within it do not matter."""

    value: float
    rule: str
    """How it was chosen, in words."""

    @classmethod
    def default(cls, scale: MetricScale, n_eval: int | None) -> Margin:
        """The larger of 0.5 points and one evaluation sample's worth of accuracy
        (``1 / n`` of the smaller of the validation and test sets); 0.005 for R^2 and for
        bits per character."""
        if scale.name == "accuracy" and n_eval:
            one = 1.0 / n_eval
            return cls(
                max(DEFAULT_MARGIN_POINTS, one),
                f"default: the larger of 0.5 points and one sample of the {n_eval}-sample "
                f"evaluation set (1/{n_eval} = {one:.4f})",
            )
        if not scale.higher_is_better:
            return cls(DEFAULT_MARGIN_POINTS, f"default: {DEFAULT_MARGIN_POINTS} {scale.label}")
        return cls(DEFAULT_MARGIN_POINTS, f"default: 0.5 points of {scale.name}")

    @classmethod
    def given(cls, value: float) -> Margin:
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"--margin must be a number >= 0, got {value}")
        return cls(float(value), "set with --margin")


@dataclass(frozen=True)
class Decisions:
    """The outcome of :func:`decide` at the last look each run made: arrays with the leading
    axes of ``scores``, and ``[..., K]`` for each candidate against that look's leader."""

    seeds: np.ndarray
    """Seed count of the last look made."""
    looks_made: np.ndarray
    leader: np.ndarray
    verdict: np.ndarray
    """Indices into :class:`Verdict`'s members."""
    paired: np.ndarray
    """Seeds pairing the candidate with the leader."""
    difference: np.ndarray
    """Mean of the leader's advantage over the candidate (oriented: leader minus candidate,
    or candidate minus leader where lower is better) over the paired seeds."""
    sd: np.ndarray
    """Spread of those differences (floored)."""
    p_worse: np.ndarray
    p_worse_adjusted: np.ndarray
    p_equivalent: np.ndarray
    p_equivalent_adjusted: np.ndarray
    decided_at: np.ndarray
    """Seed count of the look that gave a ``worse`` or ``equivalent`` verdict (0: none)."""
    family_worse: np.ndarray
    family_equivalent: np.ndarray
    any_worse_rejected: np.ndarray
    """Whether any hypothesis of the worse family was rejected at any look (the event whose
    probability the calibration tests bound when every candidate is equal)."""
    leader_at: np.ndarray
    """``[..., L]`` over the looks due: the leader at each look made (-1: not made)."""
    unresolved_at: np.ndarray
    """``[..., L]``: candidates not resolved against that look's leader (-1: not made)."""


@dataclass(frozen=True)
class _Pairs:
    """The two families over ``K`` candidates, flattened: ordered pairs ``(a, b)`` for
    "``a`` is better than ``b`` by more than the margin", unordered ``a < b`` for
    equivalence; ``worse_index[a, b]`` / ``equivalent_index[a, b]`` locate a pair."""

    ordered: tuple[np.ndarray, np.ndarray]
    unordered: tuple[np.ndarray, np.ndarray]
    worse_index: np.ndarray
    equivalent_index: np.ndarray

    @classmethod
    def of(cls, k: int) -> _Pairs:
        """With one candidate, each family holds one placeholder pair ``(0, 0)`` that is
        never a member (``a == b``), so the arrays keep a non-empty last axis."""
        a, b = np.nonzero(~np.eye(k, dtype=bool))
        lo, hi = np.triu_indices(k, 1)
        if k == 1:
            a = b = lo = hi = np.zeros(1, dtype=int)
        worse_index = np.zeros((k, k), dtype=int)
        worse_index[a, b] = np.arange(a.size)
        equivalent_index = np.zeros((k, k), dtype=int)
        equivalent_index[lo, hi] = equivalent_index[hi, lo] = np.arange(lo.size)
        return cls((a, b), (lo, hi), worse_index, equivalent_index)


def _adjust(local: np.ndarray, open_: np.ndarray, members: np.ndarray, adjustment: str):
    """Family-wise adjusted p-values ``[..., M]`` of the open hypotheses (NaN elsewhere).

    Holm: with ``u`` open hypotheses sorted by local level ``a_(1) <= ... <= a_(u)``,
    ``p~_(j) = max_{l <= j} min(1, (u - l + 1) a_(l))``. Bonferroni: ``min(1, M a)`` with
    ``M`` the family's testable hypotheses (a rejection passes nothing on)."""
    key = np.where(open_, local, np.inf)
    if adjustment == "bonferroni":
        m = members.sum(axis=-1, keepdims=True)
        return np.where(open_, np.minimum(1.0, m * key), np.nan)
    order = np.argsort(key, axis=-1, kind="stable")
    ranked = np.take_along_axis(key, order, axis=-1)
    u = open_.sum(axis=-1, keepdims=True)
    multiplier = np.maximum(u - np.arange(key.shape[-1]), 1)
    stepped = np.maximum.accumulate(np.minimum(1.0, multiplier * ranked), axis=-1)
    adjusted = np.empty_like(stepped)
    np.put_along_axis(adjusted, order, stepped, axis=-1)
    return np.where(open_, adjusted, np.nan)


def decide(
    scores: np.ndarray,
    *,
    margin: float,
    design: Design,
    sd_floor: float = 0.0,
    adjustment: Adjustment = "holm",
    higher_is_better: bool = True,
) -> Decisions:
    """Run the verdict procedure on ``scores`` shaped ``[..., K, S]`` (candidates x seeds in
    seed order; NaN: diverged); with ``higher_is_better`` false, on ``-scores`` (the leader
    has the lowest mean, differences are candidate minus leader). Looks at the design's seed counts up to ``S``; a run stops
    at the first look where every candidate is resolved. With no look due yet (``S`` below
    the first), nothing is tested and the verdicts are those of ``S`` seeds untested."""
    if adjustment not in ADJUSTMENTS:
        raise ValueError(f"adjustment must be one of {ADJUSTMENTS}, got {adjustment!r}")
    x = np.asarray(scores, dtype=float)
    if not higher_is_better:
        x = -x
    *lead_axes, k, s = x.shape
    lead = tuple(lead_axes)
    due = design.looks_up_to(s)
    pairs = _Pairs.of(k)
    (wa, wb), (ea, eb) = pairs.ordered, pairs.unordered
    rejected_w = np.zeros((*lead, wa.size), dtype=bool)
    rejected_e = np.zeros((*lead, ea.size), dtype=bool)
    at_w = np.zeros((*lead, wa.size), dtype=int)
    at_e = np.zeros((*lead, ea.size), dtype=int)
    pw, pw_adj = np.full((*lead, wa.size), np.nan), np.full((*lead, wa.size), np.nan)
    pe, pe_adj = np.full((*lead, ea.size), np.nan), np.full((*lead, ea.size), np.nan)
    running = np.ones(lead, dtype=bool)
    any_worse = np.zeros(lead, dtype=bool)
    leader_at = np.full((*lead, len(due)), -1)
    unresolved_at = np.full((*lead, len(due)), -1)
    out: dict[str, np.ndarray] = {}

    for index, n in enumerate(due or (s,)):
        prefix = x[..., :n]
        d = paired_differences(prefix, sd_floor)
        live = running[..., None]
        if due:
            step = (design.times, index, design.alpha, adjustment)
            mean_w, se_w = d.mean[..., wa, wb], d.se[..., wa, wb]
            n_w = d.n[..., wa, wb]
            members_w = (n_w >= MIN_SEEDS_TO_CONCLUDE) & (wa != wb)
            raw_w = np.where(members_w, p_worse(mean_w, se_w, n_w - 1, margin), np.nan)
            new_w, adj_w = _family_step(raw_w, rejected_w, members_w, *step)
            mean_e, se_e = d.mean[..., ea, eb], d.se[..., ea, eb]
            n_e = d.n[..., ea, eb]
            members_e = (n_e >= MIN_SEEDS_TO_CONCLUDE) & (ea != eb)
            raw_e = np.where(members_e, p_equivalent(mean_e, se_e, n_e - 1, margin), np.nan)
            new_e, adj_e = _family_step(raw_e, rejected_e, members_e, *step)
            new_w &= live
            new_e &= live
            # A rejected hypothesis keeps the p-values of the look that rejected it.
            pw = np.where(live & ~rejected_w, raw_w, pw)
            pw_adj = np.where(live & ~rejected_w, adj_w, pw_adj)
            pe = np.where(live & ~rejected_e, raw_e, pe)
            pe_adj = np.where(live & ~rejected_e, adj_e, pe_adj)
            at_w = np.where(new_w, n, at_w)
            at_e = np.where(new_e, n, at_e)
            rejected_w |= new_w
            rejected_e |= new_e
            any_worse |= new_w.any(axis=-1)
            family = {"family_worse": members_w.sum(-1), "family_equivalent": members_e.sum(-1)}
        else:
            family = {"family_worse": np.zeros(lead, int), "family_equivalent": np.zeros(lead, int)}

        leader = _leader(prefix)
        wi = pairs.worse_index[leader]  # [..., K]: (leader, candidate) in the worse family
        ei = pairs.equivalent_index[leader]

        verdict = _verdicts(
            prefix,
            _at(d.n, leader),
            leader,
            np.take_along_axis(rejected_w, wi, -1),
            np.take_along_axis(rejected_e, ei, -1),
        )
        now = {
            "seeds": np.full(lead, n),
            "looks_made": np.full(lead, index + 1 if due else 0),
            "leader": leader,
            "verdict": verdict,
            "paired": _at(d.n, leader),
            "difference": _at(d.mean, leader),
            "sd": _at(d.sd, leader),
            "p_worse": np.take_along_axis(pw, wi, -1),
            "p_worse_adjusted": np.take_along_axis(pw_adj, wi, -1),
            "p_equivalent": np.take_along_axis(pe, ei, -1),
            "p_equivalent_adjusted": np.take_along_axis(pe_adj, ei, -1),
            "decided_at": np.where(verdict == _WORSE, np.take_along_axis(at_w, wi, -1), 0)
            + np.where(verdict == _EQUIVALENT, np.take_along_axis(at_e, ei, -1), 0),
            **family,
        }
        for key, value in now.items():
            mask = running.reshape(running.shape + (1,) * (value.ndim - running.ndim))
            out[key] = np.where(mask, value, out[key]) if key in out else value
        open_now = (~np.isin(verdict, (_LEADER, _WORSE, _EQUIVALENT, _NO_RESULT))).sum(axis=-1)
        if due:
            leader_at[..., index] = np.where(running, leader, -1)
            unresolved_at[..., index] = np.where(running, open_now, -1)
        running = running & (open_now > 0)
    return Decisions(
        **out, any_worse_rejected=any_worse, leader_at=leader_at, unresolved_at=unresolved_at
    )


def _at(a: np.ndarray, leader: np.ndarray) -> np.ndarray:
    """The leader's row ``[..., K]`` of a ``[..., K, K]`` array."""
    return np.take_along_axis(a, leader[..., None, None], axis=-2)[..., 0, :]


def _family_step(
    raw: np.ndarray,
    rejected: np.ndarray,
    members: np.ndarray,
    times: tuple[float, ...],
    look: int,
    alpha: float,
    adjustment: str,
) -> tuple[np.ndarray, np.ndarray]:
    """One look of one family ``[..., M]``: which open hypotheses are rejected now, and the
    adjusted p-value of every open one."""
    local = local_levels(raw, times, look)
    open_ = members & ~rejected & np.isfinite(local)
    adjusted = _adjust(local, open_, members, adjustment)
    return open_ & (adjusted <= alpha), adjusted


def _leader(scores: np.ndarray) -> np.ndarray:
    """Index of the highest mean (of oriented scores) over finite seeds among the
    candidates with at least :data:`MIN_SEEDS_TO_CONCLUDE` of them (any with one, if none has that many); the first
    on ties, 0 if no candidate has a result. A candidate that diverged on all but two
    lucky seeds does not lead."""
    finite = np.isfinite(scores)
    count = finite.sum(axis=-1)
    total = np.where(finite, scores, 0.0).sum(axis=-1)
    means = np.where(count > 0, total / np.maximum(count, 1), -np.inf)
    enough = count >= MIN_SEEDS_TO_CONCLUDE
    eligible = np.where(enough.any(axis=-1, keepdims=True), enough, count > 0)
    return np.argmax(np.where(eligible, means, -np.inf), axis=-1)


def _verdicts(
    scores: np.ndarray,
    paired: np.ndarray,
    leader: np.ndarray,
    worse: np.ndarray,
    equivalent: np.ndarray,
) -> np.ndarray:
    """``[..., K]`` verdict codes of every candidate against ``leader``."""
    k = scores.shape[-2]
    out = np.full(paired.shape, _NOT_RESOLVED)
    out = np.where(equivalent, _EQUIVALENT, out)
    out = np.where(worse, _WORSE, out)
    out = np.where(paired < MIN_SEEDS_TO_CONCLUDE, _NOT_CONCLUDED, out)
    out = np.where(~np.isfinite(scores).any(axis=-1), _NO_RESULT, out)
    return np.where(np.arange(k) == leader[..., None], _LEADER, out)


@dataclass(frozen=True)
class PValues:
    """A raw p-value and its family-wise adjusted value."""

    p: float
    p_adjusted: float


@dataclass(frozen=True)
class PowerNote:
    """What the seeds could see, for a comparison they did not resolve."""

    detectable: float
    """The smallest true difference these seeds would call ``worse`` with 80% power."""
    resolves_as: str | None
    """The verdict more seeds would most likely give if the observed difference and spread
    are the true ones (``worse`` or ``equivalent``; None: cannot say)."""
    seeds_needed: int | None
    """Roughly how many seeds in all would give it with 80% power (None: more than
    :data:`~actlab.analysis.stats.SEEDS_LIMIT`, or cannot say)."""


@dataclass(frozen=True)
class Comparison:
    """One candidate against the leader, paired by seed. ``difference`` and its interval
    are the leader's advantage in the metric's units (leader minus candidate, or candidate
    minus leader for a lower-is-better metric): positive when the leader did better."""

    activation: str
    verdict: Verdict
    paired_seeds: int
    difference: float
    sd: float
    ci_low: float
    ci_high: float
    worse: PValues | None
    """One-sided test of "the leader is better by at most the margin"."""
    equivalent: PValues | None
    """TOST of "the difference is at least the margin in size"."""
    decided_at: int | None
    """Seed count of the look that gave a ``worse`` or ``equivalent`` verdict."""
    power: PowerNote | None


@dataclass(frozen=True)
class Look:
    """One look of the design that was made: how many seeds, the boundary it was judged
    against, and what was still open after it."""

    seeds: int
    leader: str
    unresolved: int
    """Candidates not resolved against ``leader`` after this look."""
    alpha_spent: float
    """Cumulative one-sided level spent by this look, :func:`~actlab.analysis.sequential.spent`
    at the look's information fraction."""
    z_boundary: float
    """The look's z-boundary for a single hypothesis at the family-wise ``alpha``
    (``inf``: nothing may be rejected here)."""
    nominal_level: float
    """``1 - Phi(z_boundary)``: the one-sided p-value a single hypothesis needs here."""
    strictest_level: float
    """The nominal level of Holm's first step in the worse family (local level
    ``alpha / family_worse``): what the most significant comparison needs here."""


Stop = Literal["resolved", "budget"]


@dataclass(frozen=True)
class Verdicts:
    """Every candidate's verdict against the leader, and how they were reached."""

    metric: str
    leader: str | None
    margin: Margin
    alpha: float
    level: float
    """Confidence level of the displayed intervals (``1 - alpha``)."""
    adjustment: str
    design: Design
    seeds: int
    """Seeds at the look the verdicts come from."""
    family_worse: int
    family_equivalent: int
    comparisons: tuple[Comparison, ...]
    """In ranking order, the leader first."""
    next_seeds: int
    """Seeds to add before the next look (0: resolved, or the budget is spent)."""
    looks: tuple[Look, ...] = ()
    """The looks made, in order (one for a fixed run)."""

    @property
    def stopped(self) -> Stop | None:
        """Why a sequential run (``--seeds auto``) stopped adding seeds: every candidate
        resolved, or the budget reached; None for a fixed run, or while a look is due."""
        if not self.design.sequential:
            return None
        if self.resolved:
            return "resolved"
        return "budget" if self.seeds >= self.design.max_seeds else None

    def of(self, activation: str) -> Comparison:
        return next(c for c in self.comparisons if c.activation == activation)

    @property
    def unresolved(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if c.verdict not in (Verdict.LEADER, *RESOLVED))

    @property
    def resolved(self) -> bool:
        return not self.unresolved


def judge(
    activations: list[str],
    scores: np.ndarray,
    *,
    scale: MetricScale,
    margin: Margin,
    design: Design,
    adjustment: Adjustment = "holm",
) -> Verdicts:
    """The verdicts of ``activations`` (in ranking order) from their validation
    ``scores[activation, seed]`` (seed order; NaN: diverged)."""
    scores = np.asarray(scores, dtype=float).reshape(len(activations), -1)
    k, s = scores.shape
    d = decide(
        scores,
        margin=margin.value,
        design=design,
        sd_floor=scale.difference_sd_floor,
        adjustment=adjustment,
        higher_is_better=scale.higher_is_better,
    )
    seeds = int(d.seeds)
    family_w = int(d.family_worse) or k * (k - 1)
    family_e = int(d.family_equivalent) or k * (k - 1) // 2
    due = design.looks_up_to(s)
    look = len(due) - 1
    level_w = design.alpha / max(family_w, 1)
    level_now = float(ndtr(-boundaries(design.times, level_w)[look])) if due else level_w
    level = 1 - design.alpha
    comparisons = []
    for i, activation in enumerate(activations):
        verdict = _CODES[int(d.verdict[i])]
        n, diff, sd = int(d.paired[i]), float(d.difference[i]), float(d.sd[i])
        if verdict in (Verdict.LEADER, Verdict.NO_RESULT):
            comparisons.append(
                Comparison(
                    activation,
                    verdict,
                    n if verdict is Verdict.LEADER else 0,
                    math.nan,
                    math.nan,
                    math.nan,
                    math.nan,
                    None,
                    None,
                    None,
                    None,
                )
            )
            continue
        lo, hi = t_interval(diff, sd, n, level, scale, difference=True)
        tested = math.isfinite(float(d.p_worse[i]))
        power = None
        if verdict in (Verdict.NOT_RESOLVED, Verdict.NOT_CONCLUDED) and n >= 2:
            plan = seeds_to_resolve(
                diff, sd, margin.value, design.alpha / family_w, design.alpha / family_e
            )
            power = PowerNote(
                detectable_difference(n, sd, margin.value, level_now),
                plan[0] if plan else None,
                plan[1] if plan else None,
            )
        comparisons.append(
            Comparison(
                activation=activation,
                verdict=verdict,
                paired_seeds=n,
                difference=diff,
                sd=sd,
                ci_low=lo,
                ci_high=hi,
                worse=PValues(float(d.p_worse[i]), float(d.p_worse_adjusted[i]))
                if tested
                else None,
                equivalent=(
                    PValues(float(d.p_equivalent[i]), float(d.p_equivalent_adjusted[i]))
                    if tested
                    else None
                ),
                decided_at=int(d.decided_at[i]) or None,
                power=power,
            )
        )
    leader = int(d.leader)
    has_leader = bool(np.isfinite(scores[leader]).any())
    z = boundaries(design.times, design.alpha)
    z_first = boundaries(design.times, level_w)
    looks = tuple(
        Look(
            seeds=n,
            leader=activations[int(d.leader_at[i])],
            unresolved=int(d.unresolved_at[i]),
            alpha_spent=spent(design.times[i], design.alpha),
            z_boundary=z[i],
            nominal_level=float(ndtr(-z[i])),
            strictest_level=float(ndtr(-z_first[i])),
        )
        for i, n in enumerate(due)
        if d.leader_at[i] >= 0
    )
    resolved = all(c.verdict in (Verdict.LEADER, *RESOLVED) for c in comparisons)
    upcoming = design.next_look(seeds)
    return Verdicts(
        metric=scale.name,
        leader=activations[leader] if has_leader else None,
        margin=margin,
        alpha=design.alpha,
        level=level,
        adjustment=adjustment,
        design=design,
        seeds=seeds,
        family_worse=family_w,
        family_equivalent=family_e,
        comparisons=tuple(comparisons),
        next_seeds=0 if resolved or upcoming is None else upcoming - s,
        looks=looks,
    )
