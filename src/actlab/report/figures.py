"""Matplotlib figures of a comparison, one function per figure.

Every figure takes a :class:`GroupData` (one model shape's candidates, gathered per
activation into arrays) and the run-wide ``palette`` (activation -> colour, from
:func:`actlab.report.palette.colours`) so an activation has the same colour everywhere.
Across seeds, curves show the mean with a band from the minimum to the maximum; diverged
candidates are left out of means and marked with a cross where they stopped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from actlab.analysis import Ranking, Summary

DIVERGED_COLOUR = "#b3261e"
_PANEL_W, _PANEL_H = 4.6, 3.5


def _nan_array(values: Any) -> np.ndarray:
    """A float array with ``None`` (how JSON stores a non-finite value) turned into NaN."""
    if values is None:
        return np.array([], dtype=float)
    return np.array(values, dtype=float)


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
    records: dict[str, list[dict[str, Any]]]

    @classmethod
    def build(
        cls,
        name: str,
        metric: str,
        candidates: Sequence[Mapping[str, Any]],
        depth: int,
        order: Sequence[str] = (),
    ) -> GroupData:
        """Gather ``name``'s candidates; activations follow ``order``, then first appearance."""
        records: dict[str, list[dict[str, Any]]] = {}
        for rec in candidates:
            if rec.get("group") == name:
                records.setdefault(rec["activation"], []).append(dict(rec))
        for recs in records.values():
            recs.sort(key=lambda r: r["seed"])
        ranked = [a for a in order if a in records] + [a for a in records if a not in order]
        return cls(name, metric, depth, ranked, records)

    def ok(self, act: str) -> list[dict[str, Any]]:
        return [r for r in self.records[act] if r.get("status") != "diverged"]

    def diverged(self) -> list[dict[str, Any]]:
        return [
            r for a in self.activations for r in self.records[a] if r.get("status") == "diverged"
        ]

    @property
    def epochs(self) -> int:
        return max(
            (
                len(r.get("history", {}).get("val_metric") or [])
                for a in self.records
                for r in self.records[a]
            ),
            default=0,
        )

    def series(self, act: str, key: str, *, ok_only: bool = False) -> np.ndarray:
        recs = self.ok(act) if ok_only else self.records[act]
        out = np.full((len(recs), self.epochs), np.nan)
        for i, rec in enumerate(recs):
            row = _nan_array(rec.get("history", {}).get(key))
            out[i, : row.size] = row
        return out

    def layered(self, act: str, key: str) -> np.ndarray:
        """``[ok seed, epoch, layer]`` of a per-layer history entry (diverged seeds left out)."""
        recs = self.ok(act)
        out = np.full((len(recs), self.epochs, self.depth), np.nan)
        for i, rec in enumerate(recs):
            for e, layers in enumerate(rec.get("history", {}).get(key) or []):
                if layers:
                    row = _nan_array(layers)[: self.depth]
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


