"""Framework differences: ULP arithmetic, the report's shape, the generated table."""

from __future__ import annotations

import json

import numpy as np
import pytest

import actlab
from actlab.backends.differences import (
    GRID,
    compare,
    differences_table,
    framework_differences,
    keras_accuracy,
    keras_backends_table,
)


def test_compare_counts_ulps() -> None:
    one = np.float32(1.0)
    up = np.nextafter(one, np.float32(2), dtype=np.float32)
    three_up = np.nextafter(np.nextafter(up, np.float32(2)), np.float32(2))
    assert compare(np.array([up]), np.array([one]))["max_ulp"] == 1
    assert compare(np.array([three_up]), np.array([one]))["max_ulp"] == 3
    assert compare(np.array([-0.0]), np.array([0.0]))["max_ulp"] == 0
    tiny = np.float32(1.4e-45)  # smallest subnormal: one ULP from zero, on either side
    assert compare(np.array([tiny]), np.array([-tiny]))["max_ulp"] == 2
    res = compare(np.array([np.nan]), np.array([1.0]))
    assert res["max_abs"] == float("inf")
    assert compare(np.array([np.nan]), np.array([np.nan]))["max_ulp"] == 0


def test_compare_matches_spacing_oracle() -> None:
    x = np.linspace(0.5, 8, 50, dtype=np.float32)
    shifted = x + 5 * np.spacing(x)
    result = compare(shifted, x)
    assert result["max_ulp"] == 5
    assert result["max_abs"] == pytest.approx(float(np.max(5 * np.spacing(x))))


def test_report_shape_is_json_and_finds_frameworks() -> None:
    d = framework_differences("leaky_relu(alpha=0.2)")
    json.dumps(d)
    assert d["spec"] == "leaky_relu(alpha=0.2)"
    assert d["grid"]["points"] == GRID.size and d["grid"]["dtype"] == "float32"
    rows = {r["framework"]: r for r in d["measured"]}
    assert set(rows) >= {"pytorch", "keras", "actlab (torch backend)", "jax"}
    if rows["jax"]["op"]:  # JAX installed: jax.nn's op and actlab.jax in float32 and float64
        assert set(rows) >= {"actlab (jax backend)", "actlab (jax backend, float64)"}
    for row in rows.values():
        assert row["max_ulp"] <= 1 and row["max_abs"] < 1e-6
        assert set(row) == {"framework", "op", "max_abs", "max_ulp", "max_ulp_at", "note"}
    assert "0.01" in d["defaults"]["pytorch"]["defaults"]
    assert "0.3" in d["defaults"]["keras"]["defaults"]


def test_missing_native_op_is_reported_not_measured() -> None:
    d = framework_differences("prelu")
    keras_row = next(r for r in d["measured"] if r["framework"] == "keras")
    assert keras_row["max_abs"] is None and keras_row["note"]


@pytest.mark.parametrize("spec", actlab.names())
def test_actlab_backend_is_never_less_accurate_than_torch_native(spec: str) -> None:
    rows = {r["framework"]: r for r in framework_differences(spec)["measured"]}
    ours, theirs = rows["actlab (torch backend)"], rows["pytorch"]
    if theirs["max_ulp"] is not None:
        assert ours["max_ulp"] <= theirs["max_ulp"]


def test_table_has_a_row_per_entry() -> None:
    table = differences_table().splitlines()
    assert len(table) == 2 + len(actlab.names())
    assert all(any(f"| {n} |" in line for line in table) for n in actlab.names())
    if "gelu" in actlab.names():  # a known cancellation, reported with where it happens
        (gelu,) = [line for line in table if line.startswith("| gelu |")]
        assert "(x=-" in gelu


def test_gated_entries_are_measured_on_value_gate_pairs() -> None:
    d = framework_differences("glu")
    rows = {r["framework"]: r for r in d["measured"]}
    assert rows["pytorch"]["op"] == "torch.nn.functional.glu"
    assert rows["actlab (torch backend)"]["max_ulp"] is not None
    swiglu = {r["framework"]: r for r in framework_differences("swiglu")["measured"]}
    assert swiglu["pytorch"]["max_abs"] is None and swiglu["pytorch"]["note"] == "no torch op"


def test_equal_infinities_are_no_difference() -> None:
    rows = {r["framework"]: r for r in framework_differences("exponential")["measured"]}
    assert all(r["max_abs"] is not None and r["max_abs"] == r["max_abs"] for r in rows.values())


def test_a_wrong_framework_op_shows_as_a_large_difference() -> None:
    """Keras 3.15's sparsemax sums the cumulative sums over the support (wrong once two
    logits are in it: keras-team/keras#23425): measured, not hidden."""
    rows = {r["framework"]: r for r in framework_differences("sparsemax")["measured"]}
    assert rows["actlab (torch backend)"]["max_ulp"] <= 2
    keras_row = rows["keras"]
    if keras_row["max_abs"] is None:
        pytest.skip(keras_row["note"])
    import keras  # the installed version decides whether the bug is there

    x = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    fixed = np.allclose(keras.ops.convert_to_numpy(keras.ops.sparsemax(x)), [[0, 0.25, 0.75]])
    assert (keras_row["max_abs"] < 1e-6) == fixed


def test_compare_counts_float64_ulps() -> None:
    one = np.float64(1.0)
    up = np.nextafter(one, 2.0)
    assert compare(np.array([np.nextafter(up, 2.0)]), np.array([one]))["max_ulp"] == 2


def test_keras_accuracy_on_this_backend_and_the_per_backend_table() -> None:
    """actlab.keras is never less accurate than Keras' own op (on the in-process backend);
    a backend that could not run shows n/a in every row, visibly."""
    pytest.importorskip("actlab.keras")
    measured = keras_accuracy()
    assert set(measured["entries"]) == set(actlab.names())
    for name, entry in measured["entries"].items():
        if entry["native"] is not None:
            assert entry["actlab"] <= entry["native"], name
    table = keras_backends_table(
        {measured["backend"]: measured, "jax": {"error": "ImportError: no jax"}}
    ).splitlines()
    assert len(table) == 2 + len(actlab.names())
    assert all(line.endswith("| n/a |") for line in table[2:])
