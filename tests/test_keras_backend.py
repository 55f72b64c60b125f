"""actlab.keras in this process's Keras backend (torch unless KERAS_BACKEND names another,
see conftest.py): layers equal the catalog, serialize, learn, and run the article's snippet.
tests/test_keras_backends.py checks every entry on every backend."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import actlab

ak = pytest.importorskip("actlab.keras")
keras = ak.keras
if keras.backend.backend() != "torch":  # the tests below feed torch tensors
    pytest.skip("in-process Keras tests run on the torch backend", allow_module_level=True)

SPECS = [
    *actlab.names(),
    "leaky_relu(alpha=0.2)",
    "prelu(alpha=0.1)",
    "silu(beta=1.5)",
    "softplus(beta=2)",
    "hard_tanh(min_val=-2, max_val=0.5)",
    "xielu(alpha_p=0.3, alpha_n=1.2, beta=0.25)",
    "swiglu(beta=1.7)",
    "geglu(approximate=true)",
    "sparsemax(axis=0)",
]
# Keras' torch backend calls np.array(tensor) internally, which NumPy 2 flags; not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
X = np.concatenate([np.linspace(-8, 8, 161), [-30.0, -20.0, 20.0, 30.0]]).astype(np.float32)


def _inputs(act: actlab.Activation) -> np.ndarray:
    """X as rows; for a gated entry (value, gate) pairs along its axis."""
    if act.is_gated:
        pairs = np.stack([np.resize(np.float32([1.0, -2.5, 0.75]), X.shape), X], axis=-1)
        return pairs if act.params["axis"] == -1 else pairs.T
    return X.reshape(5, -1)


@pytest.mark.parametrize("spec", SPECS)
def test_layer_matches_reference(spec: str) -> None:
    act = actlab.get(spec)
    layer = ak.get(spec)
    x = _inputs(act)
    y = keras.ops.convert_to_numpy(layer(torch.from_numpy(x)))  # the torch backend
    expected = act(x)
    assert y.shape == expected.shape == tuple(layer.compute_output_shape(x.shape))
    scale = np.abs(expected).max() if act.name == "exponential" else 1.0
    np.testing.assert_allclose(y, expected, rtol=1e-6, atol=1e-6 * scale)


def test_every_entry_has_a_keras_binding() -> None:
    from actlab.backends.keras import BINDINGS  # after actlab.keras chose the backend

    assert set(BINDINGS) == set(actlab.names())
    for name, b in BINDINGS.items():
        act = actlab.get(name)
        assert (b.learned is not None) == bool(act.learnable), name
        assert (b.training is not None) == bool(act.info.training), name
        native_name = b.native[0] if b.native else ""
        ref = act.definition.keras
        assert native_name.split("(")[0] in (ref.name, ref.functional.split(" ")[0]), name


@pytest.mark.parametrize("spec", ["star_relu", "xielu", "snake(frequency=2)", "prelu"])
def test_learnable_layers_have_trainable_weights_that_round_trip(spec: str, tmp_path) -> None:
    act = actlab.get(spec)
    layer = ak.get(spec)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(6), layer])
    assert len(layer.trainable_weights) == len(act.learnable)
    learned = {k: float(keras.ops.convert_to_numpy(v)[0]) for k, v in layer.learned().items()}
    assert learned == pytest.approx({k: act.params[k] for k in act.learnable}, rel=1e-6)
    x = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    y = np.random.default_rng(2).normal(size=(4, 6)).astype(np.float32)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    moved = {k: float(keras.ops.convert_to_numpy(v)[0]) for k, v in layer.learned().items()}
    assert moved != pytest.approx(learned)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_gated_layer_halves_the_axis_in_a_model(tmp_path) -> None:
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8), ak.get("swiglu"), keras.layers.Dense(2)]
    )
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    assert model.layers[1].output.shape == (None, 4)
    path = tmp_path / "gated.keras"
    model.save(path)
    np.testing.assert_allclose(
        keras.saving.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0)
    )


def test_rrelu_layer_draws_slopes_in_training_only() -> None:
    layer = ak.get("rrelu(lower=0.1, upper=0.3)")
    x = -np.ones((100, 100), dtype=np.float32)
    slopes = -keras.ops.convert_to_numpy(layer(x, training=True))
    assert slopes.min() >= 0.1 and slopes.max() <= 0.3 and slopes.std() > 0.05
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), -0.2, rtol=1e-6)


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
    assert weight.name == "alpha"


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


def test_prelu_learns_the_slope_of_a_leaky_relu_teacher() -> None:
    """y = leaky_relu(x, 0.3): a PReLU layer started at slope 0.1 fits 0.3 by gradient
    descent (its only weight; the loss is convex in it)."""
    x = np.random.default_rng(1).normal(size=(256, 4)).astype(np.float32)
    y = actlab.get("leaky_relu(alpha=0.3)")(x)
    model = keras.Sequential([keras.Input((4,)), ak.get("prelu(alpha=0.1)")])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    model.fit(x, y, epochs=30, batch_size=256, verbose=0)
    (alpha,) = model.layers[0].trainable_weights
    np.testing.assert_allclose(keras.ops.convert_to_numpy(alpha), [0.3], atol=1e-3)
