"""What the trainer reports: per epoch (:class:`EpochReport`) and per candidate at the end
(:class:`CandidateResult`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

HISTORY_KEYS = ("train_loss", "val_loss", "val_metric", "epoch_time")
EPOCH_PHASES = ("training steps", "validation", "probes")
LAYER_KEYS = ("grad_norm", "dead_fraction", "saturated_fraction", "act_mean", "act_std")


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf floats replaced by ``None`` (recursively)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


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
    """One candidate's outcome.

    ``history`` holds one entry per epoch the stack ran: ``train_loss`` (mean over the
    epoch's batches), ``val_loss``, ``val_metric``, ``epoch_time`` (seconds of the whole
    stacked epoch), and per hidden layer (a list per epoch) ``grad_norm``,
    ``dead_fraction``, ``saturated_fraction``, ``act_mean``, ``act_std`` (see
    :mod:`actlab.engine.probes`). Entries of epochs after a candidate was frozen
    (diverged or early-stopped) are NaN (``None`` in :meth:`to_dict`), ``epoch_time``
    excepted. Epochs are counted from 1. ``test_metric`` / ``test_loss`` come from the
    weights at the end (the best-validation weights when early stopping stopped the
    candidate) and are NaN for a diverged candidate.
    """

    activation: str
    seed: int
    init: str
    status: str
    diverged_epoch: int | None
    diverged_step: int | None
    stopped_epoch: int | None
    best_epoch: int | None
    test_metric: float
    test_loss: float
    history: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (NaN/inf -> ``None``)."""
        return json_safe(dict(self.__dict__))
