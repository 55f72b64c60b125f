"""Rank activations: select on the validation metric, report the test metric.

Each candidate is a :class:`~actlab.engine.CandidateResult` (one activation x seed). The
validation score of a candidate is its validation metric after the last epoch it trained,
or at its best epoch if it stopped early (the engine restores those weights and tests
them); a diverged candidate has none. Activations are ordered by mean validation
score over their seeds, best first (highest, or lowest where lower is better:
:meth:`~actlab.analysis.stats.MetricScale.oriented`), equal means in catalog order
(:func:`catalog_key`); those with fewer than 3 finished seeds come after the others (when
some have 3), as they cannot lead.

The metric is the candidate's recorded one (``val_metric`` per epoch, ``test_metric``:
accuracy or R^2), except bits per character (``bpc``, next-character prediction), which is
read from the losses (``val_loss / ln 2`` per epoch, ``test_bpc``): :func:`validation_curve`
and :func:`test_value` are the one place that reads a candidate's metric.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from actlab import health
from actlab.analysis.stats import (
    BPC,
    MIN_SEEDS_TO_CONCLUDE,
    MetricScale,
    Summary,
    bits_per_character,
    summarize,
)
from actlab.catalog import SpecError, get
from actlab.catalog.registry import names

if TYPE_CHECKING:
    from actlab.engine.results import CandidateResult


def catalog_key(spec: str) -> tuple[int, int, str]:
    """Catalog order (the article's seven first), an activation at its default parameters
    before the same one with others; specs outside the catalog last."""
    order = names()
    try:
        act = get(spec)
    except SpecError:
        return (len(order), 0, spec)
    return (order.index(act.name), int(act.spec != act.name), act.spec)


def _last_finite(values: Sequence[float]) -> float:
    for v in reversed(values):
        if math.isfinite(v):
            return float(v)
    return math.nan


def validation_curve(rec: CandidateResult, metric: str) -> list[float]:
    """The candidate's validation ``metric`` per epoch (NaN after it was frozen)."""
    if metric == BPC:
        return [bits_per_character(v) for v in rec.history.get("val_loss", [])]
    return list(rec.history.get("val_metric", []))


def test_value(rec: CandidateResult, metric: str) -> float:
    """The candidate's test ``metric`` (NaN for a diverged one)."""
    if metric == BPC:
        return float(
            rec.test_bpc if rec.test_bpc is not None else bits_per_character(rec.test_loss)
        )
    return float(rec.test_metric)


def _selected_val(rec: CandidateResult, metric: str) -> float:
    """Validation metric of the weights the candidate ends with: its best epoch when it
    stopped early (those weights are restored), else its last trained epoch."""
    values = validation_curve(rec, metric)
    best = rec.best_epoch
    if rec.stopped_epoch is not None and best is not None and 1 <= best <= len(values):
        chosen = values[best - 1]
        if math.isfinite(chosen):
            return float(chosen)
    return _last_finite(values)


def _layer_values(history: Mapping[str, list[Any]], key: str) -> list[float]:
    """The per-layer values of the last epoch with no NaN (a frozen candidate's later
    epochs are NaN) for a per-layer history entry."""
    for layers in reversed(history.get(key, [])):
        if layers and not any(math.isnan(v) for v in layers):
            return [float(v) for v in layers]
    return []


@dataclass(frozen=True)
class ActivationSummary:
    """One activation's results over its seeds."""

    activation: str
    rank: int
    seeds: int
    diverged: int
    val: Summary
    test: Summary
    val_by_seed: dict[int, float]
    test_by_seed: dict[int, float]
    gradient_ratio: float = math.nan
    """First hidden layer's weight-gradient norm over the last one's (final epoch, mean
    over seeds; :func:`actlab.health.gradient_ratio`)."""
    max_grad_norm: float = math.nan
    """Largest weight-gradient norm of any layer and seed at the final epoch."""
    dead_fraction: float = math.nan
    """Largest per-layer dead-unit fraction at the final epoch, mean over seeds."""
    saturated_fraction: float = math.nan
    cost: float | None = None
    """Measured forward+backward time of the activation relative to relu (None: unmeasured)."""
    test_accuracy: Summary | None = None
    """Test accuracy over seeds when the ranked metric is another one of a classification
    (bits per character): a secondary column; None otherwise."""

    @property
    def problems(self) -> tuple[str, ...]:
        """Health problems by :mod:`actlab.health`'s definitions: ``diverged``,
        ``vanishing``, ``exploding``, ``dead``, ``saturated``."""
        found = {
            "diverged": self.diverged > 0,
            "vanishing": health.is_vanishing(self.gradient_ratio),
            "exploding": health.is_exploding(self.gradient_ratio, self.max_grad_norm),
            "dead": health.is_dead(self.dead_fraction),
            "saturated": health.is_saturated(self.saturated_fraction),
        }
        return tuple(k for k, v in found.items() if v)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "activation": self.activation,
            "rank": self.rank,
            "seeds": self.seeds,
            "diverged": self.diverged,
            "val": self.val.to_dict(),
            "test": self.test.to_dict(),
            "val_by_seed": self.val_by_seed,
            "test_by_seed": self.test_by_seed,
            "gradient_ratio": self.gradient_ratio,
            "max_grad_norm": self.max_grad_norm,
            "dead_fraction": self.dead_fraction,
            "saturated_fraction": self.saturated_fraction,
            "health_problems": list(self.problems),
            "cost": self.cost,
            **({"test_accuracy": self.test_accuracy.to_dict()} if self.test_accuracy else {}),
        }


