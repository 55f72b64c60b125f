"""The command line's answers to bad input: one line, exit status 2, no traceback; and
options that reach the run (``--channels``)."""

from __future__ import annotations

import pytest

import actlab.comparison.runner as runner
from actlab.cli import ERROR_LIMIT, main


class _Captured(Exception):
    pass


def test_channels_reach_the_cnn(monkeypatch, tmp_path):
    seen = {}

    def capture(config, out, **options):
        seen["config"] = config
        raise _Captured

    monkeypatch.setattr(runner, "run_comparison", capture)
    with pytest.raises(_Captured):
        main(["compare", "--model", "cnn", "--channels", "4,8", "--out", str(tmp_path / "r")])
    assert seen["config"].channels == (4, 8)
    assert list(seen["config"].groups()) == ["cnn-4x8"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--threads", "100000"], "--threads"),
        (["--lr", "inf"], "lr=inf must be a finite number > 0"),
        (["--weight-decay", "inf"], "weight_decay=inf must be a finite number >= 0"),
        (["--channels", "4,x", "--model", "cnn"], "--channels takes comma-separated integers"),
        (["--activations", "relu,nosuch(" + "a=1," * 250_000 + ")"], "malformed spec"),
    ],
)
def test_bad_options_are_one_short_line(tmp_path, capsys, args, fragment):
    out = tmp_path / "run"
    assert main(["compare", "--data", "xor(n=40)", "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err and "Traceback" not in err
    assert len(err) <= len("actlab: error: ") + ERROR_LIMIT + 1  # a 1 MB spec is not echoed
    assert not out.exists()


@pytest.mark.parametrize(
    ("grid", "fragment"),
    [
        ("seeds = 100000000", "seeds=100000000 exceeds the limit of 1000"),
        ("seeds = [4294967296]", "exceeds the limit of 4294967295"),
        ("epochs = 10000000", "epochs=10000000 exceeds the limit"),
        ("[model]\ndepths = 2000", "model.depths=2000 exceeds the limit"),
        (
            "[model]\ndepths = ["
            + ",".join(map(str, range(1, 101)))
            + "]\nwidth = ["
            + ",".join(map(str, range(1, 101)))
            + "]",
            "the grid has 10000 groups",
        ),
    ],
)
def test_sweep_grids_have_upper_limits(tmp_path, capsys, grid, fragment):
    path = tmp_path / "grid.toml"
    path.write_text('datasets = ["xor(n=40)"]\nactivations = ["relu"]\n' + grid + "\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err
