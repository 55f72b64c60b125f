"""actlab.data.split: stratified seeded splits, train-only standardization, imputation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from actlab import data
from actlab.data import DataError


def labelled(counts: list[int], seed: int = 0) -> data.Dataset:
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.repeat(np.arange(len(counts)), counts))
    X = rng.normal(size=(len(y), 3)) + y[:, None]
    return data.load((X, [f"c{k}" for k in y]))


def check_partition(parts, n):
    joined = np.concatenate(parts)
    assert len(joined) == n and len(np.unique(joined)) == n  # disjoint and covering


@settings(max_examples=150, deadline=None)
@given(
    counts=st.lists(st.integers(2, 60), min_size=2, max_size=6),
    val=st.floats(0.05, 0.4),
    test=st.floats(0.05, 0.4),
    seed=st.integers(0, 1000),
)
def test_stratified_within_one_sample(counts, val, test, seed):
    ds = labelled(counts)
    needed = int(np.ceil(1 / (1 - val - test) - 1e-9))
    try:
        parts = data.split_indices(ds, seed=seed, val_fraction=val, test_fraction=test)
    except DataError:  # only for a class too small or a part that would be empty
        assert min(counts) < max(2, needed) or min(val, test) * sum(counts) < 1
        return
    check_partition(parts, len(ds.y))
    n = np.bincount(ds.y)
    for part, frac in zip(parts, (1 - val - test, val, test), strict=True):
        got = np.bincount(ds.y[part], minlength=len(n))
        assert np.all(np.abs(got - frac * n) <= 1 + 1e-9)
    assert np.all(np.bincount(ds.y[parts[0]], minlength=len(n)) >= 1)
    for part, frac in zip(parts[1:], (val, test), strict=True):
        assert abs(len(part) - frac * len(ds.y)) <= len(n)


def test_split_sizes_seeding_and_order():
    ds = data.load("digits")
    a = data.split_indices(ds, seed=1)
    b = data.split_indices(ds, seed=1)
    c = data.split_indices(ds, seed=2)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[2], c[2])
    assert [len(p) for p in a] == [1079, 359, 359]
    check_partition(a, 1797)
    assert not np.all(np.diff(a[0]) > 0)  # shuffled, not sorted
    sp = data.split(ds, seed=1, val_fraction=0.1, test_fraction=0.3)
    assert (len(sp.y_val), len(sp.y_test)) == (180, 539)


def test_standardization_fitted_on_train_only():
    ds = data.load("wine")
    train, val, test = data.split_indices(ds, seed=0)
    sp = data.split(ds, seed=0)
    scaler = StandardScaler().fit(ds.X[train])  # independent oracle
    np.testing.assert_allclose(sp.X_train, scaler.transform(ds.X[train]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sp.X_val, scaler.transform(ds.X[val]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sp.X_test, scaler.transform(ds.X[test]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sp.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(sp.X_train.std(axis=0), 1, atol=1e-5)
    assert np.abs(sp.X_val.mean(axis=0)).max() > 1e-3
    assert np.abs(sp.X_test.std(axis=0) - 1).max() > 1e-3
    assert sp.X_train.dtype == np.float32 and sp.y_train.dtype == np.int64
    np.testing.assert_array_equal(sp.y_test, ds.y[test])
    assert sp.n_features == 13 and sp.n_outputs == 3 and sp.class_labels == ds.class_labels
    assert sp.target_scale is None


def test_constant_columns_and_images():
    sp = data.split(data.load("digits"))
    assert sp.image_shape == (1, 8, 8) and sp.X_train.shape[1] == 64
    assert np.all(np.isfinite(sp.X_train)) and np.all(np.isfinite(sp.X_test))
    assert any("constant on the train part" in n for n in sp.notes)


def test_regression_targets_standardized_and_r2_invariant():
    ds = data.load("diabetes")
    sp = data.split(ds, seed=3)
    train, _, test = data.split_indices(ds, seed=3)
    mean, std = sp.target_scale
    assert mean == pytest.approx(ds.y[train].mean()) and std == pytest.approx(ds.y[train].std())
    assert sp.y_train.dtype == np.float32 and sp.y_train.ndim == 1 and sp.n_outputs == 1
    assert sp.y_train.mean() == pytest.approx(0, abs=1e-5)
    np.testing.assert_allclose(sp.unscale_target(sp.y_test), ds.y[test], rtol=1e-5)
    pred = sp.y_test + np.random.default_rng(0).normal(scale=0.5, size=len(sp.y_test))
    assert r2_score(sp.y_test, pred) == pytest.approx(
        r2_score(ds.y[test], sp.unscale_target(pred)), rel=1e-4
    )
    assert [len(p) for p in (sp.y_train, sp.y_val, sp.y_test)] == [266, 88, 88]
    with pytest.raises(ValueError, match="regression splits only"):
        data.split(data.load("iris")).unscale_target(np.zeros(2))


def test_impute_uses_train_median(tmp_path):
    rows = ["a,b,y"] + [
        f"{'' if i % 7 == 3 else i},{'NA' if i % 11 == 5 else 2 * i},{i % 2}" for i in range(60)
    ]
    path = tmp_path / "holes.csv"
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(
        DataError,
        match=r"holes\.csv: column 'a' has a NaN/missing value at line 5; .*--impute.*impute=True",
    ):
        data.load(path)
    ds = data.load(path, impute=True)
    assert ds.impute and ds.n_missing == 9 + 5
    assert any("column 'a': 9 missing" in n for n in ds.notes)
    train, val, test = data.split_indices(ds, seed=4)
    sp = data.split(ds, seed=4)
    raw_a = ds.X[:, 0]
    median = np.median(raw_a[train][np.isfinite(raw_a[train])])
    filled = np.where(np.isfinite(raw_a), raw_a, median)
    mu, sigma = filled[train].mean(), filled[train].std()
    np.testing.assert_allclose(sp.X_val[:, 0], (filled[val] - mu) / sigma, rtol=1e-5)
    np.testing.assert_allclose(sp.X_test[:, 0], (filled[test] - mu) / sigma, rtol=1e-5)
    notes = " ".join(sp.notes)
    assert (
        "imputed 9 value(s) of column 'a'" in notes and "imputed 5 value(s) of column 'b'" in notes
    )
    assert np.all(np.isfinite(sp.X_train))


def test_impute_needs_a_finite_train_value():
    with pytest.raises(DataError, match="column 'x0' has no finite value to impute from"):
        data.load((np.full((4, 1), np.nan), [0, 1, 0, 1]), impute=True)
    X = np.full((12, 1), np.nan)
    X[5] = 1.0
    ds = data.load((X, [0, 1] * 6), impute=True)
    in_train = [5 in data.split_indices(ds, seed=s)[0] for s in range(30)]
    good, bad = in_train.index(True), in_train.index(False)
    np.testing.assert_array_equal(data.split(ds, seed=good).X_train, 0.0)
    with pytest.raises(DataError, match="column 'x0' has no finite value in the train part"):
        data.split(ds, seed=bad)


def test_split_errors_name_the_file(tmp_path):
    path = tmp_path / "tiny.csv"
    path.write_text("a,y\n" + "".join(f"{i},{'b' if i == 0 else 'a'}\n" for i in range(12)))
    with pytest.raises(DataError, match=r"^tiny \(.*tiny\.csv\): class 'b' has 1 sample"):
        data.split(data.load(path))


def test_split_errors():
    with pytest.raises(DataError, match=r"class 'c1' has 1 sample\(s\), too few to stratify"):
        data.split(labelled([10, 1]))
    with pytest.raises(DataError, match=r"class 'c0' has 2 sample\(s\).*at least 5 needed"):
        data.split(labelled([2, 30]), val_fraction=0.4, test_fraction=0.4)
    with pytest.raises(DataError, match=r"too few for a non-empty test part"):
        data.split(data.load((np.arange(4.0)[:, None], [0.1, 0.7, 0.2, 0.9])), test_fraction=0.1)
    with pytest.raises(DataError, match=r"val_fraction=0 is not allowed"):
        data.split(labelled([10, 10]), val_fraction=0)
    with pytest.raises(DataError, match=r"must be below 1"):
        data.split(labelled([10, 10]), val_fraction=0.5, test_fraction=0.5)
    with pytest.raises(DataError, match=r"seed=-1 is not allowed"):
        data.split(labelled([10, 10]), seed=-1)
    constant = data.load((np.arange(6.0)[:, None], [1.5] * 6), task="regression")
    with pytest.raises(DataError, match="regression target is constant"):
        data.split(constant)


def test_splits_summary_is_json():
    sp = data.split(data.load("iris"), seed=0)
    summary = json.loads(json.dumps(sp.summary()))
    assert summary["n_train"] + summary["n_val"] + summary["n_test"] == 150
    assert summary["class_counts"]["test"] == {"setosa": 10, "versicolor": 10, "virginica": 10}
    reg = json.loads(json.dumps(data.split(data.load("diabetes")).summary()))
    assert reg["class_counts"] is None and len(reg["target_scale"]) == 2
