"""#14 items 2-3 and #18 item 2: know the node's revision (--ami, --nodes, profile keys) and the drift it implies.

Ground truth: layer sizes from the fixture layout's own manifest (read as JSON here), months/KBs/releases from
the shipped build table read with the csv module (tests/windows/shipped.py), never from layerscope's code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from layerscope.units import format_size
from tests.integration.conftest import Run
from tests.support.registry import free_port
from tests.windows.shipped import rows

ROOT = Path(__file__).resolve().parents[2]
AMI_JUNE_2022 = "Windows_Server-2019-English-Core-ECS_Optimized-2022.06.20"


def _manifest_sizes(layout: Path, tag: str) -> list[int]:
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag)
    manifest = json.loads((layout / "blobs" / "sha256" / desc["digest"].split(":")[1]).read_text())
    return [layer["size"] for layer in manifest["layers"]]


def _row(os_version: str) -> dict[str, str]:
    return next(r for r in rows("windows-builds.csv") if r["os_version"] == os_version)


def _newest_container_release_on(build: str, day: str) -> dict[str, str]:
    """The inference rule's step 1, computed here from the CSV (newest b/oob container release on or before day)."""
    cands = [
        r
        for r in rows("windows-builds.csv")
        if r["build"] == build and r["container_image"] == "yes" and r["kind"] in ("b", "oob") and r["release_date"]
    ]
    return max((r for r in cands if r["release_date"] <= day), key=lambda r: r["release_date"])


