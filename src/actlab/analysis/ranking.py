"""Rank activations: select on the validation metric, report the test metric.

Each candidate record (one activation x seed, as stored in ``results.json``) carries
``activation``, ``seed``, ``status``, ``test_metric`` and a ``history`` of per-epoch lists.
The validation score of a candidate is its validation metric after the last epoch it
trained, or at its best epoch if it stopped early (the engine restores those weights and
tests them); a diverged candidate has none.

"Tied with the best" means: the paired test (same seed = same initial weights and
batches) of the activation's validation scores against the best activation's does not
reject equality at the stated level. With fewer than 3 seeds nothing is concluded.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actlab.analysis.stats import (
    MIN_SEEDS_TO_CONCLUDE,
    Method,
    PairedTest,
    Summary,
    paired_test,
    summarize,
)


def _last_finite(values: Sequence[Any]) -> float:
    for v in reversed(list(values)):
        if v is not None and math.isfinite(v):
            return float(v)
    return math.nan


def _selected_val(rec: Mapping[str, Any], history: Mapping[str, Any]) -> float:
    """Validation metric of the weights the candidate ends with: its best epoch when it
    stopped early (those weights are restored), else its last trained epoch."""
    values = history.get("val_metric", [])
    best = rec.get("best_epoch")
    if rec.get("stopped_epoch") is not None and best is not None and 1 <= best <= len(values):
        chosen = values[best - 1]
        if chosen is not None and math.isfinite(chosen):
            return float(chosen)
    return _last_finite(values)


def _layer_values(history: Mapping[str, Any], key: str) -> list[float]:
    """The per-layer values of the last epoch for a per-layer history entry."""
    per_epoch = history.get(key) or []
    for layers in reversed(per_epoch):
        if layers and all(v is not None for v in layers):
            return [float(v) for v in layers]
    return []


@dataclass(frozen=True)
class ActivationSummary:
    """One activation's results over its seeds."""

    activation: str
    seeds: int
    diverged: int
    val: Summary
    test: Summary
    val_by_seed: dict[int, float]
    test_by_seed: dict[int, float]
    rank: int = 0
    tied_with_best: bool = False
    versus_best: PairedTest | None = None
    gradient_ratio: float = math.nan
    """First hidden layer's weight-gradient norm over the last one's (final epoch, mean
    over seeds). Far below 1: gradients vanish on the way to the input."""
    dead_fraction: float = math.nan
    """Largest per-layer dead-unit fraction at the final epoch, mean over seeds."""
    saturated_fraction: float = math.nan
    cost: float | None = None
    """Measured forward+backward time of the activation relative to relu (None: unmeasured)."""

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
            "tied_with_best": self.tied_with_best,
            "versus_best": self.versus_best.to_dict() if self.versus_best else None,
            "gradient_ratio": self.gradient_ratio,
            "dead_fraction": self.dead_fraction,
            "saturated_fraction": self.saturated_fraction,
            "cost": self.cost,
        }


@dataclass(frozen=True)
class Ranking:
    """Activations ordered by mean validation metric (best first)."""

    metric: str
    method: Method
    level: float
    rows: list[ActivationSummary] = field(default_factory=list)

    @property
    def best(self) -> ActivationSummary | None:
        return self.rows[0] if self.rows else None

    @property
    def n_seeds(self) -> int:
        return max((r.seeds for r in self.rows), default=0)

    @property
    def conclusive(self) -> bool:
        return self.n_seeds >= MIN_SEEDS_TO_CONCLUDE

    @property
    def tied(self) -> list[ActivationSummary]:
        return [r for r in self.rows if r.tied_with_best]

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "method": self.method,
            "level": self.level,
            "n_seeds": self.n_seeds,
            "conclusive": self.conclusive,
            "rows": [r.to_dict() for r in self.rows],
        }


def _summarise_activation(
    spec: str, records: list[Mapping[str, Any]], cost: float | None, level: float
) -> ActivationSummary:
    val_by_seed: dict[int, float] = {}
    test_by_seed: dict[int, float] = {}
    ratios, dead, saturated = [], [], []
    diverged = 0
    for rec in records:
        seed = int(rec["seed"])
        history = rec.get("history", {})
        if rec.get("status") == "diverged":
            diverged += 1
            val_by_seed[seed] = math.nan
            test_by_seed[seed] = math.nan
            continue
        val_by_seed[seed] = _selected_val(rec, history)
        test = rec.get("test_metric")
        test_by_seed[seed] = float(test) if test is not None else math.nan
        grads = _layer_values(history, "grad_norm")
        if len(grads) >= 2 and grads[-1] > 0:
            ratios.append(grads[0] / grads[-1])
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
        seeds=len(records),
        diverged=diverged,
        val=summarize(list(val_by_seed.values()), level),
        test=summarize(list(test_by_seed.values()), level),
        val_by_seed=val_by_seed,
        test_by_seed=test_by_seed,
        gradient_ratio=mean(ratios),
        dead_fraction=mean(dead),
        saturated_fraction=mean(saturated),
        cost=cost,
    )


def rank(
    candidates: Sequence[Mapping[str, Any]],
    *,
    metric: str = "accuracy",
    costs: Mapping[str, float] | None = None,
    method: Method = "paired t-test",
    level: float = 0.95,
) -> Ranking:
    """Summarise each activation over seeds, order by mean validation metric, and mark
    the activations statistically tied with the best (paired by seed)."""
    by_activation: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for rec in candidates:
        by_activation[rec["activation"]].append(rec)
    rows = [
        _summarise_activation(spec, recs, (costs or {}).get(spec), level)
        for spec, recs in by_activation.items()
    ]
    rows.sort(key=lambda r: (-r.val.mean if math.isfinite(r.val.mean) else math.inf, r.activation))
    if not rows:
        return Ranking(metric, method, level, [])
    best = rows[0]
    seeds = sorted(best.val_by_seed)
    ranked = []
    for i, row in enumerate(rows):
        if row is best:
            test = None
            tied = math.isfinite(row.val.mean)
        else:
            common = [s for s in seeds if s in row.val_by_seed]
            test = paired_test(
                [row.val_by_seed[s] for s in common],
                [best.val_by_seed[s] for s in common],
                method,
            )
            # Tied only when the paired test had enough seeds and did not reject equality.
            tied = test.conclusive and not (test.p_value < 1 - level)
        ranked.append(
            ActivationSummary(
                **{**row.__dict__, "rank": i + 1, "tied_with_best": tied, "versus_best": test}
            )
        )
    return Ranking(metric, method, level, ranked)
