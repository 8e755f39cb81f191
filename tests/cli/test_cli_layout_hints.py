"""Hints that fit an OCI layout, as a user meets them: damaged or incomplete copies, untagged references.

A layout is a directory on the user's machine: "check spelling and credentials" or "a proxy served
truncated content" would send them the wrong way. Each case runs the CLI as typed, on a copy of the
checked-in fixture layout that the test damages in a known way (tests/support/ocilayout.py reads it).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.integration.conftest import Run
from tests.support.ocilayout import OciLayout


@pytest.fixture
def layout(fixture_layout: Path, tmp_path: Path) -> OciLayout:
    """A private copy of the fixture layout, free to damage."""
    return OciLayout(Path(shutil.copytree(fixture_layout, tmp_path / "layout")))


def _one_line(run: Run) -> str:
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "Traceback" not in run.stderr and "hint:" in lines[0]
    return lines[0]


def _layer_digest(layout: OciLayout, tag: str) -> str:
    manifest = layout.json_blob(layout.resolve(tag)["digest"])
    digest: str = manifest["layers"][-1]["digest"]
    return digest


def test_missing_blob_says_the_layout_is_incomplete(layout: OciLayout, layerscope: Callable[..., Run]) -> None:
    layout.blob_path(_layer_digest(layout, "linux-gzip")).unlink()
    run = layerscope("analyze", f"oci:{layout.path}:linux-gzip", "--no-store")
    assert run.exit_code == 4
    line = _one_line(run)
    assert "is not in layout" in line and "the layout is incomplete" in line
    assert "spelling" not in line and "credentials" not in line


def test_missing_config_says_the_layout_is_incomplete(layout: OciLayout, layerscope: Callable[..., Run]) -> None:
    manifest = layout.json_blob(layout.resolve("linux-zstd")["digest"])
    layout.blob_path(manifest["config"]["digest"]).unlink()
    run = layerscope("analyze", f"oci:{layout.path}:linux-zstd", "--no-store")
    assert run.exit_code == 4
    line = _one_line(run)
    assert "the layout is incomplete" in line and "credentials" not in line


@pytest.mark.parametrize("what", ["layer", "config"])
def test_truncated_blob_is_a_damaged_file_not_a_proxy(
    what: str, layout: OciLayout, layerscope: Callable[..., Run]
) -> None:
    manifest = layout.json_blob(layout.resolve("linux-gzip")["digest"])
    digest = manifest["layers"][-1]["digest"] if what == "layer" else manifest["config"]["digest"]
    path = layout.blob_path(digest)
    path.write_bytes(path.read_bytes()[:-7])
    run = layerscope("analyze", f"oci:{layout.path}:linux-gzip", "--no-store")
    assert run.exit_code == 1
    line = _one_line(run)
    assert "descriptor says" in line and "changed or cut short after the layout was written" in line
    assert "proxy" not in line and "registry" not in line


def test_untagged_reference_to_a_multi_tag_layout_lists_the_tags(
    layout: OciLayout, layerscope: Callable[..., Run]
) -> None:
    run = layerscope("analyze", f"oci:{layout.path}")
    assert run.exit_code == 2
    line = _one_line(run)
    tags = sorted(layout.tags())
    assert len(tags) > 3
    assert f"holds {len(tags)} tagged images" in line
    assert f"tags in this layout: {', '.join(tags)}" in line


def test_partial_multi_platform_copy_hints_platform(layout: OciLayout, layerscope: Callable[..., Run]) -> None:
    # What `docker save` of one platform of a multi-platform image leaves: the index lists every
    # platform, the other platforms' manifests are not there.
    index = layout.json_blob(layout.resolve("multi-platform")["digest"])
    images = [d for d in index["manifests"] if d["platform"]["os"] != "unknown"]
    kept, *dropped = images
    for d in dropped:
        layout.blob_path(d["digest"]).unlink()
    ref = f"oci:{layout.path}:multi-platform"
    run = layerscope("analyze", ref, "--no-store")
    assert run.exit_code == 4
    line = _one_line(run)
    kept_platform = f"{kept['platform']['os']}/{kept['platform']['architecture']}"
    assert "is missing" in line and "partial copy" in line
    assert f"--platform {kept_platform}" in line
    assert "credentials" not in line

    ok = layerscope("analyze", ref, "--platform", kept_platform, "--no-store", "-o", "json")
    assert ok.exit_code == 0, ok.stderr
    assert [i["digest"] for i in ok.json()["images"]] == [kept["digest"]]
