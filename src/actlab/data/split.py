"""Seeded train / validation / test splits and standardization fitted on the train part.

**Stratification (classification).** Class ``c`` with ``n_c`` rows is expected to put
``f * n_c`` rows into a part of fraction ``f``. Each class's test count is ``floor`` or
``ceil`` of its expectation, the ceilings going to the largest remainders so the test total
is ``round(f_test * N)``; its validation count is then chosen, again by largest remainder,
so that both its validation and its train counts are within one row of their expectations.
Every class therefore keeps its proportion in every part to within one sample, and the part
sizes are ``round(f * N)`` up to a few rows. Rows are drawn at random (``seed``) inside each
class. Regression splits are a seeded shuffle.

**Scaling.** With ``mu``, ``sigma`` the per-feature mean and (population) standard deviation
of the train part (``sigma = 1`` for a column constant on train), every part becomes
``(X - mu) / sigma`` in float32: the train columns have mean 0 and standard deviation 1, the
others only approximately. Regression targets are standardized the same way with the train
mean and standard deviation, kept as ``Splits.target_scale``. The arithmetic cannot
overflow, even for values near the float64 limit (:mod:`actlab.data.scaling`); a
validation or test value so far from the train part that its scaled value exceeds float32
is a :class:`DataError` naming the column and sample.

**Imputation.** When the data set was loaded with ``impute=True``, non-finite feature cells
are replaced, in all three parts, by the median of the column's finite train values; the
counts are in ``Splits.notes``.
"""

from __future__ import annotations

import math

import numpy as np

from actlab.data.dataset import Dataset, Splits
from actlab.data.errors import DataError
from actlab.data.scaling import Standardization, ValueBeyondFloat32

Indices = tuple[np.ndarray, np.ndarray, np.ndarray]
PARTS = ("train", "validation", "test")


def _check_fractions(val_fraction: float, test_fraction: float) -> float:
    for key, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not (isinstance(f, int | float) and 0.0 < f < 1.0):
            raise DataError(f"{key}={f!r} is not allowed; it must be a number in (0, 1)")
    train = 1.0 - val_fraction - test_fraction
    if train <= 0.0:
        raise DataError(
            f"val_fraction={val_fraction!r} + test_fraction={test_fraction!r} must be below 1 "
            "(the rest is the train part)"
        )
    return train


def _bump(counts: np.ndarray, room: np.ndarray, remainder: np.ndarray, want: int, rng) -> None:
    """Add one to ``want`` entries of ``counts`` that have ``room``, largest remainder first
    (random ties)."""
    order = np.lexsort((rng.random(len(counts)), -remainder))
    for k in order[room[order]][: max(want, 0)]:
        counts[k] += 1


