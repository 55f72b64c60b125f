"""report.html in a real headless browser (Debian's Chromium driven by Playwright).

Checks what a person opening the file would hit: console errors, script errors, figures
that render with no size, and any network request (the file must work offline). Saves a
full-page screenshot under the test's tmp_path and a copy in ``test-output/``.

Without /usr/bin/chromium (or the playwright package) the tests are skipped, except when
the environment variable CI is set: CI installs both, so there a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from actlab.report.html import write_report
from test_report import DIVERGED, synthetic_result

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.browser


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(
            f"{reason}; CI must install it (apt-get install chromium; pip install playwright)"
        )
    pytest.skip(f"{reason} (set CI=1 to make this a failure)")


@pytest.fixture(scope="module")
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing")
    return sync_playwright


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("report-screenshot", {}), ("report-screenshot-depths", {"depths": (2, 8), "width": 32})],
)
def test_report_renders_offline_without_errors(
    sync_playwright, tmp_path: Path, name: str, kwargs: dict
) -> None:
    result = synthetic_result(**kwargs)
    report = write_report(result, tmp_path / "report.html")
    url = report.resolve().as_uri()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.on(
                "console",
                lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None,
            )
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(url, wait_until="load")
            boxes = [
                el.bounding_box() for el in page.query_selector_all("svg.figure, figure img, img")
            ]
            headline = page.inner_text("#recommendation .headline")
            diverged = page.inner_text("#recommendation")
            shot = tmp_path / f"{name}.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    out = REPO / "test-output"
    out.mkdir(exist_ok=True)
    shutil.copyfile(shot, out / shot.name)

    assert errors == []
    assert [r for r in requests if r != url and not r.startswith("data:")] == []
    figure_count = 7 + (1 if kwargs.get("depths") else 0) + 6 * (len(result.groups) - 1)
    assert len(boxes) == figure_count
    assert all(b is not None and b["width"] > 0 and b["height"] > 0 for b in boxes), boxes
    assert headline.startswith("Use ")
    act, seed, epoch = DIVERGED
    assert f"{act}, seed {seed}: diverged at epoch {epoch}" in diverged
    assert shot.stat().st_size > 10_000
