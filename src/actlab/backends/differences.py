"""How far PyTorch's, Keras' and JAX's own versions of each entry are from the catalog,
measured.

For one spec, :func:`framework_differences` evaluates the catalog (the reference, correctly
rounded to float32), torch's native op, Keras 3's native op (on the backend Keras chose),
actlab's own torch backend, jax.nn's op and actlab.jax (also in float64) on :data:`GRID`
in float32, at the spec's parameters, and
reports for each the maximum absolute difference and the maximum difference in units in the
last place (ULP: the number of float32 values between the two results). Default-parameter
differences (which the grid cannot show, since it uses the same parameters everywhere) come
from the catalog's :class:`~actlab.catalog.FrameworkRef` metadata.

``python -m actlab.backends.differences > docs/frameworks.md`` regenerates the docs tables:
also Keras' own op and actlab.keras on each Keras backend (one subprocess each), and JAX
(jax.nn's op; actlab.jax in float32 and float64).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from actlab.backends.torch import functional, native
from actlab.backends.torch.bindings import binding
from actlab.catalog import Activation, get, names

GRID_POINTS = 4001
GRID_RANGE = (-20.0, 20.0)
TAILS = (-1000.0, -100.0, -90.0, -50.0, -30.0, 30.0, 50.0, 90.0, 100.0, 1000.0)
GRID = np.concatenate([np.linspace(*GRID_RANGE, GRID_POINTS), TAILS]).astype(np.float32)
"""4001 evenly spaced points in [-20, 20] (step 0.01, so 0 and the kinks +-3, 6 are on it)
plus tail points out to +-1000, float32."""


def _keras_op(act: Activation) -> tuple[str, Callable[[Any], Any] | None, str]:
    """(name, function or None, note) of Keras 3's own op at the catalog's parameters, on
    the backend Keras chose."""
    try:
        from actlab.backends.keras import native_op
    except ImportError as exc:
        return "", None, f"keras unavailable: {exc}"
    name, fn = native_op(act)
    if fn is None:
        return name, None, "no Keras op with these parameters" if name else "no Keras op"
    return name, fn, ""


def _keras_backend_note() -> str:
    from actlab.backends.keras import keras

    return f"on Keras' {keras.backend.backend()} backend"


def _keras_eval(fn: Callable[[Any], Any], act: Activation) -> np.ndarray:
    from actlab.backends.keras import keras

    values = keras.ops.convert_to_numpy(fn(keras.ops.convert_to_tensor(_grid_for(act).copy())))
    return np.asarray(values, dtype=np.float32).reshape(GRID.shape)


def _ordered(values: np.ndarray) -> np.ndarray:
    """float32 or float64 -> int64 such that adjacent floats differ by 1 (-0 and +0
    coincide)."""
    kind = np.int64 if values.dtype == np.float64 else np.int32
    bits = values.view(kind).astype(np.int64)
    return np.where(bits < 0, -(bits & np.iinfo(kind).max), bits)


def compare(result: np.ndarray, reference: np.ndarray) -> dict[str, Any]:
    """Max abs and max ULP difference of two float32 arrays (float64 when ``reference`` is
    float64), and where the max ULP is.

    A NaN on one side only counts as an infinite difference; NaN on both sides as none."""
    dtype = np.float64 if np.asarray(reference).dtype == np.float64 else np.float32
    result = np.asarray(result, dtype=dtype).ravel()
    reference = np.asarray(reference, dtype=dtype).ravel()
    both_nan = np.isnan(result) & np.isnan(reference)
    one_nan = np.isnan(result) ^ np.isnan(reference)
    same = both_nan | (result == reference)  # equal infinities included
    with np.errstate(invalid="ignore", over="ignore"):
        abs_diff = np.where(same, 0.0, np.abs(result.astype(np.float64) - reference))
        ulp = np.abs(_ordered(result) - _ordered(reference))
    ulp = np.where(both_nan, 0, ulp)
    if one_nan.any():
        return {"max_abs": float("inf"), "max_ulp": None, "max_ulp_at": None}
    i = int(np.argmax(ulp))
    return {
        "max_abs": float(np.max(abs_diff)),
        "max_ulp": int(ulp[i]),
        "max_ulp_at": float(GRID[i]) if ulp.shape == GRID.shape else None,
    }


GATED_VALUES = np.array([1.0, -2.5, 0.75], dtype=np.float32)
"""The values a gated entry's gate inputs (the grid) are paired with, cyclically."""


