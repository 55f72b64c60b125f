"""Run by tests/test_keras_backends.py under one Keras backend (``python THIS OUT.json``).

Imports Keras first (actlab.keras must keep the backend Keras chose), then checks at once:

* ``layers``: every spec as an actlab layer and as ``Dense(activation=...)`` (identity
  kernel) in one functional model, on a fixed grid (gated entries: (value, gate) pairs);
  the same model saved to ``.keras`` and loaded back;
* ``step``: one SGD step on a model with a branch per spec, from fixed weights, so each
  branch's kernel update carries that activation's derivative on this backend's autodiff;
* ``errors``: the messages of bad specs;
* ``article``: on TensorFlow, the seed article's snippet as written (brackets balanced,
  ``alpha`` renamed ``negative_slope``);
* ``monitor``: actlab.keras.Monitor's findings and summary on two small models trained from
  the same NumPy-drawn weights on the same batches (dead units, a linear pair, vanishing
  gradients through sigmoids; SELU with the wrong init and plain dropout, and an activation
  no catalog entry computes).

Writes plain JSON (lists of floats); the test compares them with the catalog and across
backends.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
from pathlib import Path

import keras
import numpy as np

import actlab
import actlab.keras as ak

EXTRA = (
    "leaky_relu(alpha=0.2)",
    "prelu(alpha=0.1)",
    "silu(beta=1.5)",
    "softplus(beta=2)",
    "hard_tanh(min_val=-2, max_val=0.5)",
    "swiglu(beta=1.7)",
    "geglu(approximate=true)",
)
SPECS = actlab.names() + [s for s in EXTRA if s.split("(")[0] in actlab.names()]
GRID = np.concatenate([np.linspace(-8, 8, 161), [-30.0, -20.0, 20.0, 30.0]]).astype(np.float32)
ROWS = GRID.reshape(5, 33)
BAD_SPECS = ("lekyrelu", "leaky_relu(alpha=5)", "relu(beta=1)", "gelu(", "prelu(alpha=nan)")

ARTICLE = """
import tensorflow as tf

# Sigmoid activation
x = tf.keras.Input(shape=(10,))  # Define input layer
y = tf.keras.layers.Activation('sigmoid')(x)  # Apply sigmoid activation

# ReLU activation
z = tf.keras.layers.Activation('relu')(y)  # Apply ReLU activation on previous layer's output

# Leaky ReLU with a custom alpha value
model = tf.keras.Sequential([
  tf.keras.layers.Dense(10, activation=tf.keras.layers.LeakyReLU(negative_slope=0.2))
])
"""
"""The article's TensorFlow snippet, its brackets balanced and ``alpha`` renamed."""


def _numpy(values) -> list:
    return np.asarray(keras.ops.convert_to_numpy(values), dtype=np.float64).tolist()


GATE_VALUES = np.resize(np.float32([1.0, -2.5, 0.75]), GRID.shape)
PAIRS = np.stack([GATE_VALUES, GRID], axis=-1)
"""A gated entry's input: (value, gate) rows with the grid as the gates."""


def _rows(spec: str) -> np.ndarray:
    return PAIRS if actlab.get(spec).is_gated else ROWS


def layers_and_round_trip() -> dict:
    """Every spec as a layer and as ``Dense(activation=...)`` (identity kernel) of one model
    with two inputs (the grid as rows; the (value, gate) pairs for gated entries)."""
    inputs = {False: keras.Input((ROWS.shape[1],)), True: keras.Input((2,))}
    outputs = []
    for spec in SPECS:
        x = inputs[actlab.get(spec).is_gated]
        outputs.append(ak.get(spec)(x))
        dense = keras.layers.Dense(
            x.shape[1], activation=ak.get(spec), kernel_initializer="identity", use_bias=False
        )
        outputs.append(dense(x))
    model = keras.Model([inputs[False], inputs[True]], outputs)
    before = [keras.ops.convert_to_numpy(y) for y in model([ROWS, PAIRS])]
    path = Path(tempfile.mkdtemp()) / "every_entry.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    after = [keras.ops.convert_to_numpy(y) for y in loaded([ROWS, PAIRS])]
    specs_after = [la.spec for la in loaded.layers if isinstance(la, ak.ActlabActivation)]
    specs_after += [
        la.activation.spec for la in loaded.layers if isinstance(la, keras.layers.Dense)
    ]
    return {
        "layer": {s: _numpy(before[2 * i]) for i, s in enumerate(SPECS)},
        "dense": {s: _numpy(before[2 * i + 1]) for i, s in enumerate(SPECS)},
        "loaded_equal": all(np.array_equal(a, b) for a, b in zip(before, after, strict=True)),
        "loaded_specs": sorted(specs_after),
    }


STEP_SPECS = [s for s in SPECS if actlab.get(s).name != "rrelu"]
"""rrelu draws its slopes in training: its step is random (its layer is tested in eval)."""


