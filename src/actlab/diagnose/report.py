"""The self-contained HTML report of a recording (built on :mod:`actlab.report.page`)."""

from __future__ import annotations

import html
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from actlab.diagnose.findings import Finding
from actlab.diagnose.records import Recording
from actlab.diagnose.summary import NO_LAYERS
from actlab.report.page import Section, callout, figure_block, render_page, table

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


def _figures_html(recording: Recording) -> str:
    if not recording.records:
        return '<p class="note">No step was sampled, so there is nothing to plot.</p>'
    panels = [
        ("grad_norm", "weight-gradient norm", True),
        ("dead_fraction", "dead fraction", False),
        ("saturated_fraction", "saturated fraction", False),
        ("mean", "activation mean", False),
        ("std", "activation std", False),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.4))
    for ax, (attr, label, log) in zip(axes, panels, strict=True):
        for layer in recording.layers:
            steps, values = recording.series(layer.name, attr)
            if log:
                steps, values = (
                    [s for s, v in zip(steps, values, strict=True) if v > 0],
                    [v for v in values if v > 0],
                )
            ax.plot(steps, values, marker=".", label=layer.name)
        if log:
            ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("step")
    axes[0].legend(fontsize=7, title="layer", title_fontsize=7)
    fig.tight_layout()
    return figure_block(fig, "Per-layer signals at the sampled steps, layers in forward order.")


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
    sections = [
        Section("Findings", _findings_html(findings)),
        Section("Layers", _table_html(recording)),
        Section("Signals over training", _figures_html(recording)),
    ]
    return render_page(title, sections, subtitle=subtitle)


def write_report(
    path: str | Path, recording: Recording, findings: list[Finding], *, title: str
) -> Path:
    """Write :func:`render_report` to ``path`` (parent folders created); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(recording, findings, title=title), encoding="utf-8")
    return path
