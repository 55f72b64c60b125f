"""actlab.keras on every Keras 3 backend (TensorFlow, JAX, PyTorch): one subprocess per
backend runs tests/keras_backend_check.py, and each backend's results are checked against
the catalog and against the other backends. Also: how Keras' backend is chosen and what a
failed Keras import says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import actlab
from keras_backends import BACKENDS, BackendRun, installed, run_per_backend

CHECK = Path(__file__).with_name("keras_backend_check.py")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BackendRun]:
    return run_per_backend(CHECK, tmp_path_factory.mktemp("keras-backends"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_keras_keeps_its_own_backend_choice(runs, backend: str) -> None:
    # TensorFlow runs with KERAS_BACKEND unset and no keras.json: Keras' default.
    assert runs[backend].get()["backend"] == backend


def _inputs(result: dict, spec: str) -> np.ndarray:
    grid = np.asarray(result["grid"], dtype=np.float32)
    if not actlab.get(spec).is_gated:
        return grid
    values = np.resize(np.float32([1.0, -2.5, 0.75]), grid.size)
    return np.stack([values, grid.ravel()], axis=-1)


def _tolerance(act: actlab.Activation, expected: np.ndarray) -> float:
    """1e-6, scaled by the largest value for exponential (e^8 ~ 3000 on the grid)."""
    return 1e-6 * (float(np.abs(expected).max()) if act.name == "exponential" else 1.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_entry_as_layer_and_as_dense_activation_equals_the_catalog(runs, backend) -> None:
    result = runs[backend].get()
    layers = result["layers"]
    assert set(layers["layer"]) == set(result["specs"]) >= set(actlab.names())
    for spec in result["specs"]:
        act = actlab.get(spec)
        expected = act(_inputs(result, spec))
        atol = _tolerance(act, expected)
        np.testing.assert_allclose(
            layers["layer"][spec], expected, rtol=2e-6, atol=atol, err_msg=spec
        )
        np.testing.assert_array_equal(layers["dense"][spec], layers["layer"][spec], err_msg=spec)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_of_every_entry_survives_keras_save_and_load(runs, backend: str) -> None:
    layers = runs[backend].get()["layers"]
    assert layers["loaded_equal"]
    assert layers["loaded_specs"] == sorted(2 * runs[backend].get()["specs"])


def _vjp(act: actlab.Activation, x: np.ndarray, upstream: np.ndarray) -> np.ndarray:
    """J_f(x)^T upstream, row by row, from the catalog's analytic derivative or JVP."""
    if not act.is_vector:
        return upstream * act.derivative(x)
    out = np.empty_like(x)
    for j in range(x.shape[1]):
        basis = np.zeros_like(x)
        basis[:, j] = 1.0
        out[:, j] = np.sum(act.jvp(x, basis) * upstream, axis=1)
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_sgd_step_carries_each_entrys_derivative(runs, backend: str) -> None:
    """Oracle: the kernel update x^T J^T f(x) from the catalog's analytic derivative (or
    JVP for vector and gated entries), and prelu's slope update sum(f(x) min(x, 0))."""
    step = runs[backend].get()["step"]
    x = np.asarray(step["x"], dtype=np.float64)
    for spec, kernel in step["kernel"].items():
        act = actlab.get(spec)
        expected = np.eye(x.shape[1]) - x.T @ _vjp(act, x, act(x))
        np.testing.assert_allclose(kernel, expected, rtol=1e-4, atol=1e-4, err_msg=spec)
    for spec, learned in step["learned"].items():
        act = actlab.get(spec)
        if act.name == "prelu":
            expected = act.params["alpha"] - np.sum(act(x) * np.minimum(x, 0))
            np.testing.assert_allclose(learned["alpha"], [expected], rtol=1e-5, err_msg=spec)
        else:
            assert set(learned) == set(act.learnable), spec


def test_backends_agree_with_each_other(runs) -> None:
    done = {b: r.result for b, r in runs.items() if r.result is not None}
    if len(done) < 2:
        pytest.skip(f"needs two Keras backends, only {sorted(done)} installed")
    first, *others = done.values()
    for other in others:
        for spec in first["specs"]:
            reference = np.asarray(first["layers"]["layer"][spec])
            np.testing.assert_allclose(
                other["layers"]["layer"][spec],
                reference,
                rtol=4e-6,
                atol=2 * _tolerance(actlab.get(spec), reference),
                err_msg=f"{spec}: {other['backend']} against {first['backend']}",
            )