def _class_counts(
    n: np.ndarray, val_fraction: float, test_fraction: float, rng
) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (val, test) counts: the rounding scheme of the module docstring."""
    total = int(n.sum())
    e_t = test_fraction * n
    test = np.floor(e_t).astype(np.int64)
    _bump(test, e_t - test > 0, e_t - test, round(test_fraction * total) - int(test.sum()), rng)
    e_v = val_fraction * n
    shift = e_t - test  # train must absorb this too: |train - e_train| = |shift + e_v - v|
    lo = np.ceil(np.maximum(e_v, e_v + shift) - 1.0 - 1e-9).astype(np.int64)
    hi = np.floor(np.minimum(e_v, e_v + shift) + 1.0 + 1e-9).astype(np.int64)
    lo = np.clip(lo, 0, n - test - 1)  # n >= 1 / f_train keeps one train row per class
    hi = np.clip(hi, lo, n - test - 1)
    val = lo.copy()
    _bump(val, hi > lo, e_v - lo, round(val_fraction * total) - int(val.sum()), rng)
    return val, test


def _named(data: Dataset) -> str:
    """How an error names the data: its name and where it came from (the file, for file
    data), e.g. ``bad (/tmp/bad.csv)`` or ``iris (embedded: scikit-learn iris)``."""
    return f"{data.name} ({data.source})"


def _stratified(data: Dataset, val_fraction: float, test_fraction: float, rng) -> Indices:
    assert data.class_labels is not None
    train_fraction = 1.0 - val_fraction - test_fraction
    n = np.bincount(data.y, minlength=len(data.class_labels))
    needed = max(2, math.ceil(1.0 / train_fraction - 1e-9))
    for k, label in enumerate(data.class_labels):
        if n[k] < needed:
            raise DataError(
                f"{_named(data)}: class {label!r} has {n[k]} sample(s), too few to stratify "
                f"into train/val/test (at least {needed} needed with train fraction "
                f"{train_fraction:.2g})"
            )
    val, test = _class_counts(n, val_fraction, test_fraction, rng)
    parts: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    for k in range(len(n)):
        rows = rng.permutation(np.flatnonzero(data.y == k))
        parts[2].append(rows[: test[k]])
        parts[1].append(rows[test[k] : test[k] + val[k]])
        parts[0].append(rows[test[k] + val[k] :])
    train, valid, test_rows = (rng.permutation(np.concatenate(p)) for p in parts)
    return train, valid, test_rows


def split_indices(
    data: Dataset, *, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> Indices:
    """Row indices ``(train, val, test)`` of :func:`split`: disjoint, covering every row,
    stratified by class for classification, in random order."""
    _check_fractions(val_fraction, test_fraction)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"seed={seed!r} is not allowed; it must be an integer >= 0")
    rng = np.random.default_rng(int(seed))
    if data.task == "classification":
        parts = _stratified(data, val_fraction, test_fraction, rng)
    else:
        rows = rng.permutation(data.n_samples)
        n_test = round(test_fraction * data.n_samples)
        n_val = round(val_fraction * data.n_samples)
        parts = (rows[n_test + n_val :], rows[n_test : n_test + n_val], rows[:n_test])
    for part, size in zip(PARTS, map(len, parts), strict=True):
        if size == 0:
            raise DataError(
                f"{_named(data)}: {data.n_samples} samples are too few for a non-empty "
                f"{part} part (val_fraction={val_fraction}, test_fraction={test_fraction})"
            )
    return parts


def _impute(data: Dataset, X: np.ndarray, parts: Indices) -> list[str]:
    """Replace non-finite cells of ``X`` in place by train-part column medians."""
    notes = []
    bad = ~np.isfinite(X)
    for j in np.flatnonzero(bad.any(axis=0)):
        column = X[parts[0], j]
        finite = column[np.isfinite(column)]
        name = data.feature_names[j]
        if finite.size == 0:
            raise DataError(
                f"{_named(data)}: column {name!r} has no finite value in the train part "
                "to impute from"
            )
        median = float(np.median(finite))
        counts = [int(np.count_nonzero(bad[p, j])) for p in parts]
        X[bad[:, j], j] = median
        notes.append(
            f"imputed {sum(counts)} value(s) of column {name!r} with the train median "
            f"{median:.6g} (train {counts[0]}, val {counts[1]}, test {counts[2]})"
        )
    return notes


def _standardized(
    data: Dataset,
    scaling: Standardization,
    values: np.ndarray,
    rows: np.ndarray,
    part: str,
    names: list[str],
) -> np.ndarray:
    """``values[rows]`` standardized, or a DataError naming the column and the data row
    whose scaled value float32 cannot hold."""
    try:
        return scaling.apply(values[rows])
    except ValueBeyondFloat32 as exc:
        what = names[exc.column]
        what = what if what.startswith("the ") else f"column {what!r}"
        row = int(rows[exc.row])
        raise DataError(
            f"{_named(data)}: {what} at data row {row} (from 0; {part} part): {exc}; "
            "remove the outlier or transform the column (e.g. a logarithm)"
        ) from None


def split(
    data: Dataset, *, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2
) -> Splits:
    """Split ``data`` (see the module docstring) and standardize on the train part."""
    parts = split_indices(data, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction)
    X = np.array(data.X, dtype=np.float64)
    notes = _impute(data, X, parts) if data.impute else []
    features = Standardization.fit(X[parts[0]])
    if features.constant.any():
        count = int(features.constant.sum())
        notes.append(f"{count} feature(s) constant on the train part (not scaled)")
    xs = [
        _standardized(data, features, X, rows, part, data.feature_names)
        for rows, part in zip(parts, PARTS, strict=True)
    ]

    target_scale = None
    if data.task == "classification":
        assert data.class_labels is not None
        ys = [data.y[p].astype(np.int64) for p in parts]
        n_outputs = len(data.class_labels)
    else:
        y = np.asarray(data.y, dtype=np.float64).reshape(-1, 1)
        target = Standardization.fit(y[parts[0]])
        if target.constant[0]:
            raise DataError(f"{_named(data)}: the regression target is constant on the train part")
        target_scale = (float(target.mean[0]), float(target.std[0]))
        ys = [
            _standardized(data, target, y, rows, part, ["the regression target"])[:, 0]
            for rows, part in zip(parts, PARTS, strict=True)
        ]
        n_outputs = 1
    return Splits(
        X_train=xs[0],
        y_train=ys[0],
        X_val=xs[1],
        y_val=ys[1],
        X_test=xs[2],
        y_test=ys[2],
        task=data.task,
        n_features=data.n_features,
        n_outputs=n_outputs,
        image_shape=data.image_shape,
        class_labels=None if data.class_labels is None else list(data.class_labels),
        target_scale=target_scale,
        feature_scale=(features.mean, features.std),
        notes=notes,
    )
