"""One definition plus one binding per framework: every catalog entry has its torch and
Keras bindings, an mpmath oracle and its rows in the docs, and the catalog covers the union
of Keras 3's, torch.nn's and jax.nn's activations."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest
import torch.nn as nn

import actlab
from actlab.backends.torch import BINDINGS, module_spec
from actlab.catalog import definition
from oracle import GATED_ORACLES, ORACLES, VECTOR_ORACLES

DOCS = Path(__file__).resolve().parents[1] / "docs"

JAX_NN_ACTIVATIONS = (
    "celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh",
    "leaky_relu", "log_sigmoid", "log_softmax", "relu", "identity", "relu6", "selu",
    "sigmoid", "soft_sign", "softmax", "softplus", "sparse_plus", "sparse_sigmoid", "silu",
    "swish", "squareplus", "mish", "tanh",
)  # fmt: skip
"""jax.nn's activation functions (jax 0.10.2, jax/nn/__init__.py: the rest of jax.nn is
utilities such as logsumexp, standardize, one_hot, log1mexp, dot_product_attention). Every
entry's JAX binding is checked in tests/test_jax_backend.py."""

TORCH_NOT_ACTIVATIONS = (nn.MultiheadAttention,)


def _torch_activation_classes() -> list[type[nn.Module]]:
    module = nn.modules.activation
    return [
        cls
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, nn.Module)
        and cls.__module__ == module.__name__
        and cls not in TORCH_NOT_ACTIVATIONS
    ]


def _keras_activation_names() -> list[str]:
    from keras.src.activations import ALL_OBJECTS

    from actlab.keras import keras  # noqa: F401  (selects the backend first)

    return sorted(obj.__name__ for obj in ALL_OBJECTS)


def test_catalog_covers_torch_nn() -> None:
    """Every torch.nn activation module is some entry's binding, and an instance maps to a
    spec that computes what it computes (checked on a grid)."""
    import torch

    classes = _torch_activation_classes()
    assert len(classes) >= 28
    bound = {cls for b in BINDINGS.values() for cls in b.modules}
    assert set(classes) <= bound, set(classes) - bound
    x = torch.linspace(-6, 6, 48).reshape(2, 2, 3, 4)
    for cls in classes:
        module = cls(0.5, 0.0) if cls is nn.Threshold else cls()
        spec = module_spec(module.eval())
        if spec is None:  # Softmax(dim=None) and the like: the axis is implicit
            module = cls(dim=-1)
            spec = module_spec(module)
        act = actlab.get(spec)
        with torch.no_grad():
            np_out = act(x.numpy())
            torch.testing.assert_close(module(x), torch.from_numpy(np_out), atol=1e-6,
                                       rtol=1e-6, msg=spec)  # fmt: skip


def test_catalog_covers_keras_and_jax() -> None:
    keras_names = _keras_activation_names()
    assert len(keras_names) >= 30
    for name in (*keras_names, *JAX_NN_ACTIVATIONS):
        actlab.get(name)  # resolves: a name or an alias


def test_catalog_is_at_least_the_union_plus_the_frontier() -> None:
    frontier = {"relu2", "star_relu", "xielu", "snake", "quick_gelu", "glu", "swiglu",
                "geglu", "reglu", "bilinear"}  # fmt: skip
    for name in frontier:
        actlab.get(name)
    union = {actlab.get(n).name for n in (*_keras_activation_names(), *JAX_NN_ACTIVATIONS)}
    union |= {actlab.get(module_spec(c(dim=-1) if "dim" in inspect.signature(c).parameters
                                     else c(0.5, 0.0) if c is nn.Threshold else c())).name
              for c in _torch_activation_classes()}  # fmt: skip
    assert union <= set(actlab.names())


@pytest.mark.parametrize("name", actlab.names())
def test_every_entry_has_its_bindings_oracle_and_docs_rows(name: str) -> None:
    import actlab.keras
    from actlab.backends.keras import BINDINGS as KERAS

    assert name in BINDINGS and name in KERAS
    kind = actlab.get(name).kind
    oracles = {"elementwise": ORACLES, "vector": VECTOR_ORACLES, "gated": GATED_ORACLES}[kind]
    assert name in oracles
    assert re.search(rf"^\| {re.escape(name)} \|", (DOCS / "frameworks.md").read_text(), re.M)
    if kind != "vector":  # vector entries are described in prose there
        assert re.search(rf"^\| {re.escape(name)} \|", (DOCS / "accuracy.md").read_text(), re.M)


@pytest.mark.parametrize("name", actlab.names())
def test_framework_references_agree_with_the_bindings(name: str) -> None:
    """The catalog's torch class name is a class its binding maps, and a binding with a
    native op has a name the catalog quotes."""
    d = definition(name)
    b = BINDINGS[name]
    classes = {f"torch.nn.{cls.__name__}" for cls in b.modules}
    if d.torch.name:
        assert d.torch.name in classes or b.native is not None, d.torch.name
    if b.native is not None and name != "identity":
        quoted = f"{d.torch.name} {d.torch.functional}"
        assert b.native_op.split("(")[0].split(" ")[0] in quoted or d.torch.functional, name
