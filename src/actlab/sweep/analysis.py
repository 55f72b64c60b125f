"""Across-grid analysis: per-dataset winners, an aggregate ranking across datasets with a
Friedman test and the Nemenyi critical difference, and the metric against depth.

Scores. For dataset ``i`` and activation ``j`` the score ``s_ij`` is the mean test metric
(accuracy, or R^2 for regression, or bits per character for next-character prediction)
over the dataset's model shapes and the seeds. Ranks and tests use it oriented so that
higher is better (:func:`oriented_scores`: bits per character negated), so datasets of
either direction mix. Diverged candidates count as missing; an activation with no finite
score on a dataset ranks last there.

Ranks. Within each dataset the activations are ranked by score, 1 = best, ties sharing
the average of their ranks; ``R_j`` is activation ``j``'s mean rank over the ``N``
datasets (Demsar 2006, the form of the multi-dataset comparison in Klambauer et al. 2017).

Friedman test. ``chi2_F = 12N / (k(k+1)) * (sum_j R_j^2 - k(k+1)^2 / 4)`` with ``k - 1``
degrees of freedom (scipy's ``friedmanchisquare``, which also corrects for ties). It needs
``k >= 3`` activations and ``N >= 2`` datasets; otherwise no p-value is given and the
analysis says why.

Critical difference. Two activations differ (Nemenyi post-hoc test, level ``alpha``)
when their average ranks differ by more than ``CD = q_alpha * sqrt(k(k+1) / (6N))`` with
``q_alpha = studentized_range.ppf(1 - alpha, k, inf) / sqrt(2)``.

Pairwise tests beside it. Whether ``a`` beats ``b`` by mean ranks can change when *other*
activations join or leave the pool, since their ranks shift both (Benavoli, Corani and
Mangili, JMLR 17, 2016). So every pair is also compared on its own scores: a two-sided
Wilcoxon signed-rank test over the datasets where both have a score (exact, zero
differences split between the signs, :func:`signed_rank_p`),
Holm-adjusted over all ``k (k - 1) / 2`` pairs. With ``N`` datasets its smallest possible
p-value is ``2 / 2^N``: fewer than 6 datasets can never show a difference at 0.05, and the
report says so. A Nemenyi verdict *depends on the pool* when removing one other activation
(any one of them) changes it (different or not, or which is better).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from scipy import stats

from actlab.analysis import Verdict
from actlab.analysis.stats import MetricScale
from actlab.comparison.result import CompareResult
from actlab.sweep.grid import Group

MIN_ACTIVATIONS_FOR_FRIEDMAN = 3
MIN_DATASETS_FOR_FRIEDMAN = 2


def average_ranks(scores: np.ndarray) -> np.ndarray:
    """Mean rank of each column of ``scores`` (rows: datasets, higher score is better).

    Rank 1 is the best in a row; ties get the mean of their ranks; NaN ranks last.
    """
    scores = np.asarray(scores, dtype=float)
    if scores.ndim != 2 or scores.shape[0] < 1 or scores.shape[1] < 1:
        raise ValueError(f"scores must be a non-empty 2-D array, got shape {scores.shape}")
    filled = np.where(np.isnan(scores), -np.inf, scores)
    ranks = np.vstack([stats.rankdata(-row) for row in filled])
    return ranks.mean(axis=0)


def friedman(scores: np.ndarray) -> tuple[float, float]:
    """Friedman chi-square statistic and p-value over the rows (datasets) of ``scores``.

    Raises ``ValueError`` unless there are at least 3 activations and 2 datasets.
    """
    scores = np.asarray(scores, dtype=float)
    n, k = scores.shape
    if k < MIN_ACTIVATIONS_FOR_FRIEDMAN or n < MIN_DATASETS_FOR_FRIEDMAN:
        raise ValueError(
            f"the Friedman test needs >= {MIN_ACTIVATIONS_FOR_FRIEDMAN} activations and "
            f">= {MIN_DATASETS_FOR_FRIEDMAN} datasets, got {k} and {n}"
        )
    filled = np.where(np.isnan(scores), -np.inf, scores)
    ranks = np.vstack([stats.rankdata(-row) for row in filled])
    if np.all(ranks == ranks[:, :1]):
        return 0.0, 1.0  # every activation tied on every dataset: no evidence of a difference
    result = stats.friedmanchisquare(*ranks.T)
    return float(result.statistic), float(result.pvalue)


@lru_cache(maxsize=256)
def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of average ranks for ``k`` activations on ``n`` datasets
    (cached: scipy's studentized range quantile integrates numerically)."""
    if k < 2 or n < 1 or not 0 < alpha < 1:
        raise ValueError(
            f"critical difference needs k >= 2, n >= 1, 0 < alpha < 1; got {k, n, alpha}"
        )
    q = stats.studentized_range.ppf(1 - alpha, k, math.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6 * n)))


