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

Class order is scikit-learn's (``target_names``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn import datasets as skd

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


def digits() -> RawData:
    """Handwritten digits 0-9, 8x8 grey images (pixel values 0..16)."""
    return _classification("digits", skd.load_digits(), image_shape=(1, 8, 8))


def iris() -> RawData:
    """Fisher's iris: 4 flower measurements, 3 species."""
    return _classification("iris", skd.load_iris())


def wine() -> RawData:
    """Wine recognition: 13 chemical measurements, 3 cultivars."""
    return _classification("wine", skd.load_wine())


def breast_cancer() -> RawData:
    """Wisconsin diagnostic breast cancer: 30 cell-nucleus features, malignant / benign."""
    return _classification("breast_cancer", skd.load_breast_cancer())


def diabetes() -> RawData:
    """Diabetes progression one year after baseline (regression), unscaled features."""
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