def _analyze(layerscope: Callable[..., Run], *args: str) -> dict[str, Any]:
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"  # never the public registry
    run = layerscope("analyze", *args, "--mirror", closed, "--no-store", "--no-progress", "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc: dict[str, Any] = run.json()
    doc["_stderr"] = run.stderr
    return doc


def test_image_one_month_behind_the_ami_drifts_by_its_update_layer_exactly(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    sizes = _manifest_sizes(fixture_layout, "windows-app")
    node_row = _newest_container_release_on("17763", "2022-06-20")
    image_row = _row("10.0.17763.2928")
    doc = _analyze(layerscope, f"oci:{fixture_layout}:windows-app", "--ami", AMI_JUNE_2022)
    assert doc["node"] == {
        "os_version": node_row["os_version"],
        "alternatives": [],
        "basis": "ami-date",
        "ami": AMI_JUNE_2022,
        "ami_date": "2022-06-20",
    }
    image = doc["images"][0]
    # Same base blob generation (May-Dec 2022): the node holds layer 0, pulls the image's own update layer.
    assert [layer["cached"] for layer in image["layers"]] == [True, False, False, False, False]
    drift = image["drift"]
    assert drift["bytes_to_pull"] == sizes[1] and drift["pulled_layers"] == [1] and drift["layers_known"] is True
    assert (drift["baked_os_version"], drift["baked_month"], drift["baked_kb"]) == (
        node_row["os_version"],
        node_row["release_date"][:7],
        node_row["kb"],
    )
    assert (drift["image_os_version"], drift["image_month"], drift["image_kb"]) == (
        "10.0.17763.2928",
        image_row["release_date"][:7],
        image_row["kb"],
    )
    assert drift["months_behind"] == 1
    assert drift["rebuild_on"] == f"mcr.microsoft.com/windows/servercore:{node_row['os_version']}"
    assert image["totals"]["pull_compressed_bytes"] == sum(sizes[1:])


def test_nodes_with_the_matching_kernel_hold_every_base_layer(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    sizes = _manifest_sizes(fixture_layout, "windows-app")
    doc = _analyze(layerscope, f"oci:{fixture_layout}:windows-app", "--nodes", str(ROOT / "fixtures" / "nodes.json"))
    assert doc["node"]["basis"] == "node-os" and doc["node"]["os_version"] == "10.0.17763.2928"
    image = doc["images"][0]
    assert [layer["cached"] for layer in image["layers"]] == [True, True, False, False, False]
    assert image["drift"] is None
    assert image["totals"]["pull_compressed_bytes"] == sum(sizes[2:])


def test_nodes_on_several_revisions_warn_and_the_most_common_is_used(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    doc = json.loads((ROOT / "fixtures" / "nodes.json").read_text())
    doc["items"][0]["status"]["nodeInfo"]["kernelVersion"] = "10.0.17763.3406"
    doc["items"].append(json.loads(json.dumps(doc["items"][0])))  # two nodes on 3406, one on 2928
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(doc))
    out = _analyze(layerscope, f"oci:{fixture_layout}:windows-app", "--nodes", str(path))
    assert out["node"]["os_version"] == "10.0.17763.3406"
    warning = next(w for w in out["warnings"] if "several Windows revisions" in w)
    assert "10.0.17763.3406 (2 nodes)" in warning and "10.0.17763.2928 (1 node)" in warning
    assert "several Windows revisions" in out["_stderr"]


def test_profile_ami_date_needs_and_uses_the_profiles_family(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    node_row = _newest_container_release_on("17763", "2022-06-20")
    doc = _analyze(layerscope, ref, "--profile", "eks-ws2019-core", "--ami", "2022-06-20")
    assert (doc["node"]["basis"], doc["node"]["os_version"]) == ("ami-date", node_row["os_version"])
    # The floating baked tags now stand for the AMI's revision (not today's, not unknown).
    assert [layer["cached"] for layer in doc["images"][0]["layers"]] == [True, False, False, False, False]
    assert doc["baked_unresolved"] == []
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"
    run = layerscope("analyze", ref, "--ami", "2022-06-20", "--mirror", closed, "--no-store")
    assert run.exit_code == 2 and "needs the Windows build" in run.stderr and "ami_family" in run.stderr


def test_declared_revision_of_the_same_generation_pulls_only_the_update_layer(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    # #18 item 2: a May-2022 ltsc2019 image on a node declared 10.0.17763.3406 (Sep 2022) pulls its 627 MB
    # update layer, not 2.5 GB: the Sep revision carries the same base blob.
    sizes = _manifest_sizes(fixture_layout, "windows-app")
    profile = tmp_path / "node.yaml"
    profile.write_text(
        "extends: eks-ws2019-core\nname: sep-2022\nbaked:\n"
        "  - reference: mcr.microsoft.com/windows/servercore:ltsc2019\n    os_version: 10.0.17763.3406\n"
        "    source: our AMI release notes\n"
    )
    doc = _analyze(layerscope, f"oci:{fixture_layout}:windows-app", "--profile", str(profile))
    image = doc["images"][0]
    assert [layer["cached"] for layer in image["layers"]] == [True, False, False, False, False]
    assert image["drift"]["bytes_to_pull"] == sizes[1] == 626_889_777
    assert image["drift"]["months_behind"] == 4
    assert doc["node"]["basis"] == "declared" and doc["node"]["os_version"] == "10.0.17763.3406"


def test_unknown_generation_gives_unknown_not_a_guess(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    # April 2022 is the re-baseline month: which base blob its revision carries is not known.
    april = _newest_container_release_on("17763", "2022-04-30")
    profile = tmp_path / "node.yaml"
    profile.write_text(
        "extends: eks-ws2019-core\nname: apr-2022\nbaked:\n"
        f"  - reference: mcr.microsoft.com/windows/servercore:ltsc2019\n    os_version: {april['os_version']}\n"
        "    source: our AMI release notes\n"
    )
    image = _analyze(layerscope, f"oci:{fixture_layout}:windows-app", "--profile", str(profile))["images"][0]
    assert [layer["cached"] for layer in image["layers"]][:2] == [None, False]
    assert image["drift"]["layers_known"] is False and image["drift"]["pulled_layers"] == [0, 1]


def test_an_ambiguous_ami_date_warns_naming_both_revisions(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    # Inside the April 2025 floating-tag regression the tag may still have served March's images.
    april = _newest_container_release_on("17763", "2025-04-10")
    march = _newest_container_release_on("17763", "2025-03-31")
    doc = _analyze(
        layerscope, f"oci:{fixture_layout}:windows-app", "--profile", "eks-ws2019-core", "--ami", "2025-04-10"
    )
    assert doc["node"]["os_version"] == april["os_version"] and doc["node"]["alternatives"] == [march["os_version"]]
    warning = next(w for w in doc["warnings"] if "may hold servercore" in w)
    assert april["os_version"] in warning and march["os_version"] in warning
    assert "may hold servercore" in doc["_stderr"]


def test_the_table_says_where_the_nodes_revision_comes_from(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"
    by_ami = layerscope("analyze", ref, "--ami", AMI_JUNE_2022, "--mirror", closed, "--no-store", "--no-progress")
    node_row = _newest_container_release_on("17763", "2022-06-20")
    assert by_ami.stdout.splitlines()[0] == f"node   {node_row['os_version']} (ami-date, from {AMI_JUNE_2022})"
    assert f"({node_row['release_date'][:7]}, {node_row['kb']})" in by_ami.stdout  # the DRIFT line's month and KB
    nodes = str(ROOT / "fixtures" / "nodes.json")
    by_nodes = layerscope("analyze", ref, "--nodes", nodes, "--mirror", closed, "--no-store", "--no-progress")
    assert by_nodes.stdout.splitlines()[0] == "node   10.0.17763.2928 (node-os, from the nodes' kernelVersion)"


def test_report_gives_each_revision_group_of_the_nodes_its_pull(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    sizes = _manifest_sizes(fixture_layout, "windows-app")
    doc = json.loads((ROOT / "fixtures" / "nodes.json").read_text())
    doc["items"][0]["status"]["nodeInfo"]["kernelVersion"] = "10.0.17763.3406"
    doc["items"].append(json.loads(json.dumps(doc["items"][0])))  # two nodes on 3406, one on 2928
    path = tmp_path / "nodes.json"
    path.write_text(json.dumps(doc))
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"
    ref = f"oci:{fixture_layout}:windows-app"
    run = layerscope(
        "report", ref, "--nodes", str(path), "--mirror", closed, "--no-store", "--no-progress", "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    warnings = run.json()["warnings"]
    # 3406 (Sep 2022) shares the image's base blob: the update layer and the app layers; 2928: the app layers only.
    sep = sum(sizes[1:])
    may = sum(sizes[2:])
    assert "nodes on 10.0.17763.3406 (2 nodes) (the revision this report uses): the images pull" in "\n".join(warnings)
    assert any(w.startswith("nodes on 10.0.17763.3406") and f"({sep:,} B)" in w for w in warnings)
    assert any(w.startswith("nodes on 10.0.17763.2928 (1 node)") and f"({may:,} B)" in w for w in warnings)
    assert "nodes on 10.0.17763.2928" in run.stderr
    # The same figures as data (report JSON `node`, `node_groups`) and as a table in Markdown and HTML.
    doc = run.json()
    assert doc["node"]["os_version"] == "10.0.17763.3406" and doc["node"]["basis"] == "node-os"
    assert doc["node_groups"] == [
        {"os_version": "10.0.17763.3406", "nodes": 2, "pull_compressed_bytes": sep, "used": True},
        {"os_version": "10.0.17763.2928", "nodes": 1, "pull_compressed_bytes": may, "used": False},
    ]
    assert doc["fleet"]["pull"]["with_bake_compressed_bytes"] == sep  # the figures use the most common revision
    common = ("report", ref, "--nodes", str(path), "--mirror", closed, "--no-store", "--no-progress")
    md = layerscope(*common, "-o", "markdown")
    assert "node 10.0.17763.3406 (node-os, from the nodes' kernelVersion)" in md.stdout
    assert "…and -" not in md.stdout  # fewer warnings than the Markdown shows: no "and -N more"
    assert re.search(rf"\| 10\.0\.17763\.2928 +\| 1 +\| {re.escape(format_size(may))} ", md.stdout)
    html = layerscope(*common, "-o", "html")
    section = html.stdout.split('<section id="node-groups">', 1)[1].split("</section>", 1)[0]
    assert f'data-sort="{may}" data-field="pull_compressed_bytes"' in section
    assert f'data-sort="{sep}" data-field="pull_compressed_bytes"' in section


def test_report_without_nodes_has_no_groups(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    run = layerscope("report", f"oci:{fixture_layout}:windows-app", "--no-store", "--no-progress", "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert run.json()["node_groups"] == []
    assert run.json()["node"]["basis"] == "unknown"
    md = layerscope("report", f"oci:{fixture_layout}:windows-app", "--no-store", "--no-progress", "-o", "markdown")
    assert "Node revisions" not in md.stdout
