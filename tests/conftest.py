"""Shared fixtures: ``chromium``, a headless Debian Chromium driven by Playwright, for the
tests that open a report as a person would (``browser_page`` opens one and records what
went wrong).

Without /usr/bin/chromium (or the playwright package) those tests are skipped, except when
the environment variable CI is set: CI installs both, so there a missing browser fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

# Keras picks its backend once per process. The in-process Keras tests run on the torch
# backend (torch is loaded anyway; TensorFlow's import alone costs seconds per worker)
# unless KERAS_BACKEND names another; tests/keras_backends.py runs the cross-backend checks
# in one subprocess per backend.
os.environ.setdefault("KERAS_BACKEND", "torch")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}; CI must install it (apt-get install chromium; pip install playwright)"
        )
    pytest.skip(f"{reason} (set CI=1 to make this a failure)")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """A headless Chromium shared by the tests of one module."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class OpenedPage:
    """A page and what happened while it loaded and ran: console errors, uncaught script
    errors and every request it made."""

    page: Any
    url: str
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def outside_requests(self) -> list[str]:
        """Requests for anything but the file itself (data: URLs are inline)."""
        return [r for r in self.requests if r != self.url and not r.startswith("data:")]


@pytest.fixture
def browser_page(chromium: Any) -> Iterator[Any]:
    """``open(path_or_html, width=1400) -> OpenedPage``; pages close after the test."""
    contexts = []

    def open_page(target: Path | str, width: int = 1400) -> OpenedPage:
        context = chromium.new_context(viewport={"width": width, "height": 900})
        contexts.append(context)
        page = context.new_page()
        url = Path(target).resolve().as_uri() if isinstance(target, Path) else "about:blank"
        opened = OpenedPage(page, url)
        page.on(
            "console",
            lambda m: opened.errors.append(f"console: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: opened.errors.append(f"pageerror: {e}"))
        page.on("request", lambda r: opened.requests.append(r.url))
        if isinstance(target, Path):
            page.goto(url, wait_until="load")
        else:
            page.set_content(target, wait_until="load")
        return opened

    yield open_page
    for context in contexts:
        context.close()


DRAWN_FIGURES = """() => {
  // Per figure: its id, panels in the data, panels drawn, and those drawn blank: without
  // 50 coloured pixels (series are coloured; axes, grid and text are grey).
  return [...document.querySelectorAll('figure.chart')].map(fig => {
    const root = fig.closest('.actlab-root');  // a page, or one of a notebook's outputs
    const data = JSON.parse(root.querySelector('script.actlab-data').textContent);
    const id = fig.getAttribute('data-figure');
    const canvases = [...fig.querySelectorAll('canvas')];
    const blank = canvases.filter(c => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let ink = 0;
      for (let i = 0; i < d.length; i += 4) {
        const [r, g, b, a] = [d[i], d[i + 1], d[i + 2], d[i + 3]];
        if (a > 0 && Math.abs(r - g) + Math.abs(g - b) + Math.abs(r - b) > 30) ink++;
      }
      return ink < 50;
    }).length;
    return {id, panels: (data.figures[id] || []).length, drawn: canvases.length,
            nodata: fig.querySelectorAll('.nodata').length, blank,
            sized: canvases.every(c => c.width > 100 && c.height > 100)};
  });
}"""
"""JavaScript for ``page.evaluate``: what each figure of the page drew."""


def assert_every_figure_drawn(page: Any) -> list[dict[str, Any]]:
    """Every figure of the page drew one non-blank canvas per panel that has data (and said
    "no finite values" for the others)."""
    figures = page.evaluate(DRAWN_FIGURES)
    assert figures, "the page has no figure"
    for fig in figures:
        assert fig["drawn"] + fig["nodata"] == fig["panels"] > 0, fig
        assert fig["blank"] == 0 and fig["sized"], fig
    return figures
