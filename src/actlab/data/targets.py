"""Targets: infer the task and encode labels.

Inference rule (overridable with ``task=``): a target is **classification** when its values
are not all numbers (strings), or when they are integer-like numbers with at most
:data:`MAX_INFERRED_CLASSES` distinct values and at least two rows per distinct value on
average. Any other numeric target (non-integer floats, or many distinct values) is
**regression**.

Classification targets become int64 class indices ``0..K-1`` in sorted label order
(numeric order for numbers, text order for strings) unless the source gives its own class
order; the original labels are kept as strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from actlab.data.dataset import Task
from actlab.data.errors import DataError

MAX_INFERRED_CLASSES = 20
TASKS: tuple[Task, ...] = ("classification", "regression")


@dataclass(frozen=True)
class NumericParse:
    """Targets read as float64, or the index of the first value that is not a number."""

    values: np.ndarray | None
    first_bad: int | None


def is_number(text: str) -> bool:
    """Whether ``float(text)`` reads ``text``."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_numeric(y: np.ndarray) -> NumericParse:
    """Read ``y`` as float64; strings are parsed one by one with ``float``."""
    if y.dtype.kind in "biuf":
        return NumericParse(y.astype(np.float64), None)
    out = np.empty(len(y), dtype=np.float64)
    for i, v in enumerate(y):
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            return NumericParse(None, i)
    return NumericParse(out, None)


def check_task(task: str | None) -> Task | None:
    """Validate a ``task=`` override."""
    if task is None or task in TASKS:
        return task  # type: ignore[return-value]
    raise DataError(f"task={task!r} is not valid; use one of: {', '.join(TASKS)}")


def infer_task(numeric: np.ndarray | None) -> Task:
    """Classification or regression by the rule in this module's docstring."""
    if numeric is None:
        return "classification"
    distinct = np.unique(numeric)
    integer_like = bool(np.all(distinct == np.round(distinct)))
    few = len(distinct) <= MAX_INFERRED_CLASSES and 2 * len(distinct) <= len(numeric)
    return "classification" if integer_like and few else "regression"


def _label(v: float) -> str:
    return str(int(v)) if v == round(v) else repr(float(v))


def encode_classes(y: np.ndarray, numeric: np.ndarray | None) -> tuple[np.ndarray, list[str]]:
    """Class indices (int64, sorted label order) and the labels as strings."""
    if numeric is not None:
        uniq, idx = np.unique(numeric, return_inverse=True)
        return idx.astype(np.int64), [_label(v) for v in uniq]
    uniq, idx = np.unique(y.astype(str), return_inverse=True)
    return idx.astype(np.int64), [str(v) for v in uniq]


def check_finite_target(numeric: np.ndarray, target: str, where: Callable[[int], str]) -> None:
    """Targets are never imputed: a NaN or inf target is an error naming its row."""
    bad = np.flatnonzero(~np.isfinite(numeric))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"target {target!r} has the value {numeric[i]} at {where(i)}; "
            "targets must be finite (drop the row)"
        )