def _grid_for(act: Activation) -> np.ndarray:
    """The grid as one entry consumes it: rows of 3 consecutive points for a vector entry
    (softmax over each); for a gated one rows (value, gate) with the grid as the gates."""
    if act.is_gated:
        values = np.resize(GATED_VALUES, GRID.shape)
        return np.stack([values, GRID], axis=int(act.params["axis"]))
    return GRID.reshape(-1, 3) if act.is_vector else GRID


def _torch_eval(fn: Callable[[torch.Tensor], torch.Tensor], act: Activation) -> np.ndarray:
    with torch.no_grad():
        return fn(torch.from_numpy(_grid_for(act).copy())).numpy().reshape(GRID.shape)


def _jax_rows(act: Activation) -> list[tuple[str, str, np.ndarray | None, np.ndarray, str]]:
    """``(framework, op, values, reference, note)`` for jax.nn's own op (float32) and
    actlab.jax in float32 and float64 (``jax_enable_x64`` for the call only)."""
    try:
        import jax

        from actlab.backends.jax import get as jax_get
        from actlab.backends.jax import native as jax_native
    except ImportError as exc:
        return [("jax", "", None, GRID, f"jax unavailable: {exc}")]
    grid = _grid_for(act)
    reference = np.asarray(act(grid), dtype=np.float32).reshape(GRID.shape)
    found = jax_native(act)
    native_values = None
    if found is not None:
        native_values = np.asarray(found[1](grid)).reshape(GRID.shape)
    rows = [
        ("jax", found[0] if found else "", native_values, reference,
         "" if found else "no jax.nn op with these parameters"),
        ("actlab (jax backend)", f"actlab.jax.get({act.spec!r})",
         np.asarray(jax_get(act)(grid)).reshape(GRID.shape), reference, ""),
    ]  # fmt: skip
    with jax.enable_x64(True):
        grid64 = grid.astype(np.float64)
        rows.append(
            (
                "actlab (jax backend, float64)",
                f"actlab.jax.get({act.spec!r})",
                np.asarray(jax_get(act)(grid64)).reshape(GRID.shape),
                np.asarray(act(grid64)).reshape(GRID.shape),
                "float64 grid, against the catalog in float64",
            )
        )
    return rows


def framework_differences(spec: str | Activation) -> dict[str, Any]:
    """Measured and default-parameter differences between the frameworks and the catalog.

    Returns a JSON-able dict::

        {"spec": str,
         "grid": {"dtype": "float32", "points": int, "range": [lo, hi], "tails": [...]},
         "measured": [{"framework": "pytorch" | "keras" | "actlab (torch backend)" | "jax"
                                     | "actlab (jax backend)"
                                     | "actlab (jax backend, float64)",
                       "op": str, "max_abs": float | None, "max_ulp": int | None,
                       "max_ulp_at": float | None, "note": str}, ...],
         "defaults": {"pytorch": {...FrameworkRef}, "keras": {...FrameworkRef}}}

    ``max_abs``/``max_ulp`` are None where the framework has no such op (``note`` says why).
    """
    act = get(spec)
    reference = np.asarray(act(_grid_for(act)), dtype=np.float32).reshape(GRID.shape)
    rows: list[dict[str, Any]] = []

    def row(
        framework: str, op: str, values: np.ndarray | None, note: str = "", ref: Any = None
    ) -> None:
        stats = (
            compare(values, reference if ref is None else ref)
            if values is not None
            else {"max_abs": None, "max_ulp": None, "max_ulp_at": None}
        )
        rows.append({"framework": framework, "op": op, **stats, "note": note})

    torch_fn = native(act)
    torch_op = binding(act).native_op
    row(
        "pytorch",
        torch_op if torch_fn is not None else "",
        _torch_eval(torch_fn, act) if torch_fn is not None else None,
        ""
        if torch_fn is not None
        else "no torch op with these parameters"
        if torch_op
        else "no torch op",
    )
    keras_name, keras_fn, keras_note = _keras_op(act)
    keras_values = None
    if keras_fn is not None:
        keras_values = _keras_eval(keras_fn, act)
    row("keras", keras_name, keras_values, keras_note or _keras_backend_note())
    row(
        "actlab (torch backend)",
        f"actlab.torch.functional({act.spec!r})",
        _torch_eval(functional(act), act),
    )
    for framework, op, values, ref, note in _jax_rows(act):
        row(framework, op, values, note, ref)
    return {
        "spec": act.spec,
        "grid": {
            "dtype": "float32",
            "points": int(GRID.size),
            "range": list(GRID_RANGE),
            "tails": list(TAILS),
        },
        "measured": rows,
        "defaults": {
            "pytorch": act.definition.torch.to_dict(),
            "keras": act.definition.keras.to_dict(),
        },
    }


