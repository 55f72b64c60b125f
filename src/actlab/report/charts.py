"""The figures of the reports, as data the page draws (``assets/report.js``, with uPlot).

A figure is a list of panels side by side; a panel is a dict made by :func:`lines`,
:func:`strip` or :func:`bars`, its series by :func:`series`. A series with a ``key``
belongs to that legend entry (an activation, a layer): the page's legend hides and shows
it in every figure. Across seeds a lines panel draws the mean with a band from the lowest
to the highest seed, and each seed on request; diverged candidates are left out of the
mean and marked with a cross where their last finite value lies.

The comparison's figures (one function per figure, taking a :class:`GroupData` and the
run-wide ``palette`` so that an activation has the same colour everywhere) follow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from actlab.analysis.ranking import validation_curve
from actlab.analysis.stats import BPC, MetricScale

if TYPE_CHECKING:
    from actlab.analysis import Ranking
    from actlab.catalog import Activation
    from actlab.engine.results import CandidateResult

Panel = dict[str, Any]
EPOCH_TIME_COLOUR = "#2b5fa8"
"""The stacked epoch's time belongs to no activation: the page's accent colour."""
FUNCTION_POINTS = 241
"""Points on [-6, 6] at which the report draws each activation and its derivative."""
METRIC = "metric"
"""The :meth:`GroupData.series` key of the ranked metric's validation curve."""


def _finite(values: Any) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]


def series(
    label: str,
    colour: str,
    *,
    key: str | None = None,
    seeds: Any = None,
    seed_names: Sequence[Any] | None = None,
    values: Any = None,
    lo: Any = None,
    hi: Any = None,
    diverged: Sequence[tuple[float, float]] = (),
    dash: bool = False,
    points: bool = False,
    width: float | None = None,
) -> dict[str, Any]:
    """A series of a lines panel: ``seeds`` (``[seed, x]``; mean, band and each seed are
    drawn) or ``values`` (one line, with a band when ``lo`` and ``hi`` are given)."""
    out: dict[str, Any] = {"label": label, "color": colour, "key": key}
    if seeds is not None:
        out["seeds"] = np.asarray(seeds, dtype=float)
        if seed_names is not None:
            out["seed_names"] = list(seed_names)
    else:
        out["values"] = np.asarray(values, dtype=float)
        if lo is not None and hi is not None:
            out["lo"], out["hi"] = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    if diverged:
        out["diverged"] = [list(p) for p in diverged]
    if dash:
        out["dash"] = True
    if points:
        out["points"] = True
    if width is not None:
        out["width"] = width
    return out


def _positive_only(s: dict[str, Any]) -> dict[str, Any]:
    """The series with its non-positive values dropped (a log axis cannot show them)."""
    out = dict(s)
    for name in ("seeds", "values", "lo", "hi"):
        if name in out:
            a = np.array(out[name], dtype=float)
            a[~(a > 0)] = np.nan
            out[name] = a
    if "diverged" in out:
        out["diverged"] = [p for p in out["diverged"] if p[1] > 0]
    return out


def _all_positive(items: Sequence[dict[str, Any]]) -> bool:
    values = np.concatenate(
        [
            _finite(np.ravel(s[name]))
            for s in items
            for name in ("seeds", "values")
            if name in s and np.size(s[name])
        ]
        or [np.array([])]
    )
    return bool(values.size) and bool(np.all(values > 0))


def lines(
    title: str,
    xlabel: str,
    ylabel: str,
    x: Sequence[float],
    items: Sequence[dict[str, Any]],
    *,
    log: bool | None = False,
    xlog: bool = False,
    ymin: float | None = None,
    ref: tuple[float, str] | None = None,
) -> Panel:
    """A panel of lines over ``x``. ``log=None``: a log y axis when every value is
    positive; ``ymin``: the y axis starts there; ``ref``: a dotted line at ``(y, label)``."""
    ylog = _all_positive(items) if log is None else bool(log)
    panel: Panel = {
        "kind": "lines",
        "xlabel": xlabel,
        "title": title + (" (log scale)" if ylog else ""),
        "ylabel": ylabel,
        "x": np.asarray(x, dtype=float),
        "xint": bool(np.all(np.mod(np.asarray(x, dtype=float), 1) == 0)),
        "series": [_positive_only(s) for s in items] if ylog else list(items),
        "ylog": ylog,
        "xlog": xlog,
    }
    if ymin is not None:
        panel["ymin"] = ymin
    if ref is not None:
        panel["ref"] = {"y": ref[0], "label": ref[1]}
    return panel


