"""Findings: what a :class:`~actlab.diagnose.records.Recording` says is wrong, in plain words.

The health signals and their thresholds (dead, saturated, vanishing and exploding
gradients) are defined once, in :mod:`actlab.health`; the other kinds' thresholds are set
below as module constants. Signals are judged on the *late*
samples - the latter half of the sampled steps (at least the last one) - and a finding needs
the condition in more than :data:`MAJORITY` of them, so one odd batch does not make one.

"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from actlab.diagnose.records import LayerRecord, Recording, Structure
from actlab.health import (
    DEAD_FRACTION,
    EXPLODING_NORM,
    EXPLODING_RATIO,
    SATURATED_FRACTION,
    SEVERE_DEAD_FRACTION,
    gradient_ratio,
    is_exploding,
    is_vanishing,
)

MAJORITY = 0.5
"""A condition must hold in more than half of the late samples."""

SELU_INIT_TOLERANCE = 0.2
"""``selu_misuse``: the feeder's ``std(W) * sqrt(fan_in)`` at the start differs from 1
(LeCun-normal) by more than 20%; PyTorch's default init gives ~0.58, He init ~1.41."""

NORMALIZED_MEAN = 0.1
"""``self_normalizing`` (informational, for networks whose activations are all SELU): every
layer's activation mean within 0.1 of 0 ..."""

NORMALIZED_STD = 0.2
"""... and std within 0.2 of 1, in most late samples: the signal keeps its scale in depth."""

Severity = Literal["info", "warning", "error"]

ADVICE = {
    "vanishing_gradient": (
        "Use relu, leaky_relu or gelu with He init, or selu with LeCun-normal init, in the "
        "hidden layers; sigmoid's derivative is at most 0.25, so every sigmoid layer shrinks "
        "the gradient. Fewer layers, residual connections or normalization also help."
    ),
    "exploding_gradient": (
        "Lower the learning rate and clip gradients (torch.nn.utils.clip_grad_norm_); check "
        "the init scale: He for relu, leaky_relu, gelu; LeCun for selu; Glorot for tanh and "
        "sigmoid."
    ),
    "dead_units": (
        "Use leaky_relu, elu or gelu, whose gradient is not zero for negative inputs; "
        "initialize biases at 0 (or slightly positive) with He init, and lower the learning "
        "rate if units die during training."
    ),
    "saturation": (
        "Use Glorot init and standardized inputs for sigmoid/tanh, or use relu, gelu or silu "
        "with He init in hidden layers (keep sigmoid for outputs that are probabilities)."
    ),
    "linear_collapse": (
        "Put a non-linearity between the two layers, e.g. relu or gelu with He init; without "
        "one the two layers are a single linear map and add no capacity."
    ),
    "selu_misuse": (
        "Use selu with LeCun-normal init (torch.nn.init.normal_(w, 0, 1/sqrt(fan_in))), "
        "nn.AlphaDropout instead of nn.Dropout, and no batch norm; or use elu or gelu if you "
        "need ordinary dropout or batch norm."
    ),
    "non_finite": (
        "Lower the learning rate, clip gradients, check the inputs for NaN/inf, and use "
        "numerically safe forms (log_sigmoid rather than log(sigmoid), softplus rather than "
        "log(1 + exp(x)))."
    ),
    "self_normalizing": "Nothing to fix: this is what selu with LeCun-normal init is for.",
    "nothing_watched": (
        "Put a non-linearity such as relu or gelu between the weight layers; a softmax or "
        "sigmoid on the output is not a hidden activation, so without one the model is "
        "linear up to its output."
    ),
}
"""Advice per finding kind; every named activation is in the catalog (``actlab.names()``)."""


@dataclass(frozen=True)
class Finding:
    """One diagnosis: its ``kind``, the layers involved, the first and last step where it
    holds, the numbers behind it, a plain-words ``message`` and ``advice``."""

    kind: str
    layers: tuple[str, ...]
    steps: tuple[int, int]
    numbers: dict[str, float] = field(default_factory=dict)
    message: str = ""
    advice: str = ""
    severity: Severity = "warning"


