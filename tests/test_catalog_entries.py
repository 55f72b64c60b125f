"""Metadata of every catalog entry: complete, consistent with the math, and with the
frameworks as installed (PyTorch imported; Keras read from its installed source, which is
faster than importing it and needs no backend)."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
import math
import re
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
import torch

import actlab
from actlab.catalog import aliases, build, definition
from actlab.catalog.definitions import modern

ALL = actlab.names()
ELEMENTWISE = [n for n in ALL if not definition(n).vector]
SEED_SEVEN = ["sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "selu"]


def test_catalog_order_starts_with_the_seed_article() -> None:
    assert ALL[:7] == SEED_SEVEN
    assert {"gelu", "gelu_tanh", "silu", "mish", "celu", "log_sigmoid", "softmax"} <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_metadata_is_complete(name: str) -> None:
    act = actlab.get(name)
    d = act.definition
    for text in (d.title, d.formula, d.latex, d.derivative_formula, d.derivative_latex):
        assert text.strip(), name
    assert d.use_cases and all(u.strip() for u in d.use_cases)
    assert d.reference.strip()
    if name != "identity":
        assert re.search(r"(19|20)\d\d", d.reference), "reference must cite a dated source"
    for ref, prefix in ((d.torch, "torch."), (d.keras, "keras."), (d.jax, "jax.nn.")):
        if ref.name:
            assert ref.name.startswith(prefix), ref.name
        elif ref is not d.jax:  # a framework without the entry says what its users write
            assert ref.differences.startswith("Not in"), (name, ref)
    lo, hi = act.output_range
    assert lo < hi
    assert act.max_derivative > 0
    assert all(isinstance(v, bool) for v in d.properties.to_dict().values())
    for p in d.params:
        assert p.doc.strip()
        assert p.validate(name, p.default) == p.default
        if p.low is not None or p.high is not None:
            assert p.reason.strip(), f"{name}.{p.name} has bounds but no reason"
    info = act.info.to_dict()
    assert info["name"] == name and info["pytorch"]["name"] == d.torch.name


def test_article_corrections_are_recorded() -> None:
    tanh_notes = " ".join(actlab.get("tanh").definition.notes)
    assert "(tanh(x) + 1) / 2" in tanh_notes and "sigmoid(2x)" in tanh_notes
    assert "(0, 1)" in tanh_notes and "(-1, 1)" in tanh_notes
    assert actlab.get("tanh").output_range == (-1.0, 1.0)
    x = np.linspace(-3, 3, 13)  # and the catalog's tanh really is tanh
    assert np.allclose(actlab.get("tanh")(x), np.tanh(x))
    assert "max(alpha*x, x)" in " ".join(actlab.get("leaky_relu").definition.notes)
    assert "vector activation" in " ".join(actlab.get("softmax").definition.notes)
    assert any("multi-class" in u for u in actlab.get("softmax").definition.use_cases)


def test_softmax_is_a_vector_activation() -> None:
    act = actlab.get("softmax")
    assert act.is_vector and act.definition.derivative is None and act.definition.jvp
    assert act.output_range == (0.0, 1.0) and act.params == {"axis": -1}


def test_selu_constants_are_klambauer_et_al() -> None:
    act = actlab.get("selu")
    with mp.workdps(40):
        lam = mp.mpf("1.0507009873554804934193349852946")
        alpha = mp.mpf("1.6732632423543772848170429916717")
        assert float(act(1.0)) == float(lam)
        assert float(act(-1e4)) == float(-lam * alpha)
        assert act.max_derivative == float(lam * alpha)
    # the same constants as PyTorch's
    assert float(act(-50.0)) == pytest.approx(float(torch.selu(torch.tensor(-50.0).double())))
    assert act.definition.properties.self_normalizing


# --- extremes: stated ranges and sup |f'| against the math ----------------------------


def _dense(name: str) -> np.ndarray:
    """[-40, 40] in steps of 5e-4, both neighbours of every kink (a supremum of |f'| may
    be approached there without being attained), and points far out (or at infinity)."""
    kinks = np.array(actlab.get(name).kinks)
    near = np.concatenate([np.nextafter(kinks, -np.inf), np.nextafter(kinks, np.inf)])
    far = [-1e300, -1e10, 1e10, 1e300]
    return np.concatenate([np.linspace(-40, 40, 160001), near, far])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_max_derivative_is_the_supremum(name: str) -> None:
    act = actlab.get(name)
    with np.errstate(over="ignore"):
        d = np.abs(act.derivative(_dense(name)))
    if math.isinf(act.max_derivative):  # unbounded: the derivative grows without limit
        assert d.max() > 1e10
        return
    assert d.max() <= act.max_derivative * (1 + 1e-12)
    assert d.max() >= act.max_derivative * (1 - 1e-6), (d.max(), act.max_derivative)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_finite_range_bounds_are_attained(name: str) -> None:
    """A finite lower bound is the minimum (or the limit at -inf); an upper one likewise
    (to the grid's resolution: f - min f ~ f''/2 (5e-4)^2 near an interior minimum)."""
    act = actlab.get(name)
    lo, hi = act.output_range
    with np.errstate(over="ignore"):
        y = act(_dense(name))
    if math.isfinite(lo):
        assert y.min() == pytest.approx(lo, abs=1e-7)
    if math.isfinite(hi):
        assert y.max() == pytest.approx(hi, abs=1e-7)


def _sigmoid(y: mp.mpf) -> mp.mpf:
    return 1 / (1 + mp.exp(-y))


@functools.cache
def _extremes() -> dict[str, tuple[float, float]]:
    """(min f, sup f') recomputed with mpmath for the smooth non-monotonic entries."""
    with mp.workdps(30):
        c = mp.sqrt(2 / mp.pi)
        k = mp.mpf("0.044715")
        fns = {
            "gelu": lambda x: x * mp.ncdf(x),
            "gelu_tanh": lambda x: x / 2 * (1 + mp.tanh(c * (x + k * x**3))),
            "silu": lambda x: x * _sigmoid(x),
            "mish": lambda x: x * mp.tanh(mp.log1p(mp.exp(x))),
        }
        out = {}
        for name, f in fns.items():
            x_min = mp.findroot(lambda x, f=f: mp.diff(f, x), -1.0)
            x_peak = mp.findroot(lambda x, f=f: mp.diff(f, x, 2), 1.5)
            out[name] = (float(f(x_min)), float(mp.diff(f, x_peak)))
        return out


@pytest.mark.parametrize(
    ("name", "minimum", "sup"),
    [
        ("gelu", modern.GELU_MIN, modern.GELU_MAX_DERIVATIVE),
        ("gelu_tanh", modern.GELU_TANH_MIN, modern.GELU_TANH_MAX_DERIVATIVE),
        ("silu", modern.SILU_MIN, modern.SILU_MAX_DERIVATIVE),
        ("mish", modern.MISH_MIN, modern.MISH_MAX_DERIVATIVE),
    ],
)
def test_stated_extremes_match_mpmath(name: str, minimum: float, sup: float) -> None:
    want_min, want_sup = _extremes()[name]
    assert minimum == pytest.approx(want_min, rel=1e-15)
    assert sup == pytest.approx(want_sup, rel=1e-15)


def test_silu_beta_scales_the_minimum_not_the_slope() -> None:
    act = actlab.get("silu(beta=4)")
    assert act.output_range[0] == pytest.approx(modern.SILU_MIN / 4)
    assert act.max_derivative == modern.SILU_MAX_DERIVATIVE


def test_parameter_dependent_metadata() -> None:
    assert actlab.get("elu(alpha=2)").output_range == (-2.0, math.inf)
    assert actlab.get("elu(alpha=2)").max_derivative == 2.0
    assert actlab.get("elu(alpha=0.5)").kinks == (0.0,)
    assert actlab.get("celu(alpha=0.5)").output_range == (-0.5, math.inf)
    assert actlab.get("hard_tanh(min_val=-2, max_val=3)").output_range == (-2.0, 3.0)
    assert actlab.get("threshold(threshold=1, value=5)").output_range == (1.0, math.inf)
    assert actlab.get("star_relu(scale=-1, bias=2)").output_range == (-math.inf, 2.0)
    assert actlab.get("rrelu").params == {"lower": 0.125, "upper": 1 / 3}


@pytest.mark.parametrize(
    ("spec", "value", "reason"),
    [
        ("elu", "alpha=-1", "alpha > 0"),
        ("celu", "alpha=0", "alpha > 0"),
        ("softplus", "beta=0", "beta > 0"),
        ("silu", "beta=-0.5", "beta > 0"),
        ("leaky_relu", "alpha=1.5", "alpha <= 1"),
        ("softmax", "axis=0.5", "integer"),
        ("hard_tanh", "min_val=1, max_val=-1", "min_val < max_val"),
        ("rrelu", "lower=0.5, upper=0.2", "lower <= upper"),
        ("xielu", "alpha_n=0.4", "alpha_n > beta"),
        ("star_relu", "scale=0", "scale != 0"),
        ("snake", "frequency=0", "frequency > 0"),
        ("squareplus", "b=-1", "b > 0"),
        ("hard_shrink", "lambd=-0.1", "lambd >= 0"),
        ("geglu", "approximate=1", "true or false"),
    ],
)
def test_invalid_parameters_are_rejected_with_reason(spec: str, value: str, reason: str) -> None:
    with pytest.raises(actlab.SpecError, match=re.escape(reason)):
        actlab.get(f"{spec}({value})")


# --- framework references, checked against the installed frameworks ---------------


def _head(ref: str) -> str:
    return re.split(r"[ (]", ref.strip(), maxsplit=1)[0]


def _resolve_torch(path: str) -> object:
    module, _, attr = path.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError:
        return getattr(_resolve_torch(module), attr)


@functools.cache
def _keras_source() -> Path:
    spec = importlib.util.find_spec("keras")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "src"


@functools.cache
def _keras_exports() -> frozenset[str]:
    names: set[str] = set()
    for path in _keras_source().rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for group in re.findall(r"keras_export\(\s*\[?([^)\]]*)", text):
            names.update(re.findall(r"\"(keras\.[\w.]+)\"", group))
    return frozenset(names)


def _keras_default(relative: str, function: str, param: str) -> object:
    tree = ast.parse((_keras_source() / relative).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            args = node.args.args[-len(node.args.defaults) :]
            for arg, default in zip(args, node.args.defaults, strict=True):
                if arg.arg == param:
                    return ast.literal_eval(default)
    raise LookupError(f"{relative}:{function}({param}=...)")


@pytest.mark.parametrize("name", ALL)
def test_framework_names_exist(name: str) -> None:
    d = definition(name)
    for ref in (d.torch.name, d.torch.functional):
        if ref.startswith("torch."):
            assert callable(_resolve_torch(_head(ref))), ref
    exports = _keras_exports()
    for ref in (d.keras.name, d.keras.functional):
        if ref.startswith("keras."):
            assert _head(ref) in exports, ref


def _torch_default(cls: type, param: str) -> object:
    return inspect.signature(cls).parameters[param].default


def test_framework_defaults_quoted_in_the_catalog() -> None:
    assert _torch_default(torch.nn.Softplus, "beta") == 1.0
    assert _torch_default(torch.nn.Softplus, "threshold") == 20.0
    assert "threshold=20" in definition("softplus").torch.defaults
    assert _torch_default(torch.nn.GELU, "approximate") == "none"
    assert _torch_default(torch.nn.ELU, "alpha") == 1.0
    assert _torch_default(torch.nn.CELU, "alpha") == 1.0
    assert _torch_default(torch.nn.LeakyReLU, "negative_slope") == 0.01
    act_file, ops_file = "activations/activations.py", "ops/nn.py"
    assert _keras_default(act_file, "gelu", "approximate") is False
    assert _keras_default(ops_file, "gelu", "approximate") is True
    assert "approximate=False" in definition("gelu").keras.defaults
    assert "approximate=True" in definition("gelu").keras.functional
    assert _keras_default(act_file, "elu", "alpha") == 1.0
    assert _keras_default(act_file, "celu", "alpha") == 1.0
    assert _keras_default(act_file, "leaky_relu", "negative_slope") == 0.2
    assert _keras_default("layers/activations/leaky_relu.py", "__init__", "negative_slope") == 0.3
    assert _keras_default("layers/activations/softmax.py", "__init__", "axis") == -1


def test_xielu_minimum_matches_mpmath() -> None:
    for params in ({}, {"alpha_p": 0.3, "alpha_n": 1.2, "beta": 0.25}):
        act = build("xielu", params)
        p = act.params

        def f(x, p=p):
            return p["alpha_n"] * (mp.expm1(x) - x) + p["beta"] * x

        with mp.workdps(30):
            x_min = mp.findroot(lambda x, f=f: mp.diff(f, x), -1.0)
            assert act.output_range[0] == pytest.approx(float(f(x_min)), rel=1e-14)


def test_star_relu_defaults_standardize_a_normal_input() -> None:
    """Yu et al. 2023: s relu(z)^2 + b has mean 0 and variance 1 for z ~ N(0, 1)."""
    act = actlab.get("star_relu")
    s, b = act.params["scale"], act.params["bias"]
    with mp.workdps(30):
        m1 = mp.quad(lambda z: (s * z**2 + b) * mp.npdf(z), [0, mp.inf]) + b / 2
        m2 = mp.quad(lambda z: (s * z**2 + b) ** 2 * mp.npdf(z), [0, mp.inf]) + b**2 / 2
    assert float(m1) == pytest.approx(0, abs=1e-15)
    assert float(m2 - m1**2) == pytest.approx(1, rel=1e-14)


def test_presets_are_entries_with_fixed_parameters() -> None:
    assert actlab.get("quick_gelu") == actlab.get("silu(beta=1.702)")
    assert actlab.get("Quick_GELU(beta=2)") == actlab.get("silu(beta=2)")
    assert actlab.get("softmax2d") == actlab.get("softmax(axis=-3)")
    assert aliases()["quick_gelu"] == "silu"
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(actlab.get("quick_gelu")(x), x / (1 + np.exp(-1.702 * x)))


def test_gated_entries_know_their_gate_and_width() -> None:
    gates = {"glu": "sigmoid", "swiglu": "silu", "geglu": "gelu", "reglu": "relu",
             "bilinear": "identity"}  # fmt: skip
    for name, gate in gates.items():
        act = actlab.get(name)
        assert act.kind == "gated" and act.is_vector and act.width_factor == 2
        assert act.gate == actlab.get(gate)
        assert "first n are the value a" in act.info.inputs
    assert actlab.get("geglu(approximate=true)").gate == actlab.get("gelu_tanh")
    assert actlab.get("swiglu(beta=1.5)").gate == actlab.get("silu(beta=1.5)")
    assert actlab.get("relu").width_factor == 1 and actlab.get("relu").info.inputs == ""


def test_learnable_and_randomized_entries_say_so() -> None:
    assert actlab.get("prelu").learnable == ("alpha",)
    assert actlab.get("star_relu").learnable == ("scale", "bias")
    assert actlab.get("xielu").learnable == ("alpha_p", "alpha_n")
    assert actlab.get("snake").learnable == ("frequency",)
    training = actlab.get("rrelu").info.training
    assert "U(lower, upper)" in training and "eval mode" in training
    assert all(not actlab.get(n).info.training for n in ALL if n != "rrelu")
