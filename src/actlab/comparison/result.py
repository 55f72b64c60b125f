"""The outcome of a comparison, as returned by :func:`actlab.compare` and stored in
``results.json``."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actlab.analysis import AnalysisSettings, GroupAnalysis, Ranking, Recommendation, analyse_group
from actlab.analysis.stats import BPC
from actlab.comparison.config import AutoSeeds
from actlab.engine.results import CandidateResult
from actlab.store.run_dir import READABLE_SCHEMAS, RESULTS_SCHEMA, json_safe


def metric_of(data: Any, task: str | None) -> str:
    """The metric a run on ``data`` (its name or spec) ranks by: ``bpc`` (bits per
    character, lower is better) for next-character prediction on the text corpus, else
    ``r2`` for a regression and ``accuracy`` for a classification."""
    from actlab.data.text import is_text

    if is_text(data):
        return BPC
    return "r2" if task == "regression" else "accuracy"


@dataclass
class CompareResult:
    """Everything a comparison produced.

    ``candidates`` holds one :class:`~actlab.engine.CandidateResult` per activation x
    seed (x group), as the trainer returned it (``results.json`` stores them and
    :meth:`from_dict` reads them back as the same dataclasses). ``config``, ``data``,
    ``environment`` and ``costs`` describe the run. ``settings`` say how verdicts are
    reached (default: the run's ``--margin``); :meth:`analyse` computes a group's
    analysis once, with the run's looks when it ran ``--seeds auto`` (the group-sequential
    boundaries, not a fixed-seed analysis).
    """

    config: dict[str, Any]
    data: dict[str, Any]
    environment: dict[str, Any]
    candidates: list[CandidateResult]
    groups: dict[str, dict[str, Any]]
    costs: dict[str, dict[str, float]]
    path: Path | None = None
    settings: AnalysisSettings | None = None
    _analyses: dict[tuple[str, int, AnalysisSettings], GroupAnalysis] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def metric(self) -> str:
        """The ranked metric (:func:`metric_of` the data)."""
        return metric_of(self.data.get("name"), self.data.get("task", "classification"))

    def group_names(self) -> list[str]:
        return list(self.groups)

    def analyse(self, group: str | None = None) -> GroupAnalysis:
        """Ranking, verdicts and recommendation of one group (the first by default),
        computed once for the group's current candidates and settings."""
        name = group or self.group_names()[0]
        records = [c for c in self.candidates if c.group == name]
        settings = self.settings or AnalysisSettings(margin=self.config.get("margin"))
        key = (name, len(records), settings)
        if key not in self._analyses:
            auto = self.config.get("auto_seeds")
            splits = self.data.get("splits", {})
            sizes = [n for n in (splits.get("n_val"), splits.get("n_test")) if n]
            self._analyses[key] = analyse_group(
                name,
                records,
                metric=self.metric,
                n_val=splits.get("n_val"),
                n_eval=min(sizes) if sizes else None,
                costs={s: c["relative_to_relu"] for s, c in self.costs.items()},
                settings=settings,
                design=AutoSeeds(**auto).design(settings.alpha) if auto else None,
            )
        return self._analyses[key]

    def ranking(self, group: str | None = None) -> Ranking:
        return self.analyse(group).ranking

    def how_it_trained(self, group: str) -> str:
        """How a group's candidates trained, in words: together in one step (the engine's
        stacked model, or a user model under vmap) or one at a time and why; and where.
        Identical runs (seeds added in batches) are said once, with their count."""
        record = self.groups.get(group, {})
        parts = []
        for t in record.get("training", []):
            acts = t["activations"]
            seeds = t["candidates"] // max(len(acts), 1)
            what = f"{len(acts)} activation{'s' if len(acts) != 1 else ''} x {seeds} seeds"
            if t["kind"] == "one at a time":
                parts.append(f"{what} one at a time ({t['reason']})")
            else:
                via = "under torch.func.vmap" if t["kind"] == "vmap" else "stacked"
                loops = t.get("unbatched_ops") or []
                if loops:
                    via += f" (which loops over candidates in {', '.join(loops)})"
                parts.append(f"{what} together, {via}")
        counted = [p if n == 1 else f"{p}, {n} times" for p, n in Counter(parts).items()]
        where = record.get("device")
        return "; ".join(counted) + (f", on {where}" if where else "")

    def shapes(self, group: str) -> dict[str, tuple[list[int], int | None]]:
        """Each activation's layer widths and parameter count in ``group`` when they differ
        between activations (gated candidates resized by ``--match``); empty when every
        candidate has the same shape. The rule that sized them is
        ``actlab.catalog.widths.MATCH_RULES[config["match"]]``."""
        by_act: dict[str, tuple[list[int], int | None]] = {}
        weights: set[tuple[tuple[int, ...], int]] = set()
        for c in self.candidates:
            if c.group == group:
                by_act.setdefault(c.activation, (list(c.widths), c.parameters))
                # a learnable activation's own parameters (a few per layer) are no shape
                learned = sum(len(v) for v in c.learned.values())
                weights.add((tuple(c.widths), (c.parameters or 0) - learned))
        return by_act if len(weights) > 1 else {}

    def learned(self, group: str | None = None) -> dict[str, dict[str, float]]:
        """Per activation with learnable parameters, each parameter's learned value at the
        end, the mean over its candidates that did not diverge (of ``group``, or of every
        group) and over their layers: ``{"prelu": {"alpha": 0.19}}``."""
        values: dict[str, dict[str, list[float]]] = {}
        for c in self.candidates:
            if (group is None or c.group == group) and not c.diverged:
                for name, per_layer in c.learned.items():
                    finite = [v for v in per_layer if math.isfinite(v)]
                    values.setdefault(c.activation, {}).setdefault(name, []).extend(finite)
        return {
            act: {name: sum(v) / len(v) for name, v in params.items() if v}
            for act, params in values.items()
        }

    def recommendation(self, group: str | None = None) -> Recommendation:
        return self.analyse(group).recommendation

    def analysis(self) -> dict[str, Any]:
        """The ``analysis`` block of ``results.json``."""
        groups = {g: self.analyse(g) for g in self.group_names()}
        settings = next(iter(groups.values())).settings if groups else None
        return {
            "settings": settings.to_dict() if settings else None,
            "groups": {g: a.to_dict() for g, a in groups.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "data": self.data,
            "environment": self.environment,
            "groups": self.groups,
            "costs": self.costs,
            "candidates": [c.to_dict() for c in self.candidates],
            "analysis": self.analysis()
            if self.candidates
            else {"settings": self.settings.to_dict()},
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(json_safe(self.to_dict()), indent=indent, allow_nan=False)

    def summary(self) -> list[dict[str, Any]]:
        """One flat row per group x activation, ready for ``pandas.DataFrame(...)``: the
        ranked metric's columns are named after it (``test_bpc_mean`` on the text corpus,
        where ``test_accuracy_mean`` is added beside it); ``behind_leader`` is the leader's
        advantage (positive: the leader did better, whichever way the metric points)."""
        rows = []
        metric = self.metric
        for g in self.group_names():
            analysis = self.analyse(g)
            for r in analysis.ranking.rows:
                c = analysis.verdicts.of(r.activation)
                test = c.equivalent if c.verdict.value == "equivalent" else c.worse
                rows.append(
                    {
                        "group": g,
                        "activation": r.activation,
                        "rank": r.rank,
                        "seeds": r.seeds,
                        "diverged": r.diverged,
                        f"val_{metric}_mean": r.val.mean,
                        f"test_{metric}_mean": r.test.mean,
                        f"test_{metric}_std": r.test.std,
                        f"test_{metric}_ci_low": r.test.ci_low,
                        f"test_{metric}_ci_high": r.test.ci_high,
                        **(
                            {"test_accuracy_mean": r.test_accuracy.mean}
                            if r.test_accuracy is not None
                            else {}
                        ),
                        "verdict": c.verdict.value,
                        "behind_leader": c.difference,
                        "behind_ci_low": c.ci_low,
                        "behind_ci_high": c.ci_high,
                        "p": test.p if test else None,
                        "p_adjusted": test.p_adjusted if test else None,
                        "gradient_ratio": r.gradient_ratio,
                        "dead_fraction": r.dead_fraction,
                        "saturated_fraction": r.saturated_fraction,
                        "cost_relative_to_relu": r.cost,
                    }
                )
        return rows

    def to_pandas(self) -> Any:
        """:meth:`summary` as a ``pandas.DataFrame`` (pandas is optional: ``pip install pandas``)."""
        try:
            import pandas as pd
        except ImportError:
            raise ImportError(
                "to_pandas() needs pandas, which is not installed: pip install pandas"
            ) from None
        return pd.DataFrame(self.summary())

    def _repr_html_(self) -> str:
        """Jupyter: the recommendation, the ranking and the key figures."""
        from actlab.report.notebook import compare_html

        return compare_html(self)

    @classmethod
    def from_dict(
        cls,
        payload: dict[str, Any],
        path: Path | None = None,
        settings: AnalysisSettings | None = None,
    ) -> CompareResult:
        """Read ``payload`` (a ``results.json``). Schema 1 is read as well: only its
        stored analysis differs, and the analysis is always recomputed. ``settings``
        override the run's own (``actlab report --margin``)."""
        schema = payload.get("schema", RESULTS_SCHEMA)
        if schema not in READABLE_SCHEMAS:
            where = f"{path}/results.json" if path else "these results"
            raise ValueError(
                f"{where} has schema {schema!r}; this actlab reads "
                f"{', '.join(READABLE_SCHEMAS)} (a newer actlab wrote it: upgrade actlab)"
            )
        try:
            candidates = [CandidateResult.from_dict(c) for c in payload.get("candidates", [])]
        except (TypeError, ValueError) as exc:
            where = f"{path}/results.json" if path else "these results"
            raise ValueError(f"{where}: {exc}") from None
        return cls(
            config=payload["config"],
            data=payload.get("data", {}),
            environment=payload.get("environment", {}),
            candidates=candidates,
            groups=payload.get("groups", {}),
            costs=payload.get("costs", {}),
            path=path,
            settings=settings,
        )
