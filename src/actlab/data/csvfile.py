"""CSV files: a header row, one target column, features numeric or categorical.

Read with the standard :mod:`csv` module (UTF-8, optional BOM; the delimiter, one of
``, ; TAB``, is sniffed from the header line). Blank lines are skipped. Cells are
stripped; an empty cell or one of ``NA, N/A, NaN, null, None, ?`` (any case) is missing.

A feature column is

- **numeric** when every non-missing cell is a number (missing cells become NaN, which is
  an error unless ``impute=True``);
- an **error** when at least half its non-missing cells are numbers but some are not (a
  typo in a numeric column): the message names the first bad line and the column;
- **categorical** otherwise: one-hot encoded into one feature per category, named
  ``column=category`` in sorted category order; a missing cell is an all-zero row. The
  encoded columns are listed in the data set's notes.

Line numbers in messages are physical lines of the file (the header is line 1).

**Streaming.** The file is read in blocks of :data:`BLOCK_ROWS` rows. Each block's
columns go straight into float64 arrays (NumPy parses a column of number strings at once;
a column with missing or non-numeric cells is parsed cell by cell) or, once a column holds
text, into integer codes of its categories. No copy of the text is kept; the feature
matrix is then filled column by column while the blocks are released, so the peak memory
is about the numeric data plus one block (``benchmarks/csv_load.py``). A file whose data
is projected not to fit in the available memory is refused early, and so is a one-hot
encoding too large to hold. A column that turns to text after blocks of numbers is read
once more for the text of its first rows.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from actlab.data.errors import DataError
from actlab.data.fits import available_memory, size_text
from actlab.data.raw import RawData
from actlab.data.targets import is_number

MISSING = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
BLOCK_ROWS = 1 << 13
_SHOWN_CATEGORIES = 8


def _is_missing(cell: str) -> bool:
    return cell.lower() in MISSING


@dataclass
class _Column:
    """One column so far: float64 blocks (NaN where missing) while every cell is a number
    or missing, then codes into ``categories`` (-1 where missing) from the block where
    text first appeared (``text_from_row``)."""

    name: str
    numbers: list[np.ndarray] = field(default_factory=list)
    codes: list[np.ndarray] = field(default_factory=list)
    categories: dict[str, int] = field(default_factory=dict)
    numeric_category: list[bool] = field(default_factory=list)
    text_from_row: int | None = None
    first_text: tuple[int, str] | None = None
    """Line and cell of the first cell that is neither a number nor missing."""

    @property
    def is_text(self) -> bool:
        return self.text_from_row is not None

    def add(self, cells: tuple[str, ...], lines: np.ndarray, row: int) -> None:
        """Append a block of cells (rows ``row, row + 1, ...`` on ``lines``)."""
        if not self.is_text:
            values = _numbers(cells)
            if values is not None:
                self.numbers.append(values)
                return
            self.text_from_row = row
        self.codes.append(self.encode(cells, lines))

    def encode(self, cells: tuple[str, ...], lines: np.ndarray) -> np.ndarray:
        out = np.empty(len(cells), dtype=np.int64)
        categories = self.categories
        for i, cell in enumerate(cells):
            cell = cell.strip()
            code = categories.get(cell)
            if code is None:
                if _is_missing(cell):
                    out[i] = -1
                    continue
                code = categories[cell] = len(categories)
                number = is_number(cell)
                self.numeric_category.append(number)
                if not number and self.first_text is None:
                    self.first_text = (int(lines[i]), cell)
            out[i] = code
        return out

    def nbytes(self) -> int:
        return sum(b.nbytes for b in self.numbers) + sum(c.nbytes for c in self.codes)

    def text_counts(self) -> tuple[int, int]:
        """(non-missing cells, of which numbers) of a text column, earlier blocks included."""
        before = sum(int(np.count_nonzero(~np.isnan(b))) for b in self.numbers)
        codes = np.concatenate(self.codes)
        counts = np.bincount(codes[codes >= 0], minlength=len(self.categories))
        numeric = np.array(self.numeric_category, dtype=bool)
        return before + int(counts.sum()), before + int(counts[numeric].sum())

    def missing(self) -> np.ndarray:
        """Whether each row's cell is missing."""
        parts = [np.isnan(b) for b in self.numbers] + [c < 0 for c in self.codes]
        return np.concatenate(parts)

    def sorted_codes(self) -> tuple[np.ndarray, list[str]]:
        """A text column's codes into its categories in sorted order (-1: missing)."""
        ordered = sorted(self.categories)
        rank = np.empty(len(ordered) + 1, dtype=np.int64)
        rank[-1] = -1
        for k, category in enumerate(ordered):
            rank[self.categories[category]] = k
        return rank[np.concatenate(self.codes)], ordered