def _ulp_cell(row: dict[str, Any]) -> str:
    if row["max_ulp"] is None:
        return "-"
    where = f" (x={row['max_ulp_at']:g})" if row["max_ulp"] > 2 else ""
    return f"{row['max_ulp']}{where}"


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2g}"
    return str(value)


def _default_notes(framework: str, ref: dict[str, str]) -> str:
    parts = [f"defaults {ref['defaults']}." if ref["defaults"] else "", ref["differences"]]
    text = " ".join(p for p in parts if p)
    return f"{_LABELS[framework]}: {text}" if text else ""


_LABELS = {"pytorch": "PyTorch", "keras": "Keras"}


def differences_table() -> str:
    """A markdown table of :func:`framework_differences` for every entry at its defaults."""
    lines = [
        "| entry | PyTorch op | max abs | max ULP | Keras op | max abs | max ULP "
        "| actlab torch max ULP | default-parameter and definition differences |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names():
        d = framework_differences(name)
        by = {r["framework"]: r for r in d["measured"]}
        pt, ke, al = by["pytorch"], by["keras"], by["actlab (torch backend)"]
        refs = d["defaults"]
        notes = " ".join(_default_notes(label, ref) for label, ref in refs.items()).strip()
        lines.append(
            f"| {name} | {pt['op'] or '-'} | {_cell(pt['max_abs'])} | {_ulp_cell(pt)} "
            f"| {ke['op'] or '-'} | {_cell(ke['max_abs'])} | {_ulp_cell(ke)} "
            f"| {_ulp_cell(al)} | {notes or '-'} |"
        )
    return "\n".join(lines)


def jax_table() -> str:
    """A markdown table of the JAX rows of :func:`framework_differences`, every entry."""
    lines = [
        "| entry | jax.nn op | max abs | max ULP | actlab.jax float32 max ULP "
        "| actlab.jax float64 max ULP |",
        "|---|---|---|---|---|---|",
    ]
    for name in names():
        by = {r["framework"]: r for r in framework_differences(name)["measured"]}
        nat, f32, f64 = (
            by.get(k, {"op": "", "max_abs": None, "max_ulp": None})
            for k in ("jax", "actlab (jax backend)", "actlab (jax backend, float64)")
        )
        lines.append(
            f"| {name} | {nat['op'] or '-'} | {_cell(nat['max_abs'])} | {_ulp_cell(nat)} "
            f"| {_ulp_cell(f32)} | {_ulp_cell(f64)} |"
        )
    return "\n".join(lines)


def jax_gelu_default() -> dict[str, Any]:
    """``jax.nn.gelu`` called as written (``approximate=True`` by default) against the
    catalog's exact ``gelu`` and its ``gelu_tanh``, on the float32 grid."""
    import jax

    values = np.asarray(jax.nn.gelu(GRID))
    exact = compare(values, get("gelu")(GRID))
    return {
        "against_gelu": exact,
        "at": float(GRID[int(np.argmax(np.abs(values - get("gelu")(GRID))))]),
        "against_gelu_tanh": compare(values, get("gelu_tanh")(GRID)),
    }


def keras_accuracy() -> dict[str, Any]:
    """On the backend Keras runs in this process: per entry, the max ULP of Keras' own op
    and of actlab.keras' layer function against the catalog (float32 grid)."""
    from actlab.backends.keras import keras, ops_function

    out: dict[str, Any] = {"backend": keras.backend.backend(), "entries": {}}
    for name in names():
        act = get(name)
        reference = np.asarray(act(_grid_for(act)), dtype=np.float32).reshape(GRID.shape)
        _, fn, _ = _keras_op(act)
        native_ulp = None if fn is None else compare(_keras_eval(fn, act), reference)["max_ulp"]
        ours = compare(_keras_eval(ops_function(act), act), reference)["max_ulp"]
        out["entries"][name] = {"native": native_ulp, "actlab": ours}
    return out


KERAS_BACKENDS = ("tensorflow", "jax", "torch")


def keras_backends_accuracy() -> dict[str, dict[str, Any]]:
    """:func:`keras_accuracy` on each Keras backend, one subprocess each (Keras picks its
    backend once per process); a backend that fails to import gives its one-line error."""
    results: dict[str, dict[str, Any]] = {}
    for backend in KERAS_BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        proc = subprocess.run(
            [sys.executable, "-m", "actlab.backends.differences", "--keras-accuracy"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            lines = proc.stderr.strip().splitlines()
            results[backend] = {"error": lines[-1] if lines else f"exit {proc.returncode}"}
        else:
            results[backend] = json.loads(proc.stdout)
    return results


def keras_backends_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: Keras' own op and actlab.keras, max ULP on each backend."""
    header = " | ".join(f"Keras op on {b}" for b in results)
    ours = " | ".join(f"actlab.keras on {b}" for b in results)
    lines = [f"| entry | {header} | {ours} |", "|---" * (1 + 2 * len(results)) + "|"]

    def cell(backend: str, name: str, key: str) -> str:
        entry = results[backend].get("entries", {}).get(name)
        return "n/a" if entry is None else _cell(entry[key])

    for name in names():
        native_cells = " | ".join(cell(b, name, "native") for b in results)
        our_cells = " | ".join(cell(b, name, "actlab") for b in results)
        lines.append(f"| {name} | {native_cells} | {our_cells} |")
    return "\n".join(lines)


def _document() -> str:
    keras_results = keras_backends_accuracy()
    missing = [f"{b}: {r['error']}" for b, r in keras_results.items() if "error" in r]
    gelu = jax_gelu_default()
    return "\n".join(
        [
            "# Framework differences",
            "",
            "Generated by `python -m actlab.backends.differences > docs/frameworks.md`; do not "
            "edit by hand. `actlab show SPEC --frameworks` prints the same measurement for one "
            "spec.",
            "",
            f"Each framework's own op is evaluated at the catalog's default parameters on "
            f"{GRID_POINTS} evenly spaced float32 points in [{GRID_RANGE[0]:g}, "
            f"{GRID_RANGE[1]:g}] plus the tail points {', '.join(f'{t:g}' for t in TAILS)}, "
            "and compared with the catalog's correctly rounded float32 value: the largest "
            "absolute difference and the largest difference in ULP (float32 values between "
            "the two). Vector entries (softmax, log_softmax, softmin, sparsemax) are taken "
            "over rows of three consecutive grid points; gated ones (glu, swiglu, geglu, "
            "reglu, bilinear) with the grid as gate inputs b, each paired with a value a "
            "from 1, -2.5, 0.75 in turn. Learnable entries are measured at their initial "
            "values. The Keras columns use the backend Keras chose in the generating process "
            "(TensorFlow, its default); the per-backend table below measures all three. "
            "Where the largest ULP count exceeds 2, the x where it occurs "
            "is shown. Large ULP counts with tiny absolute "
            "differences come from results far below 1 (a subnormal sigmoid flushed to 0, "
            "GELU's negative tail computed as 1 + erf with cancellation). The last column "
            "lists the default parameters and definitions that differ, which a measurement "
            "at equal parameters cannot show.",
            "",
            differences_table(),
            "",
            "## Keras on each backend",
            "",
            "Keras 3 runs on TensorFlow, JAX or PyTorch. The same grid, in one process per "
            "backend: the largest ULP difference from the catalog of Keras' own op and of "
            "actlab.keras' layer (`actlab.keras.get(spec)`, the function it computes), at the "
            "default parameters (`-`: Keras has no op with these parameters). A subnormal "
            "result flushed to zero shows as a large count with a tiny absolute difference."
            + (" Not measured: " + "; ".join(missing) + "." if missing else ""),
            "",
            keras_backends_table(keras_results),
            "",
            "## JAX",
            "",
            "`jax.nn`'s own op (float32) and `actlab.jax.get(spec)` in float32 and, with "
            "`jax_enable_x64`, in float64 against the catalog's float64 value. XLA on CPU "
            "flushes subnormal numbers to zero, intermediates included, so in float32 results "
            "below about 1e-30 may come out as 0 (the large counts in the negative tails of "
            "sigmoid-like entries: tiny absolute differences). gelu_tanh in float64 loses up "
            "to |2u| ulp (u its tanh argument, ~600 at x = -20) to the rounding of u itself, "
            "which the catalog avoids by working in extended precision.",
            "",
            f"**`jax.nn.gelu` defaults to `approximate=True`**, the tanh form (actlab's "
            f"`gelu_tanh`), unlike PyTorch and `keras.activations.gelu`. Called as written, "
            f"it differs from the exact `gelu` by up to {gelu['against_gelu']['max_abs']:.2g} "
            f"(at x = {gelu['at']:g}) and from `gelu_tanh` by up to "
            f"{gelu['against_gelu_tanh']['max_abs']:.2g} on the grid. Write "
            '`jax.nn.gelu(x, approximate=False)` or `actlab.jax.get("gelu")` for the exact '
            "one.",
            "",
            jax_table(),
            "",
        ]
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--keras-accuracy"]:
        print(json.dumps(keras_accuracy()))
    else:
        print(_document(), end="")
