"""The streaming CSV reader agrees with the whole-file reader it replaced (the oracle in
tests/csv_oracle.py) on every file: the same data set, or the same one-line error. Small
blocks make every file span several, so a column that turns to text after blocks of
numbers (and is read again for its first rows) is exercised too."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import csv_oracle
from actlab.data import DataError, csvfile
from actlab.data.raw import assemble

CELLS = st.sampled_from(
    [
        "1",
        "-2.5",
        "3e2",
        " 7 ",
        "1_000",
        "",
        " ",
        "nan",
        "NaN",
        "NA",
        "?",
        "inf",
        "-inf",
        "x",
        "y",
        "cat",
        "01",
        "1.0",
        '"a,b"',
        '"q""uote"',
        '"multi\nline"',
        "0x1",
        "é",
    ]
)
NUMBERISH = st.one_of(st.floats(-1e6, 1e6, allow_nan=False).map(repr), st.sampled_from(["", "NA"]))


@st.composite
def csv_texts(draw: st.DrawFn) -> str:
    width = draw(st.integers(1, 4))
    header = draw(
        st.lists(st.sampled_from(["a", "b", "c", "y", "", " d "]), min_size=width, max_size=width)
    )
    rows = []
    for _ in range(draw(st.integers(0, 16))):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            rows.append([])  # a blank line
        elif kind == 1:
            rows.append(draw(st.lists(CELLS, max_size=5)))  # any width
        elif kind < 5:
            rows.append(draw(st.lists(NUMBERISH, min_size=width, max_size=width)))
        else:
            rows.append(draw(st.lists(CELLS, min_size=width, max_size=width)))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(sep.join(r) for r in [header, *rows])
    return text + (newline if draw(st.booleans()) else "")


def _outcome(reader, path, target, impute):
    try:
        return assemble(reader(path, target), impute=impute)
    except DataError as exc:
        return str(exc)


@settings(max_examples=300, deadline=None)
@given(
    text=csv_texts(),
    target=st.sampled_from([None, "a", "y"]),
    impute=st.booleans(),
    block=st.integers(1, 4),
)
def test_the_streaming_reader_agrees_with_the_whole_file_reader(
    tmp_path_factory, text, target, impute, block
):
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_text(text, encoding="utf-8")
    expected = _outcome(csv_oracle.read_csv, path, target, impute)
    with mock.patch.object(csvfile, "BLOCK_ROWS", block):
        got = _outcome(csvfile.read_csv, path, target, impute)
    if isinstance(expected, str):
        assert got == expected
        return
    assert not isinstance(got, str), got
    np.testing.assert_array_equal(got.X, expected.X)
    np.testing.assert_array_equal(got.y, expected.y)
    assert got.y.dtype == expected.y.dtype
    for key in ("task", "feature_names", "class_labels", "notes", "impute", "name"):
        assert getattr(got, key) == getattr(expected, key), key


def test_a_column_that_turns_to_text_late_is_read_again_for_its_first_rows(tmp_path):
    cells = ["1", "2", "3", "4", *(f"w{i}" for i in range(10))]  # mostly text: categorical
    path = tmp_path / "late.csv"
    path.write_text("a,y\n" + "".join(f"{c},{i % 2}\n" for i, c in enumerate(cells)))
    with mock.patch.object(csvfile, "BLOCK_ROWS", 4):  # the first block is all numbers
        raw = csvfile.read_csv(path, None)
    assert raw.feature_names == [f"a={c}" for c in sorted(cells)]
    np.testing.assert_array_equal(raw.X, np.eye(14)[np.argsort(np.argsort(cells))])


def test_a_file_that_cannot_fit_is_refused_early(tmp_path, monkeypatch):
    path = tmp_path / "big.csv"
    path.write_text("a,b,y\n" + "1.5,2.5,0\n" * (3 * (1 << 13)))
    monkeypatch.setattr(csvfile, "available_memory", lambda: 1 << 16)
    with pytest.raises(DataError, match=r"big\.csv: its data \(projected from 8,192 rows\)"):
        csvfile.read_csv(path, None)


def test_a_one_hot_encoding_too_large_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "ids.csv"
    path.write_text("id,y\n" + "".join(f"u{i},{i % 2}\n" for i in range(400)))
    monkeypatch.setattr(csvfile, "available_memory", lambda: 400 * 8 * 100)
    with pytest.raises(DataError, match=r"its 400 feature columns \(after one-hot\)"):
        csvfile.read_csv(path, None)
