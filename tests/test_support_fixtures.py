"""Tests of the fixture generator (scripts/fixturegen.py) and the independent ground truth."""

from __future__ import annotations

import ast
import csv
import gzip
import json
from dataclasses import asdict
from pathlib import Path

import pytest

from scripts import fixturegen
from tests.support import truth
from tests.support.ocilayout import OciLayout
from tests.support.paths import FIXTURE_LAYOUT, ROOT


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_generation_is_byte_identical(tmp_path: Path) -> None:
    fixturegen.write_layout(tmp_path / "a")
    fixturegen.write_layout(tmp_path / "b")
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b
    assert sum(len(v) for v in a.values()) < 3 * 1024 * 1024


def test_checked_in_layout_is_current(tmp_path: Path) -> None:
    if not (FIXTURE_LAYOUT / "index.json").exists():
        pytest.skip("fixtures/layout is not generated (run `make fixtures`)")
    fixturegen.write_layout(tmp_path)
    assert _tree(FIXTURE_LAYOUT) == _tree(tmp_path), "fixtures/layout is stale: run `make fixtures`"


def test_make_fixtures_cli_rewrites_and_prunes(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "layout"
    (out / "blobs" / "sha256").mkdir(parents=True)
    stale = out / "blobs" / "sha256" / ("f" * 64)
    stale.write_bytes(b"stale")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_fixtures.py"), str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "windows-app" in done.stdout
    assert not stale.exists()
    tags = OciLayout(out).tags()
    assert list(tags) == list(fixturegen.TAGS)


def test_declared_truth_matches_independent_truth(fixture_set: fixturegen.FixtureSet) -> None:
    layers = fixture_set.layers()
    assert len(layers) >= 10
    for digest, layer in layers.items():
        computed = truth.layer_truth(layer.blob.data)
        assert computed.as_dict() == asdict(layer.expected), digest
        assert computed.diff_id == layer.diff_id


def test_layout_truth_and_configs_agree(fixture_layout: Path) -> None:
    layout = OciLayout(fixture_layout)
    truths = truth.layout_layer_truths(fixture_layout)
    assert truths
    for tag in fixturegen.TAGS:
        it = truth.image_truth(fixture_layout, tag, platform="linux/amd64" if tag == "multi-platform" else None)
        diff_ids = it.config["rootfs"]["diff_ids"]
        assert [layer.diff_id for layer in it.layers] == diff_ids
        manifest = layout.json_blob(it.manifest_digest)
        assert [layer.size for layer in it.layers] == [d["size"] for d in manifest["layers"]]
        for layer in it.layers:
            if isinstance(layer, truth.LayerTruth):
                assert truths[layer.digest] == layer


def test_layer_features(fixture_layout: Path) -> None:
    t = {
        tag: truth.image_truth(fixture_layout, tag, platform="linux/arm64" if tag == "multi-platform" else None)
        for tag in fixturegen.TAGS
    }
    gz = [x for x in t["linux-gzip"].layers if isinstance(x, truth.LayerTruth)]
    assert len(gz) == 3 and all(x.compression == "gzip" and x.gzip_members == 1 for x in gz)
    assert sum(x.whiteouts for x in gz) == 3  # .wh.empty.conf, .wh..wh..opq, .wh.empty.css
    assert all(x.hardlinks == 1 and x.symlinks >= 1 for x in gz[:2])
    mm = t["linux-gzip-multimember"].layers[1]
    assert isinstance(mm, truth.LayerTruth) and mm.gzip_members is not None and mm.gzip_members >= 3
    zs = t["linux-zstd"].layers
    assert all(isinstance(x, truth.LayerTruth) and x.compression == "zstd" for x in zs)
    assert isinstance(zs[1], truth.LayerTruth) and zs[1].zstd_frames is not None and zs[1].zstd_frames >= 2
    for x in t["linux-uncompressed"].layers:
        assert isinstance(x, truth.LayerTruth)
        assert x.compression == "none" and x.digest == x.diff_id and x.size == x.uncompressed_size
    for x in t["windows-style"].layers:
        assert isinstance(x, truth.LayerTruth)
        assert x.windows_files_bytes > 0 and x.windows_hives_bytes > 0
        assert x.windows_files_bytes + x.windows_hives_bytes == x.extracted_bytes
    assert t["multi-platform"].config["architecture"] == "arm64"


def test_multi_platform_index(fixture_layout: Path) -> None:
    layout = OciLayout(fixture_layout)
    index = layout.json_blob(layout.resolve("multi-platform")["digest"])
    assert index["mediaType"] == fixturegen.OCI_INDEX
    platforms = [
        (
            m["platform"]["os"],
            m["platform"]["architecture"],
            m["platform"].get("variant"),
            m["platform"].get("os.version"),
        )
        for m in index["manifests"]
    ]
    assert platforms[:3] == [
        ("linux", "amd64", None, None),
        ("linux", "arm64", "v8", None),
        ("windows", "amd64", None, "10.0.17763.3887"),
    ]
    attestations = [m for m in index["manifests"] if m.get("annotations", {}).get("vnd.docker.reference.type")]
    assert len(attestations) == 2
    for att in attestations:
        assert att["platform"] == {"architecture": "unknown", "os": "unknown"}
        assert att["annotations"]["vnd.docker.reference.type"] == "attestation-manifest"
        assert att["annotations"]["vnd.docker.reference.digest"] in {m["digest"] for m in index["manifests"][:2]}
        manifest = layout.json_blob(att["digest"])
        assert {layer["mediaType"] for layer in manifest["layers"]} == {fixturegen.IN_TOTO}


def test_windows_app_matches_reference_data(fixture_layout: Path) -> None:
    layout = OciLayout(fixture_layout)
    desc = layout.resolve("windows-app")
    assert desc["mediaType"] == fixturegen.DOCKER_MANIFEST
    manifest = layout.json_blob(desc["digest"])
    config = layout.json_blob(manifest["config"]["digest"])
    assert manifest["config"]["mediaType"] == fixturegen.DOCKER_CONFIG
    base, update, *apps = manifest["layers"]
    assert 2 <= len(apps) <= 3
    for foreign in (base, update):
        assert foreign["mediaType"] == fixturegen.DOCKER_FOREIGN
        assert foreign["urls"][0].startswith("https://mcr.microsoft.com/v2/windows/servercore/blobs/")
        assert not layout.has_blob(foreign["digest"])
    assert all(a["mediaType"] == fixturegen.DOCKER_LAYER and layout.has_blob(a["digest"]) for a in apps)
    reference = fixturegen.REFERENCE_DIR / "windows-base-layers.csv"
    if reference.exists():
        rows = {r["digest"]: r for r in csv.DictReader(reference.open(encoding="utf-8"))}
        for layer, role in ((base, "base"), (update, "update")):
            row = rows[layer["digest"]]
            assert (row["family"], row["ltsc"], row["layer_role"]) == ("servercore", "2019", role)
            assert int(row["compressed_bytes"]) == layer["size"]
            assert row["os_version"] == config["os.version"] == "10.0.17763.2928"
    assert (config["os"], config["architecture"]) == ("windows", "amd64")
    labels = [h["created_by"] for h in config["history"] if not h.get("empty_layer")]
    assert labels[:2] == ["Apply image 10.0.17763.2803", "Install update 10.0.17763.2928"]
    assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
    for app, diff_id in zip(apps, config["rootfs"]["diff_ids"][2:], strict=True):
        assert truth.layer_truth(layout.blob(app["digest"])).diff_id == diff_id


def test_big_layer_builder() -> None:
    layer = fixturegen.big_layer(1.5, compression="zstd-multiframe", seed="t", file_size=512 * 1024)
    again = fixturegen.big_layer(1.5, compression="zstd-multiframe", seed="t", file_size=512 * 1024)
    assert layer.blob.data == again.blob.data
    t = truth.layer_truth(layer.blob.data)
    assert t.as_dict() == asdict(layer.expected)
    assert t.extracted_bytes == int(1.5 * 1024 * 1024) and t.files == 3
    assert 0.4 < t.size / t.extracted_bytes < 0.6  # half random, half repeated
    win = fixturegen.big_layer(0.25, windows=True, seed="w")
    assert win.blob.media_type == fixturegen.DOCKER_LAYER
    wt = truth.layer_truth(win.blob.data)
    assert wt.windows_files_bytes == 256 * 1024 and wt.windows_hives_bytes == 8192


def test_custom_layer_and_gzip_edge_cases() -> None:
    layer = fixturegen.make_layer(
        [
            fixturegen.file("a/b.txt", b"hello"),
            fixturegen.file("a/empty"),
            fixturegen.hardlink("a/c", "a/b.txt"),
            fixturegen.symlink("a/d", "b.txt"),
            fixturegen.whiteout("x/y"),
            fixturegen.opaque("z"),
        ],
        "gzip-multimember",
        parts=2,
    )
    t = truth.layer_truth(layer.blob.data)
    assert (t.files, t.dirs, t.hardlinks, t.symlinks, t.whiteouts, t.extracted_bytes) == (2, 3, 1, 1, 2, 5)
    assert t.gzip_members == 3  # two pieces plus the empty member
    with pytest.raises(ValueError):
        truth.gzip_members(layer.blob.data[:-4])
    with pytest.raises(ValueError, match="precedes"):
        fixturegen.tar_bytes([fixturegen.hardlink("a", "b"), fixturegen.file("b", b"x")])
    assert gzip.decompress(layer.blob.data) == fixturegen.tar_bytes(
        [
            fixturegen.file("a/b.txt", b"hello"),
            fixturegen.file("a/empty"),
            fixturegen.hardlink("a/c", "a/b.txt"),
            fixturegen.symlink("a/d", "b.txt"),
            fixturegen.whiteout("x/y"),
            fixturegen.opaque("z"),
        ]
    )


def test_index_json_refs(fixture_layout: Path) -> None:
    index = json.loads((fixture_layout / "index.json").read_bytes())
    refs = [m["annotations"][fixturegen.REF_NAME] for m in index["manifests"]]
    assert refs == list(fixturegen.TAGS)
    assert json.loads((fixture_layout / "oci-layout").read_bytes()) == {"imageLayoutVersion": "1.0.0"}


def test_support_code_does_not_import_layerscope() -> None:
    paths = [
        *(ROOT / "tests" / "support").glob("*.py"),
        ROOT / "scripts" / "fixturegen.py",
        ROOT / "scripts" / "make_fixtures.py",
    ]
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "layerscope" or n.startswith("layerscope.") for n in names), path
