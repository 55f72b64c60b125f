"""The two data containers: :class:`Dataset` (all rows, before splitting) and
:class:`Splits` (train / validation / test, standardized, ready for a model)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from actlab.data.scaling import Standardization

Task = Literal["classification", "regression"]


def _class_counts(y: np.ndarray, labels: list[str] | None) -> dict[str, int] | None:
    if labels is None:
        return None
    counts = np.bincount(y, minlength=len(labels))
    return {label: int(c) for label, c in zip(labels, counts, strict=True)}


def _target_stats(y: np.ndarray) -> dict[str, float]:
    """Range, mean and standard deviation, without overflow for values near 1e308."""
    scaling = Standardization.fit(np.asarray(y, dtype=np.float64).reshape(-1, 1))
    std = 0.0 if scaling.constant[0] else float(scaling.std[0])
    return {
        "min": float(np.min(y)),
        "max": float(np.max(y)),
        "mean": float(scaling.mean[0]),
        "std": std,
    }


@dataclass(frozen=True)
class Dataset:
    """A whole data set, before splitting.

    ``X`` is float64 ``[N, F]`` (images flattened channel-first; ``image_shape`` gives
    ``(C, H, W)``). For classification ``y`` holds int64 class indices ``0..K-1`` and
    ``class_labels[k]`` is the original label of class ``k``; for regression ``y`` is
    float64 and ``class_labels`` is ``None``.

    ``X`` contains NaN or inf only when ``impute`` is true: those cells are replaced by the
    training part's column median in :func:`actlab.data.split`.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: Task
    feature_names: list[str]
    class_labels: list[str] | None
    image_shape: tuple[int, int, int] | None
    source: str
    notes: list[str] = field(default_factory=list)
    impute: bool = False

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_missing(self) -> int:
        """Number of non-finite feature cells (left for :func:`split` to impute)."""
        return int(np.count_nonzero(~np.isfinite(self.X)))

    def summary(self) -> dict[str, Any]:
        """A JSON-able description of the data set."""
        out: dict[str, Any] = {
            "name": self.name,
            "n_samples": self.n_samples,
            "n_features": self.n_features,
            "task": self.task,
            "n_classes": None if self.class_labels is None else len(self.class_labels),
            "class_counts": _class_counts(self.y, self.class_labels),
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "source": self.source,
            "notes": list(self.notes),
            "missing_values": self.n_missing,
        }
        if self.task == "regression":
            out["target"] = _target_stats(self.y)
        return out


@dataclass(frozen=True)
class Splits:
    """Train / validation / test parts with float32 features standardized on the train part.

    Classification targets are int64 class indices (``n_outputs`` = number of classes).
    Regression targets are float32, 1-D, and standardized on the train part:
    ``y_scaled = (y - mean) / std`` with ``target_scale = (mean, std)``;
    :meth:`unscale_target` maps predictions back. R^2 is unchanged by this affine map
    (it cancels in ``1 - SS_res / SS_tot``), so it may be computed on scaled values; RMSE
    and MAE in original units are ``std`` times their scaled values.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    task: Task
    n_features: int
    n_outputs: int
    image_shape: tuple[int, int, int] | None
    class_labels: list[str] | None
    target_scale: tuple[float, float] | None
    feature_scale: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    """(mean, std) per feature of the train part, to standardize new data the same way."""
    notes: list[str] = field(default_factory=list)

    def unscale_target(self, y: np.ndarray) -> np.ndarray:
        """Regression predictions in original units: ``y * std + mean``."""
        if self.target_scale is None:
            raise ValueError("unscale_target applies to regression splits only")
        mean, std = self.target_scale
        return np.asarray(y, dtype=np.float64) * std + mean

    def summary(self) -> dict[str, Any]:
        """A JSON-able description: part sizes, class counts per part, scaling, notes."""
        parts = {"train": self.y_train, "val": self.y_val, "test": self.y_test}
        return {
            "task": self.task,
            "n_train": len(self.y_train),
            "n_val": len(self.y_val),
            "n_test": len(self.y_test),
            "n_features": self.n_features,
            "n_outputs": self.n_outputs,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "class_labels": None if self.class_labels is None else list(self.class_labels),
            "class_counts": None
            if self.class_labels is None
            else {k: _class_counts(v, self.class_labels) for k, v in parts.items()},
            "target_scale": None if self.target_scale is None else list(self.target_scale),
            "standardization": "features and regression targets: mean / std of the train part",
            "notes": list(self.notes),
        }