def strip(
    title: str, xlabel: str, ylabel: str, columns: Sequence[dict[str, Any]], interval: str
) -> Panel:
    """One column per entry of ``columns`` (``label``, ``color``, ``key``, ``points``: a
    list of ``(seed, value)``, ``mean``, ``lo``, ``hi``, ``lost``: seeds without a value):
    a dot per seed, the mean with its ``interval`` (e.g. "95% CI") beside them."""
    return {
        "kind": "strip",
        "title": title,
        "xlabel": xlabel,
        "ylabel": ylabel,
        "series": list(columns),
        "interval": interval,
    }


def bars(
    title: str,
    xlabel: str,
    ylabel: str,
    columns: Sequence[dict[str, Any]],
    *,
    ref: tuple[float, str] | None = None,
    unit: str = "",
) -> Panel:
    """One bar per entry of ``columns`` (``label``, ``color``, ``key``, ``value``)."""
    panel: Panel = {
        "kind": "bars",
        "title": title,
        "xlabel": xlabel,
        "ylabel": ylabel,
        "series": list(columns),
        "ymin": 0,
        "unit": unit,
    }
    if ref is not None:
        panel["ref"] = {"y": ref[0], "label": ref[1]}
    return panel


# --- the comparison's figures ------------------------------------------------------------


@dataclass(frozen=True)
class GroupData:
    """The candidates of one group, by activation, with helpers that return arrays.

    ``series(act, key)`` is ``[seed, epoch]``; ``layered(act, key)`` is
    ``[seed, epoch, layer]``; ragged histories (early stopping, divergence) are padded
    with NaN.
    """

    name: str
    metric: str
    depth: int
    activations: list[str]
    records: dict[str, list[CandidateResult]]

    @classmethod
    def build(
        cls,
        name: str,
        metric: str,
        candidates: Sequence[CandidateResult],
        depth: int,
        order: Sequence[str] = (),
    ) -> GroupData:
        """Gather ``name``'s candidates; activations follow ``order``, then first appearance."""
        records: dict[str, list[CandidateResult]] = {}
        for rec in candidates:
            if rec.group == name:
                records.setdefault(rec.activation, []).append(rec)
        for recs in records.values():
            recs.sort(key=lambda r: r.seed)
        ranked = [a for a in order if a in records] + [a for a in records if a not in order]
        return cls(name, metric, depth, ranked, records)

    def ok(self, act: str) -> list[CandidateResult]:
        return [r for r in self.records[act] if not r.diverged]

    def diverged(self) -> list[CandidateResult]:
        return [r for a in self.activations for r in self.records[a] if r.diverged]

    @property
    def epochs(self) -> int:
        return max(
            (len(r.history.get("val_metric", [])) for a in self.records for r in self.records[a]),
            default=0,
        )

    def series(self, act: str, key: str, *, ok_only: bool = False) -> np.ndarray:
        """``[seed, epoch]`` of a history entry; ``key`` :data:`METRIC` is the ranked
        metric's validation curve (:func:`actlab.analysis.ranking.validation_curve`: bits
        per character from the validation loss on the text corpus)."""
        recs = self.ok(act) if ok_only else self.records[act]
        out = np.full((len(recs), self.epochs), np.nan)
        for i, rec in enumerate(recs):
            values = (
                validation_curve(rec, self.metric) if key == METRIC else rec.history.get(key, [])
            )
            row = np.array(values, dtype=float)
            out[i, : row.size] = row
        return out

    def layered(self, act: str, key: str) -> np.ndarray:
        """``[ok seed, epoch, layer]`` of a per-layer history entry (diverged seeds left out)."""
        recs = self.ok(act)
        out = np.full((len(recs), self.epochs, self.depth), np.nan)
        for i, rec in enumerate(recs):
            per_epoch = rec.history.get(key, [])
            try:
                block = np.array(per_epoch, dtype=float)
            except ValueError:  # ragged: an epoch without values, or another depth
                block = np.empty((0, 0))
            if block.ndim == 2:
                width = min(self.depth, block.shape[1])
                out[i, : block.shape[0], :width] = block[:, :width]
                continue
            for e, layers in enumerate(per_epoch):
                if layers:
                    row = np.array(layers, dtype=float)[: self.depth]
                    out[i, e, : row.size] = row
        return out

    def final_layers(self, act: str, key: str) -> np.ndarray:
        """``[ok seed, layer]``: each seed's last epoch where every layer is finite."""
        cube = self.layered(act, key)
        rows = []
        for seed in cube:
            finite = np.where(np.all(np.isfinite(seed), axis=1))[0]
            if finite.size:
                rows.append(seed[finite[-1]])
        return np.array(rows) if rows else np.full((0, self.depth), np.nan)

    def seeds(self, act: str, *, ok_only: bool = True) -> list[int]:
        return [r.seed for r in (self.ok(act) if ok_only else self.records[act])]