def _quiet_nanmean(a: np.ndarray, axis: int) -> np.ndarray:
    """Mean over ``axis`` ignoring NaN; all-NaN slices give NaN without a warning."""
    count = np.sum(np.isfinite(a), axis=axis)
    total = np.nansum(a, axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _band(a: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, minimum and maximum over ``axis``, NaN where no value is finite."""
    finite = np.isfinite(a).any(axis=axis)
    lo = np.where(finite, np.nanmin(np.where(np.isfinite(a), a, np.inf), axis=axis), np.nan)
    hi = np.where(finite, np.nanmax(np.where(np.isfinite(a), a, -np.inf), axis=axis), np.nan)
    return _quiet_nanmean(a, axis), lo, hi


def _legend(
    fig: Figure,
    activations: Sequence[str],
    palette: Mapping[str, str],
    extra: Sequence[Line2D] = (),
) -> None:
    handles = [Line2D([], [], color=palette[a], linewidth=2.2, label=a) for a in activations]
    fig.legend(
        handles=[*handles, *extra],
        loc="outside right upper",
        fontsize=9,
        frameon=False,
        title="activation",
        title_fontsize=9,
    )


def _panels(n: int, width: float = _PANEL_W) -> tuple[Figure, list[Any]]:
    fig, axes = plt.subplots(1, n, figsize=(width * n + 1.6, _PANEL_H), layout="constrained")
    axes = list(np.atleast_1d(axes))
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=9)
    return fig, axes


def _diverged_marker() -> Line2D:
    return Line2D(
        [], [], color=DIVERGED_COLOUR, marker="x", linestyle="none", markersize=8, label="diverged"
    )


def _metric_label(metric: str) -> str:
    return (
        "accuracy (fraction correct)"
        if metric == "accuracy"
        else "R² (coefficient of determination)"
    )


def curves_figure(data: GroupData, palette: Mapping[str, str]) -> Figure:
    """Validation metric, validation loss and training loss over epochs: mean over seeds
    with a min-max band; a cross where a diverged candidate's last finite value lies."""
    fig, (ax_m, ax_v, ax_t) = _panels(3)
    epochs = np.arange(1, data.epochs + 1)
    panels = (
        (ax_m, "val_metric", f"validation {_metric_label(data.metric)}"),
        (ax_v, "val_loss", "validation loss (log scale)"),
        (ax_t, "train_loss", "training loss (log scale)"),
    )
    for act in data.activations:
        colour = palette[act]
        for ax, key, _ in panels:
            mean, lo, hi = _band(data.series(act, key, ok_only=True))
            ax.plot(epochs, mean, color=colour, linewidth=1.8)
            ax.fill_between(epochs, lo, hi, color=colour, alpha=0.15, linewidth=0)
            for rec in data.records[act]:
                if rec.get("status") != "diverged":
                    continue
                values = _nan_array(rec.get("history", {}).get(key))
                finite = np.where(np.isfinite(values))[0]
                if finite.size:
                    last = finite[-1]
                    ax.plot(
                        last + 1,
                        values[last],
                        marker="x",
                        color=DIVERGED_COLOUR,
                        markersize=9,
                        markeredgewidth=2,
                    )
    for ax, _, label in panels:
        ax.set_xlabel("epoch")
        ax.set_ylabel(label, fontsize=9)
    for ax in (ax_v, ax_t):
        if _all_positive(ax):
            ax.set_yscale("log")
    ax_m.set_title("Validation metric (higher is better)", fontsize=10)
    ax_v.set_title("Validation loss", fontsize=10)
    ax_t.set_title("Training loss", fontsize=10)
    extra = (_diverged_marker(),) if data.diverged() else ()
    _legend(fig, data.activations, palette, extra)
    return fig


def _all_positive(ax: Any) -> bool:
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
    values = np.concatenate(ys) if ys else np.array([])
    values = values[np.isfinite(values)]
    return bool(values.size) and bool(np.all(values > 0))


def ci_extent(s: Summary) -> np.ndarray:
    """``[[below], [above]]`` the mean for an error bar: the interval is asymmetric when
    the metric's range cuts it (0 where there is no interval)."""
    if not (math.isfinite(s.ci_low) and math.isfinite(s.ci_high)):
        return np.zeros((2, 1))
    return np.array([[s.mean - s.ci_low], [s.ci_high - s.mean]])


def strip_figure(data: GroupData, palette: Mapping[str, str], ranking: Ranking) -> Figure:
    """Test metric of every seed (one dot each) per activation in ranking order, with the
    mean and its confidence interval; diverged seeds as crosses on the bottom edge."""
    order = [r.activation for r in ranking.rows]
    width = max(6.5, 1.0 * len(order) + 3.0)
    fig, ax = plt.subplots(figsize=(width, 3.8), layout="constrained")
    ax.grid(True, axis="y", alpha=0.3)
    rng = np.random.default_rng(0)
    finite = [v for r in ranking.rows for v in r.test_by_seed.values() if math.isfinite(v)]
    bottom = min(finite) if finite else 0.0
    span = (max(finite) - bottom) if len(finite) > 1 else 1.0
    floor = bottom - 0.12 * (span or 1.0)
    any_diverged = False
    for i, row in enumerate(ranking.rows):
        colour = palette[row.activation]
        values = np.array([v for v in row.test_by_seed.values() if math.isfinite(v)])
        ax.scatter(
            i + rng.uniform(-0.12, 0.12, values.size),
            values,
            s=26,
            color=colour,
            alpha=0.85,
            edgecolor="white",
            linewidth=0.5,
            zorder=3,
        )
        if math.isfinite(row.test.mean):
            ax.errorbar(
                i + 0.28,
                row.test.mean,
                yerr=ci_extent(row.test),
                color="#222",
                capsize=4,
                marker="D",
                markersize=5,
                linewidth=1.3,
                zorder=4,
            )
        lost = sum(not math.isfinite(v) for v in row.test_by_seed.values())
        if lost:
            any_diverged = True
            ax.scatter(
                [i] * lost,
                [floor] * lost,
                marker="x",
                color=DIVERGED_COLOUR,
                s=60,
                linewidth=2,
                zorder=5,
                clip_on=False,
            )
    ax.set_xticks(range(len(order)), order, rotation=20 if len(order) > 6 else 0)
    ax.set_xlim(-0.6, len(order) - 0.4)
    ax.set_xlabel("activation (ranked on validation metric, best left)")
    ax.set_ylabel(f"test {_metric_label(data.metric)}", fontsize=9)
    level = f"{ranking.level:.0%}"
    handles = [
        Line2D([], [], marker="o", color="#777", linestyle="none", label="one seed"),
        Line2D([], [], marker="D", color="#222", label=f"mean ± {level} CI"),
    ]
    if any_diverged:
        handles.append(_diverged_marker())
    ax.set_ylim(bottom=floor - 0.04 * (span or 1.0))
    ax.legend(
        handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False
    )
    ax.set_title(f"Test metric per seed ({ranking.n_seeds} seeds)", fontsize=10)
    return fig


def gradient_figure(data: GroupData, palette: Mapping[str, str]) -> Figure:
    """Weight-gradient norm per hidden layer at the final epoch (layer 1 nearest the input)
    and, over epochs, the first hidden layer's norm (solid) against the last's (dashed).
    Log scale: a line falling towards layer 1 is a vanishing gradient."""
    fig, (ax_l, ax_e) = _panels(2, width=5.4)
    layers = np.arange(1, data.depth + 1)
    epochs = np.arange(1, data.epochs + 1)
    for act in data.activations:
        colour = palette[act]
        final = data.final_layers(act, "grad_norm")
        if final.size:
            mean, lo, hi = _band(final)
            ax_l.plot(layers, mean, color=colour, marker="o", markersize=4, linewidth=1.8)
            ax_l.fill_between(layers, lo, hi, color=colour, alpha=0.12, linewidth=0)
        cube = data.layered(act, "grad_norm")
        if cube.size:
            ax_e.plot(epochs, _quiet_nanmean(cube[:, :, 0], 0), color=colour, linewidth=1.8)
            ax_e.plot(
                epochs,
                _quiet_nanmean(cube[:, :, -1], 0),
                color=colour,
                linewidth=1.3,
                linestyle="--",
            )
    ax_l.set_xlabel("hidden layer (1 = nearest the input)")
    ax_l.set_xticks(layers if data.depth <= 16 else layers[:: max(1, data.depth // 8)])
    ax_l.set_ylabel("weight-gradient L2 norm (log scale)", fontsize=9)
    ax_l.set_title("Gradient norm per layer, final epoch", fontsize=10)
    ax_e.set_xlabel("epoch")
    ax_e.set_ylabel("weight-gradient L2 norm (log scale)", fontsize=9)
    ax_e.set_title("First (solid) vs last (dashed) hidden layer", fontsize=10)
    for ax in (ax_l, ax_e):
        if _all_positive(ax):
            ax.set_yscale("log")
    extra = (
        Line2D([], [], color="#555", linewidth=1.8, label="layer 1"),
        Line2D([], [], color="#555", linewidth=1.3, linestyle="--", label=f"layer {data.depth}"),
    )
    _legend(fig, data.activations, palette, extra)
    return fig


def _per_layer_figure(
    data: GroupData,
    palette: Mapping[str, str],
    panels: Sequence[tuple[str, str, str]],
    *,
    percent: bool,
    reference: float | None = None,
) -> Figure:
    fig, axes = _panels(len(panels))
    layers = np.arange(1, data.depth + 1)
    for ax, (key, ylabel, title) in zip(axes, panels, strict=True):
        for act in data.activations:
            final = data.final_layers(act, key)
            if not final.size:
                continue
            scale = 100.0 if percent else 1.0
            mean, lo, hi = _band(final * scale)
            ax.plot(layers, mean, color=palette[act], marker="o", markersize=4, linewidth=1.8)
            ax.fill_between(layers, lo, hi, color=palette[act], alpha=0.12, linewidth=0)
        ax.set_xlabel("hidden layer (1 = nearest the input)")
        ax.set_xticks(layers if data.depth <= 16 else layers[:: max(1, data.depth // 8)])
        ax.set_ylabel(ylabel, fontsize=9)
        ax.set_title(title, fontsize=10)
        if percent:
            ax.set_ylim(bottom=0)
    extra = ()
    if reference is not None:
        axes[-1].axhline(reference, color="#333", linestyle=":", linewidth=1.2)
        extra = (Line2D([], [], color="#333", linestyle=":", label=f"std = {reference:g}"),)
    _legend(fig, data.activations, palette, extra)
    return fig


def unit_health_figure(data: GroupData, palette: Mapping[str, str]) -> Figure:
    """Dead units (never active on the probe batch) and saturated units per hidden layer
    at the final epoch, in percent of the layer's units."""
    return _per_layer_figure(
        data,
        palette,
        (
            ("dead_fraction", "dead units (% of layer)", "Dead units per layer, final epoch"),
            (
                "saturated_fraction",
                "saturated units (% of layer)",
                "Saturated units per layer, final epoch",
            ),
        ),
        percent=True,
    )


def activation_stats_figure(data: GroupData, palette: Mapping[str, str]) -> Figure:
    """Mean and standard deviation of each hidden layer's outputs at the final epoch; a
    self-normalizing activation (SELU) keeps the std near 1 through the layers."""
    return _per_layer_figure(
        data,
        palette,
        (
            ("act_mean", "mean of layer outputs", "Activation mean per layer"),
            ("act_std", "std of layer outputs", "Activation std per layer"),
        ),
        percent=False,
        reference=1.0,
    )


def time_figure(
    data: GroupData, palette: Mapping[str, str], costs: Mapping[str, Mapping[str, float]]
) -> Figure:
    """Wall time of each stacked epoch, and the measured forward+backward cost of each
    activation alone relative to relu.

    All candidates of a group train together in one stacked model, so an epoch's time is
    shared by every activation; the per-activation comparison is the cost panel."""
    fig, (ax_t, ax_c) = _panels(2, width=0.55 * len(data.activations) + 2.4)
    times = np.vstack([data.series(a, "epoch_time") for a in data.activations])
    per_epoch = _quiet_nanmean(times, 0)
    epochs = np.arange(1, per_epoch.size + 1)
    ax_t.plot(epochs, per_epoch, color="#333", marker="o", markersize=3)
    ax_t.set_ylim(bottom=0)
    ax_t.set_xlabel("epoch")
    ax_t.set_ylabel("seconds per epoch (whole group)", fontsize=9)
    ax_t.set_title("Stacked epoch time (all candidates at once)", fontsize=10)
    x = np.arange(len(data.activations))
    colours = [palette[a] for a in data.activations]
    rel = [float(costs.get(a, {}).get("relative_to_relu", np.nan)) for a in data.activations]
    ax_c.bar(x, rel, color=colours)
    ax_c.axhline(1.0, color="#333", linestyle=":", linewidth=1.2)
    ax_c.set_ylabel("time relative to relu (1 = same)", fontsize=9)
    ax_c.set_title("Measured activation cost (fwd + bwd)", fontsize=10)
    ax_c.set_xticks(x, data.activations, rotation=35, ha="right", fontsize=8)
    ax_c.set_xlabel("activation")
    _legend(fig, data.activations, palette)
    return fig


def depth_figure(groups: Sequence[tuple[GroupData, Ranking]], palette: Mapping[str, str]) -> Figure:
    """Validation and test metric against depth (number of hidden layers) per activation,
    mean with its confidence interval over seeds."""
    fig, (ax_v, ax_t) = _panels(2, width=5.2)
    depths = [g.depth for g, _ in groups]
    activations = list(dict.fromkeys(a for g, _ in groups for a in g.activations))
    offsets = np.linspace(-0.12, 0.12, len(activations)) if len(activations) > 1 else [0.0]
    for act, off in zip(activations, offsets, strict=True):
        for ax, which in ((ax_v, "val"), (ax_t, "test")):
            xs, ys, errs = [], [], []
            for g, ranking in groups:
                row = next((r for r in ranking.rows if r.activation == act), None)
                if row is None:
                    continue
                s = row.val if which == "val" else row.test
                xs.append(g.depth * (1 + off * 0.15))
                ys.append(s.mean)
                errs.append(ci_extent(s)[:, 0])
            ax.errorbar(
                xs,
                ys,
                yerr=np.array(errs).T.reshape(2, -1),
                color=palette[act],
                marker="o",
                markersize=4,
                capsize=3,
                linewidth=1.8,
            )
    for ax, which in ((ax_v, "validation"), (ax_t, "test")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.minorticks_off()
        ax.set_xlabel("depth (number of hidden layers, log scale)")
        ax.set_ylabel(f"{which} {_metric_label(groups[0][0].metric)}", fontsize=9)
        ax.set_title(f"{which.capitalize()} metric vs depth (mean ± CI)", fontsize=10)
    _legend(fig, activations, palette)
    return fig
