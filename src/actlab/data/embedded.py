"""The data sets that ship with scikit-learn (offline, no download).

=============  ==============  =======  ========  =========================
name           task            samples  features  classes
=============  ==============  =======  ========  =========================
digits         classification  1797     64        10 (8x8 images, 1x8x8)
iris           classification  150      4         3
wine           classification  178      13        3
breast_cancer  classification  569      30        2
diabetes       regression      442      10        - (disease progression)
=============  ==============  =======  ========  =========================

Class order is scikit-learn's (``target_names``). Digits, the default data set, is read
from scikit-learn's own data file without importing scikit-learn (~0.6 s of a default
``actlab compare``); the others come through its loaders.
"""

from __future__ import annotations

import gzip
import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from actlab.data.raw import RawData


def _classification(name: str, bunch, image_shape=None) -> RawData:
    labels = [str(t) for t in bunch.target_names]
    return RawData(
        name=name,
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.int64),
        feature_names=[str(f) for f in bunch.feature_names],
        source=f"embedded: scikit-learn {name}",
        origin=name,
        class_labels=labels,
        image_shape=image_shape,
    )


def _sklearn_data_file(name: str) -> Path | None:
    """The path of a data file shipped in ``sklearn/datasets/data``, found without
    importing scikit-learn (None if it is not where scikit-learn keeps it)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations)), "datasets", "data", name)
    return path if path.is_file() else None


def digits() -> RawData:
    """Handwritten digits 0-9, 8x8 grey images (pixel values 0..16): the rows of
    ``digits.csv.gz`` are 64 pixels (row-major) then the digit, read as scikit-learn's
    ``load_digits`` reads them (``np.loadtxt``)."""
    path = _sklearn_data_file("digits.csv.gz")
    if path is None:  # a scikit-learn that keeps its data elsewhere: its loader
        from sklearn import datasets as skd

        return _classification("digits", skd.load_digits(), image_shape=(1, 8, 8))
    with gzip.open(path, mode="rt", encoding="utf-8") as f:
        table = np.loadtxt(f, delimiter=",")
    bunch = SimpleNamespace(
        data=table[:, :-1],
        target=table[:, -1].astype(int),
        feature_names=[f"pixel_{row}_{col}" for row in range(8) for col in range(8)],
        target_names=np.arange(10),
    )
    return _classification("digits", bunch, image_shape=(1, 8, 8))


def iris() -> RawData:
    """Fisher's iris: 4 flower measurements, 3 species."""
    from sklearn import datasets as skd

    return _classification("iris", skd.load_iris())


def wine() -> RawData:
    """Wine recognition: 13 chemical measurements, 3 cultivars."""
    from sklearn import datasets as skd

    return _classification("wine", skd.load_wine())


def breast_cancer() -> RawData:
    """Wisconsin diagnostic breast cancer: 30 cell-nucleus features, malignant / benign."""
    from sklearn import datasets as skd

    return _classification("breast_cancer", skd.load_breast_cancer())


def diabetes() -> RawData:
    """Diabetes progression one year after baseline (regression), unscaled features."""
    from sklearn import datasets as skd

    bunch = skd.load_diabetes(scaled=False)
    return RawData(
        name="diabetes",
        X=np.asarray(bunch.data, dtype=np.float64),
        y=np.asarray(bunch.target, dtype=np.float64),
        feature_names=[str(f) for f in bunch.feature_names],
        source="embedded: scikit-learn diabetes",
        origin="diabetes",
        target_name="progression",
    )


EMBEDDED: dict[str, Callable[[], RawData]] = {
    "digits": digits,
    "iris": iris,
    "wine": wine,
    "breast_cancer": breast_cancer,
    "diabetes": diabetes,
}
