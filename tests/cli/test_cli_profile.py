"""`layerscope profile list|show`: the ten shipped profiles, every value with its source, user files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from layerscope.plan.profile import VALUE_KEYS
from layerscope.plan.profile_files import list_profiles, load_profile
from tests.integration.conftest import Run

SHIPPED = [
    "ecs-ws2019-core",
    "ecs-ws2019-full",
    "ecs-ws2022-core",
    "ecs-ws2022-full",
    "eks-ws2019-core",
    "eks-ws2019-full",
    "eks-ws2022-core",
    "eks-ws2022-full",
    "eks-ws2025-core",
    "eks-ws2025-full",
]


def test_list_has_the_ten_shipped_profiles(layerscope: Callable[..., Run]) -> None:
    assert list_profiles() == SHIPPED
    run = layerscope("profile", "list")
    assert run.exit_code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].split() == ["name", "orchestrator", "runtime", "host", "build", "root", "volume", "description"]
    rows = [line.split()[:6] for line in lines[2:]]
    assert [r[0] for r in rows] == SHIPPED
    eks2022 = rows[SHIPPED.index("eks-ws2022-core")]
    assert eks2022[1:6] == ["eks", "containerd", "10.0.20348", "50", "GiB"]
    assert "Amazon EKS optimized Windows Server 2022 Core AMI" in run.stdout


def test_list_json(layerscope: Callable[..., Run]) -> None:
    doc = layerscope("profile", "list", "-o", "json").json()
    assert doc["schema"] == "layerscope.profile.list/v1"
    assert [p["name"] for p in doc["profiles"]] == SHIPPED
    ecs = doc["profiles"][0]
    assert (ecs["orchestrator"], ecs["runtime"], ecs["channel"]) == ("ecs", "docker", "ltsc2019")
    assert ecs["root_volume_bytes"] == load_profile("ecs-ws2019-core").root_volume_bytes


@pytest.mark.parametrize("name", SHIPPED)
def test_show_gives_every_value_a_source(name: str, layerscope: Callable[..., Run]) -> None:
    doc = layerscope("profile", "show", name, "-o", "json").json()
    assert doc["schema"] == "layerscope.profile/v1" and doc["name"] == name and doc["origin"] == "shipped"
    assert [v["key"] for v in doc["values"]] == list(VALUE_KEYS)
    profile = load_profile(name)
    for v in doc["values"]:
        assert v["value"] == doc[v["field"]]
        assert v["source"] == profile.sources.get(v["key"])
        if v["value"] is not None:
            assert v["source"], f"{name}: {v['key']} has no source"


def test_show_table_prints_values_and_sources(layerscope: Callable[..., Run]) -> None:
    run = layerscope("profile", "show", "eks-ws2019-core")
    assert run.exit_code == 0, run.stderr
    out = run.stdout
    assert out.startswith("eks-ws2019-core  (shipped profile)")
    assert "root_volume                50 GiB (53,687,091,200 B)" in out
    assert "EKS managed node group default diskSize is 50 GiB for Windows" in out
    assert "pull_inactivity_timeout    5 min 0 s" in out
    assert "- mcr.microsoft.com/windows/servercore:ltsc2019" in out
    assert out.count("source: ") >= len(VALUE_KEYS)
    assert "notes:" in out


def test_show_user_file_marks_overrides(layerscope: Callable[..., Run], tmp_path: Path) -> None:
    path = tmp_path / "my-node.yaml"
    path.write_text("extends: eks-ws2022-core\nroot_volume: 100GiB\n", encoding="utf-8")
    doc = layerscope("profile", "show", str(path), "-o", "json").json()
    assert doc["name"] == "my-node" and doc["origin"] == str(path)
    values = {v["key"]: v for v in doc["values"]}
    assert values["root_volume"]["value"] == 100 * 2**30
    assert values["root_volume"]["source"] == f"set in {path}"
    assert values["runtime"]["source"] == load_profile("eks-ws2022-core").sources["runtime"]


def test_unknown_profile_is_exit_2_with_the_names(layerscope: Callable[..., Run]) -> None:
    run = layerscope("profile", "show", "eks-ws2030-core")
    assert run.exit_code == 2
    assert "unknown profile 'eks-ws2030-core'" in run.stderr
    assert all(name in run.stderr for name in SHIPPED)
