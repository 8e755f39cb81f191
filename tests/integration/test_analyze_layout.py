"""`layerscope analyze oci:DIR:TAG` on the checked-in fixtures, against independently computed truth."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zstandard

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import raw_layer, simple_image, write_image_layout
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


def _catalog_ratio(group: str) -> float:
    """The extracted/compressed ratio of a group, read straight from the shipped data file (not via layerscope)."""
    data = Path(__file__).resolve().parents[2] / "layerscope" / "catalog" / "data" / "extracted-estimate.json"
    ratio: float = next(g["ratio"] for g in json.loads(data.read_text())["groups"] if g["group"] == group)
    return ratio


def test_foreign_layers_are_not_invented(fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    # windows-app: two foreign Server Core ltsc2019 layers the catalog knows by digest but has no exact figure
    # for: the extracted size is the documented ratio estimate, labelled so; the tar size stays unknown.
    doc = layerscope("analyze", f"oci:{fixture_layout}:windows-app", "-o", "json").json()["images"][0]
    foreign = [layer for layer in doc["layers"] if layer["foreign"]]
    assert len(foreign) == 2
    ratio = _catalog_ratio("servercore")
    for layer in foreign:
        assert layer["size_source"] == "estimated"
        assert layer["extracted_bytes"] == round(layer["compressed_bytes"] * ratio)
        assert layer["uncompressed_bytes"] is None and layer["files"] is None
    assert doc["totals"]["exact"] is False and doc["totals"]["uncompressed_bytes"] is None
    # A foreign layer nothing is known about (a Linux image: no Windows base to match) is unknown, not zero.
    app = fixturegen.make_layer([fixturegen.file("app/bin", b"x" * 5000)], "gzip")
    stranger = fixturegen.foreign_layer("sha256:" + "5" * 64, 123_456_789, "sha256:" + "6" * 64)
    ref = write_image_layout(tmp_path / "lay", "stranger", simple_image([stranger, app]))
    run = layerscope("analyze", ref, "-o", "json")
    assert run.exit_code == 0, run.stderr
    image = run.json()["images"][0]
    unknown = image["layers"][0]
    assert unknown["foreign"] is True and unknown["size_source"] == "unknown"
    assert unknown["compressed_bytes"] == 123_456_789
    assert unknown["uncompressed_bytes"] is None and unknown["extracted_bytes"] is None and unknown["files"] is None
    assert image["totals"]["extracted_bytes"] is None and image["totals"]["uncompressed_bytes"] is None
    assert image["totals"]["pull_extracted_bytes"] is None


def test_rounded_catalog_figures_are_labelled_approximate(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    """Microsoft's "2.76 GB" for the ltsc2022 RTM base layer is rounded: `catalog-approx`, and an estimate in
    every total (issue #12 item 13)."""
    base = fixturegen.foreign_layer(
        "sha256:8f616e6e9eec767c425fd9346648807d1b658d20ff6097be1d955aac69c26642",
        1_251_699_055,
        "sha256:c18686406f96b263d986714a2d88add06ea9ddbb3e52fb936222711da7d9d395",
    )
    app = fixturegen.make_layer([fixturegen.file("Files/app.exe", b"x" * 3000)], "gzip")
    image = simple_image([base, app], os_name="windows", os_version="10.0.20348.473")
    ref = write_image_layout(tmp_path / "lay", "ws2022", image)
    doc = layerscope("analyze", ref, "-o", "json").json()["images"][0]
    rtm = doc["layers"][0]
    assert (rtm["size_source"], rtm["extracted_bytes"]) == ("catalog-approx", 2_760_000_000)
    assert doc["layers"][1]["size_source"] == "measured"
    assert doc["totals"]["exact"] is False and doc["totals"]["extracted_bytes"] == 2_760_000_000 + 3000
    table = layerscope("analyze", ref)
    assert "catalog-approx" in table.stdout and "total (incl. estimates)" in table.stdout
    rows = layerscope("analyze", ref, "-o", "csv").stdout.splitlines()
    assert rows[1].endswith(",2760000000,,catalog-approx")


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
def test_other_formats_render(fmt: str, fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    run = layerscope("analyze", f"oci:{fixture_layout}:windows-app", "-o", fmt)
    assert run.exit_code == 0, run.stderr
    truth = image_truth(fixture_layout, "windows-app")
    for layer in truth.layers:
        assert layer.digest[7:19] in run.stdout


def _expected_estimate(want: LayerTruth) -> tuple[str, int | None]:
    """What `--estimate` must say for a fixture layer, from its independent truth: the blob size for a tar,
    the trailer for a single gzip member, the frame header for a single zstd frame; a multi-member gzip
    (whose last member lies inside the tail window in these fixtures) or multi-frame zstd is unknown."""
    if want.compression == "none":
        return "descriptor", want.size
    if want.compression == "gzip":
        return ("gzip-isize", want.uncompressed_size) if want.gzip_members == 1 else ("unknown", None)
    return ("zstd-header", want.uncompressed_size) if want.zstd_frames == 1 else ("unknown", None)


def _compressible_layers(tmp_path: Path) -> Path:
    """A layout whose multi-member gzip and multi-frame zstd layers compress ~8:1, so that the last member's
    ISIZE and the first frame's content size each pass the ratio band on their own (issue #18 item 6)."""
    data = fixturegen.random_bytes(12_000, "est") + fixturegen.repeated_bytes(108_000)
    entries = [fixturegen.file(f"data/f{i}", data[i:] + data[:i]) for i in range(3)]
    gz = fixturegen.make_layer(entries, "gzip-multimember", parts=2)
    zs = fixturegen.make_layer(entries, "zstd-multiframe", parts=3)
    write_image_layout(tmp_path / "lay", "compressible", simple_image([gz, zs]))
    return tmp_path / "lay"


def test_estimate_mode_is_labelled_and_close(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    seen = set()
    extra = _compressible_layers(tmp_path)
    cases = [(fixture_layout, t) for t in ("linux-gzip", "linux-gzip-multimember", "linux-zstd", "linux-uncompressed")]
    for layout, tag in [*cases, (extra, "compressible")]:
        run = layerscope("analyze", f"oci:{layout}:{tag}", "--estimate", "-o", "json")
        assert run.exit_code == 0, run.stderr
        doc = run.json()["images"][0]
        truth = image_truth(layout, tag)
        for got, want in zip(doc["layers"], truth.layers, strict=True):
            assert isinstance(want, LayerTruth)
            source, uncompressed = _expected_estimate(want)
            assert (got["size_source"], got["uncompressed_bytes"]) == (source, uncompressed), (tag, got["digest"])
            assert got["compression"] == want.compression
            assert got["extracted_bytes"] is None and got["files"] is None
            seen.add(source)
        if doc["totals"]["uncompressed_bytes"] is not None:  # a total of estimates is not exact
            assert doc["totals"]["exact"] is False
    # Every label occurs, so no branch above is vacuous.
    assert seen == {"descriptor", "gzip-isize", "zstd-header", "unknown"}


def test_estimate_help_states_the_multi_member_gzip_limit(layerscope: Callable[..., Run]) -> None:
    text = " ".join(layerscope("analyze", "--help").stdout.split())
    assert "multi-member gzip whose last member exceeds 60 KiB" in text


def test_estimate_fails_like_exact_mode_on_bytes_that_are_not_a_layer(
    tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    text = b"This is a README that was pushed as a layer.\n" * 200
    layer = raw_layer(text, "application/vnd.oci.image.layer.v1.tar+gzip", "sha256:" + "7" * 64)
    ref = write_image_layout(tmp_path / "lay", "text", simple_image([layer]))
    exact = layerscope("analyze", ref, "-o", "json", "--no-store")
    estimated = layerscope("analyze", ref, "-o", "json", "--no-store", "--estimate")
    assert exact.exit_code == 1 and exact.stdout == "", exact.stderr
    assert estimated.exit_code == 1 and estimated.stdout == "", estimated.stderr
    assert "neither gzip, zstd nor a tar stream" in estimated.stderr
    assert estimated.stderr.count("\n") == 1 and "Traceback" not in estimated.stderr


def test_estimate_reads_zstd_behind_a_skippable_frame(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    tar = fixturegen.tar_bytes(fixturegen.linux_app_entries("skippable"))
    skippable = (0x184D2A5A).to_bytes(4, "little") + (24).to_bytes(4, "little") + b"\x00" * 24
    blob = skippable + zstandard.ZstdCompressor(write_content_size=True).compress(tar)
    layer = raw_layer(blob, "application/vnd.oci.image.layer.v1.tar+zstd", "sha256:" + hashlib.sha256(tar).hexdigest())
    ref = write_image_layout(tmp_path / "lay", "skippable", simple_image([layer]))
    got = layerscope("analyze", ref, "-o", "json", "--estimate").json()["images"][0]["layers"][0]
    assert (got["compression"], got["size_source"], got["uncompressed_bytes"]) == ("zstd", "zstd-header", len(tar))
    exact = layerscope("analyze", ref, "-o", "json", "--no-store").json()["images"][0]["layers"][0]
    assert exact["uncompressed_bytes"] == len(tar)


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
