"""`layerscope diff`: shared chain, layers only in each image, bytes each way, bases, platform choice.

Expected byte counts come from tests/support/truth.py (Python's gzip/tarfile on the pushed blobs), never
from layerscope.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from layerscope.catalog import load_shipped
from layerscope.units import format_size
from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import push, simple_image
from tests.support.ocilayout import OciLayout
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess, free_port
from tests.support.truth import layer_truth


def _layer(seed: str, compression: fixturegen.Compression = "gzip") -> fixturegen.Layer:
    return fixturegen.make_layer(fixturegen.linux_extra_entries(seed) + fixturegen.linux_app_entries(seed), compression)


def _extracted(*layers: fixturegen.Layer) -> int:
    return sum(layer_truth(x.blob.data).extracted_bytes for x in layers)


def _compressed(*layers: fixturegen.Layer) -> int:
    return sum(len(x.blob.data) for x in layers)


def test_images_sharing_a_base(registry: RegistryProcess, layerscope: Callable[..., Run], repo_name: str) -> None:
    base0 = fixturegen.make_layer(fixturegen.linux_base_entries("diff-base"))
    base1 = _layer("diff-base-1")
    a2, b2, b3 = _layer("diff-a2"), _layer("diff-b2", "zstd"), _layer("diff-b3")
    with Pusher(registry.url) as pusher:
        ref_a = push(pusher, repo_name, "a", simple_image([base0, base1, a2])).ref
        ref_b = push(pusher, repo_name, "b", simple_image([base0, base1, b2, b3])).ref

    run = layerscope("diff", ref_a, ref_b, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["schema"] == "layerscope.diff/v1"
    assert (doc["a"]["reference"], doc["b"]["reference"]) == (ref_a, ref_b)
    assert (doc["a"]["layers"], doc["b"]["layers"]) == (3, 4)
    assert doc["shared"]["layers"] == 2
    assert doc["shared"]["compressed_bytes"] == _compressed(base0, base1)
    assert doc["shared"]["extracted_bytes"] == _extracted(base0, base1)
    assert [x["digest"] for x in doc["only_in_a"]] == [a2.digest]
    assert [(x["index"], x["digest"]) for x in doc["only_in_b"]] == [(2, b2.digest), (3, b3.digest)]
    assert all(x["same_content_as"] is None for x in doc["only_in_a"] + doc["only_in_b"])
    assert doc["pull_b_on_a"] == {
        "layers": 2,
        "compressed_bytes": _compressed(b2, b3),
        "extracted_bytes": _extracted(b2, b3),
    }
    assert doc["pull_a_on_b"] == {"layers": 1, "compressed_bytes": _compressed(a2), "extracted_bytes": _extracted(a2)}
    assert doc["a"]["compressed_bytes"] == _compressed(base0, base1, a2)
    assert doc["base"] == {"same_revision": None, "same_channel": None, "same_os_version": None}  # Linux: no base

    table = layerscope("diff", ref_a, ref_b)
    assert table.exit_code == 0, table.stderr
    pull = f"{format_size(_compressed(b2, b3))} compressed, {format_size(_extracted(b2, b3))} extracted"
    assert f"pulling B on a node holding A: 2 layers, {pull}" in table.stdout
    assert "shared chain: 2 layers" in table.stdout and "only in A: 1 layer" in table.stdout

    markdown = layerscope("diff", ref_a, ref_b, "-o", "markdown")
    assert markdown.exit_code == 0, markdown.stderr
    assert markdown.stdout.startswith("### layerscope diff")
    assert f"| {b3.digest[7:19]}" in markdown.stdout.replace("|  ", "| ")


def test_same_layer_at_another_position_shares_no_chain(
    registry: RegistryProcess, layerscope: Callable[..., Run], repo_name: str
) -> None:
    x, y, z = _layer("pos-x"), _layer("pos-y"), _layer("pos-z")
    with Pusher(registry.url) as pusher:
        ref_a = push(pusher, repo_name, "a", simple_image([x, y])).ref
        ref_b = push(pusher, repo_name, "b", simple_image([y, z])).ref
    doc = layerscope("diff", ref_a, ref_b, "-o", "json").json()
    assert doc["shared"] == {"layers": 0, "chain_id": None, "compressed_bytes": 0, "extracted_bytes": 0}
    first_b = doc["only_in_b"][0]
    assert (first_b["digest"], first_b["same_content_as"]) == (y.digest, {"index": 1, "by": "digest"})
    # y is pulled anyway: a cache hit needs the whole chain below it.
    assert doc["pull_b_on_a"]["compressed_bytes"] == _compressed(y, z)
    assert doc["pull_b_on_a"]["extracted_bytes"] == _extracted(y, z)
    table = layerscope("diff", ref_a, ref_b).stdout
    assert "shared chain: none" in table
    assert "same digest as A layer 1, on another chain: pulled anyway" in table


def test_recompressed_base_shares_the_chain(
    registry: RegistryProcess, layerscope: Callable[..., Run], repo_name: str
) -> None:
    gz, zst = _layer("rc-base"), _layer("rc-base", "zstd")
    app = _layer("rc-app")
    assert gz.diff_id == zst.diff_id and gz.digest != zst.digest
    with Pusher(registry.url) as pusher:
        ref_a = push(pusher, repo_name, "a", simple_image([gz, app])).ref
        ref_b = push(pusher, repo_name, "b", simple_image([zst, app])).ref
    doc = layerscope("diff", ref_a, ref_b, "-o", "json").json()
    assert doc["shared"]["layers"] == 2  # chain IDs come from diff_ids
    assert doc["pull_b_on_a"] == {"layers": 0, "compressed_bytes": 0, "extracted_bytes": 0}


def test_windows_bases_same_and_other_revision(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    app = f"oci:{fixture_layout}:windows-app"
    may = f"oci:{fixture_layout}:servercore-ltsc2019-2022-05"
    sep = f"oci:{fixture_layout}:servercore-ltsc2019-2022-09"
    same = layerscope("diff", may, app, "-o", "json").json()
    assert same["shared"]["layers"] == 2
    assert same["base"] == {"same_revision": True, "same_channel": True, "same_os_version": True}
    assert same["a"]["base"]["os_version"] == "10.0.17763.2928" and same["a"]["base"]["match"] == "digest"
    assert [x["base"] for x in same["only_in_b"]] == [False, False, False]
    assert same["pull_a_on_b"]["layers"] == 0

    other = layerscope("diff", app, sep, "-o", "json").json()
    assert other["shared"]["layers"] == 1  # the RTM layer; the update differs
    assert other["base"] == {"same_revision": False, "same_channel": True, "same_os_version": False}
    (update,) = other["only_in_b"]
    row = load_shipped().by_digest(update["digest"])
    assert row is not None and row.os_version == "10.0.17763.3406"
    assert update["base"] is True and update["compressed_bytes"] == row.compressed_bytes
    assert other["pull_b_on_a"]["compressed_bytes"] == row.compressed_bytes
    table = layerscope("diff", app, sep).stdout
    assert "same base revision: no" in table and "(foreign)" in table


def test_multi_platform_needs_platform(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    multi = f"oci:{fixture_layout}:multi-platform"
    single = f"oci:{fixture_layout}:linux-gzip"
    run = layerscope("diff", multi, single)
    assert run.exit_code == 2
    assert "has 3 images" in run.stderr and "linux/arm64/v8" in run.stderr and "--platform" in run.stderr
    chosen = layerscope("diff", multi, single, "--platform", "linux/amd64", "-o", "json")
    assert chosen.exit_code == 0, chosen.stderr
    doc = chosen.json()
    assert doc["a"]["digest"] == doc["b"]["digest"]
    assert doc["only_in_a"] == [] and doc["only_in_b"] == []


def test_baked_set_is_added_to_the_node_holding_a(
    registry: RegistryProcess, layerscope: Callable[..., Run], repo_name: str
) -> None:
    """Issue #12 item 12: `diff --baked` answers what B pulls on a node holding A *and* the baked set."""
    base0 = fixturegen.make_layer(fixturegen.linux_base_entries("diffbake-base"))
    base1, a1, b2 = _layer("diffbake-base-1"), _layer("diffbake-a1"), _layer("diffbake-b2")
    with Pusher(registry.url) as pusher:
        ref_a = push(pusher, repo_name, "a", simple_image([base0, a1])).ref
        ref_b = push(pusher, repo_name, "b", simple_image([base0, base1, b2])).ref
        baked = push(pusher, repo_name, "baked", simple_image([base0, base1])).ref
        unrelated = push(pusher, repo_name, "unrelated", simple_image([_layer("diffbake-other")])).ref

    plain = layerscope("diff", ref_a, ref_b, "-o", "json")
    assert plain.exit_code == 0, plain.stderr
    assert plain.json()["with_baked"] is None

    run = layerscope("diff", ref_a, ref_b, "--baked", baked, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    # Holding A alone: base1 and b2 are pulled (unchanged by --baked).
    assert doc["pull_b_on_a"]["compressed_bytes"] == _compressed(base1, b2)
    node = doc["with_baked"]
    assert (
        node["profile"] is None
        and len(node["baked"]) == 1
        and node["baked"][0].endswith(_registry_digest(registry, repo_name, "baked"))
    )
    # A ∪ baked holds the chain base0+base1: only b2 is pulled.
    assert node["pull_b_on_a"] == {
        "layers": 1,
        "compressed_bytes": _compressed(b2),
        "extracted_bytes": _extracted(b2),
        "unknown_layers": 0,
    }
    # B ∪ baked holds base0 but not the chain base0+a1: a1 is pulled.
    assert node["pull_a_on_b"] == {
        "layers": 1,
        "compressed_bytes": _compressed(a1),
        "extracted_bytes": _extracted(a1),
        "unknown_layers": 0,
    }
    # A baked set that shares nothing: the node still holds A, so B pulls what it pulls on A alone.
    other = layerscope("diff", ref_a, ref_b, "--baked", unrelated, "-o", "json").json()["with_baked"]
    assert other["pull_b_on_a"] == {**plain.json()["pull_b_on_a"], "unknown_layers": 0}
    assert other["pull_b_on_a"]["compressed_bytes"] == _compressed(base1, b2)

    table = layerscope("diff", ref_a, ref_b, "--baked", baked)
    assert table.exit_code == 0, table.stderr
    pull = f"1 layer, {format_size(_compressed(b2))} compressed, {format_size(_extracted(b2))} extracted"
    assert f"pulling B on a node holding A and the baked set (--baked: 1 image): {pull}" in table.stdout
    markdown = layerscope("diff", ref_a, ref_b, "--baked", baked, "-o", "markdown")
    assert f"- pulling B on a node holding A and the baked set (--baked: 1 image): {pull}" in markdown.stdout


def _registry_digest(registry: RegistryProcess, repo: str, tag: str) -> str:
    """The manifest digest the registry holds for repo:tag (read with the independent client)."""
    with Pusher(registry.url) as pusher:
        _, _, digest = pusher.get_manifest(repo, tag)
    assert digest is not None
    return digest


def test_profile_with_unknown_baked_revision_counts_unknown_as_pulled(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"  # the profile's baked base cannot be resolved
    linux, app = f"oci:{fixture_layout}:linux-gzip", f"oci:{fixture_layout}:windows-app"
    run = layerscope("diff", linux, app, "--profile", "eks-ws2019-core", "--mirror", closed, "-o", "json")
    assert run.exit_code == 0, run.stderr
    node = run.json()["with_baked"]
    assert node["profile"] == "eks-ws2019-core"
    layout = OciLayout(fixture_layout)
    sizes = [x["size"] for x in layout.json_blob(layout.resolve("windows-app")["digest"])["layers"]]
    # The two base layers' cache state is unknown (the AMI's revision is not known): counted as pulled.
    assert node["pull_b_on_a"]["layers"] == 5 and node["pull_b_on_a"]["unknown_layers"] == 2
    assert node["pull_b_on_a"]["compressed_bytes"] == sum(sizes)
    # The Linux image cannot run on the Windows node: said on stderr and in the document.
    assert any("cannot run on the Windows node" in w for w in node["warnings"])
    assert "cannot run on the Windows node" in run.stderr


def test_missing_image_is_exit_4(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    run = layerscope("diff", f"oci:{fixture_layout}:linux-gzip", f"oci:{fixture_layout}:no-such-tag")
    assert run.exit_code == 4


def test_node_evidence_gives_the_node_object(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    """Issue #14 item 2: `diff --nodes/--ami` carries `node`, the same object as `analyze`'s; null without evidence."""
    app, sep = f"oci:{fixture_layout}:windows-app", f"oci:{fixture_layout}:servercore-ltsc2019-2022-09"
    assert layerscope("diff", app, sep, "-o", "json").json()["node"] is None
    # The nodes' kernelVersion, read from the file itself (the Windows nodes are all on one revision).
    nodes = Path(__file__).resolve().parents[2] / "fixtures" / "nodes.json"
    doc = json.loads(nodes.read_text())
    kernels = {
        n["status"]["nodeInfo"]["kernelVersion"]
        for n in doc["items"]
        if n["status"]["nodeInfo"]["operatingSystem"] == "windows"
    }
    (kernel,) = kernels
    run = layerscope("diff", app, sep, "--nodes", str(nodes), "-o", "json")
    assert run.exit_code == 0, run.stderr
    node = run.json()["node"]
    assert node == {"os_version": kernel, "alternatives": [], "basis": "node-os", "ami": None, "ami_date": None}
    analyze = layerscope("analyze", app, "--nodes", str(nodes), "-o", "json", "--no-store")
    assert analyze.exit_code == 0, analyze.stderr
    assert node == analyze.json()["node"]
    # An AMI date: the same inference as `analyze` (the revision rule is tested in tests/integration).
    args = ("--profile", "eks-ws2019-core", "--ami", "2022-06-20", "-o", "json")
    by_ami = layerscope("diff", app, sep, *args)
    assert by_ami.exit_code == 0, by_ami.stderr
    node = by_ami.json()["node"]
    assert (node["basis"], node["ami_date"]) == ("ami-date", "2022-06-20")
    assert node == layerscope("analyze", app, *args, "--no-store").json()["node"]