def _late_steps(recording: Recording) -> list[int]:
    steps = recording.sampled_steps()
    return steps[len(steps) // 2 :]


def _held(steps: list[int], holds: Callable[[int], bool]) -> list[int]:
    """The steps where ``holds`` is true, if they are more than ``MAJORITY`` of ``steps``."""
    hits = [s for s in steps if holds(s)]
    return hits if steps and len(hits) > MAJORITY * len(steps) else []


def _span(hits: list[int]) -> tuple[int, int]:
    return (hits[0], hits[-1])


def depth_stack(recording: Recording) -> list[str]:
    """The hidden sites that measure the network's depth, in forward order.

    Candidates: hidden sites with a feeding layer, outside damped residual branches (their
    gradients start near zero by design: a zero-initialised last batch norm, a 1e-6 layer
    scale). Among them, the largest group whose names differ only in their numbers (the
    repeated blocks: ``encoder.layer.3.intermediate.act``, ``layer2.1.relu#0``, the
    ``1, 3, 5, ...`` of an ``nn.Sequential``), fed by at least two layers, is the depth
    axis; a head after it (BERT's pooler, a classifier MLP) is not part of it. Without such
    a group, every candidate."""
    candidates = [
        layer
        for layer in recording.layers
        if layer.feeder is not None and layer.role == "hidden" and layer.damped_by is None
    ]
    groups: dict[str, list[str]] = {}
    feeders: dict[str, set[str]] = {}
    for layer in candidates:
        key = re.sub(r"\d+", "#", layer.name)
        groups.setdefault(key, []).append(layer.name)
        feeders.setdefault(key, set()).add(layer.feeder or "")
    stacks = [names for key, names in groups.items() if len(feeders[key]) >= 2]
    if stacks:
        return max(stacks, key=len)  # the first of the longest, in forward order
    return [layer.name for layer in candidates]


def _gradient_ends(recording: Recording, step: int) -> tuple[LayerRecord, LayerRecord] | None:
    """First and last site of the :func:`depth_stack` at ``step`` with a gradient norm,
    fed by different layers."""
    at = recording.at(step)
    rows = [at[n] for n in depth_stack(recording) if n in at and at[n].grad_norm is not None]
    feeders = {layer.name: layer.feeder for layer in recording.layers}
    if len(rows) < 2 or feeders[rows[0].layer] == feeders[rows[-1].layer]:
        return None
    return rows[0], rows[-1]


def _ratio(recording: Recording, step: int) -> float:
    """:func:`actlab.health.gradient_ratio` (first / last hidden layer) at ``step``; NaN
    when fewer than two layers have a gradient."""
    ends = _gradient_ends(recording, step)
    if ends is None:
        return math.nan
    return gradient_ratio(ends[0].grad_norm or 0.0, ends[1].grad_norm or 0.0)


def _gradient_findings(recording: Recording, late: list[int]) -> list[Finding]:
    ratios = {s: _ratio(recording, s) for s in late}
    found: list[Finding] = []
    vanishing = _held(late, lambda s: is_vanishing(ratios[s]))
    if vanishing:
        first, last = _gradient_ends(recording, vanishing[-1]) or (None, None)
        assert first is not None and last is not None
        feeders = {layer.name: layer.feeder or layer.name for layer in recording.layers}
        head, tail = feeders[first.layer], feeders[last.layer]
        ratio = statistics.median(1.0 / ratios[s] for s in vanishing)
        found.append(
            Finding(
                "vanishing_gradient",
                (head, tail),
                _span(vanishing),
                {
                    "ratio": ratio,
                    "first_grad_norm": first.grad_norm or 0.0,
                    "last_grad_norm": last.grad_norm or 0.0,
                    "steps_held": float(len(vanishing)),
                    "late_steps": float(len(late)),
                },
                f"The weight gradient of the first layer ({head}) is {ratio:.3g}x smaller "
                f"than that of the last hidden layer ({tail}): the early layers barely learn.",
                ADVICE["vanishing_gradient"],
            )
        )

    def explodes(step: int) -> bool:
        norms = [r.grad_norm for r in recording.at(step).values() if r.grad_norm is not None]
        return is_exploding(ratios[step], max(norms, default=0.0))

    exploding = _held(late, explodes)
    if exploding:
        rows = recording.at(exploding[-1]).values()
        feeders = {layer.name: layer.feeder or layer.name for layer in recording.layers}
        norms = {feeders[r.layer]: r.grad_norm for r in rows if r.grad_norm is not None}
        worst = max(norms, key=lambda k: norms[k] or 0.0)
        found.append(
            Finding(
                "exploding_gradient",
                (worst,),
                _span(exploding),
                {
                    "max_grad_norm": float(norms[worst] or 0.0),
                    "ratio": statistics.median(ratios[s] for s in exploding),
                    "steps_held": float(len(exploding)),
                    "late_steps": float(len(late)),
                },
                f"Weight gradients explode: up to {norms[worst]:.3g} at {worst} (limit "
                f"{EXPLODING_NORM:g}, or {EXPLODING_RATIO:g}x growth from the last hidden layer "
                "to the first).",
                ADVICE["exploding_gradient"],
                "error",
            )
        )
    return found


def _share_hits(
    recording: Recording, layer: str, late: list[int], attribute: str, threshold: float
) -> tuple[list[int], float]:
    """Late steps where ``layer``'s ``attribute`` is >= ``threshold`` (when they are the
    majority), and the median value over them."""
    values = {
        s: getattr(r, attribute) for s in late if (r := recording.at(s).get(layer)) is not None
    }
    hits = _held(late, lambda s: values.get(s, -1.0) >= threshold)
    return hits, statistics.median(values[s] for s in hits) if hits else 0.0


def _evidence(recording: Recording, layer: str, hits: list[int]) -> dict[str, float]:
    """How many units and samples per unit the last hit rests on."""
    r = recording.at(hits[-1]).get(layer)
    if r is None:
        return {}
    return {
        "units": float(r.units),
        "total_units": float(r.total_units),
        "samples": float(r.samples),
    }


def _layer_findings(recording: Recording, late: list[int]) -> list[Finding]:
    """Dead and saturated units, in hidden sites only: a gate or an output squash sitting
    in its flat tails is doing its job."""
    found: list[Finding] = []
    for layer in recording.layers:
        if layer.role != "hidden":
            continue
        dead, share = _share_hits(recording, layer.name, late, "dead_fraction", DEAD_FRACTION)
        if dead:
            severe = " That is severe." if share >= SEVERE_DEAD_FRACTION else ""
            found.append(
                Finding(
                    "dead_units",
                    (layer.name,),
                    _span(dead),
                    {"dead_fraction": share, **_evidence(recording, layer.name, dead)},
                    f"{share:.0%} of the units of {layer.name} ({layer.activation}) are dead: "
                    f"their derivative is 0 on every sample, so they never learn.{severe}",
                    ADVICE["dead_units"],
                    "error" if share >= SEVERE_DEAD_FRACTION else "warning",
                )
            )
        if not layer.bounded:
            continue
        sat, share = _share_hits(
            recording, layer.name, late, "saturated_fraction", SATURATED_FRACTION
        )
        if sat:
            found.append(
                Finding(
                    "saturation",
                    (layer.name,),
                    _span(sat),
                    {"saturated_fraction": share, **_evidence(recording, layer.name, sat)},
                    f"{share:.0%} of the units of {layer.name} ({layer.activation}) sit in the "
                    "flat tails, where the derivative is under 1% of its maximum.",
                    ADVICE["saturation"],
                )
            )
    return found


def _normalized_finding(recording: Recording, late: list[int]) -> list[Finding]:
    names = [layer.name for layer in recording.layers]
    if len(names) < 2 or any(layer.activation != "selu" for layer in recording.layers):
        return []

    def normalized(step: int) -> bool:
        at = recording.at(step)
        return all(
            n in at
            and abs(at[n].mean) <= NORMALIZED_MEAN
            and abs(at[n].std - 1.0) <= NORMALIZED_STD
            for n in names
        )

    hits = _held(late, normalized)
    if not hits:
        return []
    rows = [r for s in hits for r in recording.at(s).values()]
    worst_mean = max(abs(r.mean) for r in rows)
    worst_std = max(abs(r.std - 1.0) for r in rows)
    return [
        Finding(
            "self_normalizing",
            tuple(names),
            _span(hits),
            {"max_abs_mean": worst_mean, "max_abs_std_minus_1": worst_std},
            f"SELU keeps mean ~0 and std ~1 in all {len(names)} layers (|mean| <= "
            f"{worst_mean:.3f}, |std - 1| <= {worst_std:.3f}): the signal neither fades nor "
            "blows up with depth.",
            ADVICE["self_normalizing"],
            "info",
        )
    ]


def _pair_sizes(structure: Structure, pair: tuple[str, str]) -> dict[str, float]:
    """A linear pair's widths (input of the first, between, output of the second)."""
    sizes = structure.pair_sizes.get(pair)
    return dict(zip(("in", "middle", "out"), map(float, sizes), strict=True)) if sizes else {}


def _structure_findings(recording: Recording) -> list[Finding]:
    structure = recording.structure
    steps = (0, max(recording.steps - 1, 0))
    found = [
        Finding(
            "linear_collapse",
            (first, second),
            steps,
            _pair_sizes(structure, (first, second)),
            f"{first} feeds {second} with no non-linearity in between: together they are one "
            "linear map, so the extra layer adds parameters but no expressive power.",
            ADVICE["linear_collapse"],
        )
        for first, second in structure.linear_pairs
    ]
    bad_init = structure.selu_bad_init
    problems = []
    if bad_init:
        details = "; ".join(f"{n}: {why}" for n, why in bad_init.items())
        problems.append(f"weights not LeCun-normal ({details})")
    if structure.plain_dropout:
        problems.append("ordinary dropout (" + ", ".join(structure.plain_dropout) + ")")
    if structure.batchnorm:
        problems.append("batch norm (" + ", ".join(structure.batchnorm) + ")")
    if problems:
        found.append(
            Finding(
                "selu_misuse",
                (*bad_init, *structure.plain_dropout, *structure.batchnorm),
                steps,
                {},
                "SELU only self-normalizes with LeCun-normal weights and without ordinary "
                "dropout or batch norm; this model has " + "; ".join(problems) + ".",
                ADVICE["selu_misuse"],
            )
        )
    return found


def _non_finite_finding(recording: Recording) -> list[Finding]:
    event = recording.non_finite
    if event is None:
        return []
    feeders = {layer.name: layer.feeder for layer in recording.layers}
    feeder = feeders.get(event.layer) if event.where == "input" else None
    where = {
        "output": f"output of {event.layer}",
        "input": f"input of {event.layer}" + (f" (the output of {feeder})" if feeder else ""),
        "gradient": f"weight gradient of {event.layer}",
        "weight": f"weights of {event.layer}",
    }[event.where]
    return [
        Finding(
            "non_finite",
            (feeder, event.layer) if feeder else (event.layer,),
            (event.step, event.step),
            {"step": float(event.step)},
            f"NaN/inf first appeared in the {where} at step {event.step}.",
            ADVICE["non_finite"],
            "error",
        )
    ]


def _nothing_watched(recording: Recording) -> list[Finding]:
    if recording.layers:
        return []
    return [
        Finding(
            "nothing_watched",
            (),
            (0, max(recording.steps - 1, 0)),
            {},
            "No activation was watched: nothing in the model computes an elementwise "
            "activation, so only its structure and NaN/inf were checked.",
            ADVICE["nothing_watched"],
        )
    ]


def diagnose(recording: Recording) -> list[Finding]:
    """All findings for ``recording``: non-finite values first, then whether anything was
    watched, structure, gradients, per-layer signals, and the informational
    ``self_normalizing`` note last."""
    late = _late_steps(recording)
    return [
        *_non_finite_finding(recording),
        *_nothing_watched(recording),
        *_structure_findings(recording),
        *_gradient_findings(recording, late),
        *_layer_findings(recording, late),
        *_normalized_finding(recording, late),
    ]
