"""Rich renderables for the terminal: the catalog table, one activation's card, and a
comparison's verdict table and recommendation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from actlab.catalog import Activation, build
from actlab.catalog.base import Preset
from actlab.catalog.propagation import SignalPropagation

if TYPE_CHECKING:
    from actlab.analysis import GroupAnalysis


def catalog_table(acts: Sequence[Activation]) -> Table:
    """One row per activation: name, kind, aliases and presets, range, properties, PyTorch
    and Keras names."""
    table = Table(title="actlab catalog", header_style="bold", show_lines=False)
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("kind")
    table.add_column("aliases")
    table.add_column("range", no_wrap=True)
    table.add_column("properties")
    table.add_column("PyTorch")
    table.add_column("Keras 3")
    for act in acts:
        info = act.info
        presets = [f"{p.name} = {actlab_spec(act, p)}" for p in info.presets]
        kind = info.kind + (", learnable" if act.learnable else "")
        table.add_row(
            act.spec,
            kind,
            ", ".join([*info.aliases, *presets]),
            info.range_text(),
            ", ".join(info.properties.labels()),
            info.torch.name or "-",
            info.keras.name or "-",
        )
    return table


def actlab_spec(act: Activation, preset: Preset) -> str:
    """The canonical spec a preset name stands for."""
    return build(act.name, dict(preset.params)).spec


def _framework_line(label: str, ref: Any) -> Text:
    text = Text(f"{label}: ", style="bold")
    text.append(ref.name or "-")
    if ref.defaults:
        text.append(f" ({ref.defaults})")
    if ref.functional:
        text.append(f"; functional: {ref.functional}")
    if ref.differences:
        text.append(f"\n  differs: {ref.differences}", style="yellow")
    return text


def _differences_table(diffs: dict[str, Any]) -> Table:
    table = Table(title="measured against the catalog (float32 grid)", header_style="bold")
    table.add_column("framework")
    table.add_column("native op")
    table.add_column("max abs diff", justify="right")
    table.add_column("max ULP", justify="right")
    table.add_column("at x", justify="right")
    table.add_column("note")
    for row in diffs.get("measured", []):
        table.add_row(
            str(row.get("framework", "")),
            str(row.get("op", "")),
            _fmt(row.get("max_abs")),
            _fmt(row.get("max_ulp")),
            _fmt(row.get("max_ulp_at")),
            str(row.get("note", "")),
        )
    return table


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _depth(value: float) -> str:
    return "infinite" if math.isinf(value) else f"{value:.3g} layers"


def propagation_text(p: SignalPropagation) -> Text:
    """The signal-propagation block of ``actlab show``: the derived gain, chi_1, the depth
    scale, and how a framework's published gain compares."""
    text = Text("signal propagation ", style="bold")
    text.append("(mean field, weights N(0, gain^2 / fan_in), zero bias):\n", style="dim")
    text.append(f"  variance-preserving gain {p.gain:.6g}", style="bold")
    text.append(f"  (init std = {p.gain:.4g} / sqrt(fan_in); --init auto uses it)\n")
    mean = 0.0 if abs(p.mean) < 1e-12 else p.mean
    text.append(f"  at that gain: activations' mean {mean:.4g}; chi_1 = {p.chi1:.4g} ({p.phase}")
    if p.phase != "critical":
        grows = "grow" if p.chi1 > 1 else "shrink"
        text.append(f": squared gradient norms {grows} by e every {_depth(p.gradient_depth_scale)}")
    text.append(")\n")
    text.append(
        f"  correlations settle at c* = {p.c_star:.4g}; depth scale {_depth(p.depth_scale)}"
    )
    if math.isfinite(p.depth_scale):
        text.append(f" (trainable to about {6 * p.depth_scale:.3g} layers, Schoenholz et al.)")
    text.append("\n")
    if p.torch is not None:
        t = p.torch
        reached = (
            "grows without bound" if math.isinf(t.fixed_point) else f"q* = {t.fixed_point:.4g}"
        )
        text.append(f"  PyTorch {t.call} = {t.gain:.6g}: {reached}")
        if t.chi1 is not None:
            text.append(f", chi_1 = {t.chi1:.4g}")
        if t.note:
            text.append(f"; {t.note}")
        text.append("\n")
    return text


