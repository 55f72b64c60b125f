"""How much memory training the built-in stacked MLP / CNN takes, estimated before anything
is allocated, so that a model that cannot fit is refused with the estimate instead of
dying in an allocation (or swapping the machine to a halt).

With ``M`` candidates, ``P`` parameters per candidate, ``U`` hidden values per sample and
candidate (units x positions, summed over hidden layers), batch ``B``, ``N`` samples of
``F`` features and ``s`` bytes per value (4 in float32)::

    parameters  = s * M * P * (2 + k + e + 2 * (1 + k + e))
    activations = s * M * (a * B * U + B * F) + s * 3 * chunk * M * U
    data        = N * F * 20 + N * 16

``k`` is the optimizer's state per parameter (Adam 2, SGD with momentum 1, plain SGD 0)
and ``e`` is 1 with early stopping (the best weights are kept); ``a`` is 6 for the MLP and
the ``ffn`` model and 8 for the CNN. The ``ffn`` model's hidden values per sample are,
per position, each block's FFN projection and output and ten residual-stream copies
(norms, attention's queries, keys, values and output), plus the attention weights
(``heads x T x T`` per block). The parameter term counts
weights, gradients, optimizer state, the best weights, and two in-memory checkpoint
snapshots (the pending one and the next, while it is taken). A training step keeps about
``a`` values per hidden value (pre-activation, activation, the per-slice outputs before
they are joined, and their gradients; the CNN adds layout copies around its grouped
convolutions); evaluation and probes run in chunks of ``chunk``
samples (:data:`actlab.engine.trainer.EVAL_BUDGET`). The data is held as float64 twice
(the data set and its splits) and as float32 tensors. ``benchmarks/memory.py`` compares
the estimate with measured peaks (within 0.9-1.6x of them; BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from actlab.data.fits import available_memory, size_text
from actlab.engine.trainer import EVAL_BUDGET

KERNEL = 3
"""The CNN's convolution size (``StackedCNN``'s default, which the runner uses)."""


class ModelTooLargeError(ValueError):
    """The estimated memory of a training run exceeds what this machine has available."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a training run is expected to hold at its peak, by part."""

    parameters: int
    activations: int
    data: int

    @property
    def total(self) -> int:
        return self.parameters + self.activations + self.data

    def describe(self) -> str:
        return (
            f"about {size_text(self.total)} (parameters, gradients and optimizer state "
            f"{size_text(self.parameters)}, activations {size_text(self.activations)}, "
            f"data {size_text(self.data)})"
        )


def estimate_training(
    *,
    model: str,
    layers: Sequence[int],
    n_candidates: int,
    n_features: int,
    n_outputs: int,
    n_samples: int,
    batch_size: int,
    optimizer: str,
    momentum: float = 0.0,
    early_stopping: int | None = None,
    image_shape: tuple[int, int, int] | None = None,
    bytes_per_value: int = 4,
    width_factor: int = 1,
    d_model: int = 64,
    heads: int = 4,
    vocabulary: int | None = None,
) -> MemoryEstimate:
    """The estimate of the module docstring; ``layers`` are the MLP's hidden widths, the
    FFN widths of the ``ffn`` model's blocks, or the CNN's channels; ``width_factor`` 2
    when a gated activation's layers project to value and gate halves (an upper bound
    for a run that mixes plain and gated ones). Exact integers, so absurd sizes do not
    overflow."""
    m, s, f = int(n_candidates), int(bytes_per_value), int(width_factor)
    if model == "ffn":
        d, t = int(d_model), int(n_features) if vocabulary is not None else 1
        attention = t > 1
        if vocabulary is not None:  # token and position embeddings
            per_candidate = (int(vocabulary) + t) * d
        else:  # the input projection of flat features
            per_candidate = int(n_features) * d + d
        per_candidate += sum(
            (4 * d + 4 * d * d if attention else 2 * d) + d * f * w + f * w + w * d + d
            for w in (int(v) for v in layers)
        )
        per_candidate += 2 * d + d * int(n_outputs) + int(n_outputs)
        per_position = sum(f * int(w) + int(w) + 10 * d for w in layers) + int(n_outputs)
        hidden_values = t * per_position + (len(layers) * int(heads) * t * t if attention else 0)
        widest = t * max(f * int(w) for w in layers)
        per_value = 6
    elif model == "cnn":
        if image_shape is None:
            raise ValueError("the CNN's memory estimate needs image_shape")
        c, h, w = (int(v) for v in image_shape)
        ins = [c, *layers[:-1]]
        per_candidate = sum(o * i * KERNEL * KERNEL + o for i, o in zip(ins, layers, strict=True))
        per_candidate += int(layers[-1]) * h * w * n_outputs + n_outputs
        hidden_values = sum(int(o) * h * w for o in layers)
        widest = max(int(o) for o in layers) * h * w
        per_value = 8
    else:
        widths = [int(n_features), *(int(v) for v in layers), int(n_outputs)]
        columns = [f * int(v) for v in layers] + [int(n_outputs)]
        per_candidate = sum(a * b + b for a, b in zip(widths[:-1], columns, strict=True))
        hidden_values = sum(columns[:-1])
        widest = max(columns[:-1])
        per_value = 6
    k = 2 if optimizer == "adam" else (1 if momentum > 0 else 0)
    e = 1 if early_stopping else 0
    copies = 2 + k + e + 2 * (1 + k + e)
    chunk = max(int(batch_size), EVAL_BUDGET // max(1, m * widest))
    return MemoryEstimate(
        parameters=s * m * per_candidate * copies,
        activations=s
        * m
        * (per_value * int(batch_size) * hidden_values + int(batch_size) * n_features)
        + s * 3 * min(chunk, max(int(n_samples), 1)) * m * hidden_values,
        data=int(n_samples) * int(n_features) * 20 + int(n_samples) * 16,
    )


def check_fits(estimate: MemoryEstimate, what: str, available: int | None = None) -> None:
    """Raise :class:`ModelTooLargeError` (one line, with the estimate) when ``estimate``
    exceeds the available memory (:func:`available_memory` unless given)."""
    free = available_memory() if available is None else available
    if free is None or estimate.total <= free:
        return
    times = estimate.total / max(free, 1)
    ratio = f"{times:.1f}x" if math.isfinite(times) and times < 1e6 else "far more than"
    raise ModelTooLargeError(
        f"{what} needs {estimate.describe()}, {ratio} the {size_text(free)} available; "
        "use fewer activations or seeds, narrower or fewer layers, or a smaller batch size"
    )