def cliques(ranks: Sequence[float], cd: float) -> list[tuple[int, int]]:
    """Maximal runs ``(first, last)`` of the sorted ``ranks`` whose spread is below ``cd``
    (activations not significantly different; the bars of a CD diagram)."""
    order = sorted(ranks)
    runs: list[tuple[int, int]] = []
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and order[j + 1] - order[i] < cd:
            j += 1
        if j > i and not (runs and runs[-1][1] >= j):
            runs.append((i, j))
    return runs


@dataclass(frozen=True)
class ShapeWinner:
    """The leader of one group (on validation), the activations equivalent to it within
    the margin, and those its verdicts do not resolve (:mod:`actlab.analysis.verdicts`)."""

    shape: str
    winner: str
    equivalent: list[str]
    unresolved: list[str]
    seeds: int


@dataclass(frozen=True)
class DatasetSummary:
    """One dataset: the winner of each shape and the activations' mean test scores."""

    dataset: str
    metric: str
    shapes: list[ShapeWinner]
    scores: dict[str, float]


@dataclass(frozen=True)
class PairVerdict:
    """Two activations across datasets: the Wilcoxon signed-rank verdict (their own
    scores only) beside the Nemenyi one (mean ranks in the pool)."""

    a: str
    b: str
    datasets: int
    """Datasets where both have a finite score."""
    wilcoxon_p: float | None
    wilcoxon_p_adjusted: float | None
    wilcoxon: str
    """``a``, ``b`` (the better one, significantly after Holm) or ``""`` (not shown)."""
    nemenyi: str
    """Same, by the critical difference of mean ranks."""
    pool_dependent: bool
    pool_note: str
    """Which removal of another activation changes the Nemenyi verdict, in words."""


@dataclass(frozen=True)
class AggregateRanking:
    """Average ranks across datasets (best first), Friedman test and critical difference."""

    activations: list[str]
    average_ranks: list[float]
    n_datasets: int
    alpha: float
    friedman_statistic: float | None
    friedman_p: float | None
    friedman_note: str
    critical_difference: float | None
    cliques: list[tuple[int, int]] = field(default_factory=list)
    pairs: list[PairVerdict] = field(default_factory=list)
    wilcoxon_note: str = ""