def metric_label(metric: str) -> str:
    """The metric as an axis calls it (short: a y axis is only as long as the panel)."""
    if metric in ("accuracy", BPC):
        return MetricScale.of(metric).label
    return "R²"


def direction(metric: str) -> str:
    """`` (lower is better)`` for a lower-is-better metric, else nothing."""
    scale = MetricScale.of(metric)
    return "" if scale.higher_is_better else f" ({scale.better} is better)"


def _diverged_points(data: GroupData, act: str, key: str) -> list[tuple[float, float]]:
    """(epoch, value) of each diverged seed's last finite value of ``key``."""
    out = []
    for rec, values in zip(data.records[act], data.series(act, key), strict=True):
        if not rec.diverged:
            continue
        finite = np.where(np.isfinite(values))[0]
        if finite.size:
            out.append((float(finite[-1] + 1), float(values[finite[-1]])))
    return out


def curves_figure(data: GroupData, palette: Mapping[str, str]) -> list[Panel]:
    """Validation metric, validation loss and training loss over epochs (log scale for the
    losses when they are positive). Where the ranked metric is bits per character (the
    validation loss / ln 2, lower is better), its panel replaces the validation loss's,
    and validation accuracy is drawn beside it."""
    epochs = np.arange(1, data.epochs + 1)
    panels = []
    scale = MetricScale.of(data.metric)
    ranked = (
        METRIC,
        f"Validation {'metric' if scale.higher_is_better else scale.label} "
        f"({scale.better} is better)",
        metric_label(data.metric),
        False,
    )
    middle = (
        ("val_metric", "Validation accuracy (higher is better)", "accuracy", False)
        if data.metric == BPC
        else ("val_loss", "Validation loss", "validation loss", None)
    )
    for key, title, ylabel, log in (
        ranked,
        middle,
        ("train_loss", "Training loss", "training loss", None),
    ):
        items = [
            series(
                act,
                palette[act],
                key=act,
                seeds=data.series(act, key, ok_only=True),
                seed_names=data.seeds(act),
                diverged=_diverged_points(data, act, key),
            )
            for act in data.activations
        ]
        panels.append(lines(title, "epoch", ylabel, epochs, items, log=log))
    return panels


def strip_figure(data: GroupData, palette: Mapping[str, str], ranking: Ranking) -> list[Panel]:
    """Test metric of every seed per activation in ranking order, with the mean and its
    confidence interval; diverged seeds counted (crosses on the bottom edge)."""
    columns = []
    for row in ranking.rows:
        finite = [(s, v) for s, v in row.test_by_seed.items() if math.isfinite(v)]
        columns.append(
            {
                "label": row.activation,
                "key": row.activation,
                "color": palette[row.activation],
                "points": finite,
                "mean": row.test.mean,
                "lo": row.test.ci_low,
                "hi": row.test.ci_high,
                "lost": len(row.test_by_seed) - len(finite),
            }
        )
    return [
        strip(
            f"Test metric per seed ({ranking.n_seeds} seeds){direction(data.metric)}",
            "activation (ranked on validation metric, best left)",
            f"test {metric_label(data.metric)}",
            columns,
            f"{ranking.level:.0%} CI",
        )
    ]


