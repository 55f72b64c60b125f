"""The whole-file CSV reader that actlab used before it streamed (commit 14a71c9), kept as
the oracle the streaming reader must agree with: same data set or the same error."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from actlab.data.errors import DataError
from actlab.data.raw import RawData

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
_SHOWN_CATEGORIES = 8


def _is_missing(cell: str) -> bool:
    return cell.lower() in MISSING


def _read_rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read the file ({exc.strerror})") from None
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((reader.line_num, [cell.strip() for cell in row]))
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({exc})") from None
    return rows


def _header(path: Path, line: int, cells: list[str]) -> list[str]:
    names = [c or f"column_{j + 1}" for j, c in enumerate(cells)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{path}: line {line}: the header names column {name!r} twice")
        seen.add(name)
    return names


def _numeric(path: Path, name: str, cells: list[str], lines: list[int]) -> np.ndarray | None:
    """The column as float64 (NaN where missing), or None when it is categorical."""
    out = np.full(len(cells), np.nan)
    bad: list[int] = []
    for i, cell in enumerate(cells):
        if _is_missing(cell):
            continue
        try:
            out[i] = float(cell)
        except ValueError:
            bad.append(i)
    if not bad:
        return out
    present = sum(not _is_missing(c) for c in cells)
    if 2 * (present - len(bad)) >= present:
        i = bad[0]
        raise DataError(
            f"{path}: line {lines[i]}, column {name!r}: {cells[i]!r} is not a number "
            "(the rest of the column is numeric)"
        )
    return None


def _one_hot(name: str, cells: list[str]) -> tuple[np.ndarray, list[str], list[str]]:
    present = [c for c in cells if not _is_missing(c)]
    categories = sorted(set(present))
    index = {c: k for k, c in enumerate(categories)}
    block = np.zeros((len(cells), len(categories)))
    for i, cell in enumerate(cells):
        if cell in index:
            block[i, index[cell]] = 1.0
    shown = ", ".join(categories[:_SHOWN_CATEGORIES])
    if len(categories) > _SHOWN_CATEGORIES:
        shown += ", ..."
    notes = [f"one-hot encoded column {name!r} into {len(categories)} features ({shown})"]
    missing = len(cells) - len(present)
    if missing:
        notes.append(f"column {name!r}: {missing} missing value(s) encoded as all-zero one-hot")
    return block, [f"{name}={c}" for c in categories], notes


def read_csv(path: Path, target: str | None) -> RawData:
    """Read a CSV file into :class:`RawData` (see the module docstring for the rules)."""
    rows = _read_rows(path)
    if not rows:
        raise DataError(f"{path}: the file is empty (expected a header row)")
    header = _header(path, *rows[0])
    body = rows[1:]
    if not body:
        raise DataError(f"{path}: no data rows below the header")
    for line, cells in body:
        if len(cells) != len(header):
            raise DataError(
                f"{path}: line {line} has {len(cells)} fields but the header has {len(header)}"
            )
    notes = []
    if target is None:
        target = header[-1]
        notes.append(f"target: last column {target!r} (choose another with target=)")
    elif target not in header:
        raise DataError(f"{path}: no column {target!r}; columns are: {', '.join(header)}")
    lines = [line for line, _ in body]
    columns = {name: [cells[j] for _, cells in body] for j, name in enumerate(header)}
    y_cells = columns.pop(target)
    for i, cell in enumerate(y_cells):
        if _is_missing(cell):
            raise DataError(f"{path}: line {lines[i]}: the target {target!r} is missing")

    blocks, names = [], []
    for name, cells in columns.items():
        values = _numeric(path, name, cells, lines)
        if values is not None:
            blocks.append(values[:, None])
            names.append(name)
        else:
            block, block_names, block_notes = _one_hot(name, cells)
            blocks.append(block)
            names.extend(block_names)
            notes.extend(block_notes)
    X = np.hstack(blocks) if blocks else np.zeros((len(body), 0))
    return RawData(
        name=path.stem,
        X=X,
        y=np.array(y_cells),
        feature_names=names,
        source=str(path),
        origin=str(path),
        target_name=target,
        notes=notes,
        where=lambda i: f"line {lines[i]}",
    )