def one_sgd_step() -> dict:
    """Every spec as a Dense branch (identity kernel, no bias) of one model; loss: half the
    sum of squares of every output, so each branch's kernel gradient is x^T J_f(xW)^T f(xW)."""
    data = np.random.default_rng(0).normal(scale=3.0, size=(8, 6)).astype(np.float32)
    inputs = keras.Input((6,))
    branches = [
        keras.layers.Dense(6, activation=ak.get(s), use_bias=False, kernel_initializer="identity")(
            inputs
        )
        for s in STEP_SPECS
    ]
    model = keras.Model(inputs, keras.layers.Concatenate()(branches))
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=1.0),
        loss=lambda y, p: 0.5 * keras.ops.sum(keras.ops.square(p)),
    )
    width = sum(int(b.shape[1]) for b in branches)
    model.train_on_batch(data, np.zeros((8, width), dtype=np.float32))
    dense = [la for la in model.layers if isinstance(la, keras.layers.Dense)]
    return {
        "x": data.tolist(),
        "kernel": {s: _numpy(la.kernel) for s, la in zip(STEP_SPECS, dense, strict=True)},
        "learned": {
            s: {k: _numpy(v) for k, v in la.activation.learned().items()}
            for s, la in zip(STEP_SPECS, dense, strict=True)
        },
    }


def errors() -> dict:
    found = {}
    for spec in BAD_SPECS:
        try:
            ak.get(spec)
        except actlab.SpecError as exc:
            found[spec] = f"{type(exc).__name__}: {exc}"
        else:
            found[spec] = "no error"
    try:
        ak.ActlabActivation.from_config({"spec": "lekyrelu"})
    except actlab.SpecError as exc:
        found["from_config"] = f"{type(exc).__name__}: {exc}"
    return found


def article() -> dict:
    namespace: dict = {}
    exec(ARTICLE, namespace)
    model = namespace["model"]
    data = GRID[:40].reshape(4, 10)
    out = keras.ops.convert_to_numpy(model(data))
    dense = model.layers[0]
    pre = data @ keras.ops.convert_to_numpy(dense.kernel) + keras.ops.convert_to_numpy(dense.bias)
    return {
        "z_shape": list(namespace["z"].shape[1:]),
        "model_vs_catalog": float(np.max(np.abs(out - actlab.get("leaky_relu(alpha=0.2)")(pre)))),
        "layer_vs_actlab": float(
            np.max(
                np.abs(
                    keras.ops.convert_to_numpy(dense.activation(data))
                    - keras.ops.convert_to_numpy(ak.get("leaky_relu(alpha=0.2)")(data))
                )
            )
        ),
    }


def _glorot(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    limit = np.sqrt(6.0 / (shape[0] + shape[-1]))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def _unlisted(x):
    """An elementwise activation in no catalog: x tanh(x)^3 + x / 4."""
    return x * keras.ops.tanh(x) ** 3 + x / 4


def monitor() -> dict:
    """Fit two models from fixed weights (Glorot-uniform kernels drawn by NumPy, the
    layers' own constant biases) on the digits, and record what the monitor says."""
    from rich.console import Console

    from actlab.diagnose.demos import digits

    x, y, _, _ = digits()
    x, y = x.numpy()[:512], y.numpy()[:512]
    minus3 = keras.initializers.Constant(-3.0)
    models = {
        "dead_linear_vanishing": [
            keras.layers.Dense(32, activation="relu", bias_initializer=minus3, name="dead"),
            keras.layers.Dense(32, name="linear"),
            *(keras.layers.Dense(24, activation="sigmoid", name=f"sig{i}") for i in range(6)),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ],
        "selu": [
            keras.layers.Dense(32, activation="selu", name="selu0"),
            # rate 0: still the plain dropout SELU warns about, without backend-specific
            # random masks (the runs stay comparable step by step)
            keras.layers.Dropout(0.0, name="drop"),
            keras.layers.Dense(32, activation="selu", name="selu1"),
            # no catalog entry computes this: max |f'| by the backend's own autodiff
            keras.layers.Dense(16, activation=_unlisted, name="unlisted"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ],
    }
    found = {}
    for label, layers in models.items():
        model = keras.Sequential([keras.Input((64,)), *layers])
        rng = np.random.default_rng(0)
        model.set_weights(
            [_glorot(rng, w.shape) if len(w.shape) == 2 else w for w in model.get_weights()]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        mon = ak.Monitor(x[:128], y[:128], every=2)
        model.fit(x, y, epochs=1, batch_size=64, shuffle=False, verbose=0, callbacks=[mon])
        console = Console(record=True, width=120, file=io.StringIO())
        mon.summary(console)
        found[label] = {
            "findings": [
                {
                    "kind": f.kind,
                    "layers": list(f.layers),
                    "steps": list(f.steps),
                    "severity": f.severity,
                    "numbers": {k: float(v) for k, v in f.numbers.items()},
                    "message": f.message,
                }
                for f in mon.findings
            ],
            "records": [
                [r.step, r.layer, r.dead_fraction, r.saturated_fraction, r.mean, r.std, r.grad_norm]
                for r in mon.records
            ],
            "summary": console.export_text(),
        }
    return found


def main(out: str) -> None:
    result = {
        "backend": keras.backend.backend(),
        "specs": SPECS,
        "grid": ROWS.tolist(),
        "layers": layers_and_round_trip(),
        "step": one_sgd_step(),
        "errors": errors(),
        "monitor": monitor(),
    }
    if result["backend"] == "tensorflow":
        result["article"] = article()
    Path(out).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
