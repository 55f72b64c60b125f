"""The comparison report: page shell, figures and the self-contained report.html.

Built from synthetic comparison results (:func:`synthetic_result`) with the candidate schema
the training engine writes, so the report is tested independently of training.
"""

from __future__ import annotations

import copy
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest

from actlab.comparison.result import CompareResult
from actlab.report import figures
from actlab.report.html import write_report
from actlab.report.page import (
    Markup,
    Section,
    callout,
    figure_to_svg,
    key_value_table,
    render_page,
    table,
)

# Per activation: final validation accuracy at depth 2, gradient decay per layer towards the
# input, dead and saturated fractions, activation mean and std, seconds per epoch.
_PROFILES: dict[str, dict[str, float]] = {
    "relu": dict(acc=0.955, decay=0.85, dead=0.15, sat=0.0, mean=0.45, std=0.7, time=0.050),
    "elu": dict(acc=0.957, decay=0.9, dead=0.0, sat=0.0, mean=0.15, std=0.85, time=0.062),
    "selu": dict(acc=0.951, decay=0.95, dead=0.0, sat=0.0, mean=0.0, std=1.0, time=0.063),
    "sigmoid": dict(acc=0.905, decay=0.22, dead=0.0, sat=0.35, mean=0.5, std=0.2, time=0.056),
    "tanh": dict(acc=0.945, decay=0.6, dead=0.0, sat=0.2, mean=0.0, std=0.55, time=0.056),
    "leaky_relu": dict(acc=0.954, decay=0.85, dead=0.01, sat=0.0, mean=0.42, std=0.7, time=0.051),
    "softplus": dict(acc=0.946, decay=0.75, dead=0.0, sat=0.0, mean=0.75, std=0.6, time=0.058),
    "identity": dict(acc=0.86, decay=1.0, dead=0.0, sat=0.0, mean=0.0, std=1.3, time=0.045),
}
DIVERGED = ("relu", 2, 6)
"""(activation, seed, epoch) of the candidate that diverges in :func:`synthetic_result`."""


def _candidate(
    act: str, seed: int, group: str, depth: int, epochs: int, rng: np.random.Generator
) -> dict[str, Any]:
    p = _PROFILES[act]
    depth_penalty = (1 - p["decay"]) * 0.02 * (depth - 2)
    acc = p["acc"] - depth_penalty + rng.normal(0, 0.004)
    e = np.arange(1, epochs + 1)
    val_metric = acc - (acc - 0.1) * np.exp(-e / 2.0) + rng.normal(0, 0.002, epochs)
    train_loss = 2.3 * np.exp(-e / 2.2) + (1 - acc) * 0.8
    val_loss = train_loss * 1.1 + rng.normal(0, 0.005, epochs) ** 2
    grad_last = 0.5 * (0.6 + p["std"] * 0.5) * np.exp(-e / 8.0)
    layers = np.arange(depth)
    grad = grad_last[:, None] * p["decay"] ** (depth - 1 - layers)[None, :]
    grow = (1 - np.exp(-e / 3.0))[:, None] * np.ones(depth)
    dead = np.clip(p["dead"] * grow * (1 + 0.2 * layers), 0, 1)
    sat = np.clip(p["sat"] * grow * (1 + 0.15 * layers), 0, 1)
    a_mean = p["mean"] * np.ones((epochs, depth)) + rng.normal(0, 0.02, (epochs, depth))
    shrink = 1.0 if act in ("selu", "identity") else 0.9
    a_std = p["std"] * shrink**layers * np.ones((epochs, 1)) + rng.normal(0, 0.01, (epochs, depth))
    history: dict[str, Any] = {
        "train_loss": train_loss.tolist(),
        "val_loss": val_loss.tolist(),
        "val_metric": val_metric.tolist(),
        "epoch_time": (p["time"] * (1 + rng.normal(0, 0.03, epochs))).tolist(),
        "grad_norm": grad.tolist(),
        "dead_fraction": dead.tolist(),
        "saturated_fraction": sat.tolist(),
        "act_mean": a_mean.tolist(),
        "act_std": a_std.tolist(),
    }
    rec: dict[str, Any] = {
        "group": group,
        "activation": act,
        "seed": seed,
        "init": "lecun" if act == "selu" else ("glorot" if act in ("sigmoid", "tanh") else "he"),
        "status": "ok",
        "diverged_epoch": None,
        "test_metric": float(val_metric[-1] + rng.normal(0, 0.003)),
        "test_loss": float(val_loss[-1]),
        "history": history,
    }
    if (act, seed) == DIVERGED[:2]:
        at = DIVERGED[2]
        rec.update(status="diverged", diverged_epoch=at, test_metric=None, test_loss=None)
        for values in history.values():
            for i in range(at - 1, epochs):
                values[i] = [None] * depth if isinstance(values[i], list) else None
    return rec


