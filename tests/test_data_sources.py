"""actlab.data: embedded and generated data sets, names, files, arrays, task inference."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actlab import data
from actlab.data import DataError, Dataset


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- embedded -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "task", "n_classes"),
    [
        ("digits", (1797, 64), "classification", 10),
        ("iris", (150, 4), "classification", 3),
        ("wine", (178, 13), "classification", 3),
        ("breast_cancer", (569, 30), "classification", 2),
        ("diabetes", (442, 10), "regression", None),
    ],
)
def test_embedded_shapes_and_tasks(name, shape, task, n_classes):
    ds = data.load(name)
    assert ds.X.shape == shape and ds.X.dtype == np.float64
    assert ds.task == task and len(ds.y) == shape[0]
    assert len(ds.feature_names) == shape[1]
    if n_classes is None:
        assert ds.class_labels is None and ds.y.dtype == np.float64
    else:
        assert len(ds.class_labels) == n_classes
        assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == set(range(n_classes))
    assert ds.source == f"embedded: scikit-learn {name}"
    json.dumps(ds.summary())


def test_digits_is_default_first_and_image_shaped():
    assert data.dataset_names()[0] == "digits"
    ds = data.load("digits")
    assert ds.image_shape == (1, 8, 8)
    assert ds.class_labels == [str(d) for d in range(10)]
    assert data.load("iris").class_labels == ["setosa", "versicolor", "virginica"]
    assert data.load("breast_cancer").class_labels == ["malignant", "benign"]


@pytest.mark.parametrize("from_file", [True, False], ids=["data file", "sklearn loader"])
def test_digits_equal_scikit_learns_load_digits(monkeypatch, from_file):
    """Digits read from scikit-learn's data file without importing it (and, where the file
    is not found, through its loader) are ``load_digits`` exactly."""
    from sklearn.datasets import load_digits

    from actlab.data import embedded

    if not from_file:
        monkeypatch.setattr(embedded, "_sklearn_data_file", lambda name: None)
    else:
        assert embedded._sklearn_data_file("digits.csv.gz") is not None
    raw, oracle = embedded.digits(), load_digits()
    assert raw.X.dtype == np.float64 and np.array_equal(raw.X, oracle.data)
    assert raw.y.dtype == np.int64 and np.array_equal(raw.y, oracle.target)
    assert raw.feature_names == oracle.feature_names
    assert raw.class_labels == [str(t) for t in oracle.target_names]
    assert raw.image_shape == (1, 8, 8)


def test_registered_names_win_over_same_named_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "iris").mkdir()
    (tmp_path / "unknown").mkdir()
    assert data.load("iris").source == "embedded: scikit-learn iris"
    with pytest.raises(DataError, match="unknown: is a directory"):
        data.load("unknown")


def test_names_are_case_insensitive():
    assert data.load("IRIS").X.shape == (150, 4)
    assert data.load("Moons(N=50)").X.shape == (50, 2)


# --- generators -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["moons", "circles", "xor", "spirals"])
def test_generators_seeded_and_sized(name):
    a = data.load(f"{name}(n=200, seed=3)")
    b = data.load(f"{name}(n=200, seed=3)")
    c = data.load(f"{name}(n=200, seed=4)")
    assert a.X.shape == (200, 2) and a.task == "classification"
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert a.name == f"{name}(n=200, seed=3)"
    assert "seed=3" in a.source


def test_moons_and_circles_honour_noise():
    clean = data.load("circles(n=300, noise=0, factor=0.4)")
    radius = np.hypot(clean.X[:, 0], clean.X[:, 1])
    np.testing.assert_allclose(np.sort(np.unique(radius.round(9))), [0.4, 1.0])
    noisy = data.load("circles(n=300, noise=0.2, factor=0.4)")
    assert np.hypot(noisy.X[:, 0], noisy.X[:, 1]).round(9).size > 2
    outer = data.load("moons(n=300, noise=0)")
    first = outer.X[outer.y == 0]  # scikit-learn's upper moon: the unit circle's top half
    np.testing.assert_allclose(np.hypot(first[:, 0], first[:, 1]), 1.0, atol=1e-12)
    spread = [np.std(data.load(f"moons(n=300, noise={s})").X) for s in (0.0, 0.5)]
    assert spread[1] > spread[0]


def test_xor_labels_are_sign_of_product_without_noise():
    clean = data.load("xor(n=400, noise=0)")
    assert np.all(np.abs(clean.X) <= 1.0)
    np.testing.assert_array_equal(clean.y, (clean.X[:, 0] * clean.X[:, 1] > 0).astype(int))
    assert clean.class_labels == ["-1", "+1"]
    noisy = data.load("xor(n=400, noise=0.3)")
    assert np.any(noisy.y != (noisy.X[:, 0] * noisy.X[:, 1] > 0))


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_spirals_follow_their_formula(classes):
    ds = data.load(f"spirals(n=300, noise=0, classes={classes}, turns=1.5)")
    assert ds.class_labels == [str(c) for c in range(classes)]
    counts = np.bincount(ds.y)
    assert counts.max() - counts.min() <= 1
    r = np.hypot(ds.X[:, 0], ds.X[:, 1])
    theta = np.arctan2(ds.X[:, 1], ds.X[:, 0])
    expected = 2 * np.pi * (1.5 * r + ds.y / classes)
    gap = np.angle(np.exp(1j * (theta - expected)))
    np.testing.assert_allclose(gap, 0.0, atol=1e-9)
    noisy = data.load(f"spirals(n=300, noise=0.2, classes={classes})")
    assert noisy.X.std() != ds.X.std()


def test_bad_names_and_parameters():
    with pytest.raises(DataError, match=r"unknown dataset 'mons'; did you mean moons\?.*digits"):
        data.load("mons")
    with pytest.raises(DataError, match=r"moons has no parameter 'size' \(valid: n, noise, seed\)"):
        data.load("moons(size=3)")
    with pytest.raises(DataError, match=r"digits has no parameter 'n' \(it takes no parameters\)"):
        data.load("digits(n=3)")
    with pytest.raises(DataError, match=r"n=2.5 is not allowed; it must be an integer >= 10"):
        data.load("moons(n=2.5)")
    with pytest.raises(DataError, match=r"noise=-1 is not allowed"):
        data.load("xor(noise=-1)")
    with pytest.raises(DataError, match=r"factor=1 .*> 0 and < 1"):
        data.load("circles(factor=1)")
    with pytest.raises(DataError, match="classes=true"):
        data.load("spirals(classes=true)")
    with pytest.raises(DataError, match=r"not an existing file nor a dataset name.*valid names"):
        data.load("moons(n=")
    with pytest.raises(DataError, match="target='y' applies to CSV files only"):
        data.load("iris", target="y")
    assert isinstance(DataError("x"), ValueError)


# --- CSV -------------------------------------------------------------------------------


def test_csv_numeric_and_one_hot(tmp_path):
    path = write(
        tmp_path,
        "pets.csv",
        'weight,color,"size, cm",label\n'
        "1.5,red,10,cat\n\n"
        "2.5,blue,20,dog\n"
        "3.5,red,30,cat\n"
        "4.5,,40,dog\n",
    )
    ds = data.load(path, target="label")
    assert ds.name == "pets" and ds.source == str(path)
    assert ds.feature_names == ["weight", "color=blue", "color=red", "size, cm"]
    np.testing.assert_array_equal(
        ds.X, [[1.5, 0, 1, 10], [2.5, 1, 0, 20], [3.5, 0, 1, 30], [4.5, 0, 0, 40]]
    )
    assert ds.task == "classification" and ds.class_labels == ["cat", "dog"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1])
    notes = " | ".join(ds.notes)
    assert "one-hot encoded column 'color' into 2 features (blue, red)" in notes
    assert "column 'color': 1 missing value(s) encoded as all-zero one-hot" in notes
    assert "'color'" in " ".join(ds.summary()["notes"])


def test_csv_target_defaults_to_last_column_and_semicolons(tmp_path):
    path = write(tmp_path, "semi.csv", "a;b;y\n1;2;0\n3;4;1\n5;6;0\n7;8;1\n")
    ds = data.load(str(path))
    assert ds.feature_names == ["a", "b"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1])
    assert any("last column 'y'" in n for n in ds.notes)


@pytest.mark.parametrize(
    ("text", "kwargs", "pattern"),
    [
        ("", {}, r"bad\.csv: the file is empty"),
        ("a,b\n", {}, r"bad\.csv: no data rows"),
        ("a,b,y\n1,2,0\n3,4\n", {}, r"bad\.csv: line 3 has 2 fields but the header has 3"),
        ("a,b\n1,0\n2,1\n", {"target": "label"}, r"bad\.csv: no column 'label'; columns are: a, b"),
        (
            "a,b\n1,0\n2,1\nx,0\n4,1\n",
            {},
            r"bad\.csv: line 4, column 'a': 'x' is not a number",
        ),
        ("a,b\n1,0\nnan,1\n", {}, r"bad\.csv: column 'a' has a NaN/missing value at line 3"),
        ("a,b\n1,0\n2,1\ninf,1\n", {}, r"bad\.csv: column 'a' has an infinite value at line 4"),
        ("a,b\n1,0\n2,\n", {}, r"bad\.csv: line 3: the target 'b' is missing"),
        ("\na,a,b\n1,2,0\n", {}, r"bad\.csv: line 2: the header names column 'a' twice"),
        ("y\n0\n1\n", {}, r"bad\.csv: the data is empty \(no feature columns\)"),
        ("a,b\n1,5\n2,5\n3,5\n", {}, r"bad\.csv: target 'b' has a single class \('5'\)"),
        ("a,b\n1,x\n2,y\n", {"task": "regression"}, r"'x' at line 2; a regression target"),
        ("a,b\n1,0\n2,1\n", {"task": "both"}, r"task='both' is not valid"),
        ('a,b\n1,"0\n', {}, r"bad\.csv: line \d+: malformed CSV"),
    ],
)
def test_csv_errors_name_file_line_and_column(tmp_path, text, kwargs, pattern):
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(DataError, match=pattern) as info:
        data.load(path, **kwargs)
    assert "\n" not in str(info.value)


def test_csv_not_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(b"a,b\n\xe9,1\n")
    with pytest.raises(DataError, match=r"latin\.csv: not UTF-8"):
        data.load(path)


# --- paths -----------------------------------------------------------------------------


def test_missing_files_and_unknown_extensions(tmp_path):
    for name in ("nope.csv", "nope.NPZ", "nope.npy", "dir/nope", "nope.txt"):
        with pytest.raises(DataError, match="no such file"):
            data.load(str(tmp_path / name) if "/" in name else name)
    with pytest.raises(DataError, match="no such file"):
        data.load(tmp_path / "digits")  # a PathLike is always a path
    other = write(tmp_path, "table.txt", "a,b\n1,2\n")
    with pytest.raises(DataError, match=r"table\.txt: unknown file extension '\.txt'"):
        data.load(other)
    with pytest.raises(DataError, match="is a directory"):
        data.load(tmp_path)
    with pytest.raises(DataError, match="cannot load data from a int"):
        data.load(3)


# --- NPZ / NPY / arrays -------------------------------------------------------------------


def test_npz_and_npy(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.repeat(["a", "b"], 20)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = data.load(tmp_path / "d.npz")
    np.testing.assert_array_equal(ds.X, X)
    assert ds.class_labels == ["a", "b"] and ds.name == "d"
    table = np.column_stack([X, rng.normal(size=40)])
    np.save(tmp_path / "t.npy", table)
    ds = data.load(str(tmp_path / "t.npy"))
    assert ds.task == "regression" and ds.X.shape == (40, 3)
    np.testing.assert_array_equal(ds.y, table[:, -1])


def test_npz_npy_errors(tmp_path):
    np.savez(tmp_path / "k.npz", features=np.zeros((3, 2)), y=np.zeros(3))
    with pytest.raises(DataError, match=r"k\.npz: no array 'X'.*found: features, y"):
        data.load(tmp_path / "k.npz")
    np.save(tmp_path / "v.npy", np.zeros(5))
    with pytest.raises(DataError, match=r"v\.npy: an \.npy file must hold a 2-D array"):
        data.load(tmp_path / "v.npy")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"junk\.npz: cannot read it"):
        data.load(tmp_path / "junk.npz")
    np.savez(tmp_path / "e.npz", X=np.zeros((0, 2)), y=np.zeros(0))
    with pytest.raises(DataError, match=r"e\.npz: the data is empty \(no rows\)"):
        data.load(tmp_path / "e.npz")
    np.save(tmp_path / "t.npy", np.ones((4, 3)))
    with pytest.raises(DataError, match="target='y' applies to CSV files only"):
        data.load(tmp_path / "t.npy", target="y")


def test_in_memory_arrays_lists_and_images():
    ds = data.load(([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]], ["no", "yes", "no", "yes"]))
    assert ds.X.shape == (4, 2) and ds.class_labels == ["no", "yes"] and ds.name == "arrays"
    images = np.arange(6 * 2 * 3 * 3, dtype=np.float32).reshape(6, 2, 3, 3)
    ds = data.load((images, np.array([[0], [1], [0], [1], [0], [1]])))
    assert ds.image_shape == (2, 3, 3) and ds.X.shape == (6, 18)
    np.testing.assert_array_equal(ds.X[1], images[1].ravel())
    ds = data.load((images[:, 0], [0, 1] * 3))
    assert ds.image_shape == (1, 3, 3)
    same = data.load(ds)
    assert same is not None and same.X is ds.X


def test_in_memory_errors():
    with pytest.raises(DataError, match=r"X has 3 rows but y has 2"):
        data.load((np.zeros((3, 2)), [0, 1]))
    with pytest.raises(DataError, match=r"X must be \[samples, features\].*shape \(3,\)"):
        data.load((np.zeros(3), [0, 1, 0]))
    with pytest.raises(DataError, match=r"X must be numeric"):
        data.load(([["a"], ["b"]], [0, 1]))
    with pytest.raises(DataError, match=r"column 'x1' has an infinite value at row 2"):
        data.load((np.array([[0, 1], [1, 2], [2, np.inf]]), [0, 1, 0]))
    with pytest.raises(DataError, match=r"target 'target' has the value nan at row 1"):
        data.load((np.zeros((3, 1)), [0.5, np.nan, 1.5]))
    with pytest.raises(DataError, match=r"pair \(X, y\), got 3 items"):
        data.load((1, 2, 3))
    ds = data.load("iris")
    with pytest.raises(DataError, match="task='regression' given for the classification"):
        data.load(ds, task="regression")


# --- task inference ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("y", "task", "labels"),
    [
        ([0, 1, 2, 0, 1, 2, 0, 1], "classification", ["0", "1", "2"]),
        ([1.0, 2.0, 1.0, 2.0, 10.0, 10.0], "classification", ["1", "2", "10"]),
        (["b", "a", "b", "a"], "classification", ["a", "b"]),
        ([0.5, 1.5, 2.25, 3.0, 0.5, 1.5], "regression", None),
        (list(range(30)) * 2, "regression", None),  # integer-like but > 20 distinct
        ([1, 2, 3, 4, 5, 6], "regression", None),  # fewer than two rows per value
    ],
)
def test_task_inference(y, task, labels):
    ds = data.load((np.arange(len(y), dtype=float)[:, None], y))
    assert ds.task == task and ds.class_labels == labels
    assert any("task inferred" in n for n in ds.notes)


def test_task_override():
    y = [0.5, 1.5, 0.5, 1.5, 2.5, 2.5]
    X = np.arange(6.0)[:, None]
    ds = data.load((X, y), task="classification")
    assert ds.task == "classification" and ds.class_labels == ["0.5", "1.5", "2.5"]
    np.testing.assert_array_equal(ds.y, [0, 1, 0, 1, 2, 2])
    ds = data.load((X, [0, 1, 0, 1, 0, 1]), task="regression")
    assert ds.task == "regression" and ds.y.dtype == np.float64
    assert not any("task inferred" in n for n in ds.notes)
    assert data.load("iris", task="regression").task == "regression"


def test_summary_is_json(tmp_path):
    ds = data.load("moons(n=100)")
    summary = json.loads(json.dumps(ds.summary()))
    assert summary["class_counts"] == {"0": 50, "1": 50}
    assert summary["n_classes"] == 2 and summary["n_samples"] == 100
    reg = data.load("diabetes").summary()
    assert reg["n_classes"] is None and set(reg["target"]) == {"min", "max", "mean", "std"}
    assert isinstance(data.load("wine"), Dataset)


_CSV_CELLS = st.sampled_from(
    ["1", "-2.5", "3e2", "", "nan", "inf", "NA", "x", "y", '"a,b"', '"', "1,2", " 7 ", "0x1"]
)
_NUMBERS = st.integers(0, 39).flatmap(  # one cell in 40 is a hole, a word or an infinity
    lambda k: (
        st.sampled_from(["", "nan", "inf", "-inf", "NA", "word"])
        if k == 0
        else st.floats(-1e6, 1e6, allow_nan=False).map(repr)
    )
)


@st.composite
def _csv_text(draw: st.DrawFn) -> str:
    """Either anything made of CSV-ish cells (mostly malformed), or a well-formed table of
    numbers and a few labels with the occasional hole, word or infinity (mostly loadable)."""
    if draw(st.booleans()):
        header = draw(st.lists(st.sampled_from(["a", "b", "y", "", "a"]), max_size=4))
        rows = draw(st.lists(st.lists(_CSV_CELLS, max_size=4), max_size=14))
    else:
        width = draw(st.integers(1, 3))
        header = [*"abc"[:width], "y"]
        n = draw(st.integers(0, 40))
        features = draw(
            st.lists(st.lists(_NUMBERS, min_size=width, max_size=width), min_size=n, max_size=n)
        )
        labels = draw(st.lists(st.sampled_from(["p", "q", "r"]), min_size=n, max_size=n))
        rows = [[*f, lab] for f, lab in zip(features, labels, strict=True)]
    return "\n".join(",".join(r) for r in [header, *rows]) + "\n"


@settings(max_examples=200, deadline=None)
@given(text=_csv_text(), impute=st.booleans())
def test_any_csv_loads_and_splits_or_raises_a_data_error(
    tmp_path_factory: pytest.TempPathFactory, text: str, impute: bool
) -> None:
    """Whatever a CSV holds (ragged rows, blanks, quotes, words, infinities, duplicate or
    empty column names, too few rows per class), loading and splitting it gives a data set
    or a DataError, never another exception; what loads has only finite features."""
    path = tmp_path_factory.mktemp("fuzz") / "f.csv"
    path.write_text(text)
    try:
        splits = data.split(data.load(path, impute=impute))
    except DataError as exc:
        assert str(exc)
        return
    for part in (splits.X_train, splits.X_val, splits.X_test):
        assert np.isfinite(part).all()
