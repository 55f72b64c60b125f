"""report.html in a real headless browser (Debian's Chromium driven by Playwright).

Checks what a person opening the file would hit and do: console or script errors, any
network request (the file must work offline), figures that did not draw, hovering a point
for its value, hiding an activation from the legend, each seed's curve, zooming, sorting
the ranking, printing. Saves full-page screenshots in ``test-output/``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from actlab.report.html import write_report
from actlab.report.palette import colours
from conftest import assert_every_figure_drawn
from report_data import DIVERGED, all_diverged_result, synthetic_result, text_result

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.browser

COUNT_COLOUR = """(hex) => {
  // Pixels of exactly this colour in every figure's canvas.
  const n = parseInt(hex.slice(1), 16), r = n >> 16, g = (n >> 8) & 255, b = n & 255;
  let count = 0;
  document.querySelectorAll('figure.chart canvas').forEach(c => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4)
      if (d[i] === r && d[i + 1] === g && d[i + 2] === b && d[i + 3] === 255) count++;
  });
  return count;
}"""

SHOWN_SERIES = """() => window.actlabReport.reports[0].charts
  .reduce((n, c) => n + c.u.series.filter((s, i) => i > 0 && s.show).length, 0)"""


def _keep(opened: Any, name: str) -> None:
    out = REPO / "test-output"
    out.mkdir(exist_ok=True)
    opened.page.screenshot(path=str(out / name), full_page=True)


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_report(synthetic_result(), tmp_path_factory.mktemp("r") / "report.html")


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("report-screenshot", {}), ("report-screenshot-depths", {"depths": (2, 8), "width": 32})],
)
def test_report_renders_offline_without_errors(
    browser_page, tmp_path: Path, name: str, kwargs: dict
) -> None:
    result = synthetic_result(**kwargs)
    opened = browser_page(write_report(result, tmp_path / "report.html"))
    figures = assert_every_figure_drawn(opened.page)
    headline = opened.page.inner_text("#recommendation .headline")
    diverged = opened.page.inner_text("#recommendation")
    _keep(opened, f"{name}.png")

    assert opened.errors == []
    assert opened.outside_requests() == []
    groups = len(result.groups)
    assert len(figures) == 7 + (1 if kwargs.get("depths") else 0) + 6 * (groups - 1)
    assert headline.startswith("Use ")
    act, seed, epoch = DIVERGED
    assert f"{act}, seed {seed}: diverged at epoch {epoch}" in diverged


def test_hovering_a_curve_shows_its_values(browser_page, report_file: Path) -> None:
    opened = browser_page(report_file)
    page = opened.page
    over = page.locator('figure[data-figure="curves-mlp-128x128"] .u-over').first
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    tip = page.locator('figure[data-figure="curves-mlp-128x128"] .tip').first
    assert tip.is_visible()
    text = tip.inner_text()
    epoch = int(text.splitlines()[0].split()[-1])
    # The value shown for elu is the mean of its seeds at that epoch, from the run's data.
    result = synthetic_result()
    seeds = [r.history["val_metric"][epoch - 1] for r in result.candidates if r.activation == "elu"]
    line = next(row for row in text.splitlines() if row.startswith("elu:"))
    mean, band = line.split(":")[1].split("(")
    lo, hi = (float(v) for v in band.rstrip(")").split("–"))
    for value, expected in ((mean, np.mean(seeds)), (lo, min(seeds)), (hi, max(seeds))):
        assert math.isclose(float(value), float(expected), rel_tol=5e-4), (line, seeds)
    page.mouse.move(box["x"] + box["width"] + 200, box["y"] - 200)  # leave: the tip goes
    assert not tip.is_visible()
    assert opened.errors == []


def test_hovering_a_seed_of_the_strip_and_a_cost_bar(browser_page, report_file: Path) -> None:
    page = browser_page(report_file).page
    for figure, expected in (("test-per-seed-mlp-128x128", "seed"), ("time-mlp-128x128", "x")):
        over = page.locator(f'figure[data-figure="{figure}"] .u-over').last
        over.scroll_into_view_if_needed()
        box = over.bounding_box()
        for fraction in (0.06, 0.1, 0.14, 0.18):  # the first column: elu's seeds / its bar
            page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] * 0.5)
            tip = page.locator(f'figure[data-figure="{figure}"] .tip').last
            if tip.is_visible() and expected in tip.inner_text():
                break
        assert tip.is_visible() and expected in tip.inner_text(), figure


def test_hiding_an_activation_removes_its_curves(browser_page, report_file: Path) -> None:
    opened = browser_page(report_file)
    page = opened.page
    palette = colours(synthetic_result().config["activations"])
    before = {act: page.evaluate(COUNT_COLOUR, c) for act, c in palette.items()}
    assert all(n > 500 for n in before.values()), before
    page.click('.legend button[data-key="sigmoid"]')
    hidden = {act: page.evaluate(COUNT_COLOUR, c) for act, c in palette.items()}
    assert hidden["sigmoid"] == 0
    for act in ("relu", "elu", "identity"):
        assert hidden[act] > 500, act
    page.click('.legend button[data-key="sigmoid"]')
    assert page.evaluate(COUNT_COLOUR, palette["sigmoid"]) == before["sigmoid"]
    assert opened.errors == []


def test_each_seed_can_be_shown_beside_the_mean(browser_page, report_file: Path) -> None:
    page = browser_page(report_file).page
    shown = page.evaluate(SHOWN_SERIES)
    page.check(".legend input.show-seeds")
    with_seeds = page.evaluate(SHOWN_SERIES)
    # curves (3 panels) and the gradient over epochs (2 lines per activation): 3 seeds of
    # every activation, 2 of relu (its third diverged and is drawn to where it stopped).
    assert with_seeds > shown + 3 * 4 * 3
    page.uncheck(".legend input.show-seeds")
    assert page.evaluate(SHOWN_SERIES) == shown


def test_dragging_zooms_into_the_epochs_and_a_double_click_zooms_out(
    browser_page, report_file: Path
) -> None:
    page = browser_page(report_file).page
    scale = """() => { const u = window.actlabReport.reports[0].charts[0].u;
                       return [u.scales.x.min, u.scales.x.max]; }"""
    full = page.evaluate(scale)
    over = page.locator('figure[data-figure="curves-mlp-128x128"] .u-over').first
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.6, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, y, steps=5)
    page.mouse.up()
    zoomed = page.evaluate(scale)
    assert full[0] < zoomed[0] < zoomed[1] <= full[1]
    page.mouse.dblclick(box["x"] + box["width"] / 2, y)
    assert page.evaluate(scale) == full


def test_the_ranking_table_sorts_by_a_clicked_column(browser_page, report_file: Path) -> None:
    page = browser_page(report_file).page
    rows = "#ranking tbody tr"
    column = 4  # test accuracy (mean ± CI)

    def values() -> list[float]:
        cells = page.locator(f"{rows} td:nth-child({column})").all_inner_texts()
        return [float(c.split()[0]) for c in cells]

    page.click(f"#ranking thead th:nth-child({column})")
    assert values() == sorted(values())
    page.click(f"#ranking thead th:nth-child({column})")
    assert values() == sorted(values(), reverse=True)
    names = page.locator(f"{rows} td:nth-child(2)").all_inner_texts()
    page.click("#ranking thead th:nth-child(2)")
    assert page.locator(f"{rows} td:nth-child(2)").all_inner_texts() == sorted(names)


def test_printing_fits_the_figures_to_the_page(browser_page, report_file: Path) -> None:
    page = browser_page(report_file).page
    widest = (
        "() => Math.max(...[...document.querySelectorAll('figure.chart canvas')]"
        ".map(c => c.clientWidth))"
    )
    assert page.evaluate(widest) > 700
    page.emulate_media(media="print")
    page.wait_for_function(f"() => ({widest})() <= 700")  # the figures fit an A4 page
    assert not page.locator("nav").is_visible()
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 50_000
    page.emulate_media(media="screen")
    page.wait_for_function(f"() => ({widest})() > 700")


@pytest.mark.parametrize("case", ["every candidate diverged in epoch 1", "one seed"])
def test_degenerate_runs_render_without_errors(browser_page, tmp_path: Path, case: str) -> None:
    result = (
        all_diverged_result(seeds=2)
        if case.startswith("every")
        else synthetic_result(seeds=1, epochs=3)
    )
    opened = browser_page(write_report(result, tmp_path / "report.html"))
    figures = opened.page.evaluate(
        "() => [...document.querySelectorAll('figure.chart')].map(f => "
        "f.querySelectorAll('canvas').length + f.querySelectorAll('.nodata').length)"
    )
    assert opened.errors == []
    assert opened.outside_requests() == []
    assert figures and all(n > 0 for n in figures)
    if case == "one seed":
        assert_every_figure_drawn(opened.page)
        assert opened.page.locator(".legend input.show-seeds").count() == 0


def test_a_text_run_draws_bits_per_character_lower_is_better_and_gated_widths(
    browser_page, tmp_path: Path
) -> None:
    opened = browser_page(write_report(text_result(), tmp_path / "report.html"))
    page = opened.page
    assert_every_figure_drawn(page)
    _keep(opened, "report-screenshot-text.png")
    curves = page.locator('figure[data-figure^="curves-"] .panel-title').all_inner_texts()
    assert curves[0] == "Validation bits per character (lower is better)"
    assert curves[1] == "Validation accuracy (higher is better)"
    headers = page.locator("#ranking th").all_inner_texts()
    assert "widths (parameters)" in headers
    assert any(h.startswith("validation bits per character (lower is better)") for h in headers)
    row = page.locator("#ranking tbody tr", has_text="swiglu").inner_text()
    assert "85x85 (50,001)" in row
    assert opened.errors == [] and opened.outside_requests() == []


def test_the_page_width_follows_the_window(browser_page, report_file: Path) -> None:
    narrow = browser_page(report_file, width=800)
    assert narrow.errors == []
    widths = narrow.page.evaluate(
        "() => [...document.querySelectorAll('figure.chart canvas')].map(c => c.clientWidth)"
    )
    assert_every_figure_drawn(narrow.page)
    assert max(widths) <= 800


def test_the_diagnose_report_draws_each_layer_and_hides_one(browser_page, tmp_path: Path) -> None:
    import torch
    from torch import nn

    import actlab

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)
    )
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(64, 4), torch.randint(0, 2, (64,))
    with actlab.monitor(model, every=5) as mon:
        for _ in range(40):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    opened = browser_page(mon.report(tmp_path / "diagnose.html", title="two layers"))
    assert_every_figure_drawn(opened.page)
    legend = opened.page.locator(".legend button").all_inner_texts()
    assert [t.strip() for t in legend] == ["1", "3"]  # the activation modules, forward order
    palette = colours(["1", "3"])
    assert opened.page.evaluate(COUNT_COLOUR, palette["1"]) > 100
    opened.page.click('.legend button[data-key="1"]')
    assert opened.page.evaluate(COUNT_COLOUR, palette["1"]) == 0
    assert opened.page.evaluate(COUNT_COLOUR, palette["3"]) > 100
    assert opened.errors == [] and opened.outside_requests() == []
    _keep(opened, "diagnose-screenshot.png")
