"""`recommend` and `pull-list` end to end: a workload in a real registry, fed back as a baked set."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess

MAY = fixturegen.SERVERCORE_2019_05
SEP_DIGEST, SEP_SIZE, SEP_LABEL = fixturegen.SERVERCORE_2019_09_UPDATE


def _app_image(update: tuple[str, int, str], os_version: str, seed: str) -> fixturegen.Image:
    layers = [
        fixturegen.foreign_layer(MAY.base_digest, MAY.base_size, fixturegen.placeholder_diff_id(MAY.base_digest)),
        fixturegen.foreign_layer(update[0], update[1], fixturegen.placeholder_diff_id(update[0])),
        fixturegen.make_layer(fixturegen.windows_app_entries(seed, size_kib=32), "gzip"),
    ]
    return simple_image(
        layers,
        os_name="windows",
        os_version=os_version,
        history=[MAY.base_label, update[2], f"COPY {seed} C:\\app"],
        docker=True,
    )


@pytest.fixture(scope="module")
def workload(registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Three May-2022-based apps launched often, one Sep-2022-based app launched rarely."""
    with Pusher(registry.url) as p:
        refs = {
            "may-a": push(
                p,
                "shop/may-a",
                "1",
                _app_image((MAY.update_digest, MAY.update_size, MAY.update_label), MAY.os_version, "may-a"),
            ),
            "may-b": push(
                p,
                "shop/may-b",
                "1",
                _app_image((MAY.update_digest, MAY.update_size, MAY.update_label), MAY.os_version, "may-b"),
            ),
            "sep-c": push(
                p, "shop/sep-c", "1", _app_image((SEP_DIGEST, SEP_SIZE, SEP_LABEL), "10.0.17763.3406", "sep-c")
            ),
        }
    directory = tmp_path_factory.mktemp("workload")
    path = directory / "workload.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "images": [
                    {"ref": refs["may-a"].ref, "weight": 40},
                    {"ref": refs["may-b"].ref, "weight": 20},
                    {"ref": refs["sep-c"].ref, "weight": 1},
                ]
            }
        )
    )
    profile = directory / "node.yaml"
    profile.write_text("extends: eks-ws2019-core\nname: bare-ws2019\nbaked: []\n")
    return {"refs": refs, "path": path, "profile": profile, "dir": directory}


def test_recommend_picks_the_heavier_base_under_a_tight_budget(
    workload: dict[str, Any], layerscope: Callable[..., Run]
) -> None:
    run = layerscope(
        "recommend",
        "--workload",
        str(workload["path"]),
        "--profile",
        str(workload["profile"]),
        "--budget",
        "9.5GB",
        "-o",
        "json",
    )
    assert run.exit_code == 0, run.stderr
    rec = run.json()
    assert rec["schema"] == "layerscope.recommendation/v1" and rec["optimal"] is True
    refs: dict[str, PushedRef] = workload["refs"]
    chosen = {c["reference"] for c in rec["chosen"]}
    assert refs["may-a"].ref in chosen
    assert refs["sep-c"].ref not in chosen  # both updates do not fit 9.5 GB with the shared base
    assert rec["disk_bytes"] <= 9_500_000_000
    assert rec["root_volume_bytes"] > rec["disk_bytes"]
    assert all(c["digest"].startswith("sha256:") for c in rec["chosen"])
    reasons = {n["reference"]: n["reason"] for n in rec["not_chosen"]}
    assert refs["sep-c"].ref in reasons


def test_recommendation_fed_back_as_baked_set_gives_the_promised_hits(
    workload: dict[str, Any], layerscope: Callable[..., Run]
) -> None:
    directory: Path = workload["dir"]
    rec_file = directory / "rec.json"
    run = layerscope(
        "recommend",
        "--workload",
        str(workload["path"]),
        "--profile",
        str(workload["profile"]),
        "--budget",
        "9.5GB",
        "-o",
        "json",
        "--output",
        str(rec_file),
    )
    assert run.exit_code == 0, run.stderr
    pull = directory / "pull.txt"
    run = layerscope("pull-list", "--from-recommendation", str(rec_file), "--format", "text", "--output", str(pull))
    assert run.exit_code == 0, run.stderr
    chosen = json.loads(rec_file.read_text())["chosen"]
    doc = layerscope(
        "analyze",
        *[c["reference"] for c in chosen],
        "--profile",
        str(workload["profile"]),
        "--baked",
        str(pull),
        "-o",
        "json",
    ).json()
    for image in doc["images"]:
        assert all(layer["cached"] is True for layer in image["layers"])
        assert image["totals"]["pull_compressed_bytes"] == 0
        assert image["launch"]["with_baked"]["pulled_bytes"] == 0
        assert image["launch"]["without_baked"]["total_seconds"] > 60


def test_pull_list_formats_are_valid(workload: dict[str, Any], layerscope: Callable[..., Run], tmp_path: Path) -> None:
    refs: dict[str, PushedRef] = workload["refs"]
    awstoe = layerscope("pull-list", refs["may-a"].ref, refs["sep-c"].ref, "--format", "awstoe")
    assert awstoe.exit_code == 0, awstoe.stderr
    doc = yaml.safe_load(awstoe.stdout)
    phases = {p["name"]: p for p in doc["phases"]}
    assert {"build", "validate"} <= set(phases)
    text = awstoe.stdout
    assert f"{refs['may-a'].host}/shop/may-a@{refs['may-a'].digest}" in text
    assert "ctr" in text and "k8s.io" in text
    shell = layerscope("pull-list", refs["may-a"].ref, "--format", "shell", "--runtime", "docker")
    script = tmp_path / "pull.sh"
    script.write_text(shell.stdout)
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    assert "docker pull" in shell.stdout
    as_json = layerscope("pull-list", "--workload", str(workload["path"]), "--format", "json").json()
    assert len(as_json["images"]) == 3


def test_pull_list_needs_images(layerscope: Callable[..., Run]) -> None:
    run = layerscope("pull-list")
    assert run.exit_code == 2 and "no images given" in run.stderr


def test_recommend_needs_a_profile(workload: dict[str, Any], layerscope: Callable[..., Run]) -> None:
    run = layerscope("recommend", "--workload", str(workload["path"]))
    assert run.exit_code == 2 and "profile" in run.stderr
