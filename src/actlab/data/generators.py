"""Seeded two-dimensional toy problems for classification.

Every generator takes ``n`` (total samples, split as evenly as possible between classes),
``noise`` and ``seed`` (NumPy / scikit-learn random state; same seed, same data).

- ``moons``: two interleaving half circles (scikit-learn ``make_moons``); ``noise`` is the
  standard deviation of Gaussian noise added to each coordinate.
- ``circles``: a circle inside a circle (``make_circles``); ``factor`` is the inner
  radius relative to the outer one (radius 1).
- ``xor``: points uniform on the square ``[-1, 1]^2`` with label ``sign(x1 * x2)``
  (class ``"-1"`` or ``"+1"``); ``noise`` is Gaussian noise added to the coordinates
  *after* labelling, so it blurs the axes that separate the quadrants.
- ``spirals``: ``classes`` interleaved spiral arms. Arm ``c`` is
  ``r (cos theta, sin theta)`` with ``r = t``, ``theta = 2 pi (turns t + c / classes)``,
  ``t ~ U(0, 1)``; ``noise`` is Gaussian noise added to each coordinate.
"""

from __future__ import annotations

import numpy as np

from actlab.data.raw import RawData


def _raw(name: str, X: np.ndarray, y: np.ndarray, labels: list[str], how: str) -> RawData:
    return RawData(
        name=name,
        X=np.asarray(X, dtype=np.float64),
        y=np.asarray(y, dtype=np.int64),
        feature_names=["x1", "x2"],
        source=f"generated: {how}",
        origin=name,
        class_labels=labels,
    )


def _class_sizes(n: int, k: int) -> list[int]:
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def moons(*, n: int, noise: float, seed: int) -> RawData:
    from sklearn import datasets as skd

    X, y = skd.make_moons(n_samples=n, noise=noise, random_state=seed)
    return _raw("moons", X, y, ["0", "1"], "moons via scikit-learn make_moons")


def circles(*, n: int, noise: float, factor: float, seed: int) -> RawData:
    from sklearn import datasets as skd

    X, y = skd.make_circles(n_samples=n, noise=noise, factor=factor, random_state=seed)
    return _raw("circles", X, y, ["outer", "inner"], "circles via scikit-learn make_circles")


def xor(*, n: int, noise: float, seed: int) -> RawData:
    rng = np.random.default_rng(seed)
    clean = rng.uniform(-1.0, 1.0, size=(n, 2))
    y = (clean[:, 0] * clean[:, 1] > 0).astype(np.int64)
    X = clean + noise * rng.standard_normal((n, 2))
    return _raw("xor", X, y, ["-1", "+1"], "xor: uniform square, label sign(x1*x2)")


def spirals(*, n: int, noise: float, classes: int, turns: float, seed: int) -> RawData:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(classes), _class_sizes(n, classes))
    t = rng.uniform(0.0, 1.0, size=n)
    theta = 2.0 * np.pi * (turns * t + y / classes)
    X = np.stack([t * np.cos(theta), t * np.sin(theta)], axis=1)
    X += noise * rng.standard_normal((n, 2))
    order = rng.permutation(n)
    labels = [str(c) for c in range(classes)]
    return _raw("spirals", X[order], y[order], labels, f"spirals: {classes} interleaved arms")
