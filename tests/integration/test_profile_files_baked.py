"""#18 items 3-4: relative `oci:` baked paths in a profile file, unknown layers as null, the root volume's unknowns."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Run
from tests.support.registry import free_port


def _closed() -> str:
    return f"mcr.microsoft.com=127.0.0.1:{free_port()}"  # never the public registry


def test_relative_oci_path_resolves_against_the_profile_folder(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    (folder / "layout").symlink_to(fixture_layout)
    profile = folder / "node.yaml"
    profile.write_text(
        "extends: eks-ws2019-core\nname: rel\nbaked:\n"
        "  - reference: oci:layout:servercore-ltsc2019-2022-09\n    os_version: 10.0.17763.3406\n"
    )
    # The working directory (the repository root) has no `layout` folder: only the profile's folder does.
    assert not Path("layout").exists()
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:windows-app", "--profile", str(profile), "--mirror", _closed(), "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["baked_unresolved"] == [] and doc["baked"][0].startswith(f"oci:{folder / 'layout'}@sha256:")
    assert doc["node"]["basis"] == "resolved" and doc["node"]["os_version"] == "10.0.17763.3406"
    # The Sep-2022 base shares the May-2022 base blob: only the image's update layer and app layers are pulled.
    assert [layer["cached"] for layer in doc["images"][0]["layers"]] == [True, False, False, False, False]


def test_an_unresolved_baked_image_leaves_layers_unknown_not_absent(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    profile = tmp_path / "node.yaml"
    profile.write_text("extends: eks-ws2019-core\nname: opaque\nbaked:\n  - reference: oci:missing-layout:app\n")
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:windows-app", "--profile", str(profile), "--mirror", _closed(), "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert [r["reference"] for r in doc["baked_unresolved"]] == [f"oci:{tmp_path / 'missing-layout'}:app"]
    assert [layer["cached"] for layer in doc["images"][0]["layers"]] == [None] * 5


def test_root_volume_warns_about_unresolved_baked_images(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    workload = tmp_path / "workload.json"
    workload.write_text(json.dumps({"images": [{"ref": f"oci:{fixture_layout}:windows-app", "weight": 3}]}))
    profile = tmp_path / "node.yaml"
    profile.write_text("extends: eks-ws2019-core\nname: opaque\nbaked:\n  - reference: oci:missing-layout:app\n")
    run = layerscope(
        "recommend", "--workload", str(workload), "--profile", str(profile), "--mirror", _closed(), "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    rec = run.json()
    assert any("count 0 bytes" in w and "missing-layout" in w for w in rec["warnings"])
    assert "count 0 bytes" in run.stderr
