"""In-memory data for a comparison: a ``DataLoader`` read once into samples that keep
their shape and dtype, and the fingerprint that lets a resumed run check it got the same
data back.

A ``DataLoader``'s samples are used as they are (its images stay ``[C, H, W]``, token ids
stay integers; nothing is standardized: the loader already prepared them). A loader that
shuffles yields another order each time it is read, so its samples are put in a
canonical order first (by a hash of each sample and its label): the split, and the
fingerprint, then do not depend on the order the loader happened to yield.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

LOADER_NOTE = "samples from a DataLoader, used as they are (not standardized)"


@dataclass(frozen=True)
class Prepared:
    """Data already split: the :class:`~actlab.data.Dataset` (for its summary and labels)
    and the splits whose samples keep their own shape."""

    dataset: Any
    splits: Any
    digest: str


def _sample_hashes(x: np.ndarray, y: np.ndarray) -> list[bytes]:
    return [
        hashlib.sha1(np.ascontiguousarray(xi).tobytes() + np.asarray(yi).tobytes()).digest()
        for xi, yi in zip(x, y, strict=True)
    ]


def _read_loader(loader: Any) -> tuple[np.ndarray, np.ndarray]:
    import torch

    xs, ys = [], []
    for batch in loader:
        if not isinstance(batch, list | tuple) or len(batch) != 2:
            shown = type(batch).__name__
            if isinstance(batch, list | tuple):
                shown = f"{shown} of {len(batch)}"
            raise ValueError(
                f"a DataLoader passed as data= must yield (x, y) batches; it yielded a {shown}"
            )
        x, y = (torch.as_tensor(t).detach().cpu() for t in batch)
        if x.dim() < 2 or y.shape[:1] != x.shape[:1]:
            raise ValueError(
                "a DataLoader passed as data= must yield (x [B, ...], y [B]) batches; got "
                f"x of shape {list(x.shape)} and y of shape {list(y.shape)}"
            )
        xs.append(x)
        ys.append(y)
    if not xs:
        raise ValueError("the DataLoader passed as data= yielded no batch")
    return torch.cat(xs).numpy(), torch.cat(ys).numpy()


def from_loader(
    loader: Any,
    *,
    task: str | None = None,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
) -> Prepared:
    """Read ``loader`` once and split it (stratified for classification, as
    :func:`actlab.data.split`), samples in their own shape and dtype."""
    from actlab import data
    from actlab.data.dataset import Splits

    x, y = _read_loader(loader)
    hashes = _sample_hashes(x, y)
    order = np.array(sorted(range(len(hashes)), key=hashes.__getitem__), dtype=np.int64)
    x, y = x[order], y[order]
    dataset = data.load((x.reshape(len(x), -1), y), task=task)
    dataset.notes.append(LOADER_NOTE)
    parts = data.split_indices(
        dataset, seed=seed, val_fraction=val_fraction, test_fraction=test_fraction
    )
    if dataset.task == "classification":
        assert dataset.class_labels is not None
        target, n_outputs = dataset.y.astype(np.int64), len(dataset.class_labels)
    else:
        target, n_outputs = y.astype(np.float32), 1
    xs = [x[p] for p in parts]
    ys = [target[p] for p in parts]
    splits = Splits(
        X_train=xs[0],
        y_train=ys[0],
        X_val=xs[1],
        y_val=ys[1],
        X_test=xs[2],
        y_test=ys[2],
        task=dataset.task,
        n_features=int(np.prod(x.shape[1:])),
        n_outputs=n_outputs,
        image_shape=None,
        class_labels=dataset.class_labels,
        target_scale=None,
        notes=[LOADER_NOTE + f": samples of shape {list(x.shape[1:])}, dtype {x.dtype}"],
    )
    whole = hashlib.sha256(b"".join(sorted(hashes))).hexdigest()
    return Prepared(dataset, splits, whole)


def digest(source: Any) -> str:
    """A fingerprint of in-memory data: ``(X, y)`` arrays, or a :class:`Prepared`."""
    if isinstance(source, Prepared):
        return source.digest
    x, y = source
    h = hashlib.sha256()
    for part in (np.asarray(x), np.asarray(y)):
        h.update(f"{part.dtype}{part.shape}".encode())
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()
