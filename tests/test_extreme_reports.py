"""Extreme runs still give a full report that says what happened: every candidate diverged
(the issue's `--lr` case), a single seed of a single activation, every metric NaN, and a
regression target near the float64 limit."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

from actlab.cli import main
from actlab.comparison import CompareConfig, load
from actlab.comparison.runner import run_comparison
from actlab.data import DataError
from actlab.report.html import write_report

FIGURES = 7  # curves, strip, gradients, unit health, activation statistics, time, functions


def _figures(html: str) -> list[str]:
    """The charts the page places, each of which must have its data embedded."""
    placed = re.findall(r'<figure class="chart" data-figure="([^"]+)"', html)
    match = re.search(
        r'<script type="application/json" class="actlab-data">(.*?)</script>', html, re.S
    )
    assert match, "no embedded figure data"
    data = json.loads(match.group(1))
    missing = [f for f in placed if f not in json.dumps(data)]
    assert not missing, missing
    return placed


def _small(**overrides):
    base = dict(
        data="xor(n=80)",
        activations=("relu", "tanh"),
        seeds=(0, 1),
        epochs=2,
        hidden=(4,),
        batch_size=16,
    )
    return CompareConfig(**{**base, **overrides})


def _text(html: str) -> str:
    html = re.sub(r"<(svg|style|script).*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _report(result, tmp_path) -> tuple[str, str]:
    html = write_report(result, tmp_path / "report.html").read_text()
    assert len(_figures(html)) >= FIGURES
    return html, _text(html)


def test_every_candidate_diverged_gives_a_full_report(tmp_path, capsys):
    run = tmp_path / "run"
    result = run_comparison(_small(activations=("relu", "elu"), optimizer="sgd", lr=1e30), run)
    assert all(c.status == "diverged" for c in result.candidates)
    assert main(["report", str(run)]) == 0  # the issue: `actlab report DIR` crashed too
    assert "Every candidate diverged" in capsys.readouterr().out
    html = (run / "report.html").read_text()
    assert len(_figures(html)) >= FIGURES
    text = _text(html)
    assert "Every candidate diverged" in text and "Diverged candidates (4)" in text


def test_a_single_seed_of_a_single_activation_gives_a_full_report(tmp_path):
    result = run_comparison(_small(activations=("relu",), seeds=(0,)), tmp_path / "run")
    _, text = _report(result, tmp_path)
    assert "with 1 seed no difference can be tested" in text and "Use relu" in text


def test_every_metric_nan_gives_a_full_report(tmp_path):
    run = tmp_path / "run"
    run_comparison(_small(), run)
    results = json.loads((run / "results.json").read_text())
    for cand in results["candidates"]:  # as when R^2 is undefined (a constant test target)
        cand["test_metric"] = None
        cand["history"]["val_metric"] = [None] * len(cand["history"]["val_metric"])
    (run / "results.json").write_text(json.dumps(results))
    _, text = _report(load(run), tmp_path)
    assert "produced no metric" in text and "no result" in text


def test_a_regression_target_near_the_float64_limit_trains_with_finite_metrics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X @ np.array([1.0, -2.0, 0.5])) * 1e300  # its variance overflowed: all metrics null
    config = CompareConfig(data="arrays", activations=("relu",), seeds=(0,), epochs=3, hidden=(8,))
    result = run_comparison(config, data_source=(X, y))
    (cand,) = result.candidates
    assert cand.status == "ok" and math.isfinite(cand.test_metric)
    mean, std = result.data["splits"]["target_scale"]
    assert math.isfinite(mean) and 1e299 < std < 1e301


def test_a_target_that_cannot_be_scaled_is_a_one_line_error():
    """A test-part target 1e300 while the train part spans ~1: its scaled value exceeds
    float32, so no metric could be computed on it."""
    from actlab import data

    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = X[:, 0].copy()
    _, _, test_rows = data.split_indices(data.load((X, y)))
    y[test_rows[0]] = 1e300
    config = CompareConfig(data="arrays", activations=("relu",), seeds=(0,), epochs=1, hidden=(2,))
    with pytest.raises(DataError) as err:
        run_comparison(config, data_source=(X, y))
    message = str(err.value)
    assert "\n" not in message and f"the regression target at data row {test_rows[0]}" in message
    assert "test part" in message and "beyond float32" in message
