"""Windows bases, baked sets and drift, end to end: a local registry stands in for MCR (`--mirror`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess, free_port

# Real Server Core LTSC 2019 layers (shared/reference/windows-base-layers.csv): the May 2022 pair the
# windows-app fixture is built on, and the September 2022 update on the same base layer.
BASE = fixturegen.SERVERCORE_2019_05
SEP_UPDATE = ("sha256:cee64bf279e2ca8e924884a10ecb98bfa79c7f0cc8d25e73039b9aeb940815b6", 826398623)


def _servercore(update_digest: str, update_size: int, os_version: str, update_label: str) -> fixturegen.Image:
    """A stand-in for mcr.microsoft.com/windows/servercore: two foreign layers and a Windows config."""
    layers = [
        fixturegen.foreign_layer(BASE.base_digest, BASE.base_size, fixturegen.placeholder_diff_id(BASE.base_digest)),
        fixturegen.foreign_layer(update_digest, update_size, fixturegen.placeholder_diff_id(update_digest)),
    ]
    return simple_image(
        layers, os_name="windows", os_version=os_version, history=[BASE.base_label, update_label], docker=True
    )


@pytest.fixture(scope="module")
def mcr(registry: RegistryProcess) -> dict[str, PushedRef]:
    """servercore:ltsc2019 (May 2022) and servercore:sep2022 in the local registry's windows/servercore."""
    with Pusher(registry.url) as p:
        may = push(
            p,
            "windows/servercore",
            "ltsc2019",
            _servercore(BASE.update_digest, BASE.update_size, BASE.os_version, BASE.update_label),
        )
        sep = push(
            p,
            "windows/servercore",
            "10.0.17763.3406",
            _servercore(*SEP_UPDATE, "10.0.17763.3406", "Install update 10.0.17763.3406"),
        )
    return {"may": may, "sep": sep}


