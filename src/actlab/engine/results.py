"""What the trainer reports: per epoch (:class:`EpochReport`) and per candidate at the end
(:class:`CandidateResult`)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HISTORY_KEYS = ("train_loss", "val_loss", "val_metric", "epoch_time")
EPOCH_PHASES = ("training steps", "validation", "probes")
LAYER_KEYS = ("grad_norm", "dead_fraction", "saturated_fraction", "act_mean", "act_std")


@dataclass
class EpochReport:
    """Sent to ``on_epoch`` after every epoch. ``best`` is ``(activation spec, mean
    validation metric over its seeds)`` of the best activation this epoch (``None`` if no
    candidate has a finite one); ``val_metric`` is per candidate, in candidate order.
    ``phases`` splits the epoch's ``seconds`` into :data:`EPOCH_PHASES` (what the
    monitoring costs next to the training steps); their sum is at most ``seconds``."""

    epoch: int
    epochs: int
    seconds: float
    best: tuple[str, float] | None
    diverged: int
    stopped: int
    val_metric: list[float]
    phases: dict[str, float] = field(default_factory=dict)


@dataclass
class CandidateResult:
    """One candidate's outcome, from the trainer to the run directory (``results.json``
    holds :meth:`to_dict` of each; :meth:`from_dict` reads it back to the same values).

    ``group`` names the comparison's model-shape group (empty straight out of the
    trainer). ``status`` is ``ok`` or ``diverged``; ``diverged_epoch`` and
    ``diverged_step`` say when (1-based), ``stopped_epoch`` and ``best_epoch`` when early
    stopping froze it and which epoch's weights it kept.

    ``history`` holds one entry per epoch the stack ran: ``train_loss`` (mean over the
    epoch's batches), ``val_loss``, ``val_metric``, ``epoch_time`` (seconds of the whole
    stacked epoch), and per hidden layer (a list per epoch) ``grad_norm``,
    ``dead_fraction``, ``saturated_fraction``, ``act_mean``, ``act_std`` (see
    :mod:`actlab.engine.probes`). Entries of epochs after a candidate was frozen
    (diverged or early-stopped) are NaN, ``epoch_time`` excepted. Epochs are counted
    from 1. ``test_metric`` / ``test_loss`` come from the weights at the end (the
    best-validation weights when early stopping stopped the candidate) and are NaN for a
    diverged candidate. Values are NaN, never ``None``, in memory; the run directory's
    JSON writes NaN as ``null``.
    """

    activation: str
    seed: int
    status: str
    init: str = ""
    group: str = ""
    diverged_epoch: int | None = None
    diverged_step: int | None = None
    stopped_epoch: int | None = None
    best_epoch: int | None = None
    test_metric: float = math.nan
    test_loss: float = math.nan
    history: dict[str, list[Any]] = field(default_factory=dict)
    widths: list[int] = field(default_factory=list)
    """Output units of each hidden layer (MLP) or FFN block it trained with (a gated
    activation's layer projects to twice as many); empty for a CNN or a user's model."""
    parameters: int | None = None
    """Its trainable values."""
    learned: dict[str, list[float]] = field(default_factory=dict)
    """A learnable activation's parameters at the end (the weights ``test_metric`` comes
    from), by name, one value per hidden layer / FFN block / activation module in order,
    e.g. ``{"alpha": [0.21, 0.17]}`` for prelu (:mod:`actlab.engine.activations`); empty
    for an activation without learnable parameters."""
    test_bpc: float | None = None
    """Next-character prediction (the text corpus): bits per character on the test part,
    ``test_loss / ln 2``; ``None`` on other tasks (NaN for a diverged candidate)."""

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    def to_dict(self) -> dict[str, Any]:
        """A plain dict (NaN kept: the writer of strict JSON turns it into ``null``) that
        shares no list or dict with the record. Copied by its known shape, not by
        ``dataclasses.asdict``, whose generic deep copy took ~20 ms for the default run's
        40 histories."""
        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        record["history"] = {
            key: [list(v) if isinstance(v, list) else v for v in per_epoch]
            for key, per_epoch in self.history.items()
        }
        record["widths"] = list(self.widths)
        record["learned"] = {name: list(v) for name, v in self.learned.items()}
        return record

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> CandidateResult:
        """Read a :meth:`to_dict` record, e.g. from ``results.json`` (``null`` -> NaN).
        Unknown keys and a record without ``activation``, ``seed`` or ``status`` are
        refused, naming the problem."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(record) - names)
        if unknown:
            raise ValueError(f"candidate record has unknown field(s) {unknown}")
        missing = [k for k in ("activation", "seed", "status") if k not in record]
        if missing:
            raise ValueError(f"candidate record lacks {missing}")
        values = dict(record)
        for key in ("test_metric", "test_loss"):
            if key in values:
                values[key] = _number(values[key])
        values["seed"] = int(values["seed"])
        values["learned"] = {
            name: _numbers(list(v)) for name, v in (values.get("learned") or {}).items()
        }
        values["history"] = {
            key: [_numbers(v) for v in per_epoch]
            for key, per_epoch in (values.get("history") or {}).items()
        }
        return cls(**values)


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _numbers(value: Any) -> Any:
    """A history entry (a number, or a list per layer) with ``None`` as NaN."""
    if isinstance(value, list):
        return [_number(v) for v in value]
    return _number(value)
