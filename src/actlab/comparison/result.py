"""The outcome of a comparison, as returned by :func:`actlab.compare` and stored in
``results.json``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actlab.analysis import Ranking, Recommendation, rank, recommend


@dataclass
class CompareResult:
    """Everything a comparison produced.

    ``candidates`` holds one record per activation x seed (x group): ``activation``
    (canonical spec), ``seed``, ``group``, ``init``, ``status`` (``ok`` | ``diverged``),
    ``diverged_epoch`` and ``diverged_step`` (1-based), ``stopped_epoch`` and
    ``best_epoch`` (early stopping), ``test_metric``, ``test_loss`` and ``history`` (per-epoch lists of
    every monitored value; per-layer values as lists of lists). ``config``, ``data``,
    ``environment`` and ``costs`` describe the run.
    """

    config: dict[str, Any]
    data: dict[str, Any]
    environment: dict[str, Any]
    candidates: list[dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    costs: dict[str, dict[str, float]]
    path: Path | None = None

    @property
    def metric(self) -> str:
        return "accuracy" if self.data.get("task", "classification") == "classification" else "r2"

    def group_names(self) -> list[str]:
        return list(self.groups)

    def ranking(self, group: str | None = None) -> Ranking:
        """Ranking of activations within one group (the first by default)."""
        name = group or self.group_names()[0]
        relative = {s: c["relative_to_relu"] for s, c in self.costs.items()}
        return rank(
            [c for c in self.candidates if c.get("group") == name],
            metric=self.metric,
            costs=relative,
        )

    def recommendation(self, group: str | None = None) -> Recommendation:
        return recommend(self.ranking(group))

    def analysis(self) -> dict[str, Any]:
        return {
            g: {
                "ranking": self.ranking(g).to_dict(),
                "recommendation": self.recommendation(g).to_dict(),
            }
            for g in self.group_names()
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "data": self.data,
            "environment": self.environment,
            "groups": self.groups,
            "costs": self.costs,
            "candidates": self.candidates,
            "analysis": self.analysis() if self.candidates else {},
        }

    def to_json(self, indent: int | None = 1) -> str:
        from actlab.store.run_dir import _json_safe

        return json.dumps(_json_safe(self.to_dict()), indent=indent, allow_nan=False)

    def summary(self) -> list[dict[str, Any]]:
        """One flat row per group x activation, ready for ``pandas.DataFrame(...)``."""
        rows = []
        for g in self.group_names():
            for r in self.ranking(g).rows:
                rows.append(
                    {
                        "group": g,
                        "activation": r.activation,
                        "rank": r.rank,
                        "seeds": r.seeds,
                        "diverged": r.diverged,
                        f"val_{self.metric}_mean": r.val.mean,
                        f"test_{self.metric}_mean": r.test.mean,
                        f"test_{self.metric}_std": r.test.std,
                        f"test_{self.metric}_ci_low": r.test.ci_low,
                        f"test_{self.metric}_ci_high": r.test.ci_high,
                        "tied_with_best": r.tied_with_best,
                        "p_vs_best": r.versus_best.p_value if r.versus_best else None,
                        "gradient_ratio": r.gradient_ratio,
                        "dead_fraction": r.dead_fraction,
                        "saturated_fraction": r.saturated_fraction,
                        "cost_relative_to_relu": r.cost,
                    }
                )
        return rows

    @classmethod
    def from_dict(cls, payload: dict[str, Any], path: Path | None = None) -> CompareResult:
        return cls(
            config=payload["config"],
            data=payload.get("data", {}),
            environment=payload.get("environment", {}),
            candidates=payload.get("candidates", []),
            groups=payload.get("groups", {}),
            costs=payload.get("costs", {}),
            path=path,
        )