def _numbers(cells: tuple[str, ...]) -> np.ndarray | None:
    """The cells as float64 (NaN where missing), or None when one is text."""
    try:
        return np.array(cells, dtype=np.float64)
    except ValueError:
        pass
    out = np.empty(len(cells))
    for i, cell in enumerate(cells):
        cell = cell.strip()
        if _is_missing(cell):
            out[i] = np.nan
            continue
        try:
            out[i] = float(cell)
        except ValueError:
            return None
    return out


class _Rows:
    """The file's non-blank rows, ``(line, cells)``, read as a stream."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.delimiter = self._sniff()
        self._file: IO[str] | None = None

    def _open(self) -> IO[str]:
        try:
            return open(self.path, encoding="utf-8-sig", newline="")
        except OSError as exc:
            raise DataError(f"{self.path}: cannot read the file ({exc.strerror})") from None

    def _sniff(self) -> str:
        with self._open() as fh:
            try:
                first = next((line for line in fh if line.strip()), "")
            except UnicodeDecodeError:
                raise DataError(f"{self.path}: not UTF-8 text (before its first row)") from None
            except OSError as exc:
                raise DataError(f"{self.path}: cannot read the file ({exc.strerror})") from None
        try:
            return csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
        except csv.Error:
            return ","

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        with self._open() as fh:
            self._file = fh
            reader = csv.reader(fh, delimiter=self.delimiter, strict=True)
            try:
                for row in reader:
                    if (row and row[0] and not row[0][0].isspace()) or any(
                        cell.strip() for cell in row
                    ):
                        yield reader.line_num, row
            except csv.Error as exc:
                raise DataError(
                    f"{self.path}: line {reader.line_num}: malformed CSV ({exc})"
                ) from None
            except UnicodeDecodeError:
                raise DataError(
                    f"{self.path}: not UTF-8 text (after line {reader.line_num})"
                ) from None
            except OSError as exc:
                raise DataError(f"{self.path}: cannot read the file ({exc.strerror})") from None
            finally:
                self._file = None

    def position(self) -> int:
        """Bytes read so far by the iteration in progress."""
        return self._file.buffer.tell() if self._file is not None else 0  # type: ignore[attr-defined]


def _blocks(
    rows: Iterator[tuple[int, list[str]]], width: int, errors: list[str], path: Path
) -> Iterator[tuple[np.ndarray, list[list[str]]]]:
    """Blocks of at most BLOCK_ROWS rows of ``width`` fields. The first row with another
    width ends the blocks; its message goes to ``errors`` and the rest of the file is
    still read, so that a malformed line further on is reported first, as when a file
    is read whole."""
    lines: list[int] = []
    cells: list[list[str]] = []
    for line, row in rows:
        if errors:
            continue
        if len(row) != width:
            errors.append(f"{path}: line {line} has {len(row)} fields but the header has {width}")
            continue
        lines.append(line)
        cells.append(row)
        if len(cells) == BLOCK_ROWS:
            yield np.array(lines, dtype=np.int64), cells
            lines, cells = [], []
    if cells and not errors:
        yield np.array(lines, dtype=np.int64), cells


def _header(path: Path, line: int, cells: list[str]) -> list[str]:
    names = [c.strip() or f"column_{j + 1}" for j, c in enumerate(cells)]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise DataError(f"{path}: line {line}: the header names column {name!r} twice")
        seen.add(name)
    return names


def _check_room(path: Path, needed: int, what: str) -> None:
    free = available_memory()
    if free is not None and needed > free:
        raise DataError(
            f"{path}: {what} would need about {size_text(needed)} of memory, more than the "
            f"{size_text(free)} available"
        )


def _read_columns(
    path: Path, names: list[str], rows: _Rows, row_iter: Iterator[tuple[int, list[str]]]
) -> tuple[list[_Column], np.ndarray]:
    """Every column of the file after the header, and the line of each row."""
    columns = [_Column(name) for name in names]
    size = os.path.getsize(path)
    errors: list[str] = []
    lines: list[np.ndarray] = []
    row = 0
    for block_lines, cells in _blocks(row_iter, len(names), errors, path):
        for column, values in zip(columns, zip(*cells, strict=True), strict=True):
            column.add(values, block_lines, row)
        lines.append(block_lines)
        row += len(cells)
        done = rows.position()
        if done > 0 and len(lines) % 8 == 1:
            held = sum(c.nbytes() for c in columns) + 8 * row
            _check_room(path, held * size // done, f"its data (projected from {row:,} rows)")
    if errors:
        raise DataError(errors[0])
    return columns, np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)


def _refill(path: Path, column: _Column, index: int, width: int) -> None:
    """Give a column that turned to text after blocks of numbers the codes of its first
    rows, read once more from the file."""
    assert column.text_from_row is not None
    stop, done, earlier = column.text_from_row, 0, []
    rows = iter(_Rows(path))
    next(rows)
    for lines, cells in _blocks(rows, width, [], path):
        take = min(len(cells), stop - done)
        if take <= 0:
            break
        earlier.append(column.encode(tuple(r[index] for r in cells[:take]), lines[:take]))
        done += take
    column.numbers = []
    column.codes = earlier + column.codes


def _feature_matrix(
    path: Path, header: list[str], columns: list[_Column], y_index: int, n_rows: int
) -> tuple[np.ndarray, list[str], list[str]]:
    """The features (every column but the target's) as float64 ``[N, F]``, text columns
    one-hot encoded, filled column by column while each column's blocks are released;
    with the feature names and the one-hot notes."""
    features: list[tuple[_Column, list[str] | None]] = []
    width = 0
    for j, column in enumerate(columns):
        if j == y_index:
            continue
        categories = None
        if column.is_text:
            present, numbers = column.text_counts()
            if 2 * numbers >= present:
                assert column.first_text is not None
                line, cell = column.first_text
                raise DataError(
                    f"{path}: line {line}, column {column.name!r}: {cell!r} is not a number "
                    "(the rest of the column is numeric)"
                )
            if column.numbers:
                _refill(path, column, j, len(header))
            categories = sorted(column.categories)
        features.append((column, categories))
        width += 1 if categories is None else len(categories)
    _check_room(path, 8 * n_rows * width, f"its {width} feature columns (after one-hot)")

    X = np.empty((n_rows, width))
    names: list[str] = []
    notes: list[str] = []
    at = 0
    for column, categories in features:
        if categories is None:
            row = 0
            for block in column.numbers:
                X[row : row + len(block), at] = block
                row += len(block)
            column.numbers = []
            names.append(column.name)
            at += 1
            continue
        codes, ordered = column.sorted_codes()
        column.codes = []
        block = X[:, at : at + len(ordered)]
        block[...] = 0.0
        present = np.flatnonzero(codes >= 0)
        block[present, codes[present]] = 1.0
        names.extend(f"{column.name}={c}" for c in ordered)
        notes.extend(_one_hot_notes(column.name, ordered, len(codes) - present.size))
        at += len(ordered)

    return X, names, notes


def read_csv(path: Path, target: str | None) -> RawData:
    """Read a CSV file into :class:`RawData` (see the module docstring for the rules)."""
    rows = _Rows(path)
    row_iter = iter(rows)
    first = next(row_iter, None)
    if first is None:
        raise DataError(f"{path}: the file is empty (expected a header row)")
    header = _header(path, *first)
    columns, lines = _read_columns(path, header, rows, row_iter)
    if len(lines) == 0:
        raise DataError(f"{path}: no data rows below the header")
    notes = []
    if target is None:
        target = header[-1]
        notes.append(f"target: last column {target!r} (choose another with target=)")
    elif target not in header:
        raise DataError(f"{path}: no column {target!r}; columns are: {', '.join(header)}")
    y_index = header.index(target)
    y_column = columns[y_index]
    missing = np.flatnonzero(y_column.missing())
    if missing.size:
        raise DataError(f"{path}: line {lines[missing[0]]}: the target {target!r} is missing")

    X, names, feature_notes = _feature_matrix(path, header, columns, y_index, len(lines))
    notes.extend(feature_notes)

    if y_column.is_text:
        if y_column.numbers:
            _refill(path, y_column, y_index, len(header))
        y, labels = y_column.sorted_codes()
        target_labels: list[str] | None = labels
    else:
        y, target_labels = np.concatenate(y_column.numbers), None
    return RawData(
        name=path.stem,
        X=X,
        y=y,
        feature_names=names,
        source=str(path),
        origin=str(path),
        target_name=target,
        notes=notes,
        where=lambda i: f"line {lines[i]}",
        text_target=target_labels,
    )


def _one_hot_notes(name: str, ordered: list[str], missing: int) -> list[str]:
    shown = ", ".join(ordered[:_SHOWN_CATEGORIES])
    if len(ordered) > _SHOWN_CATEGORIES:
        shown += ", ..."
    notes = [f"one-hot encoded column {name!r} into {len(ordered)} features ({shown})"]
    if missing:
        notes.append(f"column {name!r}: {missing} missing value(s) encoded as all-zero one-hot")
    return notes