def _layers(data: GroupData) -> np.ndarray:
    return np.arange(1, data.depth + 1)


def gradient_figure(data: GroupData, palette: Mapping[str, str]) -> list[Panel]:
    """Weight-gradient norm per hidden layer at the final epoch (layer 1 nearest the input)
    and, over epochs, the first hidden layer's norm (solid) against the last's (dashed).
    Log scale: a line falling towards layer 1 is a vanishing gradient."""
    per_layer, over_epochs = [], []
    for act in data.activations:
        per_layer.append(
            series(act, palette[act], key=act, seeds=data.final_layers(act, "grad_norm"))
        )
        cube = data.layered(act, "grad_norm")
        over_epochs.append(series(f"{act}, layer 1", palette[act], key=act, seeds=cube[:, :, 0]))
        if data.depth > 1:
            over_epochs.append(
                series(
                    f"{act}, layer {data.depth}",
                    palette[act],
                    key=act,
                    seeds=cube[:, :, -1],
                    dash=True,
                    width=1.4,
                )
            )
    ylabel = "gradient norm"
    return [
        lines(
            "Gradient norm per layer, final epoch",
            "hidden layer (1 = nearest the input)",
            ylabel,
            _layers(data),
            per_layer,
            log=None,
        ),
        lines(
            f"First (solid) vs last (dashed) hidden layer ({data.depth})",
            "epoch",
            ylabel,
            np.arange(1, data.epochs + 1),
            over_epochs,
            log=None,
        ),
    ]


def _per_layer_figure(
    data: GroupData,
    palette: Mapping[str, str],
    panels: Sequence[tuple[str, str, str]],
    *,
    percent: bool,
    ref: tuple[float, str] | None = None,
) -> list[Panel]:
    out = []
    scale = 100.0 if percent else 1.0
    for i, (key, ylabel, title) in enumerate(panels):
        items = [
            series(act, palette[act], key=act, seeds=data.final_layers(act, key) * scale)
            for act in data.activations
        ]
        out.append(
            lines(
                title,
                "hidden layer (1 = nearest the input)",
                ylabel,
                _layers(data),
                items,
                ymin=0.0 if percent else None,
                ref=ref if i == len(panels) - 1 else None,
            )
        )
    return out


def unit_health_figure(data: GroupData, palette: Mapping[str, str]) -> list[Panel]:
    """Dead units (never active on the probe batch) and saturated units per hidden layer
    at the final epoch, in percent of the layer's units."""
    return _per_layer_figure(
        data,
        palette,
        (
            ("dead_fraction", "dead units (%)", "Dead units per layer, final epoch"),
            (
                "saturated_fraction",
                "saturated units (%)",
                "Saturated units per layer, final epoch",
            ),
        ),
        percent=True,
    )


def activation_stats_figure(data: GroupData, palette: Mapping[str, str]) -> list[Panel]:
    """Mean and standard deviation of each hidden layer's outputs at the final epoch; a
    self-normalizing activation (SELU) keeps the std near 1 through the layers."""
    return _per_layer_figure(
        data,
        palette,
        (
            ("act_mean", "mean of layer outputs", "Activation mean per layer"),
            ("act_std", "std of layer outputs", "Activation std per layer (dotted: 1)"),
        ),
        percent=False,
        ref=(1.0, "std = 1"),
    )


