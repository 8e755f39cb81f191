"""The four renderers over one model: the same numbers everywhere, documented columns, a self-contained HTML."""

from __future__ import annotations

import csv
import io
import json
import re
from html import unescape
from html.parser import HTMLParser

import pytest

from layerscope.cli.report import FORMATS
from layerscope.gate import check_pull_gate
from layerscope.report.analysis_json import image_document
from layerscope.report.fleet import ReportFormat, format_for_path, render_report
from layerscope.report.fleet_csv import COLUMNS
from layerscope.report.fleet_html import CHART_IDS, render_html
from layerscope.report.fleet_json import report_document
from layerscope.report.model import Report, build_report
from layerscope.units import format_size
from tests.report.helpers import html_table, image, layer_spec, number
from tests.report.test_model import IMAGES, PARAMS, PROFILE

EVIL = 'reg/evil:<script>alert("x")</script>'


def _report(**kw: object) -> Report:
    gate = check_pull_gate(IMAGES, 100_000_000)
    return build_report(
        IMAGES,
        profile=PROFILE,
        launch=PARAMS,
        launch_profile=PROFILE.name,
        weights={"reg/web:2": 40.0},
        baked=("reg/servercore@sha256:" + "a" * 64,),
        gate=gate,
        **kw,  # type: ignore[arg-type]
    )


def test_every_format_choice_renders() -> None:
    assert tuple(f.value for f in ReportFormat) == FORMATS
    report = _report()
    for fmt in ReportFormat:
        assert render_report(report, fmt).endswith("\n")


@pytest.mark.parametrize(
    ("path", "fmt"),
    [
        (None, "markdown"),
        ("-", "markdown"),
        ("out/report.HTML", "html"),
        ("r.htm", "html"),
        ("r.md", "markdown"),
        ("r.csv", "csv"),
        ("a.b/r.json", "json"),
        ("a.json/report", "markdown"),
    ],
)
def test_format_for_path(path: str | None, fmt: str) -> None:
    assert format_for_path(path) == ReportFormat(fmt)


def test_json_document() -> None:
    report = _report()
    doc = json.loads(render_report(report, ReportFormat.JSON))
    assert doc == report_document(report)
    assert doc["schema"] == "layerscope.report/v1"
    assert set(doc) == {
        "schema",
        "profile",
        "launch_profile",
        "baked",
        "baked_unresolved",
        "images",
        "fleet",
        "gate",
        "warnings",
        "node",
        "node_groups",
    }
    assert doc["node"]["basis"] == "unknown" and doc["node_groups"] == []  # no node given: as analysis/v1 says it
    for entry, original in zip(doc["images"], IMAGES, strict=True):
        # Field for field what `analyze -o json` writes for the same image.
        assert entry["totals"] == image_document(original)["totals"]
        assert entry["base"] == image_document(original)["base"]
        assert entry["pull"]["with_bake"]["compressed_bytes"] == original.totals.pull_compressed_bytes
        assert entry["pull"]["without_bake"]["layers"] == len(original.layers)
        assert sum(entry["split"].values()) == original.totals.compressed_bytes
        assert [layer["digest"] for layer in entry["layers"]] == [layer.digest for layer in original.layers]
    assert doc["images"][2]["drift"]["bytes_to_pull"] == 620_000_000
    fleet = doc["fleet"]
    assert set(fleet) == {
        "images",
        "compressed_bytes",
        "registry",
        "node_cache",
        "pull",
        "node_disk",
        "shared_layers",
        "launch",
        "recommendation",
    }
    assert fleet["recommendation"]["schema"] == "layerscope.recommendation/v1"
    assert [d["runtime"] for d in fleet["node_disk"]] == ["containerd", "containerd+discard", "docker"]
    assert doc["gate"]["exceeded"] and doc["gate"]["offenders"][0] == {
        "reference": "reg/old:1",
        "pull_bytes": 690_000_000,
    }


