"""The spec language and the registry: parsing, names and aliases, canonical form, errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import actlab
from actlab.catalog import (
    DuplicateActivationError,
    InvalidParameterError,
    SpecError,
    SpecSyntaxError,
    UnknownActivationError,
    UnknownParameterError,
)
from actlab.catalog.spec import RawSpec, format_value, parse_raw, split_specs


@pytest.mark.parametrize(
    ("text", "raw"),
    [
        ("relu", RawSpec("relu")),
        ("  relu  ", RawSpec("relu")),
        ("relu()", RawSpec("relu")),
        ("elu(alpha=0.5)", RawSpec("elu", (("alpha", 0.5),))),
        ("ELU( alpha = 5e-1 )", RawSpec("ELU", (("alpha", 0.5),))),
        ("elu(alpha=5E-1,)", RawSpec("elu", (("alpha", 0.5),))),
        ("elu(alpha=.25)", RawSpec("elu", (("alpha", 0.25),))),
        ("elu(alpha=+2.)", RawSpec("elu", (("alpha", 2.0),))),
        ("softmax(axis=-2)", RawSpec("softmax", (("axis", -2),))),
        ("x(flag=TRUE, g=false)", RawSpec("x", (("flag", True), ("g", False)))),
    ],
)
def test_parse_raw(text: str, raw: RawSpec) -> None:
    assert parse_raw(text) == raw


def test_integer_and_float_literals_keep_their_kind() -> None:
    assert isinstance(parse_raw("a(k=3)").args[0][1], int)
    assert isinstance(parse_raw("a(k=3.0)").args[0][1], float)
    assert isinstance(parse_raw("a(k=1e3)").args[0][1], float)
    assert parse_raw("a(k=" + "9" * 300 + ")").args[0][1] == int("9" * 300)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("ReLU", "relu"),
        ("SWISH", "silu"),
        ("swish(beta=1.5)", "silu(beta=1.5)"),
        ("linear", "identity"),
        ("Leaky_ReLU(Negative_Slope=0.2)", "leaky_relu(alpha=0.2)"),
        ("leaky_relu(alpha=1e-2)", "leaky_relu"),  # the default is left out
        ("elu(alpha=1)", "elu"),
        ("elu(alpha=2.5e-1)", "elu(alpha=0.25)"),
        ("softplus(beta=2)", "softplus(beta=2)"),
        ("softmax(axis=0)", "softmax(axis=0)"),
        ("softmax(axis=-1.0)", "softmax"),
    ],
)
def test_names_aliases_and_canonical_spec(text: str, canonical: str) -> None:
    act = actlab.get(text)
    assert act.spec == canonical == str(act)
    assert actlab.get(act.spec) == act


def test_get_accepts_an_activation_and_get_many_splits() -> None:
    act = actlab.get("elu(alpha=0.5)")
    assert actlab.get(act) is act
    many = actlab.get_many("relu, elu(alpha=0.5), gelu")
    assert [a.spec for a in many] == ["relu", "elu(alpha=0.5)", "gelu"]
    assert split_specs("relu,elu(alpha=0.5, ),gelu") == ["relu", "elu(alpha=0.5, )", "gelu"]
    with pytest.raises(DuplicateActivationError, match="listed twice"):
        actlab.get_many("silu, swish")


def test_unknown_name_suggests_close_matches() -> None:
    with pytest.raises(UnknownActivationError, match=r"did you mean .*gelu") as err:
        actlab.get("gleu")
    assert "gelu" in err.value.suggestions
    with pytest.raises(UnknownActivationError, match="actlab list"):
        actlab.get("zzzzzz")


def test_unknown_parameter_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownParameterError, match=r"no parameter 'beta' \(valid: alpha\)"):
        actlab.get("elu(beta=1)")
    with pytest.raises(UnknownParameterError, match="takes no parameters"):
        actlab.get("relu(alpha=1)")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("elu(alpha=-1)", "alpha=-1.0 is not allowed: needs alpha > 0"),
        ("leaky_relu(alpha=1.5)", "needs alpha >= 0 and alpha <= 1 (for alpha > 1"),
        ("softplus(beta=0)", "needs beta > 0"),
        ("elu(alpha=1e999)", "must be finite"),
        ("elu(alpha=" + "1" * 100_000 + ")", "must be finite"),  # no int() digit limit
        ("elu(alpha=true)", "expected a number"),
        ("softmax(axis=1.5)", "expected an integer"),
    ],
)
def test_bad_values_are_named_with_a_reason(text: str, fragment: str) -> None:
    with pytest.raises(InvalidParameterError) as err:
        actlab.get(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("", 0),
        ("elu(alpha=)", 10),
        ("elu(alpha 0.5)", 10),
        ("elu(alpha=0.5", 13),
        ("elu(alpha=0.5) x", 15),
        ("elu(alpha=0.5 beta=1)", 14),
        ("elu(alpha=1, alpha=2)", 13),
        ("1elu", 0),
        ("relu(alpha=__import__('os'))", 11),
        ("relu(alpha=2*3)", 12),
        ("relu; import os", 4),
    ],
)
def test_malformed_text_names_the_position(text: str, position: int) -> None:
    with pytest.raises(SpecSyntaxError) as err:
        actlab.get(text)
    assert err.value.position == position
    assert f"position {position}" in str(err.value)


def test_nothing_is_evaluated(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("spec text reached eval")

    monkeypatch.setattr("builtins.eval", forbidden)
    monkeypatch.setattr("builtins.__import__", forbidden)
    with pytest.raises(SpecSyntaxError):
        actlab.get("relu(alpha=__import__('os').system('true'))")


def test_spec_must_be_text() -> None:
    with pytest.raises(TypeError, match="string"):
        actlab.get(3)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0.1, 1e-300, 2.5e17, -3.0, 7, True])
def test_format_value_round_trips(value: float) -> None:
    assert parse_raw(f"a(k={format_value(value)})").args[0][1] == value


def test_activations_pickle_and_copy_by_spec():
    import copy
    import pickle

    import torch

    import actlab
    import actlab.torch

    act = actlab.get("elu(alpha=0.5)")
    assert pickle.loads(pickle.dumps(act)) == act
    assert copy.deepcopy(act) == act
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), actlab.torch.get("prelu"))
    clone = copy.deepcopy(net)
    x = torch.randn(3, 2)
    assert torch.equal(clone(x), net(x))


_SPEC_ALPHABET = "abcdefghilnoprstuwxyz_ELU0123456789.+-eE=(),[]{}'\" \t\n\\"
_SPEC_PIECES = st.sampled_from(
    [
        "relu",
        "elu",
        "leaky_relu",
        "softmax",
        "prelu",
        "alpha",
        "axis",
        "beta",
        "=",
        "(",
        ")",
        ",",
        "1e309",
        "-0",
        "nan",
        "inf",
        "true",
        "0x10",
        "1_000",
        "--1",
        ".",
        "e5",
        " ",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet=_SPEC_ALPHABET, max_size=40),
        st.lists(_SPEC_PIECES, max_size=12).map("".join),
        st.text(max_size=20),
    )
)
def test_any_text_resolves_or_raises_a_spec_error(text: str) -> None:
    """Whatever a user types, the answer is an activation or a SpecError with a message,
    never another exception; what resolves has a canonical spec that resolves to itself."""
    try:
        acts = actlab.get_many(text)
    except SpecError as exc:
        assert str(exc)
        return
    for act in acts:
        assert actlab.get(act.spec) == act