def time_figure(
    data: GroupData, palette: Mapping[str, str], costs: Mapping[str, Mapping[str, Any]]
) -> list[Panel]:
    """Wall time of each stacked epoch, and the measured forward+backward cost of each
    activation alone relative to relu.

    All candidates of a group train together in one stacked model, so an epoch's time is
    shared by every activation; the per-activation comparison is the cost panel."""
    times = np.vstack([data.series(a, "epoch_time") for a in data.activations])
    with np.errstate(invalid="ignore"):
        per_epoch = np.nanmean(np.where(np.isfinite(times), times, np.nan), axis=0)
    epochs = np.arange(1, per_epoch.size + 1)
    columns = []
    for act in data.activations:
        rel = costs.get(act, {}).get("relative_to_relu")
        columns.append(
            {
                "label": act,
                "key": act,
                "color": palette[act],
                "value": float(rel) if rel is not None else None,
            }
        )
    return [
        lines(
            "Stacked epoch time (all candidates at once)",
            "epoch",
            "seconds per epoch (whole group)",
            epochs,
            [series("epoch time", EPOCH_TIME_COLOUR, values=per_epoch, points=True)],
            ymin=0.0,
        ),
        bars(
            "Measured activation cost (fwd + bwd)",
            "activation",
            "time relative to relu",
            columns,
            ref=(1.0, "relu"),
            unit="x",
        ),
    ]


def depth_figure(
    groups: Sequence[tuple[GroupData, Ranking]], palette: Mapping[str, str]
) -> list[Panel]:
    """Validation and test metric against depth (number of hidden layers) per activation,
    the mean with its confidence interval over seeds as a band."""
    ordered = sorted(groups, key=lambda g: g[0].depth)
    depths = [g.depth for g, _ in ordered]
    activations = list(dict.fromkeys(a for g, _ in ordered for a in g.activations))
    panels = []
    for which in ("validation", "test"):
        items = []
        for act in activations:
            rows = [next((r for r in rk.rows if r.activation == act), None) for _, rk in ordered]
            stats = [
                None if r is None else (r.val if which == "validation" else r.test) for r in rows
            ]
            items.append(
                series(
                    act,
                    palette[act],
                    key=act,
                    values=[math.nan if s is None else s.mean for s in stats],
                    lo=[math.nan if s is None else s.ci_low for s in stats],
                    hi=[math.nan if s is None else s.ci_high for s in stats],
                    points=True,
                )
            )
        panels.append(
            lines(
                f"{which.capitalize()} metric vs depth (mean, band: CI)"
                f"{direction(ordered[0][0].metric)}",
                "depth (number of hidden layers, log scale)",
                f"{which} {metric_label(ordered[0][0].metric)}",
                depths,
                items,
                xlog=True,
            )
        )
    return panels


def function_figure(acts: Sequence[Activation], palette: Mapping[str, str]) -> list[Panel]:
    """Each activation f(x) and its analytic derivative f'(x) on [-6, 6]. A vector
    activation (softmax) is drawn on the vector (x, 0), showing its first component
    (softmax([x, 0])_0 = sigmoid(x)); it has no derivative panel entry. A gated one,
    a * g(b), is drawn along its gate input b = x at a = 1, with df/db."""
    x = np.linspace(-6.0, 6.0, FUNCTION_POINTS)
    f, df = [], []
    for act in acts:
        colour = palette[act.spec]
        if act.is_gated:  # along the gate input, at value 1: the gate's own shape
            label = f"{act.spec}: 1 * {act.gate.spec}(x)"
            f.append(series(label, colour, key=act.spec, values=act.gated(1.0, x)))
            df.append(series(label, colour, key=act.spec, values=act.gated_partials(1.0, x)[1]))
            continue
        if act.is_vector:
            y = act(np.stack([x, np.zeros_like(x)], axis=-1))[..., 0]
            f.append(series(f"{act.spec} (component 0 of [x, 0])", colour, key=act.spec, values=y))
            continue
        f.append(series(act.spec, colour, key=act.spec, values=act(x)))
        df.append(series(act.spec, colour, key=act.spec, values=act.derivative(x)))
    return [
        lines("f(x)", "x (pre-activation)", "f(x)", x, f),
        lines("f'(x) (analytic derivative)", "x (pre-activation)", "f'(x)", x, df),
    ]