def test_the_monitor_says_the_same_on_every_backend(runs) -> None:
    """Same weights, same batches: the same findings (kinds, layers, steps, messages), the
    same summary, and the same recorded signals up to float32 rounding."""
    done = {b: r.result["monitor"] for b, r in runs.items() if r.result is not None}
    if not done:
        pytest.skip("no Keras backend installed")
    reference = next(iter(done.values()))
    kinds = {label: {f["kind"] for f in m["findings"]} for label, m in reference.items()}
    assert kinds["dead_linear_vanishing"] >= {"dead_units", "linear_collapse", "vanishing_gradient"}
    assert "selu_misuse" in kinds["selu"]
    (unlisted,) = [la for la in reference["selu"]["summary"].splitlines() if "unlisted" in la]
    assert "unknown elementwise" in unlisted
    for backend, monitor in done.items():
        for label, seen in monitor.items():
            expected = reference[label]
            strip = [{k: v for k, v in f.items() if k != "numbers"} for f in seen["findings"]]
            assert strip == [
                {k: v for k, v in f.items() if k != "numbers"} for f in expected["findings"]
            ], (backend, label)
            for f, g in zip(seen["findings"], expected["findings"], strict=True):
                assert f["numbers"] == pytest.approx(g["numbers"], rel=1e-4, abs=1e-6)
            assert seen["summary"] == expected["summary"], (backend, label)
            records = np.array([r[2:] for r in seen["records"]], dtype=float)
            np.testing.assert_allclose(
                records,
                np.array([r[2:] for r in expected["records"]], dtype=float),
                rtol=1e-4,
                atol=1e-6,
                err_msg=f"{backend} {label}",
            )


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_specs_get_the_same_one_line_errors_on_every_backend(runs, backend) -> None:
    errors = runs[backend].get()["errors"]
    for spec, message in errors.items():
        assert "\n" not in message and "Error: " in message, (spec, message)
    assert errors["from_config"] == errors["lekyrelu"]
    reference = next(r.result for r in runs.values() if r.result is not None)["errors"]
    assert errors == reference


def test_article_snippet_runs_on_tensorflow_as_written(runs) -> None:
    article = runs["tensorflow"].get()["article"]
    assert article["z_shape"] == [10]
    assert article["model_vs_catalog"] < 1e-5
    assert article["layer_vs_actlab"] == 0.0


IMPORT_ERROR = """
import importlib.abc, json, sys

MISSING = set(filter(None, sys.argv[1].split(",")))

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in MISSING:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
try:
    import actlab.keras
except ImportError as exc:
    print(json.dumps(str(exc)))
else:
    print(json.dumps(None))
"""


def _import_error(backend: str, missing: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["KERAS_BACKEND"] = backend
    return subprocess.Popen(
        [sys.executable, "-c", IMPORT_ERROR, missing],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_failed_keras_import_says_what_failed_in_one_line() -> None:
    others = ", ".join(b for b in BACKENDS if b != "jax" and installed(b))
    cases = {
        ("torch", "keras"): "actlab.keras needs Keras 3: pip install actlab[keras]",
        ("jax", "jax"): "Keras' jax backend needs jax, which is not installed: pip install jax"
        + (f", or set KERAS_BACKEND to one of {others}" if others else ""),
        ("numpy", "jax"): "Keras' numpy backend needs jax, which is not installed",
        ("tensorflow", "tensorflow"): "Keras' tensorflow backend needs tensorflow, which is "
        "not installed: pip install tensorflow",
        ("bogus", ""): "importing Keras failed: Unable to import backend : bogus",
        ("torch", "optree"): "importing Keras failed: No module named 'optree'",
    }
    procs = {case: _import_error(*case) for case in cases}
    for case, expected in cases.items():
        stdout, stderr = procs[case].communicate(timeout=300)
        assert procs[case].returncode == 0, stderr
        message = json.loads(stdout.strip().splitlines()[-1])
        assert message is not None and message.startswith(expected), (case, message)
        assert "\n" not in message
