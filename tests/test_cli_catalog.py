"""`actlab list | show | plot`, and how the CLI reports usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import actlab
from actlab.cli import main


def run(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_shows_every_entry(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0
    for name in actlab.names():
        assert name in out


def test_list_json_is_the_catalog(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    assert [e["name"] for e in json.loads(out)] == actlab.names()


def test_show_json_has_the_metadata(capsys):
    code, out, _ = run(capsys, "show", "LeakyReLU(negative_slope=0.2)", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["spec"] == "leaky_relu(alpha=0.2)"
    assert info["params"]["alpha"]["value"] == 0.2
    assert info["pytorch"]["name"] == "torch.nn.LeakyReLU"
    for key in (
        "formula",
        "latex",
        "derivative_formula",
        "range",
        "properties",
        "use_cases",
        "reference",
        "keras",
        "notes",
    ):
        assert info[key], key


def test_show_leaky_relu_corrects_the_article(capsys):
    _, out, _ = run(capsys, "show", "leaky_relu")
    assert "max(alpha*x, x)" in out and "alpha <= 1" in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["show", "lekyrelu"], "did you mean"),
        (["show", "elu(alpha 1)"], "position"),
        (["show", "relu(alpha=1)"], "no parameter 'alpha'"),
        (["show", "leaky_relu(alpha=2)"], "alpha <= 1"),
        (["plot", "relu", "-o", "x.txt"], ".png or .svg"),
        (["plot", "relu", "--range", "3,1", "-o", "x.png"], "low < high"),
        (["show"], "Missing argument"),
        (["frobnicate"], "No such command"),
    ],
)
def test_usage_errors_exit_2_with_one_line(capsys, args, fragment):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert fragment in err
    assert err.count("\n") == 1 and err.startswith("actlab: error:")
    assert "Traceback" not in err + out


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_plot_writes_a_figure(capsys, tmp_path, suffix):
    target = tmp_path / f"acts{suffix}"
    code, _, _ = run(
        capsys,
        "plot",
        "relu,leaky_relu(alpha=0.2)",
        "softsign",
        "--derivative",
        "--range",
        "-4,4",
        "-o",
        str(target),
    )
    assert code == 0
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data
    assert len(data) > 5000


def test_console_script_reports_errors_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "actlab.cli", "show", "nosuch"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("actlab: error: unknown activation 'nosuch'")
    assert "Traceback" not in proc.stderr


def test_show_prints_signal_propagation(capsys):
    code, out, _ = run(capsys, "show", "tanh")
    assert code == 0
    assert "variance-preserving gain 1.59254" in out and "calculate_gain('tanh')" in out
    code, out, _ = run(capsys, "show", "relu", "--json")
    p = json.loads(out)["propagation"]
    assert p["gain"] == pytest.approx(2**0.5) and p["phase"] == "critical"
    assert p["depth_scale"] is None  # infinite at criticality
    code, out, _ = run(capsys, "show", "softmax", "--json")
    assert json.loads(out)["propagation"] is None


def test_show_explains_a_gated_entrys_two_inputs(capsys):
    code, out, _ = run(capsys, "show", "swiglu")
    assert code == 0
    assert "inputs:" in out and "a * silu(b)" in out and "Megatron-LM" in out
    info = json.loads(run(capsys, "show", "swiglu", "--json")[1])
    assert "the first n are the value a, the last n the gate b" in info["inputs"]
    info = json.loads(run(capsys, "show", "geglu(approximate=true)", "--json")[1])
    assert info["kind"] == "gated" and "gelu_tanh(b)" in info["inputs"]
    assert info["propagation"]["chi1"] > 2  # a gated layer grows gradients


def test_show_says_what_a_randomized_and_a_learnable_entry_do(capsys):
    _, out, _ = run(capsys, "show", "rrelu")
    assert "training vs eval" in out and "U(lower, upper)" in out
    _, out, _ = run(capsys, "show", "xielu")
    assert "learnable: the layers learn it" in out
    _, out, _ = run(capsys, "show", "silu")
    assert "preset quick_gelu: silu(beta=1.702)" in out


def test_list_shows_kinds_and_presets(capsys):
    _, out, _ = run(capsys, "list")
    assert "gated" in out and "vector" in out and "quick_gelu" in out and "softmax2d" in out


def test_plot_draws_a_gated_entry_along_its_gate(capsys, tmp_path):
    target = tmp_path / "gated.svg"
    code, _, _ = run(capsys, "plot", "relu,swiglu", "--derivative", "-o", str(target))
    assert code == 0
    svg = target.read_text()
    for label in ("swiglu: 1 * silu(x)", "swiglu: 2 * silu(x)", "swiglu: -1 * silu(x)"):
        assert label in svg
