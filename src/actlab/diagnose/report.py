"""The self-contained HTML report of a recording (built on :mod:`actlab.report.page`)."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from actlab.diagnose.findings import Finding
from actlab.diagnose.records import Recording
from actlab.diagnose.summary import NO_LAYERS
from actlab.report.charts import Panel, lines, series
from actlab.report.page import Legend, Section, callout, chart, fragment, render_page, table
from actlab.report.palette import colours

_KIND = {"info": "good", "warning": "warn", "error": "bad"}


def _findings_html(findings: list[Finding]) -> str:
    if not findings:
        return callout("<p>No findings: nothing looks wrong.</p>", kind="good", title="All clear")
    blocks = []
    for f in findings:
        numbers = ", ".join(f"{k} = {v:.4g}" for k, v in f.numbers.items())
        body = (
            f"<p>{html.escape(f.message)}</p>"
            f"<p><em>Advice:</em> {html.escape(f.advice)}</p>"
            f'<p class="note">layers: {html.escape(", ".join(f.layers))}; steps '
            f"{f.steps[0]}-{f.steps[1]}{'; ' + html.escape(numbers) if numbers else ''}</p>"
        )
        blocks.append(callout(body, kind=_KIND[f.severity], title=f.kind))  # type: ignore[arg-type]
    return "".join(blocks)


SIGNALS = (
    ("grad_norm", "Weight-gradient norm", "weight-gradient L2 norm", None),
    ("dead_fraction", "Dead fraction", "share of units dead", False),
    ("saturated_fraction", "Saturated fraction", "share of units saturated", False),
    ("mean", "Activation mean", "mean of layer outputs", False),
    ("std", "Activation std", "std of layer outputs", False),
)
"""(record attribute, panel title, y label, log scale: ``None`` = when every value is positive)."""


def signal_figure(recording: Recording, palette: dict[str, str]) -> list[Panel]:
    """One panel per signal over the sampled steps, one line per layer."""
    steps = recording.sampled_steps()
    column = {step: i for i, step in enumerate(steps)}
    panels = []
    for attr, title, ylabel, log in SIGNALS:
        items = []
        for layer in recording.layers:
            values = np.full(len(steps), np.nan)
            for step, value in zip(*recording.series(layer.name, attr), strict=True):
                values[column[step]] = value
            items.append(series(layer.name, palette[layer.name], key=layer.name, values=values))
        panels.append(lines(title, "step", ylabel, steps, items, log=log))
    return panels


def _figures_html(recording: Recording, figures: dict[str, list[Panel]]) -> str:
    if not recording.records:
        return '<p class="note">No step was sampled, so there is nothing to plot.</p>'
    figures["signals"] = signal_figure(recording, colours([la.name for la in recording.layers]))
    return chart("signals", "Per-layer signals at the sampled steps, layers in forward order.")


def _table_html(recording: Recording) -> str:
    steps = recording.sampled_steps()
    at = recording.at(steps[-1]) if steps else {}

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    rows = []
    for layer in recording.layers:
        r = at.get(layer.name)
        rows.append(
            [
                layer.name,
                layer.activation,
                layer.feeder or "-",
                fmt(r.dead_fraction if r else None, ".1%"),
                fmt(r.saturated_fraction if r else None, ".1%"),
                fmt(r.mean if r else None, ".3f"),
                fmt(r.std if r else None, ".3f"),
                fmt(r.grad_norm if r else None, ".3g"),
            ]
        )
    if not recording.layers:
        return f'<p class="note">{html.escape(NO_LAYERS)}</p>'
    caption = f"At step {steps[-1]}" if steps else "No sampled step"
    return table(
        ["layer", "activation", "fed by", "dead", "saturated", "mean", "std", "weight grad norm"],
        rows,
        caption=caption,
    )


def render_report(recording: Recording, findings: list[Finding], *, title: str) -> str:
    """The report as one HTML string: findings, the latest sample per layer, and plots."""
    subtitle = (
        f"{recording.framework} model, {recording.steps} training steps, signals sampled every "
        f"{recording.every} steps"
    )
    figures: dict[str, list[Panel]] = {}
    sections = [
        Section("Findings", _findings_html(findings)),
        Section("Layers", _table_html(recording)),
        Section("Signals over training", _figures_html(recording, figures)),
    ]
    legend = Legend("layer", colours([layer.name for layer in recording.layers]))
    return render_page(title, sections, subtitle=subtitle, figures=figures, legend=legend)


def notebook_html(recording: Recording, findings: list[Finding]) -> str:
    """A monitor in a notebook: the findings, the latest sample per layer and the signals
    over training, as one self-contained ``<div>``."""
    figures: dict[str, list[Panel]] = {}
    body = _findings_html(findings) + _table_html(recording) + _figures_html(recording, figures)
    legend = Legend("layer", colours([layer.name for layer in recording.layers]))
    return fragment(body, figures=figures, legend=legend)


def write_report(
    path: str | Path, recording: Recording, findings: list[Finding], *, title: str
) -> Path:
    """Write :func:`render_report` to ``path`` (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(recording, findings, title=title), encoding="utf-8")
    return path
