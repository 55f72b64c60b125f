"""Array sources: in-memory ``(X, y)``, ``.npz`` files (arrays ``X`` and ``y``) and ``.npy``
files (one 2-D numeric array whose **last column is the target**).

``X`` may be ``[N, F]``, or images ``[N, H, W]`` (one channel) or ``[N, C, H, W]``
(channels first): images are flattened to ``[N, C*H*W]`` and their shape is kept as
``image_shape``. ``y`` is ``[N]`` (or ``[N, 1]``) of numbers or strings. Rows are named
0-based in messages ("row 6").
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from actlab.data.errors import DataError
from actlab.data.raw import RawData


def _features(X: Any, origin: str) -> tuple[np.ndarray, tuple[int, int, int] | None]:
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError(
                f"{origin}: X must be numeric, got dtype {arr.dtype} "
                "(one-hot encode text columns, or use a CSV file)"
            ) from None
    if arr.ndim == 2:
        return arr.astype(np.float64), None
    if arr.ndim in (3, 4):
        shape = (1, *arr.shape[1:]) if arr.ndim == 3 else tuple(arr.shape[1:])
        return arr.reshape(len(arr), -1).astype(np.float64), shape  # type: ignore[return-value]
    raise DataError(
        f"{origin}: X must be [samples, features] (or images [N, H, W] / [N, C, H, W]), "
        f"got shape {arr.shape}"
    )


def _feature_names(n: int, image_shape: tuple[int, int, int] | None) -> list[str]:
    if image_shape is None:
        return [f"x{j}" for j in range(n)]
    c, h, w = image_shape
    return [f"pixel_{k}_{i}_{j}" for k in range(c) for i in range(h) for j in range(w)]


def from_arrays(
    X: Any,
    y: Any,
    *,
    name: str = "arrays",
    source: str = "in-memory arrays",
    origin: str = "(X, y)",
) -> RawData:
    """:class:`RawData` from array-likes ``X`` and ``y``."""
    feats, image_shape = _features(X, origin)
    target = np.asarray(y)
    if target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    if target.ndim != 1:
        raise DataError(f"{origin}: y must be one target per row, got shape {target.shape}")
    if target.dtype.kind == "O":
        target = target.astype(str)
    if len(target) != len(feats):
        raise DataError(f"{origin}: X has {len(feats)} rows but y has {len(target)}")
    return RawData(
        name=name,
        X=feats,
        y=target,
        feature_names=_feature_names(feats.shape[1], image_shape),
        source=source,
        origin=origin,
        image_shape=image_shape,
    )


def _np_load(path: Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: cannot read it as {path.suffix} ({exc})") from None


def read_npz(path: Path) -> RawData:
    """An ``.npz`` archive holding arrays ``X`` and ``y``."""
    archive = _np_load(path)
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"{path}: not an .npz archive")
    with archive:
        missing = [k for k in ("X", "y") if k not in archive.files]
        if missing:
            raise DataError(
                f"{path}: no array {missing[0]!r}; an .npz file needs arrays 'X' and 'y' "
                f"(found: {', '.join(archive.files) or 'none'})"
            )
        X, y = archive["X"], archive["y"]
    return from_arrays(X, y, name=path.stem, source=str(path), origin=str(path))


def read_npy(path: Path) -> RawData:
    """An ``.npy`` file: a 2-D array, features in the first columns, target in the last."""
    arr = _np_load(path)
    if not isinstance(arr, np.ndarray) or arr.ndim != 2 or arr.shape[1] < 2:
        shape = getattr(arr, "shape", None)
        raise DataError(
            f"{path}: an .npy file must hold a 2-D array [samples, features + target] "
            f"with the target in the last column, got shape {shape}"
        )
    raw = from_arrays(arr[:, :-1], arr[:, -1], name=path.stem, source=str(path), origin=str(path))
    raw.notes.append("target: last column of the .npy array")
    return raw
