"""The example notebook runs (so it cannot rot), and what actlab's objects show in Jupyter:
``_repr_html_`` of a comparison, a monitor and a catalog entry, and ``to_pandas()``.

The notebook is executed with nbclient in a fresh kernel; its HTML outputs are then opened
together in Chromium, as a notebook page holds them, and every figure must draw.
"""

from __future__ import annotations

import builtins
import re
from pathlib import Path
from typing import Any

import pytest

import actlab
from conftest import assert_every_figure_drawn
from report_data import synthetic_result

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "notebook.ipynb"


@pytest.fixture(scope="module")
def executed() -> Any:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    return notebook


def _html_outputs(notebook: Any) -> list[str]:
    return [
        out["data"]["text/html"]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.outputs
        if "text/html" in out.get("data", {})
    ]


@pytest.mark.slow
def test_the_example_notebook_runs_and_shows_every_object(executed) -> None:
    errors = [
        o
        for c in executed.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o["output_type"] == "error"
    ]
    assert errors == []
    activation, comparison, frame, monitor = _html_outputs(executed)
    assert "elu(alpha=0.5)" in activation and 'data-figure="function"' in activation
    assert "Use <strong>" in comparison and 'data-figure="curves-' in comparison
    assert re.search(r"<th[^>]*>activation</th>", frame)  # the DataFrame of the summary
    assert 'data-figure="signals"' in monitor and "callout" in monitor
    printed = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "Recommended:" in printed


@pytest.mark.slow
@pytest.mark.browser
def test_the_notebook_outputs_draw_together_in_a_browser(executed, browser_page) -> None:
    page = "".join(o for o in _html_outputs(executed) if "actlab-root" in o)
    opened = browser_page(f"<!DOCTYPE html><html><body>{page}</body></html>")
    figures = assert_every_figure_drawn(opened.page)
    assert len(figures) >= 4  # the function, curves and strip of the comparison, the signals
    assert opened.errors == []
    assert opened.outside_requests() == []


def test_a_comparison_shows_its_answer_ranking_and_figures() -> None:
    result = synthetic_result()
    out = result._repr_html_()
    assert out.startswith('<div class="actlab actlab-root">')
    assert "Use <strong>elu</strong>" in out
    assert '<table class="sortable">' in out
    assert 'data-figure="curves-mlp-128x128"' in out and 'data-figure="strip-mlp-128x128"' in out


def test_to_pandas_is_the_summary() -> None:
    pd = pytest.importorskip("pandas")
    result = synthetic_result()
    frame = result.to_pandas()
    assert isinstance(frame, pd.DataFrame)
    rows = result.summary()
    assert list(frame.columns) == list(rows[0])
    for got, want in zip(frame.to_dict("records"), rows, strict=True):
        for key, value in want.items():
            assert (
                got[key] == value
                or (value is None and pd.isna(got[key]))
                or (
                    value != value and got[key] != got[key]  # NaN
                )
            ), key


def test_to_pandas_without_pandas_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_pandas(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"^to_pandas\(\) needs pandas.*pip install pandas$"):
        synthetic_result().to_pandas()


def test_a_catalog_entry_shows_its_card_and_drawing() -> None:
    out = actlab.get("leaky_relu(alpha=0.2)")._repr_html_()
    assert "leaky_relu(alpha=0.2)" in out and "torch.nn.LeakyReLU" in out
    assert 'data-figure="function"' in out and "uPlot" in out
