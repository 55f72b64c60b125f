"""actlab.keras: layers equal the catalog, serialize, and run the article's snippet."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import actlab

ak = pytest.importorskip("actlab.keras")
import keras  # noqa: E402  (after actlab.keras has chosen the torch backend)

SPECS = actlab.names() + [
    s
    for s in ("leaky_relu(alpha=0.2)", "prelu(alpha=0.1)", "silu(beta=1.5)", "softplus(beta=2)")
    if s.split("(")[0] in actlab.names()
]
# Keras' torch backend calls np.array(tensor) internally, which NumPy 2 flags; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
X = np.concatenate([np.linspace(-8, 8, 161), [-30.0, -20.0, 20.0, 30.0]]).astype(np.float32)


@pytest.mark.parametrize("spec", SPECS)
def test_layer_matches_reference(spec: str) -> None:
    act = actlab.get(spec)
    layer = ak.get(spec)
    x = X.reshape(5, -1)
    y = keras.ops.convert_to_numpy(layer(torch.from_numpy(x)))  # the torch backend
    assert y.shape == x.shape
    np.testing.assert_allclose(y, act(x), rtol=1e-6, atol=1e-6)


def test_dense_activation_and_sequential_round_trip(tmp_path) -> None:
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(6, activation=ak.get("leaky_relu(alpha=0.2)")),
            ak.get("prelu"),
            keras.layers.Dense(3, activation=ak.get("softsign")),
        ]
    )
    x = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    y = model.predict(x, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), y)
    assert loaded.layers[1].get_config()["spec"] == "prelu"
    assert loaded.layers[0].activation.spec == "leaky_relu(alpha=0.2)"


def test_prelu_layer_has_one_trainable_slope() -> None:
    layer = ak.get("prelu(alpha=0.1)")
    layer.build((None, 3))
    (weight,) = layer.trainable_weights
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weight), [0.1])


def test_article_snippet_runs_and_leaky_relu_matches_it() -> None:
    x = keras.Input(shape=(10,))
    y = keras.layers.Activation("sigmoid")(x)
    z = keras.layers.Activation("relu")(y)
    assert z.shape == (None, 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # alpha= is deprecated in Keras 3
        keras_leaky = keras.layers.LeakyReLU(alpha=0.2)
    assert keras_leaky.negative_slope == pytest.approx(0.2)
    model = keras.Sequential([keras.layers.Dense(10, activation=keras_leaky)])
    model.build((None, 10))
    data = X[:40].reshape(4, 10)
    ours = keras.ops.convert_to_numpy(ak.get("leaky_relu(alpha=0.2)")(data))
    theirs = keras.ops.convert_to_numpy(keras_leaky(data))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert model(data).shape == (4, 10)


def test_bad_spec_raises_the_catalog_error() -> None:
    with pytest.raises(actlab.SpecError):
        ak.get("leaky_relu(alpha=5)")


def test_other_keras_backend_is_refused() -> None:
    # Keras' other backends need their own frameworks (not installed): pretend one is active.
    code = "import keras; keras.backend.backend = lambda: 'jax'; import actlab.keras"
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode != 0
    assert "KERAS_BACKEND=torch" in proc.stderr and "'jax'" in proc.stderr
    assert "imported before actlab.keras" in proc.stderr
