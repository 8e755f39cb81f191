"""`layerscope report` end to end on twelve images (offline `oci:` layouts): every format agrees with `analyze`."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerscope.cli.report import ReportProgress
from layerscope.units import format_size
from tests.integration.conftest import Run
from tests.report.conftest import Fleet
from tests.report.helpers import html_table, number

Cli = Callable[..., Run]


def _report(layerscope: Cli, fleet: Fleet, tmp_path: Path, fmt: str, *extra: str) -> str:
    out = tmp_path / f"report.{fmt}"
    run = layerscope("report", "--workload", str(fleet.workload), "--profile", str(fleet.profile), "-o", fmt,
                     "--output", str(out), "--no-progress", *extra)  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def analysis(fleet: Fleet, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`analyze -o json` over the same twelve images and profile (its own store)."""
    from click.testing import CliRunner

    from layerscope.cli import cli

    store = tmp_path_factory.mktemp("analyze-store") / "m.sqlite3"
    args = ["analyze", *fleet.refs, "--profile", str(fleet.profile), "-o", "json", "--no-progress"]
    result = CliRunner().invoke(cli, args, env={"LAYERSCOPE_STORE": str(store)}, catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_twelve_images_in_four_formats_agree_with_analyze(
    layerscope: Cli, fleet: Fleet, analysis: dict[str, Any], tmp_path: Path
) -> None:
    expected = analysis["images"]
    assert len(expected) == len(fleet.refs) >= 10

    doc = json.loads(_report(layerscope, fleet, tmp_path, "json"))
    assert doc["schema"] == "layerscope.report/v1" and doc["profile"] == "demo-eks-ws2019-2022-09"
    assert doc["baked"] == analysis["baked"]
    assert [i["reference"] for i in doc["images"]] == [i["reference"] for i in expected]
    for got, want in zip(doc["images"], expected, strict=True):
        assert got["digest"] == want["digest"]
        assert got["totals"] == want["totals"]
        assert got["base"] == want["base"] and got["drift"] == want["drift"]
        assert [(x["digest"], x["cached"], x["compressed_bytes"]) for x in got["layers"]] == [
            (x["digest"], x["cached"], x["compressed_bytes"]) for x in want["layers"]
        ]
        assert got["weight"] == fleet.weights[got["reference"]]

    # Fleet dedup recomputed here from analyze's own layers: by digest, and by chain ID.
    digests = {x["digest"]: x["compressed_bytes"] for i in expected for x in i["layers"]}
    # The WS2019 node launches the Windows images only: the Linux one is listed, not applicable (issue #17).
    runs = [i for i in expected if i["platform"]["os"] == "windows"]
    assert 0 < len(runs) < len(expected)
    assert [i["applicable"] for i in doc["images"]] == [i in runs for i in expected]
    assert all((i["not_applicable"] is None) == i["applicable"] for i in doc["images"])
    assert sum(i["weight"] for i in doc["images"]) == sum(fleet.weights.values())  # the workload's weights
    chains = {x["chain_id"]: x["compressed_bytes"] for i in runs for x in i["layers"]}
    fleet_doc = doc["fleet"]
    assert fleet_doc["registry"]["layers"] == len(digests) and fleet_doc["registry"]["compressed_bytes"] == sum(
        digests.values()
    )
    run_digests = {x["digest"] for i in runs for x in i["layers"]}
    assert fleet_doc["node_cache"]["layers"] == len(chains) > len(run_digests)  # the runtime layer on two bases
    assert fleet_doc["node_cache"]["compressed_bytes"] == sum(chains.values())
    assert fleet_doc["pull"]["with_bake_compressed_bytes"] == sum(i["totals"]["pull_compressed_bytes"] for i in runs)
    drifted = [i["reference"] for i in doc["images"] if i["drift"]]
    assert len(drifted) == 4 and all(":billing" in r or ":reports" in r or ":admin" in r or ":windows-app" in r
                                     for r in drifted)  # fmt: skip
    rec = fleet_doc["recommendation"]
    assert rec["schema"] == "layerscope.recommendation/v1" and rec["root_volume_bytes"] % 2**30 == 0
    assert fleet_doc["shared_layers"][0]["images"] == 10  # every Server Core image shares the RTM base layer
    assert fleet_doc["launch"]["without_bake_seconds_per_day"] > fleet_doc["launch"]["with_bake_seconds_per_day"]

    rows = list(csv.DictReader(io.StringIO(_report(layerscope, fleet, tmp_path, "csv"))))
    images = [r for r in rows if r["kind"] == "image"]
    assert len(images) == len(expected)
    assert len(rows) - len(images) == sum(len(i["layers"]) for i in expected)
    for row, want in zip(images, expected, strict=True):
        t = want["totals"]
        assert row["reference"] == want["reference"] and row["digest"] == want["digest"]
        for key in ("compressed_bytes", "uncompressed_bytes", "extracted_bytes", "pull_compressed_bytes"):
            assert row[key] == ("" if t[key] is None else str(t[key])), key
        assert row["exact"] == ("true" if t["exact"] else "false")

    markdown = _report(layerscope, fleet, tmp_path, "markdown")
    table = {ln.split("|")[1].strip().strip("`"): ln for ln in markdown.splitlines() if ln.startswith("| `")}
    for want in expected:
        cells = [c.strip() for c in table[want["reference"]].split("|")[1:-1]]
        t = want["totals"]
        assert cells[2:7] == [
            format_size(t["compressed_bytes"]),
            format_size(t["uncompressed_bytes"]),
            format_size(t["extracted_bytes"]) + ("" if t["exact"] else "*"),
            format_size(t["pull_compressed_bytes"]),
            format_size(t["compressed_bytes"]),
        ]
        assert (cells[9] != "-") == (want["drift"] is not None)

    html = _report(layerscope, fleet, tmp_path, "html")
    html_rows = html_table(html, "images-table")
    assert [r["@data-reference"] for r in html_rows] == [i["reference"] for i in expected]
    for html_row, want in zip(html_rows, expected, strict=True):
        t = want["totals"]
        assert html_row["@data-digest"] == want["digest"]
        for key in ("compressed_bytes", "uncompressed_bytes", "extracted_bytes", "pull_compressed_bytes"):
            assert number(html_row[key]) == t[key], key
    assert html.count('<svg class="chart"') == 3


def test_refs_give_the_same_report_with_weight_one(layerscope: Cli, fleet: Fleet) -> None:
    run = layerscope("report", *fleet.refs[:3], "--profile", str(fleet.profile), "-o", "json", "--no-progress")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert [i["reference"] for i in doc["images"]] == list(fleet.refs[:3])
    assert {i["weight"] for i in doc["images"]} == {1.0}


def test_without_a_profile(layerscope: Cli, fleet: Fleet) -> None:
    run = layerscope("report", *fleet.refs[:2], "-o", "json", "--no-progress")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["profile"] is None and doc["launch_profile"] == "eks-ws2019-core" and doc["baked"] == []
    assert doc["fleet"]["recommendation"] is None
    assert any("no --profile" in w for w in doc["warnings"])
    for image in doc["images"]:  # nothing baked: every layer is pulled, both ways
        assert image["pull"]["with_bake"] == image["pull"]["without_bake"]
        assert image["launch"]["with_bake_seconds"] == image["launch"]["without_bake_seconds"]


def test_fail_over_writes_the_report_then_exits_6(layerscope: Cli, fleet: Fleet, tmp_path: Path) -> None:
    out = tmp_path / "out" / "gate.html"
    out.parent.mkdir()
    run = layerscope("report", "--workload", str(fleet.workload), "--profile", str(fleet.profile),
                     "--output", str(out), "--fail-over", "500MB", "--no-progress")  # fmt: skip
    assert run.exit_code == 6
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("layerscope: gate exceeded: ")
    assert re.search(
        r"fleet:billing-1.2 pulls 627 MB \(627,\d{3},\d{3} B\) beyond the baked set, "
        r"over the limit of 500 MB \(500,000,000 B\)",
        lines[-1],
    )
    assert "3 more image(s) over the limit" in lines[-1]
    text = out.read_text(encoding="utf-8")  # written first, in the format its suffix names
    assert text.startswith("<!DOCTYPE html>") and "badge bad" in text
    assert [p.name for p in out.parent.iterdir()] == ["gate.html"]  # no temp file left behind

    ok = layerscope("report", *fleet.refs[:5], "--profile", str(fleet.profile), "-o", "json",
                    "--fail-over", "1GB", "--no-progress")  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert ok.json()["gate"]["exceeded"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give image references or --workload FILE"),
        (("oci:x:y", "--workload", "w.yaml"), "not both"),
        (("oci:x:y", "--fail-over", "lots"), "invalid size 'lots'"),
        (("oci:x:y", "-o", "pdf"), "'pdf' is not one of"),
    ],
)
def test_usage_errors(layerscope: Cli, args: tuple[str, ...], message: str) -> None:
    run = layerscope("report", *args, "--no-progress")
    assert run.exit_code == 2
    assert message in run.stderr


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_counts_report_images_and_all_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", _Terminal())
    observer = ReportProgress(True, ["oci:a:1", "oci:a:2"])
    progress = observer._progress
    assert progress is not None
    with observer:
        observer.image_started("oci:a:1")
        observer.image_started("oci:a:1")  # the same reference resolved again (another platform)
        observer.image_started("oci:baked:1")  # a baked-set image: not one of the report's
        observer.layer_started("sha256:" + "1" * 64, 1000)
        observer.layer_started("sha256:" + "2" * 64, 500)
        observer.layer_progress("sha256:" + "1" * 64, 700)
        images, total = progress.tasks[0], progress.tasks[1]
        assert (images.completed, images.total) == (1, 2)
        assert (total.completed, total.total) == (700, 1500)
    assert ReportProgress(False, ["oci:a:1"])._progress is None


