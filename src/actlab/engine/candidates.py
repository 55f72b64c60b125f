"""Candidates of a sweep: one activation x one seed x the initialization scheme it uses.

Candidates are ordered activation-major (``a0s0, a0s1, ..., a1s0, ...``) so that every
activation's candidates form one contiguous slice of the stacked model's candidate axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from actlab.catalog import Activation, get
from actlab.catalog.propagation import variance_preserving_gain
from actlab.catalog.widths import candidate_widths

INIT_SCHEMES = ("he", "lecun", "glorot")
GAIN_PREFIX = "gain="
"""``init = "gain=<g>"``: ``std = g / sqrt(fan_in)``, g derived for the activation
(:func:`actlab.catalog.propagation.variance_preserving_gain`), what ``"auto"`` resolves to."""


@dataclass(frozen=True)
class Candidate:
    """One member of the stack: an activation, a seed and the resolved init scheme."""

    activation: Activation
    seed: int
    init: str
    """A scheme of INIT_SCHEMES or ``gain=<g>`` (see :data:`GAIN_PREFIX`)."""


@dataclass(frozen=True)
class ActivationSlice:
    """An activation and the contiguous candidate slice ``[start, stop)`` that uses it."""

    activation: Activation
    start: int
    stop: int


def resolve_init(activation: Activation, scheme: str) -> str:
    """``"auto"`` -> ``"gain=<g>"`` with the activation's variance-preserving gain, derived
    by signal propagation (sqrt 2 for relu: He; 1 for selu: LeCun; 1.5925 for tanh, ...);
    otherwise ``scheme`` (one of :data:`INIT_SCHEMES`, or ``"model"``: a user's model
    initialises itself)."""
    if scheme == "auto":
        return f"{GAIN_PREFIX}{variance_preserving_gain(activation)!r}"
    if scheme not in (*INIT_SCHEMES, "model"):
        raise ValueError(f"init={scheme!r} must be 'auto' or one of {INIT_SCHEMES}")
    return scheme


def _as_activation(spec: str | Activation) -> Activation:
    act = spec if isinstance(spec, Activation) else get(spec)
    if act.is_vector and not act.is_gated:
        raise ValueError(
            f"activation {act.spec!r} acts over a whole axis; hidden layers need an "
            "elementwise or a gated activation"
        )
    return act


def make_candidates(
    activations: Sequence[str | Activation], seeds: Sequence[int], init: str = "auto"
) -> list[Candidate]:
    """All activation x seed candidates, activation-major."""
    acts = [_as_activation(a) for a in activations]
    if not acts:
        raise ValueError("activations is empty; give at least one activation")
    specs = [a.spec for a in acts]
    dupes = sorted({s for s in specs if specs.count(s) > 1})
    if dupes:
        raise ValueError(f"activations has duplicates: {', '.join(dupes)}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty; give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds!r} has duplicates")
    return [Candidate(a, s, resolve_init(a, init)) for a in acts for s in seeds]


def activation_slices(candidates: Sequence[Candidate]) -> list[ActivationSlice]:
    """Group candidates into contiguous per-activation slices; an activation that appears
    in two separate runs is an error (the order must be activation-major)."""
    if not candidates:
        raise ValueError("candidates is empty")
    slices: list[ActivationSlice] = []
    seen: set[str] = set()
    start = 0
    for i in range(1, len(candidates) + 1):
        if i == len(candidates) or candidates[i].activation != candidates[start].activation:
            act = candidates[start].activation
            if act.spec in seen:
                raise ValueError(
                    f"candidates of {act.spec!r} are not contiguous; order them activation-major"
                )
            seen.add(act.spec)
            slices.append(ActivationSlice(act, start, i))
            start = i
    return slices


def shape_groups(
    candidates: Sequence[Candidate], widths: Sequence[int], match: str
) -> list[tuple[tuple[int, ...], list[Candidate]]]:
    """The candidates cut into runs that share their layer shapes (width factor and
    widths), in order: one stack each. All stacks step in lockstep on the same paired
    seeds and batches (:class:`actlab.engine.StackedTrainer`), so a candidate trains as it
    would alone whatever the other stacks hold."""
    groups: list[tuple[tuple[int, ...], list[Candidate]]] = []
    last: tuple[int, tuple[int, ...]] | None = None
    for c in candidates:
        mine = candidate_widths(c.activation, widths, match)
        key = (c.activation.width_factor, mine)
        if key != last:
            groups.append((mine, []))
            last = key
        groups[-1][1].append(c)
    return groups
