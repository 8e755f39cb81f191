"""Shipped node profiles (every value sourced, calibrated), user profiles, baked-set files."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pytest
import yaml

from layerscope.catalog import load_shipped
from layerscope.errors import ProfileError
from layerscope.plan import list_profiles, load_baked, load_profile, simple_pull_seconds
from layerscope.plan.profile import VALUE_KEYS
from layerscope.report.profile_view import profile_fields

EXPECTED = {
    "eks-ws2019-core",
    "eks-ws2019-full",
    "eks-ws2022-core",
    "eks-ws2022-full",
    "eks-ws2025-core",
    "eks-ws2025-full",
    "ecs-ws2019-core",
    "ecs-ws2019-full",
    "ecs-ws2022-core",
    "ecs-ws2022-full",
}
# Servercore ltsc2022 of 2026-08 (catalog rows 3cc21a1b… + 16a37dc2…).
SERVERCORE = ("sha256:3cc21a1b754848d23f00aa65cb94ec34c9a5dc6028b3aada42039c824738d02f",
              "sha256:16a37dc2b2d3c6043d57b7ca0e32bc7d3fe761174f2d192d1aabe93b7895c9b7")  # fmt: skip


def test_shipped_profiles_are_listed() -> None:
    assert set(list_profiles()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_value_has_a_source(name: str) -> None:
    p = load_profile(name)
    for key in VALUE_KEYS:
        assert p.sources.get(key, "").strip(), f"{name}: no source for {key}"
    assert p.sources["network_throughput"].startswith("assumption:")
    assert p.sources["registry_latency"].startswith("assumption:")
    assert p.baked and all(b.source for b in p.baked)
    assert p.description and p.origin == "shipped"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_file_sources_what_it_sets(name: str) -> None:
    text = (resources.files("layerscope.plan") / "profiles" / f"{name}.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    set_here = {k for k in doc if k in VALUE_KEYS}
    assert set_here <= set(doc.get("sources", {})), f"{name}: overrides without a source"


def test_profile_facts() -> None:
    eks = load_profile("eks-ws2022-core")
    assert (eks.os_version, eks.build, eks.channel, eks.runtime) == ("10.0.20348", 20348, "ltsc2022", "containerd")
    assert eks.root_volume_bytes == 50 * 2**30
    assert eks.pull_inactivity_timeout_seconds == 300 and eks.pull_total_timeout_seconds is None
    assert not eks.discard_unpacked_layers and not eks.timeout_covers_extraction
    assert eks.max_concurrent_downloads == 3
    ecs = load_profile("ecs-ws2019-core")
    assert (ecs.runtime, ecs.pull_inactivity_timeout_seconds, ecs.pull_total_timeout_seconds) == ("docker", 180, 7200)
    assert ecs.timeout_covers_extraction and ecs.discard_unpacked_layers
    assert ecs.baked_references() == [
        "mcr.microsoft.com/windows/servercore:ltsc2019",
        "mcr.microsoft.com/windows/nanoserver:1809",
    ]
    full = load_profile("eks-ws2019-full")
    assert full.os_footprint_bytes == 10 * 10**9 and "Desktop Experience" in full.sources["os_footprint"]
    assert load_profile("eks-ws2025-core").runtime_version == "2.1.6"
    assert json.dumps(profile_fields(full))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_calibration_uncached_servercore_about_six_minutes(name: str) -> None:
    cat = load_shipped()
    rows = [cat.by_digest(d) for d in SERVERCORE]
    assert all(rows)
    compressed = sum(r.compressed_bytes or 0 for r in rows if r)
    extracted = sum(cat.extracted_bytes(r)[0] or 0 for r in rows if r)
    p = load_profile(name)
    uncached = simple_pull_seconds(p, compressed, extracted, layers=3)
    assert 5 * 60 <= uncached <= 7 * 60
    cached = simple_pull_seconds(p, 300_000_000, 800_000_000, layers=3)  # app layers only
    assert cached < 60


def test_user_profile_extends_a_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "my-nodes.yaml"
    path.write_text(
        "extends: eks-ws2022-core\n"
        "root_volume: 100GiB\n"
        "extraction_throughput: 30MB/s\n"
        "baked:\n"
        "  - reference: mcr.microsoft.com/windows/servercore:ltsc2022\n"
        "    os_version: '10.0.20348.2461'\n"
        "    month: '2024-05'\n"
        "  - 123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/web:2.4\n"
    )
    p = load_profile(str(path))
    assert p.name == "my-nodes" and p.origin == str(path)
    assert p.root_volume_bytes == 100 * 2**30 and p.extraction_bytes_per_second == 30_000_000
    assert p.sources["root_volume"] == f"set in {path}"  # the shipped source no longer applies
    assert p.sources["os_version"] == load_profile("eks-ws2022-core").sources["os_version"]
    assert p.baked[0].os_version == "10.0.20348.2461" and p.baked[1].source is None
    assert p.os_version == "10.0.20348"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("extends: eks-ws2022-core\nroot_volum: 10GB\n", "unknown keys root_volum"),
        ("extends: eks-ws2022-core\nroot_volume: 10 parsecs\n", "root_volume"),
        ("extends: eks-ws2022-core\nroot_volume: 0\n", "root_volume must be more than 0"),
        ("extends: eks-ws2022-core\nnetwork_throughput: fast\n", "network_throughput"),
        ("extends: eks-ws2022-core\npull_inactivity_timeout: soon\n", "pull_inactivity_timeout"),
        ("extends: eks-ws2022-core\nruntime: podman\n", "runtime must be one of containerd, docker"),
        ("extends: eks-ws2022-core\nos_version: 10.0\n", "os_version"),
        ("extends: eks-ws2022-core\nmax_concurrent_downloads: 0\n", "max_concurrent_downloads"),
        ("extends: eks-ws2022-core\ndiscard_unpacked_layers: maybe\n", "true or false"),
        ("extends: eks-ws2022-core\nbaked: [{reference: 'mcr.microsoft.com/x', month: '2024-13'}]\n", "month"),
        ("extends: eks-ws2022-core\nbaked: [{ref: x}]\n", "unknown keys ref"),
        ("extends: eks-ws2022-core\nbaked: ['UPPER CASE/ref']\n", "baked[0]"),
        ("extends: no-such-profile\n", "unknown profile"),
        ("os_version: '10.0.20348'\nruntime: containerd\n", "missing keys"),
        ("- a list\n", "must be a YAML mapping"),
        ("key: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_user_profiles_give_clear_errors(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(body)
    with pytest.raises(ProfileError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_profile(str(path))


def test_extends_a_user_file_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("extends: ecs-ws2022-core\nroot_volume: 80GiB\n")
    (tmp_path / "child.yaml").write_text("name: child\nextends: base.yaml\nmax_concurrent_downloads: 6\n")
    p = load_profile(str(tmp_path / "child.yaml"))
    assert (p.name, p.root_volume_bytes, p.max_concurrent_downloads, p.runtime) == ("child", 80 * 2**30, 6, "docker")


def test_extends_loop_and_missing_files(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(f"extends: {b}\n")
    b.write_text(f"extends: {a}\n")
    with pytest.raises(ProfileError, match="loops"):
        load_profile(str(a))
    with pytest.raises(ProfileError, match="cannot read profile"):
        load_profile(str(tmp_path / "absent.yaml"))
    with pytest.raises(ProfileError) as err:
        load_profile("eks-ws2099-core")
    assert err.value.hint and "eks-ws2022-core" in err.value.hint


def test_load_baked_text(tmp_path: Path) -> None:
    path = tmp_path / "baked.txt"
    path.write_text(
        "# images on the AMI\n"
        "mcr.microsoft.com/windows/servercore:ltsc2022   # base\n"
        "\n"
        "  mcr.microsoft.com/windows/nanoserver@sha256:" + "a" * 64 + "\n"
    )
    assert load_baked(path) == [
        "mcr.microsoft.com/windows/servercore:ltsc2022",
        "mcr.microsoft.com/windows/nanoserver@sha256:" + "a" * 64,
    ]


def test_load_baked_json_forms(tmp_path: Path) -> None:
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(["mcr.microsoft.com/windows/servercore:ltsc2019"]))
    assert load_baked(as_list) == ["mcr.microsoft.com/windows/servercore:ltsc2019"]
    pull_list = tmp_path / "pull.json"
    pull_list.write_text(json.dumps({"images": [{"reference": "a.example/x:1", "digest": "ignored"}, "b.example/y"]}))
    assert load_baked(pull_list) == ["a.example/x:1", "b.example/y"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("ok.example/a:1\nNot A Ref\n", "line 2"),
        ("[1, 2]", "entry 0"),
        ('{"images": {"a": 1}}', "expected a JSON list"),
        ("[unclosed", "not valid JSON"),
    ],
)
def test_load_baked_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "baked"
    path.write_text(content)
    with pytest.raises(ProfileError, match=message):
        load_baked(path)
    with pytest.raises(ProfileError, match="cannot read"):
        load_baked(tmp_path / "absent")