def _analyze(layerscope: Callable[..., Run], *args: str) -> dict[str, Any]:
    run = layerscope("analyze", *args, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc: dict[str, Any] = run.json()
    return doc


def test_same_month_baked_base_is_cached_and_only_app_bytes_pulled(
    registry: RegistryProcess,
    mcr: dict[str, PushedRef],
    pushed_fixtures: dict[str, PushedRef],
    layerscope: Callable[..., Run],
) -> None:
    doc = _analyze(
        layerscope,
        pushed_fixtures["windows-app"].ref,
        "--mirror",
        f"mcr.microsoft.com={registry.host}",
        "--baked",
        "mcr.microsoft.com/windows/servercore:ltsc2019",
    )
    assert doc["baked"] == [f"mcr.microsoft.com/windows/servercore@{mcr['may'].digest}"]
    image = doc["images"][0]
    assert image["base"] == {
        "image": "mcr.microsoft.com/windows/servercore",
        "channel": "ltsc2019",
        "os_version": "10.0.17763.2928",
        "month": "2022-05",
        "layers": 2,
        "match": "digest",
        # #14 item 1: windows-builds.csv dates 10.0.17763.2928; May 2022 carries base blob b111c332…
        "kb": "KB5013941",
        "release_date": "2022-05-10",
        "version": None,
        "generation": "sha256:b111c332",
    }
    assert [layer["cached"] for layer in image["layers"]] == [True, True, False, False, False]
    assert [layer["base"] for layer in image["layers"]] == [True, True, False, False, False]
    app = sum(layer["compressed_bytes"] for layer in image["layers"][2:])
    assert image["totals"]["pull_compressed_bytes"] == app
    assert image["totals"]["base_compressed_bytes"] == BASE.base_size + BASE.update_size
    assert image["totals"]["cache_hit_ratio"] == pytest.approx(
        (BASE.base_size + BASE.update_size) / image["totals"]["compressed_bytes"]
    )
    assert image["drift"] is None


def test_other_month_baked_base_is_drift_with_the_bytes_at_stake(
    registry: RegistryProcess,
    mcr: dict[str, PushedRef],
    pushed_fixtures: dict[str, PushedRef],
    layerscope: Callable[..., Run],
) -> None:
    doc = _analyze(
        layerscope,
        pushed_fixtures["windows-app"].ref,
        "--mirror",
        f"mcr.microsoft.com={registry.host}",
        "--baked",
        "mcr.microsoft.com/windows/servercore:10.0.17763.3406",
    )
    image = doc["images"][0]
    # The base layer (Apply image 10.0.17763.2803) is shared; the monthly update is not.
    assert [layer["cached"] for layer in image["layers"]] == [True, False, False, False, False]
    drift = image["drift"]
    assert drift["baked_os_version"] == "10.0.17763.3406" and drift["baked_month"] == "2022-09"
    assert drift["image_os_version"] == "10.0.17763.2928" and drift["image_month"] == "2022-05"
    assert drift["bytes_to_pull"] == BASE.update_size
    assert (drift["rebuild_on"] and "10.0.17763.3406" in drift["rebuild_on"]) or "@sha256:" in drift["rebuild_on"]
    table = layerscope(
        "analyze",
        pushed_fixtures["windows-app"].ref,
        "--mirror",
        f"mcr.microsoft.com={registry.host}",
        "--baked",
        "mcr.microsoft.com/windows/servercore:10.0.17763.3406",
    )
    assert "DRIFT" in table.stdout and "2022-09" in table.stdout


def test_chain_position_matters(pusher: Pusher, repo_name: str, layerscope: Callable[..., Run]) -> None:
    a = fixturegen.make_layer(fixturegen.linux_extra_entries("chain-a"), "gzip")
    b = fixturegen.make_layer(fixturegen.linux_extra_entries("chain-b"), "gzip")
    c = fixturegen.make_layer(fixturegen.linux_extra_entries("chain-c"), "gzip")
    baked = push(pusher, repo_name, "baked", simple_image([a, b]))
    moved = push(pusher, repo_name, "moved", simple_image([b, c]))  # b at position 0: another chain
    grown = push(pusher, repo_name, "grown", simple_image([a, b, c]))
    doc = _analyze(layerscope, moved.ref, grown.ref, "--baked", baked.ref)
    moved_doc, grown_doc = doc["images"]
    assert [layer["cached"] for layer in moved_doc["layers"]] == [False, False]
    assert [layer["cached"] for layer in grown_doc["layers"]] == [True, True, False]
    assert grown_doc["totals"]["pull_compressed_bytes"] == len(c.blob.data)


def test_declared_revision_in_a_profile_works_offline(
    fixture_layout: Path, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    profile = tmp_path / "node.yaml"
    profile.write_text(
        "extends: eks-ws2019-core\nname: my-node\nbaked:\n"
        "  - reference: mcr.microsoft.com/windows/servercore:ltsc2019\n    os_version: 10.0.17763.2928\n"
        "    source: our AMI release notes\n"
    )
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"  # never the public registry
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:windows-app", "--profile", str(profile), "--mirror", closed, "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    assert "declared revision" in run.stderr
    image = run.json()["images"][0]
    assert run.json()["profile"] == "my-node"
    assert [layer["cached"] for layer in image["layers"]] == [True, True, False, False, False]


def test_unknown_baked_revision_is_unknown_not_guessed(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:windows-app", "--profile", "eks-ws2019-core", "--mirror", closed, "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    image = run.json()["images"][0]
    assert [layer["cached"] for layer in image["layers"]] == [None, None, False, False, False]
    assert image["totals"]["cache_hit_ratio"] is None
    assert image["drift"] is None


def test_no_known_base_is_null(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    doc = _analyze(layerscope, f"oci:{fixture_layout}:linux-gzip")
    assert doc["images"][0]["base"] is None
    assert all(layer["base"] is False and layer["cached"] is None for layer in doc["images"][0]["layers"])


def test_recompressed_base_is_a_weaker_history_match(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    image = _analyze(layerscope, f"oci:{fixture_layout}:windows-style")["images"][0]
    assert image["base"]["match"] == "history"
    assert image["base"]["channel"] == "ltsc2019"
    assert image["layers"][0]["base"] is True and image["layers"][0]["size_source"] == "measured"


def test_linux_image_on_a_windows_profile_warns(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:linux-gzip", "--profile", "eks-ws2022-core", "--mirror", closed, "-o", "json"
    )
    assert run.exit_code == 0
    assert any("cannot run on the Windows node" in w for w in run.json()["images"][0]["warnings"])


def test_each_unresolved_baked_image_warns_with_its_own_cause(
    registry: RegistryProcess, fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    """Issue #12 item 10: every warning named the first failure's repository and error."""
    closed = f"127.0.0.1:{free_port()}"  # nothing listens: connection refused
    refused_a, refused_b = f"{closed}/team/first:1", f"{closed}/team/second:2"
    missing = f"{registry.host}/team/absent:3"  # the registry answers 404
    run = layerscope(
        "analyze",
        f"oci:{fixture_layout}:linux-gzip",
        *("--baked", refused_a, "--baked", missing, "--baked", refused_b),
        "--timeout",
        "2",
        "-o",
        "json",
    )
    assert run.exit_code == 0, run.stderr
    warnings = {line.split(" not resolved ", 1)[0]: line for line in run.stderr.splitlines() if "not resolved" in line}
    assert set(warnings) == {f"layerscope: warning: baked image {r}" for r in (refused_a, missing, refused_b)}
    first = warnings[f"layerscope: warning: baked image {refused_a}"]
    absent = warnings[f"layerscope: warning: baked image {missing}"]
    second = warnings[f"layerscope: warning: baked image {refused_b}"]
    assert "team/first" in first and "refused" in first.lower()
    assert "team/absent" in absent and "404" in absent and "team/first" not in absent
    # Same host as the first: not contacted again, and said so, without the first image's repository.
    assert f"registry {closed} did not answer earlier in this run" in second
    assert "team/first" not in second and "Connection refused" not in second