def synthetic_result(
    activations: tuple[str, ...] = ("relu", "elu", "sigmoid", "identity"),
    seeds: int = 3,
    epochs: int = 10,
    depths: tuple[int, ...] = (),
    width: int = 128,
) -> CompareResult:
    """A realistic comparison result (as loaded from results.json): one group of two hidden
    layers of ``width`` units, or one group per entry of ``depths``. relu's seed 2 diverges
    at epoch 6 (nulls from then on) when relu and seed 2 are part of the sweep."""
    rng = np.random.default_rng(1234)
    if depths:
        groups = {f"mlp-depth{d}-width{width}": [width] * d for d in depths}
    else:
        groups = {f"mlp-{width}x{width}": [width, width]}
    candidates = [
        _candidate(act, seed, name, len(hidden), epochs, rng)
        for name, hidden in groups.items()
        for act in activations
        for seed in range(seeds)
    ]
    costs = {
        a: {
            "seconds": _PROFILES[a]["time"] / 1000,
            "relative_to_relu": _PROFILES[a]["time"] / _PROFILES["relu"]["time"],
        }
        for a in activations
    }
    config = {
        "data": "digits",
        "activations": list(activations),
        "seeds": list(range(seeds)),
        "model": "mlp",
        "hidden": [width, width],
        "depths": list(depths),
        "epochs": epochs,
        "optimizer": "adam",
        "lr": 0.001,
        "batch_size": 64,
        "init": "auto",
    }
    data = {
        "name": "digits",
        "n_samples": 1797,
        "n_features": 64,
        "task": "classification",
        "n_classes": 10,
        "source": "scikit-learn load_digits",
        "notes": "8x8 images, pixel values scaled to zero mean and unit variance",
    }
    environment = {"actlab": "0.1.0", "python": "3.11.2", "torch": "2.13.0", "cpu_count": 2}
    payload = {
        "config": config,
        "data": data,
        "environment": environment,
        "candidates": candidates,
        "groups": {name: {"hidden": hidden} for name, hidden in groups.items()},
        "costs": costs,
    }
    # Through JSON, exactly as the report command loads a run directory.
    return CompareResult.from_dict(json.loads(json.dumps(payload)))


@pytest.fixture(scope="module")
def one_group(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompareResult, str]:
    result = synthetic_result()
    path = write_report(result, tmp_path_factory.mktemp("one") / "report.html")
    return result, path.read_text(encoding="utf-8")


def _section(document: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', document, re.S)
    assert match, f"section {anchor!r} missing"
    return match.group(1)


# --- page shell ---------------------------------------------------------------------------


def _small_figure(label: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1, 2], [0, 1, 4], marker="o", label=label)
    ax.set_xlabel("x (unit)")
    ax.legend()
    return fig


def test_figure_to_svg_is_inline_svg_and_closes_the_figure() -> None:
    fig = _small_figure("a")
    number = fig.number
    svg = figure_to_svg(fig)
    assert svg.startswith("<svg ") and svg.rstrip().endswith("</svg>")
    assert "<?xml" not in svg and "<!DOCTYPE" not in svg and "<metadata>" not in svg
    assert "x (unit)" in svg  # text kept as text
    assert number not in plt.get_fignums()


def test_figure_to_svg_ids_do_not_collide_between_figures() -> None:
    first, second = figure_to_svg(_small_figure("a")), figure_to_svg(_small_figure("b"))
    ids_1 = set(re.findall(r'id="([^"]+)"', first))
    ids_2 = set(re.findall(r'id="([^"]+)"', second))
    assert ids_1 and ids_2 and not ids_1 & ids_2
    for svg, ids in ((first, ids_1), (second, ids_2)):
        refs = set(re.findall(r'(?:url\(#|href="#)([^)"]+)', svg))
        assert refs <= ids  # every reference resolves inside its own figure


