"""actlab.diagnose's Keras callback: the same signals and findings on a Keras 3 model."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from actlab.diagnose.demos import digits  # noqa: E402
from actlab.diagnose.keras_monitor import Monitor  # noqa: E402


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    x, y, _, _ = digits()
    return x.numpy(), y.numpy()


def fit(data, layers: list, *, epochs: int = 2, every: int = 5, lr: float = 0.1) -> Monitor:
    keras.utils.set_random_seed(0)
    x, y = data
    model = keras.Sequential([keras.Input((64,)), *layers])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="sparse_categorical_crossentropy")
    mon = Monitor(x[:128], y[:128], every=every)
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=[mon])
    return mon


def dense(n: int, activation: str | None, **kw) -> keras.layers.Dense:
    return keras.layers.Dense(n, activation=activation, **kw)


def kinds(mon: Monitor) -> list[str]:
    return [f.kind for f in mon.findings]


def test_deep_sigmoid_vanishes_and_relu_does_not(data) -> None:
    sigmoid = fit(data, [*(dense(32, "sigmoid") for _ in range(8)), dense(10, "softmax")])
    (finding,) = [f for f in sigmoid.findings if f.kind == "vanishing_gradient"]
    assert finding.numbers["ratio"] >= 100
    assert [la.activation for la in sigmoid.recording.layers] == ["sigmoid"] * 8  # no softmax
    relu = fit(
        data,
        [
            *(dense(32, "relu", kernel_initializer="he_normal") for _ in range(8)),
            dense(10, "softmax"),
        ],
    )
    assert "vanishing_gradient" not in kinds(relu)
    assert relu.recording.steps == 2 * math.ceil(len(data[0]) / 64)
    assert relu.recording.sampled_steps()[:3] == [0, 5, 10]


def test_negative_bias_kills_relu_units_and_the_numbers_match(data) -> None:
    minus3 = keras.initializers.Constant(-3.0)
    layers = [
        dense(32, "relu", kernel_initializer="he_normal", bias_initializer=minus3) for _ in range(3)
    ]
    mon = fit(data, [*layers, dense(10, "softmax")], epochs=1, lr=0.01)
    dead = [f for f in mon.findings if f.kind == "dead_units"]
    assert len(dead) >= 2
    # oracle: recompute the last layer's dead fraction on the probe batch with Keras itself
    x = data[0][:128]
    last = layers[-1]
    pre = keras.Model(mon.model.inputs[0], last.input)(x).detach().numpy() @ last.kernel.numpy()
    pre = pre + last.bias.numpy()
    final = mon.recording.at(mon.recording.sampled_steps()[-1])[last.name]
    assert final.dead_fraction == pytest.approx(np.mean(np.all(pre <= 0, axis=0)))


def test_structure_findings(data) -> None:
    mon = fit(
        data,
        [dense(32, None), keras.layers.Dropout(0.1), dense(32, "relu"), dense(10, "softmax")],
        epochs=1,
    )
    (collapse,) = [f for f in mon.findings if f.kind == "linear_collapse"]
    assert collapse.layers == (mon.model.layers[0].name, mon.model.layers[2].name)
    selu = fit(
        data,
        [dense(32, "selu"), keras.layers.Dropout(0.1), dense(10, "softmax")],
        epochs=1,
    )
    (misuse,) = [f for f in selu.findings if f.kind == "selu_misuse"]
    assert "GlorotUniform" in misuse.message and "dropout" in misuse.message
    proper = fit(
        data,
        [
            dense(32, "selu", kernel_initializer="lecun_normal"),
            keras.layers.AlphaDropout(0.1),
            dense(10, "softmax"),
        ],
        epochs=1,
    )
    assert "selu_misuse" not in kinds(proper)


def test_non_finite_weights_are_reported_with_layer_and_step(data) -> None:
    class Poison(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 4:
                layer = self.model.layers[1]
                kernel = layer.kernel.numpy()
                kernel[0, 0] = np.nan
                layer.kernel.assign(kernel)

    keras.utils.set_random_seed(0)
    x, y = data
    model = keras.Sequential(
        [keras.Input((64,)), dense(16, "relu"), dense(16, "relu"), dense(10, "softmax")]
    )
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    mon = Monitor(x[:64], y[:64], every=10)
    model.fit(x[:512], y[:512], epochs=1, batch_size=64, verbose=0, callbacks=[Poison(), mon])
    (finding,) = [f for f in mon.findings if f.kind == "non_finite"]
    assert finding.layers == (model.layers[1].name,) and finding.steps == (4, 4)


def test_bad_probe_is_named() -> None:
    with pytest.raises(ValueError, match="same, non-zero number of rows"):
        Monitor(np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(ValueError, match="every"):
        Monitor(np.zeros((3, 4)), np.zeros(3), every=0)


# ---- the Keras zoo ---------------------------------------------------------------------
def _zoo_fit(name: str, every: int = 2) -> Monitor:
    import zoo

    entry = zoo.KERAS[name]
    keras.utils.set_random_seed(0)
    model = entry.build()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, *entry.input_shape)).astype("float32")
    y = rng.integers(0, entry.classes, 64)
    mon = Monitor(x[:16], y[:16], every=every)
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[mon])
    return mon


@pytest.mark.parametrize("name", ["cnn", "conv1d"])
def test_zoo_every_activation_is_found_and_the_elementwise_ones_watched(name: str) -> None:
    import zoo

    facts = zoo.KERAS[name].sites
    mon = _zoo_fit(name)
    assert {n: (spec, role) for n, spec, role in mon.sites} == {
        n: (f.spec, f.role) for n, f in facts.items()
    }
    watched = {n for n, f in facts.items() if f.spec != zoo.NOT_ELEMENTWISE}
    layers = {la.name: la for la in mon.recording.layers}
    assert set(layers) == watched
    for n in watched:
        assert layers[n].feeder == facts[n].feeder, n
    for step in mon.recording.sampled_steps():
        assert set(mon.recording.at(step)) == watched
    assert mon.findings == []
    with_kernel = [r for r in mon.records if layers[r.layer].feeder is not None]
    assert with_kernel and all(r.grad_norm is not None and r.grad_norm > 0 for r in with_kernel)


def test_one_layer_that_is_not_watched_is_said_plainly() -> None:
    from rich.console import Console

    mon = _zoo_fit("single_dense")
    assert mon.sites == [("dense", "not elementwise", "output")]
    assert [f.kind for f in mon.findings] == ["nothing_watched"]
    console = Console(record=True, width=200)
    mon.summary(console)
    assert "No activation was watched" in console.export_text()


def test_one_watched_dense_layer(data) -> None:
    mon = fit(data, [dense(10, "tanh")], epochs=1)
    assert [la.name for la in mon.recording.layers] == [mon.model.layers[0].name]
    assert mon.recording.layers[0].role == "output" and len(mon.records) > 0
