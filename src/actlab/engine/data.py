"""The splits as tensors on the training device, each sample keeping its shape."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from actlab.engine.metrics import TASKS

PARTS = ("train", "val", "test")


class TrainData:
    """``splits`` as tensors on ``device``: ``x [N, *sample]`` (floating features in
    ``dtype``; integer inputs such as token ids stay integers), ``y`` int64 ``[N]``
    (classification; ``[N, T]`` for a class per position of a sequence, as next-character
    prediction has) or float ``[N, K]`` (regression).

    ``splits`` is any object with ``X_train, y_train, X_val, y_val, X_test, y_test`` (NumPy
    or torch arrays), ``task`` and optionally ``n_outputs`` and ``image_shape`` ``(C, H,
    W)`` (flat rows of an image data set). Each part's samples keep their own shape
    (``[N, F]`` rows, ``[N, C, H, W]`` images from a DataLoader, ...).
    """

    def __init__(self, splits: Any, dtype: torch.dtype, device: str | torch.device) -> None:
        missing = [
            a
            for a in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "task")
            if not hasattr(splits, a)
        ]
        if missing:
            raise TypeError(f"splits lacks {', '.join(missing)}")
        self.task = splits.task
        if self.task not in TASKS:
            raise ValueError(f"task={self.task!r} must be one of {TASKS}")
        image_shape = getattr(splits, "image_shape", None)
        self.image_shape = None if image_shape is None else tuple(int(s) for s in image_shape)
        parts = {part: self._part(splits, part, dtype) for part in PARTS}
        self.sample_shape = tuple(parts["train"][0].shape[1:])
        for part, (x, _) in parts.items():
            if tuple(x.shape[1:]) != self.sample_shape:
                raise ValueError(
                    f"X_{part} has samples of shape {list(x.shape[1:])} but X_train has "
                    f"{list(self.sample_shape)}"
                )
        self.n_features = math.prod(self.sample_shape)
        if self.task == "classification":
            top = max(int(y.max()) for _, y in parts.values())
            low = min(int(y.min()) for _, y in parts.values())
            self.n_outputs = int(getattr(splits, "n_outputs", top + 1))
            if low < 0 or top >= self.n_outputs:
                raise ValueError(f"class labels span {low}..{top} but n_outputs={self.n_outputs}")
        else:
            self.n_outputs = parts["train"][1].shape[1]
        moved = {part: (x.to(device), y.to(device)) for part, (x, y) in parts.items()}
        self.train, self.val, self.test = (moved[p] for p in PARTS)

    def _part(
        self, splits: Any, part: str, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.as_tensor(np.asarray(getattr(splits, f"X_{part}")))
        y = torch.as_tensor(np.asarray(getattr(splits, f"y_{part}")))
        if x.dim() < 2 or x.shape[0] == 0:
            raise ValueError(
                f"X_{part} must be a non-empty [N, ...] array, got shape {list(x.shape)}"
            )
        if x.is_floating_point() or x.dtype == torch.bool:
            x = x.to(dtype)
            if not torch.isfinite(x).all():
                raise ValueError(f"X_{part} contains NaN or inf")
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"y_{part} has {y.shape[0]} rows but X_{part} has {x.shape[0]}")
        if self.task == "classification":
            if y.dim() not in (1, 2) or (y.is_floating_point() and not (y == y.round()).all()):
                raise ValueError(
                    f"y_{part} must hold integer class indices [N] (or [N, T]: a class "
                    "per position of a sequence)"
                )
            return x, y.long()
        return x, y.to(dtype).reshape(y.shape[0], -1)