def test_figure_to_svg_rejects_other_objects() -> None:
    with pytest.raises(TypeError, match="got str"):
        figure_to_svg("not a figure")  # type: ignore[arg-type]


def test_render_page_escapes_and_links_sections() -> None:
    page = render_page(
        "A <b> & c",
        [Section("Same", "<p>one</p>"), Section("Same", "<p>two</p>"), Section("X", "", "x")],
        subtitle="sub <i>",
    )
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>A &lt;b&gt; &amp; c</title>" in page and "sub &lt;i&gt;" in page
    assert 'href="#same"' in page and 'href="#same-2"' in page and 'id="x"' in page
    assert "<script" not in page and "<link" not in page


def test_render_page_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="title"):
        render_page("  ", [])
    with pytest.raises(TypeError, match="Section"):
        render_page("t", ["<p>raw</p>"])  # type: ignore[list-item]


def test_table_escapes_cells_unless_markup() -> None:
    out = table(["h<1>"], [["<b>x</b>"], [Markup("<b>y</b>")], [None]], row_classes=["best"])
    assert "h&lt;1&gt;" in out and "&lt;b&gt;x&lt;/b&gt;" in out and "<b>y</b>" in out
    assert '<tr class="best">' in out
    kv = key_value_table({"hidden": [128, 64], "opt": {"lr": 0.1}, "none": None})
    assert "128, 64" in kv and "lr=0.1" in kv
    assert 'class="callout warn"' in callout("<p>x</p>", kind="warn", title="T")


# --- figures ----------------------------------------------------------------------------


def test_group_data_pads_and_leaves_out_diverged_seeds() -> None:
    result = synthetic_result()
    group = result.group_names()[0]
    data = figures.GroupData.build(group, result.metric, result.candidates, 2, ["identity"])
    assert data.activations[0] == "identity" and set(data.activations) == {
        "relu",
        "elu",
        "sigmoid",
        "identity",
    }
    act, seed, epoch = DIVERGED
    series = data.series(act, "val_metric")
    assert series.shape == (3, 10)
    assert (
        np.isnan(series[seed, epoch - 1 :]).all() and np.isfinite(series[seed, : epoch - 1]).all()
    )
    assert data.series(act, "val_metric", ok_only=True).shape == (2, 10)
    assert data.layered(act, "grad_norm").shape == (2, 10, 2)
    final = data.final_layers("elu", "act_std")
    expected = [r["history"]["act_std"][-1] for r in data.records["elu"]]
    np.testing.assert_allclose(final, expected)
    assert [(r["activation"], r["seed"]) for r in data.diverged()] == [(act, seed)]


def test_figure_functions_return_labelled_figures() -> None:
    result = synthetic_result()
    group = result.group_names()[0]
    data = figures.GroupData.build(group, result.metric, result.candidates, 2)
    from actlab.report.palette import colours

    palette = colours(data.activations)
    made = [
        figures.curves_figure(data, palette),
        figures.strip_figure(data, palette, result.ranking(group)),
        figures.gradient_figure(data, palette),
        figures.unit_health_figure(data, palette),
        figures.activation_stats_figure(data, palette),
        figures.time_figure(data, palette, result.costs),
    ]
    try:
        for fig in made:
            for ax in fig.axes:
                assert ax.get_xlabel() and ax.get_ylabel(), fig
        grad_axes = made[2].axes
        assert all(ax.get_yscale() == "log" for ax in grad_axes)
    finally:
        for fig in made:
            plt.close(fig)


# --- the report --------------------------------------------------------------------------


def test_report_names_every_activation_and_the_recommendation(one_group) -> None:
    result, document = one_group
    for act in ("relu", "elu", "sigmoid", "identity"):
        assert f"{act}</" in document
    analysis = result.analyse()
    assert analysis.recommendation.activation == "elu"
    section = _section(document, "recommendation")
    answer = re.search(r'<p class="headline">(.*?)</p>', section)
    assert answer is not None and answer.group(1).startswith("Use <strong>elu</strong>")
    assert section.index("headline") < section.index("Evidence")  # the answer leads
    for sentence in [*analysis.reasons, *analysis.warnings]:
        assert html.escape(sentence) in section