def test_csv_rows_and_sums() -> None:
    report = _report()
    rows = list(csv.DictReader(io.StringIO(render_report(report, ReportFormat.CSV))))
    assert tuple(rows[0]) == COLUMNS
    images = [r for r in rows if r["kind"] == "image"]
    assert len(images) == len(IMAGES) and len(rows) == len(IMAGES) + sum(len(i.layers) for i in IMAGES)
    for row, original in zip(images, IMAGES, strict=True):
        t = original.totals
        assert row["reference"] == original.reference and row["digest"] == original.digest
        assert int(row["compressed_bytes"]) == t.compressed_bytes
        assert int(row["pull_compressed_bytes"]) == t.pull_compressed_bytes
        assert (row["extracted_bytes"] or None) == (None if t.extracted_bytes is None else str(t.extracted_bytes))
        layers = [r for r in rows if r["kind"] == "layer" and r["digest"] == original.digest]
        assert [int(r["layer_index"]) for r in layers] == list(range(len(original.layers)))
        for column in ("compressed_bytes", "pull_compressed_bytes", "pull_without_bake_compressed_bytes"):
            assert sum(int(r[column]) for r in layers) == int(row[column])
        assert all(r["base_image"] == "" and r["launch_with_bake_seconds"] == "" for r in layers)
    old = images[2]
    assert old["drift_bytes_to_pull"] == "620000000" and old["base_channel"] == "ltsc2019" and old["exact"] == "false"
    assert float(old["launch_without_bake_seconds"]) > float(old["launch_with_bake_seconds"])
    assert images[0]["weight"] == "40"


def test_markdown_shows_the_same_numbers() -> None:
    report = _report()
    text = render_report(report, ReportFormat.MARKDOWN)
    assert text.startswith("## layerscope report: 4 images\n")
    lines = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    for original in IMAGES:
        cells = [c.strip() for c in lines[f"`{original.reference}`"].split("|")[1:-1]]
        t = original.totals
        assert cells[2] == format_size(t.compressed_bytes)
        assert cells[4].rstrip("*") == format_size(t.extracted_bytes)
        assert cells[5] == format_size(t.pull_compressed_bytes)
        assert cells[6] == format_size(t.compressed_bytes)
    assert (
        f"**Registry storage** (distinct layers by digest): **{format_size(report.fleet.registry.compressed_bytes)}**"
        in text
    )
    assert "drift: base 10.0.17763.2928" in text
    assert "**Gate** (--max-pull 100 MB): EXCEEDED" in text
    assert "**root volume" in text and "### Most shared layers (by chain ID" in text


def test_markdown_escapes_table_cells() -> None:
    odd = image("reg/odd|name:1", [layer_spec("x", 10, 20)])
    text = render_report(build_report([odd]), ReportFormat.MARKDOWN)
    assert "`reg/odd\\|name:1`" in text


class _Resources(HTMLParser):
    """Every attribute that could make a browser fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.fetching: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "poster", "data", "xlink:href") and value is not None:
                self.fetching.append((tag, name, value))


def test_html_is_self_contained() -> None:
    text = render_html(_report())
    assert "http://" not in text and "https://" not in text
    assert "//" not in re.sub(r"<script>.*?</script>", "", text, flags=re.S)  # no scheme-relative URL either
    parser = _Resources()
    parser.feed(text)
    assert parser.fetching == []
    assert not {"link", "img", "iframe", "object", "embed", "base"} & set(parser.tags)
    assert "@import" not in text and "url(" not in text
    assert "default-src 'none'" in unescape(text)  # the browser refuses anything a later edit might add
    assert text.count('<svg class="chart"') == 3
    for chart in CHART_IDS:
        assert f'id="{chart}"' in text


def test_html_numbers_match_the_model() -> None:
    report = _report()
    rows = html_table(render_html(report), "images-table")
    assert [r["@data-reference"] for r in rows] == [i.reference for i in IMAGES]
    for row, original in zip(rows, IMAGES, strict=True):
        t = original.totals
        assert row["@data-digest"] == original.digest
        assert number(row["compressed_bytes"]) == t.compressed_bytes
        assert number(row["uncompressed_bytes"]) == t.uncompressed_bytes
        assert number(row["extracted_bytes"]) == t.extracted_bytes
        assert number(row["pull_compressed_bytes"]) == t.pull_compressed_bytes
        assert number(row["pull_without_bake_compressed_bytes"]) == t.compressed_bytes
    old = next(i for i in report.images if i.reference == "reg/old:1")
    assert old.launch is not None
    assert float(rows[2]["launch_with_bake_seconds"]) == pytest.approx(old.launch.with_bake_seconds, abs=0.001)


def test_html_escapes_everything() -> None:
    evil = image(EVIL, [layer_spec("e", 10, 20)], warnings=('<img src=x onerror="alert(1)">',))
    text = render_html(build_report([evil], launch=PARAMS, warnings=["<b>bold</b>"]))
    assert "<script>alert" not in text and "<img" not in text and "<b>bold" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text


def test_html_without_launch_estimates_or_profile() -> None:
    text = render_html(build_report(IMAGES))
    assert 'id="chart-launch"' not in text and text.count('<svg class="chart"') == 2
    assert 'id="recommendation"' not in text and "nothing baked" in text
