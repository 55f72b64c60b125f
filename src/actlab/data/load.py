"""``load``: one entry point for every kind of data source.

- a :class:`Dataset`: returned as it is;
- ``(X, y)``: in-memory arrays or lists (:mod:`actlab.data.arrays`);
- a string with a registered data set name, such as ``"digits"`` or ``"moons(n=500)"``
  (:mod:`actlab.data.registry`), even if a file or folder of that name exists;
- a path object, or a string that is an existing path, ends in ``.csv`` / ``.npz`` /
  ``.npy``, contains a path separator or looks like a file name (``data.txt``): a file,
  read by its extension; a missing one is a missing-file error;
- any other string: parsed as a data set name (unknown names list the valid ones).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from actlab.data.arrays import from_arrays, read_npy, read_npz
from actlab.data.csvfile import read_csv
from actlab.data.dataset import Dataset
from actlab.data.errors import DataError
from actlab.data.raw import RawData, assemble
from actlab.data.registry import REGISTRY, load_named
from actlab.data.targets import check_task

ARRAY_READERS: dict[str, Callable[[Path], RawData]] = {".npz": read_npz, ".npy": read_npy}
SUFFIXES = (".csv", *ARRAY_READERS)
_FILE_LIKE = re.compile(r"[^()]*\.[A-Za-z][A-Za-z0-9]{0,5}")


def _no_target(target: str | None, origin: str) -> None:
    if target is not None:
        raise DataError(f"target={target!r} applies to CSV files only, not to {origin}")


def _from_path(path: Path, target: str | None) -> RawData:
    suffix = path.suffix.lower()
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a data file")
    if path.is_file():
        if suffix == ".csv":
            return read_csv(path, target)
        if suffix not in ARRAY_READERS:
            raise DataError(
                f"{path}: unknown file extension {suffix or '(none)'!r}; "
                f"supported: {', '.join(SUFFIXES)}"
            )
        _no_target(target, str(path))
        return ARRAY_READERS[suffix](path)
    raise DataError(f"{path}: no such file (data files: {', '.join(SUFFIXES)})")


def _is_named(text: str, path: Path) -> bool:
    """A string is a data set name unless it is an existing path or looks like a file name;
    a registered name (``iris``, ``moons(n=50)``) wins over a same-named file or folder."""
    if path.suffix.lower() in SUFFIXES:
        return False
    if text.split("(")[0].strip().lower() in REGISTRY:
        return True
    return not (
        path.exists() or os.sep in text or "/" in text or _FILE_LIKE.fullmatch(text.strip())
    )


def load(
    source: str | os.PathLike[str] | tuple[Any, Any] | Dataset,
    *,
    target: str | None = None,
    task: str | None = None,
    impute: bool = False,
) -> Dataset:
    """Load a data set from a name, a file, arrays or a :class:`Dataset`.

    ``target`` names the CSV target column (default: the last column). ``task`` overrides
    the inferred task (``"classification"`` or ``"regression"``). ``impute=True`` lets
    NaN / inf feature values through, to be replaced by train-part medians at
    :func:`actlab.data.split`; otherwise they are an error naming the column and line.
    Every problem raises :class:`DataError`.
    """
    wanted = check_task(task)
    if isinstance(source, Dataset):
        _no_target(target, "a Dataset")
        if wanted is not None and wanted != source.task:
            raise DataError(
                f"task={wanted!r} given for the {source.task} data set {source.name!r}; "
                "load it again from its source to change the task"
            )
        return replace(source, impute=source.impute or impute)
    if isinstance(source, tuple | list):
        if len(source) != 2:
            raise DataError(f"in-memory data must be a pair (X, y), got {len(source)} items")
        _no_target(target, "in-memory arrays")
        raw = from_arrays(*source)
    elif isinstance(source, str | os.PathLike):
        text = os.fspath(source)
        path = Path(text).expanduser()
        if isinstance(source, str) and _is_named(text, path):
            raw = load_named(text)
            _no_target(target, f"the embedded data set {raw.name!r}")
        else:
            raw = _from_path(path, target)
    else:
        raise DataError(
            f"cannot load data from a {type(source).__name__}; pass a data set name, a file "
            "path, an (X, y) pair or a Dataset"
        )
    return assemble(raw, task=wanted, impute=impute)