def test_report_calls_out_the_diverged_candidate(one_group) -> None:
    _, document = one_group
    act, seed, epoch = DIVERGED
    rec = _section(document, "recommendation")
    assert "Diverged candidates (1)" in rec
    assert f"<strong>{act}</strong>, seed {seed}: diverged at epoch {epoch}" in rec
    ranking = _section(document, "ranking")
    assert '<tr class="diverged">' in ranking and "1 diverged" in ranking
    assert figures.DIVERGED_COLOUR in _section(document, "curves")
    assert figures.DIVERGED_COLOUR in _section(document, "test-per-seed")


def test_report_ranking_table_states_method_and_seeds(one_group) -> None:
    result, document = one_group
    ranking = _section(document, "ranking")
    assert ranking.count("<tr") == 1 + len(result.ranking().rows)
    assert "paired t-test" in ranking and "over 3 seeds" in ranking and "95%" in ranking
    assert "validation accuracy" in ranking and "test accuracy" in ranking
    assert "1.24x" in ranking  # elu's measured cost relative to relu
    assert "not concluded (n=2)" in ranking  # relu: only 2 seeds pair with the best


def test_report_is_self_contained(one_group) -> None:
    _, document = one_group
    assert "<script" not in document and "<link" not in document and "@import" not in document
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", document)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", document)
    assert not re.search(r"<img\b", document)  # figures are inline SVG


def test_report_has_every_figure_section_for_one_group(one_group) -> None:
    _, document = one_group
    for anchor in ("curves", "test-per-seed", "gradients", "units", "activations", "time"):
        assert _section(document, anchor).count("<svg") == 1, anchor
    assert _section(document, "functions").count("<svg") == 1
    assert 'id="depth"' not in document
    repro = _section(document, "reproducibility")
    for text in ("Configuration", "Environment", "scikit-learn load_digits", "2.13.0"):
        assert text in repro


def test_colour_of_each_activation_is_the_same_in_every_figure(one_group) -> None:
    from actlab.report.palette import colours

    result, document = one_group
    palette = colours(result.config["activations"])
    for anchor in ("curves", "gradients", "units", "activations", "functions"):
        svg = _section(document, anchor)
        for act, colour in palette.items():
            assert colour in svg, (anchor, act)


def test_report_for_several_depths(tmp_path: Path) -> None:
    result = synthetic_result(depths=(2, 8, 16), width=32, epochs=6)
    document = write_report(result, tmp_path / "report.html").read_text(encoding="utf-8")
    depth = _section(document, "depth")
    assert depth.count("<svg") == 1 and "depth (number of hidden layers" in depth
    ranking = _section(document, "ranking")
    for name in result.group_names():
        assert f"<h3>{name}</h3>" in ranking
        assert f"Use <strong>{result.recommendation(name).activation}</strong> for {name}" in (
            document
        )
    assert _section(document, "gradients").count("<svg") == 3
    assert "Diverged candidates (3)" in document


def test_report_with_a_truncated_diverged_history_and_an_uncatalogued_activation(
    tmp_path: Path,
) -> None:
    result = synthetic_result(epochs=6)
    act, seed, epoch = DIVERGED
    for rec in result.candidates:
        if rec["activation"] == act and rec["seed"] == seed:
            for key, values in rec["history"].items():
                rec["history"][key] = values[: epoch - 1]  # history stops at divergence
        if rec["activation"] == "identity":
            rec["activation"] = "my_custom"
    result.costs["my_custom"] = result.costs.pop("identity")
    document = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"<strong>{act}</strong>, seed {seed}: diverged at epoch {epoch}" in document
    assert "Not in the catalog, not drawn: my_custom." in document


def test_report_size_stays_small_for_a_full_sweep(tmp_path: Path) -> None:
    acts = ("sigmoid", "tanh", "relu", "leaky_relu", "softplus", "elu", "selu", "identity")
    result = synthetic_result(acts, seeds=5, epochs=30)
    path = write_report(result, tmp_path / "report.html")
    assert path.stat().st_size < 5_000_000
    assert "selu" in path.read_text(encoding="utf-8")


def test_report_refuses_a_result_without_candidates(tmp_path: Path) -> None:
    empty = copy.deepcopy(synthetic_result(seeds=1, epochs=2))
    empty.candidates.clear()
    with pytest.raises(ValueError, match="no candidate"):
        write_report(empty, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_report_tolerates_non_finite_per_layer_values(tmp_path: Path) -> None:
    result = synthetic_result(epochs=4)
    result.candidates[0]["history"]["grad_norm"][-1] = [None, math.inf]
    document = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert _section(document, "gradients").count("<svg") == 1