@dataclass(frozen=True)
class SweepAnalysis:
    datasets: list[DatasetSummary]
    aggregate: AggregateRanking
    metric_by_depth: dict[str, dict[str, dict[int, float]]]
    """dataset -> activation -> depth -> mean test metric (over widths and seeds)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def aggregate(
    activations: Sequence[str], scores: np.ndarray, alpha: float = 0.05
) -> AggregateRanking:
    """Average ranks, Friedman test and CD for ``scores`` (rows: datasets)."""
    ranks = average_ranks(scores)
    order = sorted(range(len(activations)), key=lambda j: (ranks[j], activations[j]))
    n, k = np.asarray(scores).shape
    try:
        statistic, p = friedman(scores)
        note = f"Friedman test over {n} datasets and {k} activations"
    except ValueError as exc:
        statistic, p, note = None, None, str(exc)
    cd = critical_difference(k, n, alpha) if k >= 2 else None
    sorted_ranks = [float(ranks[j]) for j in order]
    names = [activations[j] for j in order]
    pairs = pairwise(names, np.asarray(scores, dtype=float)[:, order], alpha)
    smallest = 2.0 / 2**n
    wilcoxon_note = (
        f"Wilcoxon signed-rank over {n} datasets, Holm-adjusted over {len(pairs)} pairs"
        + (
            f"; with {n} datasets its smallest possible p-value is {smallest:.3g}, so no "
            "pair can be shown different: add datasets"
            if smallest > alpha
            else ""
        )
    )
    return AggregateRanking(
        activations=[activations[j] for j in order],
        average_ranks=sorted_ranks,
        n_datasets=n,
        alpha=alpha,
        friedman_statistic=statistic,
        friedman_p=p,
        friedman_note=note,
        critical_difference=cd,
        cliques=cliques(sorted_ranks, cd) if cd is not None else [],
        pairs=pairs,
        wilcoxon_note=wilcoxon_note,
    )


def _nemenyi(scores: np.ndarray, i: int, j: int, names: Sequence[str], alpha: float) -> str:
    """The better of columns ``i`` and ``j`` by the critical difference, or ``""``."""
    n, k = scores.shape
    ranks = average_ranks(scores)
    cd = critical_difference(k, n, alpha)
    if ranks[i] - ranks[j] > cd:
        return names[j]
    if ranks[j] - ranks[i] > cd:
        return names[i]
    return ""


EXACT_SIGNED_RANK_LIMIT = 20
"""Up to this many non-zero differences the signed-rank p-value is exact (all ``2^n``
sign patterns); beyond it, scipy's normal approximation with its tie correction."""


