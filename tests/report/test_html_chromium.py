"""The HTML report in headless Chromium: it renders, the three charts are drawn, tables sort, no script errors.

Needs the `chromium` binary (Debian package; `make chromium-bin`): skipped without it locally, failed when CI=true.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from layerscope.report.fleet_html import APP_PULL, BASE_PULL, CACHED, CHART_IDS, WITH_BAKE, WITHOUT_BAKE
from scripts import chromium
from tests.integration.conftest import Run
from tests.report.conftest import Fleet


@pytest.fixture(scope="module")
def browser() -> str:
    """Path of Chromium; skip (locally) or fail (CI=true) when it is missing."""
    binary = chromium.find_chromium()
    if binary is None:
        reason = "chromium is not installed (Debian/Ubuntu: apt-get install chromium, or `make chromium-bin`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return binary


@pytest.fixture
def report_html(layerscope: object, fleet: Fleet, tmp_path: Path) -> Path:
    """The twelve-image report as HTML on disk."""
    out = tmp_path / "report.html"
    run: Run = layerscope(  # type: ignore[operator]
        "report", "--workload", str(fleet.workload), "--profile", str(fleet.profile), "--output", str(out),
        "--no-progress",
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return out


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_renders_with_visible_charts(browser: str, report_html: Path, tmp_path: Path) -> None:
    png_path = tmp_path / "report.png"
    stderr = chromium.screenshot(browser, report_html, png_path, width=1400, height=2000)
    assert chromium.console_errors(stderr) == []
    data = png_path.read_bytes()
    assert len(data) > 50_000  # a blank page compresses to a few kB
    png = chromium.decode_png(data)
    assert (png.width, png.height) == (1400, 2000)
    colours = png.colours(step=2)
    assert len(colours) > 200  # text, bars and antialiasing: far from blank
    # Every series of the two charts above the fold is painted, as solid areas of its exact colour (sampled every
    # second pixel: 200 samples are some 800 px; the bars are bytes × launches a day, so light images are short).
    for colour in (CACHED, BASE_PULL, WITH_BAKE, WITHOUT_BAKE):
        assert colours[_rgb(colour)] > 200, colour
    # The app layers are tiny next to the base, but a minimum width keeps them visible.
    assert colours[_rgb(APP_PULL)] > 10


def test_dom_after_scripts(browser: str, report_html: Path) -> None:
    dom, stderr = chromium.dump_dom(browser, report_html)
    assert chromium.console_errors(stderr) == []
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag is not None
    assert 'data-ready="1"' in html_tag.group(0)  # the sort script ran to its end
    assert "data-js-errors" not in html_tag.group(0)
    for chart in CHART_IDS:
        assert re.search(rf'<svg class="chart" id="{chart}"', dom), chart
    assert dom.count('class="seg s') > 12 * 3
    assert 'aria-sort="none"' in dom  # headers were made sortable


def test_sorting_in_the_browser(browser: str, report_html: Path, tmp_path: Path) -> None:
    # A copy with a probe that clicks the "compressed" header twice and records the row order each time.
    probe = """<script>
    var table = document.getElementById("images-table");
    var th = Array.prototype.find.call(table.tHead.rows[0].cells, function (c) {
      return c.textContent === "compressed";
    });
    function order() {
      return Array.prototype.map.call(table.tBodies[0].rows, function (r) {
        return r.querySelector('[data-field="compressed_bytes"]').getAttribute("data-sort");
      }).join(",");
    }
    th.click(); document.body.setAttribute("data-asc", order() + "|" + th.getAttribute("aria-sort"));
    th.click(); document.body.setAttribute("data-desc", order() + "|" + th.getAttribute("aria-sort"));
    </script></body>"""
    page = tmp_path / "probe.html"
    page.write_text(report_html.read_text(encoding="utf-8").replace("</body>", probe), encoding="utf-8")
    dom, stderr = chromium.dump_dom(browser, page)
    assert chromium.console_errors(stderr) == []
    asc = re.search(r'data-asc="([^"|]*)\|ascending"', dom)
    desc = re.search(r'data-desc="([^"|]*)\|descending"', dom)
    assert asc and desc, dom[:500]
    up = [int(v) for v in asc.group(1).split(",")]
    down = [int(v) for v in desc.group(1).split(",")]
    assert len(up) == 12 and up == sorted(up) and down == sorted(up, reverse=True)


def test_the_checks_catch_a_broken_page(browser: str, report_html: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.html"
    text = report_html.read_text(encoding="utf-8")
    injected = '<img src="https://example.invalid/x.png"><script>undefinedFunction();</script></body>'
    broken.write_text(text.replace("</body>", injected), encoding="utf-8")
    dom, stderr = chromium.dump_dom(browser, broken)
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag is not None and "undefinedFunction is not defined" in html_tag.group(0)
    errors = chromium.console_errors(stderr)
    assert any("undefinedFunction" in line for line in errors)
    # The page's Content-Security-Policy refuses a remote resource someone might add later.
    assert any("https://example.invalid/x.png" in line and "Content Security Policy" in line for line in errors)