def test_an_unresolved_baked_image_is_a_warning_everywhere(layerscope: Cli, fleet: Fleet, tmp_path: Path) -> None:
    # Issue #17 item 3: a baked image that cannot be resolved was only on stderr; the JSON and HTML carry it now.
    missing = f"oci:{tmp_path / 'no-such-layout'}:servercore"
    doc = json.loads(fleet.profile.read_text(encoding="utf-8"))
    doc["baked"].append({"reference": missing})
    profile = tmp_path / "node.json"
    profile.write_text(json.dumps(doc), encoding="utf-8")
    outputs = {}
    for fmt in ("json", "html"):
        out = tmp_path / f"r.{fmt}"
        run = layerscope("report", *fleet.refs[:3], "--profile", str(profile), "-o", fmt, "--output", str(out),
                         "--no-progress")  # fmt: skip
        assert run.exit_code == 0, run.stderr
        outputs[fmt] = out.read_text(encoding="utf-8")
    report = json.loads(outputs["json"])
    assert [u["reference"] for u in report["baked_unresolved"]] == [missing]
    assert missing in report["baked"]
    assert any(w.startswith(f"baked image {missing} not resolved") for w in report["warnings"])
    html = outputs["html"]
    header = html[html.index("<header>") : html.index("</header>")]
    assert re.search(re.escape(f"<code>{missing}</code>") + r' <span class="badge bad"[^>]*>unresolved</span>', header)
    assert 'id="warnings"' in html and "not resolved" in html[html.index('id="warnings"') :]
    assert "unresolved bake</span>" in html  # the cache columns say a "no" may be wrong
