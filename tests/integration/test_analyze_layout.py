"""`layerscope analyze oci:DIR:TAG` on the checked-in fixtures, against independently computed truth."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Run
from tests.support.truth import ForeignTruth, ImageTruth, LayerTruth, image_truth

SINGLE = ["linux-gzip", "linux-gzip-multimember", "linux-zstd", "linux-uncompressed", "windows-style", "windows-app"]


def assert_matches_truth(doc: dict[str, Any], truth: ImageTruth) -> None:
    """Every number layerscope reports equals the independent computation (or is null when unknowable)."""
    assert doc["digest"] == truth.manifest_digest
    assert doc["index_digest"] == truth.index_digest
    assert doc["config_digest"] == truth.config_digest
    assert doc["media_type"] == truth.manifest_media_type
    assert len(doc["layers"]) == len(truth.layers)
    for got, want in zip(doc["layers"], truth.layers, strict=True):
        assert got["digest"] == want.digest
        assert got["compressed_bytes"] == want.size
        if isinstance(want, ForeignTruth):
            assert got["foreign"] is True
            assert got["diff_id"] == want.diff_id
            continue
        assert isinstance(want, LayerTruth)
        assert got["foreign"] is False
        assert got["diff_id"] == want.diff_id
        assert got["compression"] == want.compression
        assert got["uncompressed_bytes"] == want.uncompressed_size
        assert got["extracted_bytes"] == want.extracted_bytes
        assert got["files"] == want.files
        assert got["dirs"] == want.dirs
        assert got["symlinks"] == want.symlinks
        assert got["hardlinks"] == want.hardlinks
        assert got["whiteouts"] == want.whiteouts
        assert got["size_source"] in ("measured", "store")
        if want.windows_files_bytes or want.windows_hives_bytes:
            assert got["windows_files_bytes"] == want.windows_files_bytes
            assert got["windows_hives_bytes"] == want.windows_hives_bytes
    totals = doc["totals"]
    assert totals["compressed_bytes"] == truth.compressed_bytes
    if truth.uncompressed_bytes is not None:
        assert totals["uncompressed_bytes"] == truth.uncompressed_bytes
        assert totals["extracted_bytes"] == truth.extracted_bytes


@pytest.mark.parametrize("tag", SINGLE)
def test_single_images_match_truth(tag: str, fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    run = layerscope("analyze", f"oci:{fixture_layout}:{tag}", "-o", "json", "--no-progress")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["schema"] == "layerscope.analysis/v1"
    assert len(doc["images"]) == 1
    assert_matches_truth(doc["images"][0], image_truth(fixture_layout, tag))


def test_index_analyses_every_platform_and_skips_attestations(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    run = layerscope("analyze", f"oci:{fixture_layout}:multi-platform", "-o", "json")
    assert run.exit_code == 0, run.stderr
    images = run.json()["images"]
    platforms = sorted(f"{i['platform']['os']}/{i['platform']['architecture']}" for i in images)
    assert "unknown/unknown" not in platforms
    assert len(platforms) >= 2
    for image in images:
        p = image["platform"]
        spec = f"{p['os']}/{p['architecture']}" + (f"/{p['variant']}" if p["variant"] else "")
        assert_matches_truth(image, image_truth(fixture_layout, "multi-platform", spec))


def test_platform_filter(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    run = layerscope("analyze", f"oci:{fixture_layout}:multi-platform", "--platform", "windows/amd64", "-o", "json")
    assert run.exit_code == 0, run.stderr
    images = run.json()["images"]
    assert [i["platform"]["os"] for i in images] == ["windows"]
    missing = layerscope("analyze", f"oci:{fixture_layout}:multi-platform", "--platform", "linux/s390x")
    assert missing.exit_code == 4
    assert "platforms in this index" in missing.stderr


def test_second_run_is_served_from_the_store(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    first = layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "-o", "json").json()
    second = layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "-o", "json").json()
    sources = [layer["size_source"] for layer in second["images"][0]["layers"]]
    assert set(sources) == {"store"}
    strip = ("size_source",)
    for a, b in zip(first["images"][0]["layers"], second["images"][0]["layers"], strict=True):
        assert {k: v for k, v in a.items() if k not in strip} == {k: v for k, v in b.items() if k not in strip}


def test_foreign_layers_are_not_invented(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    doc = layerscope("analyze", f"oci:{fixture_layout}:windows-app", "-o", "json").json()["images"][0]
    foreign = [layer for layer in doc["layers"] if layer["foreign"]]
    assert len(foreign) == 2
    for layer in foreign:
        # Without a catalog figure the sizes of a layer we never downloaded are unknown, not zero.
        if layer["size_source"] == "unknown":
            assert layer["uncompressed_bytes"] is None and layer["extracted_bytes"] is None


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_other_formats_render(fmt: str, fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    run = layerscope("analyze", f"oci:{fixture_layout}:windows-app", "-o", fmt)
    assert run.exit_code == 0, run.stderr
    truth = image_truth(fixture_layout, "windows-app")
    for layer in truth.layers:
        assert layer.digest[7:19] in run.stdout


def test_estimate_mode_is_labelled_and_close(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    for tag in ("linux-gzip", "linux-zstd", "linux-uncompressed"):
        doc = layerscope("analyze", f"oci:{fixture_layout}:{tag}", "--estimate", "-o", "json").json()["images"][0]
        truth = image_truth(fixture_layout, tag)
        for got, want in zip(doc["layers"], truth.layers, strict=True):
            assert isinstance(want, LayerTruth)
            assert got["size_source"] in ("gzip-isize", "zstd-header", "descriptor", "unknown")
            assert got["extracted_bytes"] is None and got["files"] is None
            if got["size_source"] in ("gzip-isize", "descriptor"):
                assert got["uncompressed_bytes"] == want.uncompressed_size
            elif got["size_source"] == "zstd-header":
                assert got["uncompressed_bytes"] <= want.uncompressed_size  # first frame only
            else:
                assert got["uncompressed_bytes"] is None


def test_estimate_with_exact_fallback_never_leaves_unknowns(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    doc = layerscope(
        "analyze", f"oci:{fixture_layout}:linux-zstd", "--estimate", "--estimate-fallback", "exact", "-o", "json"
    ).json()["images"][0]
    assert all(layer["uncompressed_bytes"] is not None for layer in doc["layers"])


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["analyze", "Not A Ref"], 2, "invalid reference"),
        (["analyze", "oci:/nonexistent/layout"], 4, "not an OCI image layout"),
        (["analyze", "--platform", "bad//x", "oci:/x"], 2, "invalid platform"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    args: list[str], code: int, text: str, layerscope: Callable[..., Run]
) -> None:
    run = layerscope(*args)
    assert run.exit_code == code
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0] and "hint:" in lines[0]
    assert "Traceback" not in run.stderr


def test_max_pull_gate_exits_6_after_writing_the_output(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    out = tmp_path / "a.json"
    args = ("analyze", f"oci:{fixture_layout}:windows-app", "--profile", "fixtures/demo-node.yaml", "-o", "json")
    over = layerscope(*args, "--output", str(out), "--max-pull", "500MB")
    assert over.exit_code == 6
    assert over.stderr.strip().count("\n") == 0 and "gate exceeded" in over.stderr
    pulled = json.loads(out.read_text())["images"][0]["totals"]["pull_compressed_bytes"]
    assert 500_000_000 < pulled < 1_000_000_000
    assert layerscope(*args, "--max-pull", "1GB").exit_code == 0
    assert layerscope(*args, "--max-pull", "lots").exit_code == 2
