"""Raw data as a reader produces it, and its assembly into a checked :class:`Dataset`.

Every source (embedded, generated, CSV, NPZ/NPY, in-memory arrays) produces a
:class:`RawData`; :func:`assemble` applies the same checks to all of them: non-finite
features (error, or kept for imputation), the task, the target encoding, at least two
classes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from actlab.data.dataset import Dataset
from actlab.data.errors import DataError
from actlab.data.targets import (
    NumericParse,
    check_finite_target,
    check_task,
    encode_classes,
    infer_task,
    is_number,
    parse_numeric,
)


def row_label(i: int) -> str:
    """Where row ``i`` of an array is (0-based)."""
    return f"row {i}"


@dataclass
class RawData:
    """Features as float64 ``[N, F]`` (NaN / inf allowed here) and targets as read.

    ``y`` is numeric or strings. When ``class_labels`` is given, ``y`` already holds class
    indices into it (the source's own class order, e.g. scikit-learn's). When
    ``text_target`` is given, ``y`` holds indices into these sorted labels: a target column
    of text read from a file (at least one label is not a number), kept as codes rather
    than one string per row. ``where(i)``
    names row ``i`` in messages ("line 7" for a CSV file, "row 6" for arrays). ``origin``
    prefixes messages (the file name, or the data set name).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    source: str
    origin: str
    target_name: str = "target"
    class_labels: list[str] | None = None
    image_shape: tuple[int, int, int] | None = None
    notes: list[str] = field(default_factory=list)
    where: Callable[[int], str] = row_label
    text_target: list[str] | None = None


def _check_features(raw: RawData, impute: bool) -> list[str]:
    finite = np.isfinite(raw.X)
    if finite.all():
        return []
    bad_cols = np.flatnonzero(~finite.all(axis=0))
    if not impute:
        j = int(bad_cols[0])
        i = int(np.flatnonzero(~finite[:, j])[0])
        kind = "a NaN/missing" if np.isnan(raw.X[i, j]) else "an infinite"
        raise DataError(
            f"{raw.origin}: column {raw.feature_names[j]!r} has {kind} value at "
            f"{raw.where(i)}; fix it, or replace such values by the training part's median "
            "(--impute on the command line, impute=True in Python)"
        )
    notes = []
    for j in bad_cols:
        count = int(np.count_nonzero(~finite[:, j]))
        if count == len(raw.X):
            raise DataError(
                f"{raw.origin}: column {raw.feature_names[j]!r} has no finite value to impute from"
            )
        notes.append(
            f"column {raw.feature_names[j]!r}: {count} missing/non-finite value(s), "
            "replaced by the train-part median at split"
        )
    return notes


def _parse_target(raw: RawData) -> NumericParse:
    """The target as numbers, or the first row that is not one."""
    if raw.text_target is None:
        return parse_numeric(raw.y)
    text = np.array([not is_number(label) for label in raw.text_target])
    return NumericParse(None, int(np.flatnonzero(text[raw.y])[0]))


def assemble(raw: RawData, *, task: str | None = None, impute: bool = False) -> Dataset:
    """Check ``raw`` and turn it into a :class:`Dataset` (see the module docstring)."""
    wanted = check_task(task)
    n = len(raw.X)
    if n == 0 or raw.X.shape[1] == 0:
        what = "no rows" if n == 0 else "no feature columns"
        raise DataError(f"{raw.origin}: the data is empty ({what})")
    if len(raw.y) != n:
        raise DataError(f"{raw.origin}: {n} feature rows but {len(raw.y)} targets")
    notes = list(raw.notes) + _check_features(raw, impute)

    if raw.class_labels is not None and wanted in (None, "classification"):
        y, labels = raw.y.astype(np.int64), list(raw.class_labels)
        task_ = "classification"
    else:
        parsed = _parse_target(raw)
        if parsed.values is not None:
            check_finite_target(parsed.values, raw.target_name, raw.where)
        task_ = wanted or infer_task(parsed.values)
        if task_ == "regression":
            if parsed.values is None:
                i = parsed.first_bad
                assert i is not None
                value = raw.y[i] if raw.text_target is None else raw.text_target[raw.y[i]]
                raise DataError(
                    f"{raw.origin}: target {raw.target_name!r} has the non-numeric value "
                    f"{str(value)!r} at {raw.where(i)}; a regression target must be numbers"
                )
            y, labels = parsed.values, None
        elif raw.text_target is not None:
            y, labels = raw.y.astype(np.int64), list(raw.text_target)
        else:
            y, labels = encode_classes(raw.y, parsed.values)
        if wanted is None:
            notes.append(f"task inferred from the target: {task_} (override with task=)")

    if labels is not None and len(labels) < 2:
        raise DataError(
            f"{raw.origin}: target {raw.target_name!r} has a single class ({labels[0]!r}); "
            "classification needs at least two"
        )
    return Dataset(
        name=raw.name,
        X=np.ascontiguousarray(raw.X, dtype=np.float64),
        y=y,
        task=task_,
        feature_names=list(raw.feature_names),
        class_labels=labels,
        image_shape=raw.image_shape,
        source=raw.source,
        notes=notes,
        impute=impute and bool(np.any(~np.isfinite(raw.X))),
    )