def signed_rank_p(diff: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences, zeros split between
    the signs (``zsplit``), ties given mid-ranks. Exact, conditional on the ranks: the
    statistic ``T+`` (sum of the ranks of positive differences) under every equally likely
    sign pattern of the non-zero ones; ``p = min(1, 2 min(P(T+ <= t), P(T+ >= t)))``.
    scipy computes the same by a generic permutation test, seconds per call."""
    diff = np.asarray(diff, dtype=float)
    if np.all(diff == 0):
        return 1.0
    ranks = stats.rankdata(np.abs(diff))
    nonzero = diff != 0
    if nonzero.sum() > EXACT_SIGNED_RANK_LIMIT:
        return float(stats.wilcoxon(diff, zero_method="zsplit", method="approx").pvalue)
    r = ranks[nonzero]
    t = float(r[diff[nonzero] > 0].sum())
    signs = (np.arange(2**r.size)[:, None] >> np.arange(r.size)) & 1
    null = signs @ r
    eps = 1e-9 * r.sum()
    lower, upper = np.mean(null <= t + eps), np.mean(null >= t - eps)
    return float(min(1.0, 2 * min(lower, upper)))


def _wilcoxon_p(x: np.ndarray, y: np.ndarray) -> float | None:
    """Two-sided Wilcoxon signed-rank p-value of paired ``x``, ``y`` (finite pairs only)."""
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 1:
        return None
    return signed_rank_p(x[keep] - y[keep])


def holm(p: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values: sorted ascending, ``p_(j)`` times ``m - j + 1``,
    then a running maximum, capped at 1."""
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.empty(m)
    running = 0.0
    for step, index in enumerate(order):
        running = max(running, min(1.0, (m - step) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()


def pairwise(
    activations: Sequence[str], scores: np.ndarray, alpha: float = 0.05
) -> list[PairVerdict]:
    """Every pair's Wilcoxon (Holm) and Nemenyi verdicts, and whether the Nemenyi one
    depends on the pool (``scores``: rows datasets, columns ``activations``)."""
    n, k = scores.shape
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    raw = [_wilcoxon_p(scores[:, i], scores[:, j]) for i, j in pairs]
    tested = [p for p in raw if p is not None]
    adjusted = iter(holm(tested)) if tested else iter(())
    out = []
    for (i, j), p in zip(pairs, raw, strict=True):
        a, b = activations[i], activations[j]
        p_adj = next(adjusted) if p is not None else None
        both = np.isfinite(scores[:, i]) & np.isfinite(scores[:, j])
        better = ""
        if p_adj is not None and p_adj < alpha:
            better = a if np.median(scores[both, i] - scores[both, j]) > 0 else b
        nemenyi = _nemenyi(scores, i, j, activations, alpha) if k >= 2 and n >= 1 else ""
        changes = []
        for c in range(k):
            if c in (i, j) or k - 1 < 2:
                continue
            keep = [x for x in range(k) if x != c]
            names = [activations[x] for x in keep]
            if _nemenyi(scores[:, keep], keep.index(i), keep.index(j), names, alpha) != nemenyi:
                changes.append(activations[c])
        note = ""
        if changes:
            without = " or ".join(changes)
            note = f"removing {without} changes the Nemenyi verdict"
        out.append(
            PairVerdict(a, b, int(both.sum()), p, p_adj, better, nemenyi, bool(changes), note)
        )
    return out


def analyze(
    groups: Sequence[Group], results: Mapping[str, CompareResult], alpha: float = 0.05
) -> SweepAnalysis:
    """Analyse finished groups; ``results`` maps each group key to its compare result."""
    by_dataset: dict[str, list[Group]] = defaultdict(list)
    for g in groups:
        by_dataset[g.dataset].append(g)
    activations = list(groups[0].config.activations) if groups else []
    summaries, by_depth = [], {}
    for dataset, members in by_dataset.items():
        winners, per_act = [], defaultdict(list)
        depth_scores: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        metric = "accuracy"
        for g in members:
            result = results[g.key]
            metric = result.metric
            shape_name = result.group_names()[0]
            analysis = result.analyse(shape_name)
            ranking, verdicts = analysis.ranking, analysis.verdicts
            winners.append(
                ShapeWinner(
                    g.shape,
                    verdicts.leader or "",
                    [c.activation for c in verdicts.comparisons if c.verdict is Verdict.EQUIVALENT],
                    [c.activation for c in verdicts.unresolved],
                    verdicts.seeds,
                )
            )
            for row in ranking.rows:
                per_act[row.activation].append(row.test.mean)
                depth_scores[row.activation][g.depth].append(row.test.mean)
        scores = {a: _nanmean(per_act[a]) for a in activations}
        summaries.append(DatasetSummary(dataset, metric, winners, scores))
        by_depth[dataset] = {
            a: {d: _nanmean(v) for d, v in sorted(depth_scores[a].items())} for a in activations
        }
    matrix = oriented_scores(summaries, activations)
    agg = aggregate(activations, matrix, alpha) if summaries else _empty(alpha)
    return SweepAnalysis(summaries, agg, by_depth)


def oriented_scores(summaries: Sequence[DatasetSummary], activations: Sequence[str]) -> np.ndarray:
    """``[dataset, activation]`` mean test scores, each dataset's oriented by its metric
    (:meth:`~actlab.analysis.stats.MetricScale.oriented`) so that higher is better."""
    return np.array(
        [[MetricScale.of(s.metric).oriented(s.scores[a]) for a in activations] for s in summaries],
        dtype=float,
    ).reshape(len(summaries), len(activations))


def _empty(alpha: float) -> AggregateRanking:
    return AggregateRanking([], [], 0, alpha, None, None, "no finished groups", None)


def _nanmean(values: Sequence[float]) -> float:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan
