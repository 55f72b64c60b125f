"""The comparison report: page shell, the figures' data, and the self-contained report.html.

Built from synthetic comparison results (``report_data.synthetic_result``) with the candidate
schema the training engine writes, so the report is tested independently of training. What
the browser draws from the data is tested in ``test_report_browser.py``.
"""

from __future__ import annotations

import copy
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from actlab.comparison.result import CompareResult
from actlab.report import charts
from actlab.report.html import write_report
from actlab.report.page import (
    SIGNIFICANT,
    Cell,
    Markup,
    Section,
    callout,
    chart,
    embedded_json,
    fragment,
    key_value_table,
    render_page,
    table,
)
from actlab.report.palette import colours
from report_data import DIVERGED, all_diverged_result, synthetic_result, text_result

DEFAULT_ACTIVATIONS = (
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softplus",
    "elu",
    "selu",
    "identity",
)


@pytest.fixture(scope="module")
def one_group(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompareResult, str]:
    result = synthetic_result()
    path = write_report(result, tmp_path_factory.mktemp("one") / "report.html")
    return result, path.read_text(encoding="utf-8")


def _section(document: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', document, re.S)
    assert match, f"section {anchor!r} missing"
    return match.group(1)


def page_data(document: str) -> dict[str, Any]:
    """The JSON the page draws its figures from."""
    match = re.search(
        r'<script type="application/json" class="actlab-data">(.*?)</script>', document, re.S
    )
    assert match, "no embedded data"
    return json.loads(match.group(1))


def _placed(document: str) -> list[str]:
    return re.findall(r'<figure class="chart" data-figure="([^"]+)"', document)


# --- page shell ---------------------------------------------------------------------------


def test_render_page_escapes_and_links_sections() -> None:
    page = render_page(
        "A <b> & c",
        [Section("Same", "<p>one</p>"), Section("Same", "<p>two</p>"), Section("X", "", "x")],
        subtitle="sub <i>",
    )
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>A &lt;b&gt; &amp; c</title>" in page and "sub &lt;i&gt;" in page
    assert 'href="#same"' in page and 'href="#same-2"' in page and 'id="x"' in page
    assert "<script" not in page and "<link" not in page  # no figures: no script needed


def test_render_page_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="title"):
        render_page("  ", [])
    with pytest.raises(TypeError, match="Section"):
        render_page("t", ["<p>raw</p>"])  # type: ignore[list-item]


def test_table_escapes_cells_unless_markup() -> None:
    out = table(["h<1>"], [["<b>x</b>"], [Markup("<b>y</b>")], [None]], row_classes=["best"])
    assert "h&lt;1&gt;" in out and "&lt;b&gt;x&lt;/b&gt;" in out and "<b>y</b>" in out
    assert '<tr class="best">' in out and "sortable" not in out
    kv = key_value_table({"hidden": [128, 64], "opt": {"lr": 0.1}, "none": None})
    assert "128, 64" in kv and "lr=0.1" in kv
    assert 'class="callout warn"' in callout("<p>x</p>", kind="warn", title="T")


def test_sortable_table_cells_carry_their_sort_key() -> None:
    out = table(["p"], [[Cell("< 0.001", 0.0004)], [Cell("n/a", math.nan)]], sortable=True)
    assert '<table class="sortable">' in out
    assert '<td data-sort="0.0004">&lt; 0.001</td>' in out and '<td data-sort="">n/a</td>' in out


def test_embedded_json_rounds_escapes_and_drops_non_finite_values() -> None:
    text = embedded_json({"x": np.array([1 / 3, math.nan, math.inf]), "s": "</script><!--"})
    assert "</script" not in text and "<!--" not in text
    back = json.loads(text)
    assert back["x"] == [round(1 / 3, SIGNIFICANT), None, None] and back["s"] == "</script><!--"


def test_a_page_with_figures_embeds_data_library_and_licence_notice() -> None:
    panel = charts.lines("t", "x", "y", [1, 2], [charts.series("a", "#112233", values=[1, 2])])
    page = render_page("t", [Section("S", chart("f", "cap"))], figures={"f": [panel]})
    assert page_data(page)["figures"]["f"][0]["series"][0]["values"] == [1, 2]
    assert "uPlot 1.6.32" in page and "MIT licence" in page
    assert re.search(r"<script[^>]*\ssrc=", page) is None  # every script inline


def test_a_notebook_fragment_is_one_self_contained_div() -> None:
    panel = charts.lines("t", "x", "y", [1, 2], [charts.series("a", "#112233", values=[1, 2])])
    out = fragment(chart("f"), figures={"f": [panel]})
    assert out.startswith('<div class="actlab actlab-root">') and out.endswith("</div>")
    assert "<html" not in out and "<body" not in out
    assert page_data(out)["figures"]["f"]
    assert "actlabReport.renderAll()" in out


# --- the figures' data --------------------------------------------------------------------


def _group(result: CompareResult, order=()) -> charts.GroupData:
    group = result.group_names()[0]
    return charts.GroupData.build(group, result.metric, result.candidates, 2, order)


def test_group_data_pads_and_leaves_out_diverged_seeds() -> None:
    result = synthetic_result()
    data = _group(result, ["identity"])
    assert data.activations[0] == "identity"
    assert set(data.activations) == {"relu", "elu", "sigmoid", "identity"}
    act, seed, epoch = DIVERGED
    values = data.series(act, "val_metric")
    assert values.shape == (3, 10)
    assert np.isnan(values[seed, epoch - 1 :]).all()
    assert np.isfinite(values[seed, : epoch - 1]).all()
    assert data.series(act, "val_metric", ok_only=True).shape == (2, 10)
    assert data.layered(act, "grad_norm").shape == (2, 10, 2)
    final = data.final_layers("elu", "act_std")
    np.testing.assert_allclose(final, [r.history["act_std"][-1] for r in data.records["elu"]])
    assert [(r.activation, r.seed) for r in data.diverged()] == [(act, seed)]
    assert data.seeds(act) == [0, 1] and data.seeds(act, ok_only=False) == [0, 1, 2]


def test_every_figure_has_labelled_panels_in_the_palette_colours() -> None:
    result = synthetic_result()
    data = _group(result)
    palette = colours(data.activations)
    made = {
        "curves": charts.curves_figure(data, palette),
        "strip": charts.strip_figure(data, palette, result.ranking()),
        "gradient": charts.gradient_figure(data, palette),
        "units": charts.unit_health_figure(data, palette),
        "stats": charts.activation_stats_figure(data, palette),
        "time": charts.time_figure(data, palette, result.costs),
    }
    for name, panels in made.items():
        for panel in panels:
            assert panel["title"] and panel["xlabel"] and panel["ylabel"], name
            keyed = [s for s in panel["series"] if s.get("key")]
            for s in keyed:
                assert s["color"] == palette[s["key"]], (name, s["key"])
    assert [p["ylog"] for p in made["curves"]] == [False, True, True]
    assert all(p["ylog"] for p in made["gradient"])
    assert made["stats"][1]["ref"] == {"y": 1.0, "label": "std = 1"}
    assert [p["kind"] for p in made["time"]] == ["lines", "bars"]


def test_curves_carry_each_seed_of_the_run_and_the_diverged_cross() -> None:
    result = synthetic_result()
    data = _group(result)
    val = charts.curves_figure(data, colours(data.activations))[0]
    by_key = {s["key"]: s for s in val["series"]}
    act, seed, epoch = DIVERGED
    ok = [r for r in result.candidates if r.activation == act and r.status == "ok"]
    np.testing.assert_array_equal(by_key[act]["seeds"], [r.history["val_metric"] for r in ok])
    last = next(r for r in result.candidates if (r.activation, r.seed) == (act, seed))
    assert by_key[act]["diverged"] == [[epoch - 1, last.history["val_metric"][epoch - 2]]]
    assert "diverged" not in by_key["elu"]


def test_the_strip_follows_the_ranking_and_counts_lost_seeds() -> None:
    result = synthetic_result()
    data = _group(result)
    ranking = result.ranking()
    (panel,) = charts.strip_figure(data, colours(data.activations), ranking)
    assert [c["label"] for c in panel["series"]] == [r.activation for r in ranking.rows]
    relu = next(c for c in panel["series"] if c["label"] == "relu")
    assert relu["lost"] == 1 and [s for s, _ in relu["points"]] == [0, 1]
    row = next(r for r in ranking.rows if r.activation == "relu")
    assert (relu["lo"], relu["mean"], relu["hi"]) == (
        row.test.ci_low,
        row.test.mean,
        row.test.ci_high,
    )


def test_a_log_panel_drops_values_it_cannot_show() -> None:
    items = [charts.series("a", "#000000", seeds=[[1.0, 0.0, 2.0], [1.0, -1.0, 3.0]])]
    assert not charts.lines("t", "x", "y", [1, 2, 3], items, log=None)["ylog"]
    panel = charts.lines("t", "x", "y", [1, 2, 3], items, log=True)
    assert panel["ylog"] and panel["title"] == "t (log scale)"
    assert np.isnan(panel["series"][0]["seeds"][:, 1]).all()


def test_the_functions_figure_is_the_catalog_evaluated() -> None:
    from actlab.catalog import get

    acts = [get("elu(alpha=0.5)"), get("softmax")]
    f, df = charts.function_figure(acts, colours([a.spec for a in acts]))
    np.testing.assert_array_equal(f["series"][0]["values"], acts[0](f["x"]))
    np.testing.assert_array_equal(df["series"][0]["values"], acts[0].derivative(df["x"]))
    assert "component 0" in f["series"][1]["label"] and len(df["series"]) == 1


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
    figures = page_data(document)["figures"]
    curves = {s["key"]: s for s in figures["curves-mlp-128x128"][0]["series"]}
    assert curves[act]["diverged"]
    strip = {c["key"]: c for c in figures["test-per-seed-mlp-128x128"][0]["series"]}
    assert strip[act]["lost"] == 1


def test_report_ranking_table_states_method_and_seeds(one_group) -> None:
    result, document = one_group
    ranking = _section(document, "ranking")
    assert ranking.count("<tr") == 1 + len(result.ranking().rows)
    assert '<table class="sortable">' in ranking
    assert "paired t-test" in ranking and "over 3 seeds" in ranking and "95%" in ranking
    assert "validation accuracy" in ranking and "test accuracy" in ranking
    assert "1.24x" in ranking  # elu's measured cost relative to relu
    assert "not concluded (n=2)" in ranking  # relu: only 2 seeds pair with the best


def test_report_is_self_contained(one_group) -> None:
    _, document = one_group
    assert "<link" not in document and "@import" not in document
    assert not re.search(r"<(?:script|img|iframe)\b[^>]*\ssrc\s*=", document)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", document)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", document)
    assert "fetch(" not in document and "XMLHttpRequest" not in document


def test_report_has_every_figure_section_for_one_group(one_group) -> None:
    _, document = one_group
    figures = page_data(document)["figures"]
    placed = _placed(document)
    assert sorted(placed) == sorted(figures)
    for anchor, panels in (
        ("curves", 3),
        ("test-per-seed", 1),
        ("gradients", 2),
        ("units", 2),
        ("activations", 2),
        ("time", 2),
    ):
        (figure_id,) = _placed(_section(document, anchor))
        assert len(figures[figure_id]) == panels, anchor
    assert len(figures[_placed(_section(document, "functions"))[0]]) == 2
    assert 'id="depth"' not in document
    repro = _section(document, "reproducibility")
    for text in ("Configuration", "Environment", "scikit-learn load_digits", "2.13.0"):
        assert text in repro


def test_the_legend_has_one_colour_per_activation(one_group) -> None:
    result, document = one_group
    legend = page_data(document)["legend"]
    assert legend["title"] == "activation" and legend["seeds"] is True
    palette = colours(result.config["activations"])
    assert {i["key"]: i["color"] for i in legend["items"]} == palette


def test_report_for_several_depths(tmp_path: Path) -> None:
    result = synthetic_result(depths=(2, 8, 16), width=32, epochs=6)
    document = write_report(result, tmp_path / "report.html").read_text(encoding="utf-8")
    depth = _section(document, "depth")
    assert _placed(depth) == ["depth"]
    panels = page_data(document)["figures"]["depth"]
    assert panels[0]["x"] == [2, 8, 16] and panels[0]["xlog"]
    assert "depth (number of hidden layers" in panels[0]["xlabel"]
    ranking = _section(document, "ranking")
    for name in result.group_names():
        assert f"<h3>{name}</h3>" in ranking
        assert f"Use <strong>{result.recommendation(name).activation}</strong> for {name}" in (
            document
        )
    assert len(_placed(_section(document, "gradients"))) == 3
    assert "Diverged candidates (3)" in document


def test_report_with_a_truncated_diverged_history_and_an_uncatalogued_activation(
    tmp_path: Path,
) -> None:
    result = synthetic_result(epochs=6)
    act, seed, epoch = DIVERGED
    for rec in result.candidates:
        if rec.activation == act and rec.seed == seed:
            for key, values in rec.history.items():
                rec.history[key] = values[: epoch - 1]  # history stops at divergence
        if rec.activation == "identity":
            rec.activation = "my_custom"
    result.costs["my_custom"] = result.costs.pop("identity")
    document = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert f"<strong>{act}</strong>, seed {seed}: diverged at epoch {epoch}" in document
    assert "Not in the catalog, not drawn: my_custom." in document


def test_the_default_run_gives_a_page_under_1_5_mb(tmp_path: Path) -> None:
    result = synthetic_result(DEFAULT_ACTIVATIONS, seeds=5, epochs=30)
    path = write_report(result, tmp_path / "report.html")
    assert path.stat().st_size < 1_500_000
    assert "selu" in path.read_text(encoding="utf-8")


def test_report_refuses_a_result_without_candidates(tmp_path: Path) -> None:
    empty = copy.deepcopy(synthetic_result(seeds=1, epochs=2))
    empty.candidates.clear()
    with pytest.raises(ValueError, match="no candidate"):
        write_report(empty, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_report_tolerates_non_finite_per_layer_values(tmp_path: Path) -> None:
    result = synthetic_result(epochs=4)
    result.candidates[0].history["grad_norm"][-1] = [math.nan, math.inf]
    document = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert len(_placed(_section(document, "gradients"))) == 1


@pytest.mark.parametrize(
    "case", ["every candidate diverged in epoch 1", "one seed", "one seed, all diverged"]
)
def test_degenerate_runs_still_give_a_report(tmp_path: Path, case: str) -> None:
    result = {
        "every candidate diverged in epoch 1": lambda: all_diverged_result(seeds=2),
        "one seed": lambda: synthetic_result(seeds=1, epochs=3),
        "one seed, all diverged": lambda: all_diverged_result(seeds=1),
    }[case]()
    document = write_report(result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert sorted(_placed(document)) == sorted(page_data(document)["figures"])
    if "diverged" in case:
        assert "No recommendation" in document


# --- a text run: ranked by bits per character, gated widths shown --------------------------


def test_a_text_run_reports_bits_per_character_lower_is_better_and_gated_widths(
    tmp_path: Path,
) -> None:
    result = text_result()
    assert result.metric == "bpc"
    document = write_report(result, tmp_path / "report.html").read_text(encoding="utf-8")
    ranking = _section(document, "ranking")
    for header in (
        "validation bits per character (lower is better) (mean, 95% CI)",
        "test bits per character (mean, 95% CI)",
        "test accuracy (mean, 95% CI)",
        "widths (parameters)",
    ):
        assert html.escape(header) in ranking, header
    assert "85x85 (50,001)" in ranking and "128x128 (50,000)" in ranking
    assert "matched parameters: a gated layer" in html.unescape(ranking)
    recommendation = html.unescape(_section(document, "recommendation"))
    assert "Lowest mean validation bits per character (lower is better)" in recommendation
    assert "higher" not in recommendation.lower()

    data = _group(result)
    palette = colours(data.activations)
    val, accuracy, _ = charts.curves_figure(data, palette)
    assert val["title"] == "Validation bits per character (lower is better)"
    assert val["ylabel"] == "bits per character"
    assert accuracy["title"] == "Validation accuracy (higher is better)"
    tanh = next(s for s in val["series"] if s["key"] == "tanh")
    recs = [r for r in result.candidates if r.activation == "tanh"]
    np.testing.assert_allclose(
        tanh["seeds"], [np.array(r.history["val_loss"]) / math.log(2) for r in recs]
    )
    (strip,) = charts.strip_figure(data, palette, result.ranking())
    assert (
        strip["title"].endswith("(lower is better)")
        and strip["ylabel"] == "test bits per character"
    )
    best = strip["series"][0]
    assert best["mean"] == pytest.approx(
        np.mean([r.test_bpc for r in result.candidates if r.activation == best["key"]])
    )
    assert [c["label"] for c in strip["series"]] == [r.activation for r in result.ranking().rows]


def test_an_accuracy_run_shows_no_widths_and_no_lower_is_better(one_group) -> None:
    result, document = one_group
    assert result.shapes(result.group_names()[0]) == {}
    assert "widths (parameters)" not in document and "lower is better" not in document


def test_a_text_run_in_pandas_rows_and_the_console_widths_line() -> None:
    from actlab.cli.summary import shape_lines

    result = text_result()
    rows = result.summary()
    assert [r["activation"] for r in rows] == [r.activation for r in result.ranking().rows]
    val = [r["val_bpc_mean"] for r in rows if r["diverged"] == 0]  # relu lost a seed: last
    assert val == sorted(val) and rows[-1]["activation"] == "relu"
    assert all("test_bpc_mean" in r and "test_accuracy_mean" in r for r in rows)
    assert all(r["behind_leader"] > 0 for r in rows[1:] if math.isfinite(r["behind_leader"]))
    group = result.group_names()[0]
    assert shape_lines(result, group) == [
        "widths (matched parameters: a gated layer's width is round(2/3 x) the plain width): "
        "relu 128x128 (50,000 parameters), swiglu 85x85 (50,001 parameters), "
        "tanh 128x128 (50,000 parameters)"
    ]
    assert shape_lines(synthetic_result(), synthetic_result().group_names()[0]) == []