@dataclass(frozen=True)
class Ranking:
    """Activations ordered by mean validation metric (best first)."""

    metric: str
    level: float
    rows: list[ActivationSummary] = field(default_factory=list)

    @property
    def scale(self) -> MetricScale:
        """The metric's range and direction (its resolution is not needed here)."""
        return MetricScale.of(self.metric)

    @property
    def best(self) -> ActivationSummary | None:
        return self.rows[0] if self.rows and math.isfinite(self.rows[0].val.mean) else None

    @property
    def n_seeds(self) -> int:
        return max((r.seeds for r in self.rows), default=0)

    def row(self, activation: str) -> ActivationSummary:
        return next(r for r in self.rows if r.activation == activation)

    def scores(self) -> np.ndarray:
        """Validation scores ``[activation, seed]`` in ranking and seed order (NaN: none)."""
        seeds = sorted({s for r in self.rows for s in r.val_by_seed})
        return np.array(
            [[r.val_by_seed.get(s, math.nan) for s in seeds] for r in self.rows], dtype=float
        ).reshape(len(self.rows), len(seeds))

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "level": self.level,
            "n_seeds": self.n_seeds,
            "rows": [r.to_dict() for r in self.rows],
        }


def _summarise_activation(
    spec: str,
    records: list[CandidateResult],
    cost: float | None,
    level: float,
    scale: MetricScale,
) -> ActivationSummary:
    val_by_seed: dict[int, float] = {}
    test_by_seed: dict[int, float] = {}
    accuracy_by_seed: dict[int, float] = {}
    ratios, norms, dead, saturated = [], [], [], []
    diverged = 0
    for rec in sorted(records, key=lambda r: r.seed):
        if rec.diverged:
            diverged += 1
            val_by_seed[rec.seed] = math.nan
            test_by_seed[rec.seed] = math.nan
            accuracy_by_seed[rec.seed] = math.nan
            continue
        val_by_seed[rec.seed] = _selected_val(rec, scale.name)
        test_by_seed[rec.seed] = test_value(rec, scale.name)
        accuracy_by_seed[rec.seed] = float(rec.test_metric)
        history = rec.history
        grads = _layer_values(history, "grad_norm")
        if len(grads) >= 2:
            ratio = health.gradient_ratio(grads[0], grads[-1])
            if math.isfinite(ratio):
                ratios.append(ratio)
        if grads:
            norms.append(max(grads))
        dead_layers = _layer_values(history, "dead_fraction")
        if dead_layers:
            dead.append(max(dead_layers))
        sat_layers = _layer_values(history, "saturated_fraction")
        if sat_layers:
            saturated.append(max(sat_layers))

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else math.nan

    return ActivationSummary(
        activation=spec,
        rank=0,
        seeds=len(records),
        diverged=diverged,
        val=summarize(list(val_by_seed.values()), level, scale),
        test=summarize(list(test_by_seed.values()), level, scale),
        val_by_seed=val_by_seed,
        test_by_seed=test_by_seed,
        gradient_ratio=mean(ratios),
        max_grad_norm=max(norms) if norms else math.nan,
        dead_fraction=mean(dead),
        saturated_fraction=mean(saturated),
        cost=cost,
        test_accuracy=(
            summarize(list(accuracy_by_seed.values()), level, MetricScale.of("accuracy"))
            if scale.name == BPC
            else None
        ),
    )


def rank(
    candidates: Sequence[CandidateResult],
    *,
    metric: str = "accuracy",
    scale: MetricScale | None = None,
    costs: Mapping[str, float] | None = None,
    level: float = 0.95,
) -> Ranking:
    """Summarise each activation over seeds and order them by mean validation metric."""
    scale = scale or MetricScale.of(metric)
    by_activation: dict[str, list[CandidateResult]] = defaultdict(list)
    for rec in candidates:
        by_activation[rec.activation].append(rec)
    rows = [
        _summarise_activation(spec, recs, (costs or {}).get(spec), level, scale)
        for spec, recs in by_activation.items()
    ]
    # The leader's rule (actlab.analysis.verdicts): too few finished seeds rank below.
    enough = any(r.val.n >= MIN_SEEDS_TO_CONCLUDE for r in rows)
    rows.sort(
        key=lambda r: (
            not math.isfinite(r.val.mean),
            enough and r.val.n < MIN_SEEDS_TO_CONCLUDE,
            -scale.oriented(r.val.mean) if math.isfinite(r.val.mean) else 0.0,
            catalog_key(r.activation),
        )
    )
    ranked = [ActivationSummary(**{**r.__dict__, "rank": i + 1}) for i, r in enumerate(rows)]
    return Ranking(metric, level, ranked)
