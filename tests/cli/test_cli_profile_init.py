"""`layerscope profile init NAME --from P`: a commented profile that loads back to P's values (#18 item 14)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from layerscope.plan.profile import VALUE_KEYS, NodeProfile
from layerscope.plan.profile_files import list_profiles, load_profile
from layerscope.report.profile_template import KEY_DOCS
from tests.integration.conftest import Run
from tests.support.paths import ROOT

_IDENTITY = ("name", "description", "origin")


def _values(profile: NodeProfile) -> dict[str, object]:
    return {f.name: getattr(profile, f.name) for f in dataclasses.fields(profile) if f.name not in _IDENTITY}


def _uncommented(text: str) -> str:
    """The file with every inherited value uncommented, as a user overriding every key would write it."""
    return "".join(line[2:] if line.startswith("# ") else line for line in text.splitlines(keepends=True))


@pytest.mark.parametrize("parent", list_profiles())
def test_written_file_loads_back_to_the_parents_values(
    parent: str, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    out = tmp_path / "my-node.yaml"
    run = layerscope("profile", "init", "my-node", "--from", parent, "--output", str(out))
    assert run.exit_code == 0, run.stderr
    source = load_profile(parent)
    mine = load_profile(str(out))
    assert mine.name == "my-node" and mine.origin == str(out)
    assert _values(mine) == _values(source)  # sources too: nothing is overridden yet
    shown = layerscope("profile", "show", str(out), "-o", "json").json()
    assert shown["name"] == "my-node" and shown["root_volume_bytes"] == source.root_volume_bytes

    # Every value written (commented out) is in the syntax the loader reads back, exactly.
    full = tmp_path / "full.yaml"
    full.write_text(_uncommented(out.read_text(encoding="utf-8")), encoding="utf-8")
    overridden = load_profile(str(full))
    assert set(yaml.safe_load(full.read_text(encoding="utf-8"))) >= set(VALUE_KEYS)
    assert {k: v for k, v in _values(overridden).items() if k != "sources"} == {
        k: v for k, v in _values(source).items() if k != "sources"
    }
    assert all(overridden.sources[k] == f"set in {full}" for k in VALUE_KEYS)


def test_every_key_is_explained_with_its_syntax(layerscope: Callable[..., Run]) -> None:
    assert set(VALUE_KEYS) <= set(KEY_DOCS)
    run = layerscope("profile", "init", "n1", "--from", "eks-ws2019-core")
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    for key in VALUE_KEYS:
        assert f"\n## {key}: " in text and f"\n# {key}:" in text, key
    for syntax in ("50GiB", "9.5GiB", "10GB", "62.5MB/s", "5m", "50ms", "REPLACES the parent's list"):
        assert syntax in text, syntax
    assert "# root_volume: 50GiB\n" in text and "# network_throughput: 62.5MB/s\n" in text
    assert "# pull_inactivity_timeout: 5m\n" in text and "# registry_latency: 50ms\n" in text


def test_baked_replaces_the_parents_list(tmp_path: Path) -> None:
    """What README says: a `baked:` in a file that extends another replaces the parent's list, it is not added."""
    path = tmp_path / "one.yaml"
    path.write_text(
        "extends: eks-ws2019-core\nbaked:\n  - mcr.microsoft.com/windows/nanoserver:1809\n", encoding="utf-8"
    )
    assert load_profile("eks-ws2019-core").baked_references() == [
        "mcr.microsoft.com/windows/servercore:ltsc2019",
        "mcr.microsoft.com/windows/nanoserver:1809",
    ]
    assert load_profile(str(path)).baked_references() == ["mcr.microsoft.com/windows/nanoserver:1809"]


def test_init_from_a_file_analyzes_like_its_parent(
    layerscope: Callable[..., Run], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file parent: `extends:` points at it from the new file's folder; analyze gives the parent's numbers."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "sub" / "mine.yaml"
    out.parent.mkdir()
    run = layerscope("profile", "init", "mine", "--from", "fixtures/demo-node.yaml", "--output", str(out))
    assert run.exit_code == 0, run.stderr
    assert (out.parent / yaml.safe_load(out.read_text(encoding="utf-8"))["extends"]).resolve() == (
        ROOT / "fixtures" / "demo-node.yaml"
    )
    image = "oci:fixtures/layout:windows-app"
    theirs = layerscope("analyze", image, "--profile", "fixtures/demo-node.yaml", "-o", "json", "--no-store").json()
    mine = layerscope("analyze", image, "--profile", str(out), "-o", "json", "--no-store").json()
    assert mine["profile"] == "mine"
    assert json.dumps(mine["images"], sort_keys=True) == json.dumps(theirs["images"], sort_keys=True)
    assert (
        mine["images"][0]["totals"]["pull_compressed_bytes"] == theirs["images"][0]["totals"]["pull_compressed_bytes"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("Bad Name", "--from", "eks-ws2019-core"), "invalid profile name 'Bad Name'"),
        (("ok", "--from", "eks-ws2030-core"), "unknown profile 'eks-ws2030-core'"),
        (("ok",), "missing option '--from'"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    args: tuple[str, ...], message: str, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    out = tmp_path / "x.yaml"
    run = layerscope("profile", "init", *args, "--output", str(out))
    assert run.exit_code == 2
    assert run.stderr.startswith("layerscope: error: ") and message in run.stderr, run.stderr
    assert len(run.stderr.splitlines()) == 1 and not out.exists()