def activation_panel(
    act: Activation,
    diffs: dict[str, Any] | None = None,
    propagation: SignalPropagation | None = None,
) -> Panel:
    """Everything ``actlab show`` prints about one activation."""
    info = act.info
    parts: list[Any] = []
    head = Text()
    head.append("formula:    ", style="bold")
    head.append(info.formula + "\n")
    if info.inputs:
        head.append("inputs:     ", style="bold")
        head.append(info.inputs + "\n")
    head.append("derivative: ", style="bold")
    head.append(info.derivative_formula + "\n")
    head.append("range: ", style="bold")
    head.append(info.range_text() + "\n")
    head.append("properties: ", style="bold")
    head.append(", ".join(info.properties.labels()) or "none of the listed")
    if info.aliases:
        head.append("\naliases: ", style="bold")
        head.append(", ".join(info.aliases))
    for preset in info.presets:
        head.append(f"\npreset {preset.name}: ", style="bold")
        head.append(f"{actlab_spec(act, preset)}, {preset.doc}")
    if info.training:
        head.append("\ntraining vs eval: ", style="bold")
        head.append(info.training)
    parts.append(head)
    if info.params:
        table = Table(header_style="bold", title="parameters")
        for col in ("name", "value", "default", "allowed", "meaning"):
            table.add_column(col)
        for name, p in info.params.items():
            alias = f" (alias {', '.join(p['aliases'])})" if p["aliases"] else ""
            meaning = p["doc"] + ("; learnable: the layers learn it from this value"
                                  if p["learnable"] else "")  # fmt: skip
            table.add_row(name + alias, _fmt(p["value"]), _fmt(p["default"]), p["allowed"], meaning)
        parts.append(table)
    if propagation is not None:
        parts.append(propagation_text(propagation))
    else:
        parts.append(Text("signal propagation: not defined for an activation over a whole axis"))
    uses = Text("use cases:\n", style="bold")
    for case in info.use_cases:
        uses.append(f"  - {case}\n", style="none")
    parts.append(uses)
    parts.append(_framework_line("PyTorch", info.torch))
    parts.append(_framework_line("Keras 3", info.keras))
    parts.append(_framework_line("JAX", info.jax))
    for note in info.notes:
        parts.append(Text(f"note: {note}", style="magenta"))
    parts.append(Text(f"reference: {info.reference}", style="dim"))
    parts.append(Text(f"LaTeX: {info.latex}", style="dim"))
    if diffs is not None:
        parts.append(_differences_table(diffs))
    return Panel(Group(*parts), title=f"[bold]{info.title}[/bold]  {act.spec}", expand=False)


_VERDICT_STYLE = {
    "leader": "bold green",
    "worse": "red",
    "equivalent": "green",
    "not resolved": "yellow",
    "not concluded": "yellow",
    "no result": "red",
}


def verdict_table(
    analysis: GroupAnalysis, epoch_seconds: float | None = None, how: str | None = None
) -> Table:
    """One group's ranking and verdicts: validation metric with its interval, test metric,
    how far behind the leader (paired, with its interval), the verdict with the p-value it
    rests on, cost and health."""
    from actlab.analysis import words

    ranking, v = analysis.ranking, analysis.verdicts
    metric = v.metric
    level = f"{v.level:.0%}"
    direction = "" if ranking.scale.higher_is_better else " (lower is better)"
    accuracy = any(r.test_accuracy is not None for r in ranking.rows)
    title = (
        f"{analysis.group}: ranked by validation {metric}{direction}, "
        f"{words.plural(v.seeds, 'seed')}; "
        f"verdicts against {v.leader}, margin {words.difference(v.margin.value, metric)}, "
        f"{v.adjustment.capitalize()}-adjusted over every pair, alpha {v.alpha:g}"
    )
    table = Table(title=title, header_style="bold")
    for col, justify in (
        ("#", "right"),
        ("activation", "left"),
        (f"val {metric} ({level} CI)", "right"),
        (f"test {metric}", "right"),
        *((("test accuracy", "right"),) if accuracy else ()),
        (f"behind leader, {words.unit(metric)} ({level} CI)", "right"),
        ("verdict", "left"),
        ("p / adjusted p", "left"),
        ("cost", "right"),
        ("health", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in ranking.rows:
        c = v.of(r.activation)
        behind = "-"
        if math.isfinite(c.difference):
            behind = words.difference(c.difference, metric, signed=True, unit=False)
            if math.isfinite(c.ci_low):
                behind += " " + words.interval(c.ci_low, c.ci_high, metric, short=True)
        style = _VERDICT_STYLE[c.verdict.value]
        problems = [
            f"diverged {r.diverged}/{r.seeds}" if p == "diverged" else p for p in r.problems
        ]
        table.add_row(
            str(r.rank),
            r.activation,
            words.summary(r.val, v.level, short=True),
            words.value(r.test.mean),
            *(
                (words.value(r.test_accuracy.mean if r.test_accuracy else math.nan),)
                if accuracy
                else ()
            ),
            behind,
            f"[{style}]{words.verdict_label(c)}[/{style}]",
            words.adjusted_p(c),
            f"{r.cost:.2f}x" if r.cost is not None and math.isfinite(r.cost) else "-",
            f"[yellow]{', '.join(problems)}[/yellow]" if problems else "ok",
        )
    if epoch_seconds is not None:
        how = how or (f"all {len(ranking.rows)} activations x {ranking.n_seeds} seeds together")
        table.caption = (
            f"one epoch ({how}): {epoch_seconds:.3f} s; health by actlab.health's thresholds"
        )
    return table


def recommendation_lines(analysis: GroupAnalysis) -> list[str]:
    """The answer, then the evidence and the warnings, as rich markup lines."""
    lines = [f"[bold green]Answer:[/bold green] {escape(analysis.headline)}"]
    lines += [f"  - {escape(reason)}" for reason in analysis.reasons]
    lines += [f"[yellow]warning:[/yellow] {escape(w)}" for w in analysis.warnings]
    return lines
