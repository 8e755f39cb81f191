"""Every command README.md and docs/*.md show runs as documented (#18 "Done when"): its exit code, and where the
docs show output, that output (the lines shown, in order; tests/support/doc_commands.py says how they are read).

Commands run as a user types them: `bash -c` in a working directory holding `fixtures/` (the checkout's), the
files the docs name (fleet.yaml, pods.json, my-node.yaml, pull-list.txt, an `oci:./out:app` layout) and an
isolated store, user catalog and Docker config. Example hosts and placeholders become the test registry or
fixture images (doc_commands.SUBSTITUTIONS); the registry holds the fixture images under the names the docs use.
Every command that reads images also gets `--mirror mcr.microsoft.com=REGISTRY` (unless it names a mirror), so
no command contacts Microsoft's registry: the baked `servercore:ltsc2019` of the shipped profiles is the
September 2022 fixture stand-in there. A failure names the doc, line, command, and what differed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from layerscope.cli import cli
from tests.support.doc_commands import SKIPPED, DocCommand, DocFile, commands_in, output_mismatch, substitute
from tests.support.paths import FIXTURE_LAYOUT, ROOT
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

#: The registry's images: documented name -> fixture tag.
IMAGES = {
    "shop/web:2.4": "windows-app",
    "shop/web:2.3": "servercore-ltsc2019-2022-05",
    "shop/api:1.8": "windows-app",
    "dotnet/framework/aspnet:4.8": "multi-platform",
    "windows/servercore:ltsc2019": "servercore-ltsc2019-2022-09",
}

#: Commands whose exit code is checked but whose shown output is an example from data the fixtures do not have.
OUTPUT_NOT_CHECKED = {
    r"catalog refresh --mirror": "the example registry held three 2023 servercore tags; the fixtures hold one 2022 one",
    r"catalog list \| grep": "shows the user rows that example refresh wrote",
    r"--max-pull 500MB": "the output names an image of the 12-image example fleet, not of the fixtures",
}


def _mirrored(command: str, registry: str) -> str:
    """Each `layerscope SUB` that has --mirror gets `--mirror mcr.microsoft.com=REGISTRY` (none names a mirror)."""
    if "--mirror" in command:
        return command

    def add(match: re.Match[str]) -> str:
        path = match.group(1).split()
        cmd: click.Command | None = cli
        for name in path:
            cmd = cmd.get_command(click.Context(cli), name) if isinstance(cmd, click.Group) else None
        has = cmd is not None and any("--mirror" in getattr(p, "opts", ()) for p in cmd.params)
        return f"{match.group(0)} --mirror mcr.microsoft.com={registry}" if has else match.group(0)

    return re.sub(r"\blayerscope ((?:catalog |store |profile )?[a-z][\w-]*)", add, command)


def _write_inputs(work: Path, registry: str) -> None:
    (work / "fixtures").symlink_to(ROOT / "fixtures")
    refs = [f"{registry}/{name}" for name in IMAGES if name.startswith("shop/")]
    (work / "fleet.yaml").write_text(
        "images:\n" + "".join(f"  - ref: {r}\n    weight: {10 * (i + 1)}\n" for i, r in enumerate(refs)),
        encoding="utf-8",
    )
    pod = {
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "shop"},
        "spec": {"nodeSelector": {"kubernetes.io/os": "windows"}, "containers": [{"name": "web", "image": refs[0]}]},
    }
    (work / "pods.json").write_text(json.dumps({"kind": "List", "items": [pod]}), encoding="utf-8")
    (work / "my-node.yaml").write_text("extends: fixtures/demo-node.yaml\nname: my-node\n", encoding="utf-8")
    (work / "pull-list.txt").write_text(f"{registry}/windows/servercore:ltsc2019\n", encoding="utf-8")
    # `oci:./out:app`: the fixture layout's windows-app, tagged `app`, as `skopeo copy … oci:./out:app` leaves it.
    out = work / "out"
    out.mkdir()
    (out / "blobs").symlink_to(FIXTURE_LAYOUT / "blobs")
    (out / "oci-layout").write_text((FIXTURE_LAYOUT / "oci-layout").read_text(encoding="utf-8"), encoding="utf-8")
    index = json.loads((FIXTURE_LAYOUT / "index.json").read_text(encoding="utf-8"))
    ref_name = "org.opencontainers.image.ref.name"
    entry = next(m for m in index["manifests"] if m.get("annotations", {}).get(ref_name) == "windows-app")
    entry = {**entry, "annotations": {ref_name: "app"}}
    (out / "index.json").write_text(json.dumps({**index, "manifests": [entry]}), encoding="utf-8")


@pytest.fixture(scope="module")
def docs_registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A registry of its own: `catalog refresh` and `scan` read whole repositories, which other tests fill."""
    with RegistryProcess(tmp_path_factory.mktemp("docs-registry"), binary=registry_binary, name="docs") as reg:
        yield reg


@pytest.fixture(scope="module")
def docs_env(
    docs_registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, dict[str, str]]]:
    registry = docs_registry
    work = tmp_path_factory.mktemp("docs")
    with Pusher(registry.url) as pusher:
        for name, tag in IMAGES.items():
            repo, _, ref = name.rpartition(":")
            pusher.push_layout(FIXTURE_LAYOUT, tag, repo, ref)
    _write_inputs(work, registry.host)
    state = work.parent / f"{work.name}-state"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "LAYERSCOPE_STORE": str(state / "store.sqlite3"),
        "XDG_CACHE_HOME": str(state / "cache"),
        "XDG_DATA_HOME": str(state / "data"),
        "XDG_STATE_HOME": str(state / "state"),
        "DOCKER_CONFIG": str(state / "docker"),
        "REGISTRY": registry.host,
        "COLUMNS": "200",
    }
    env.pop("REGISTRY_AUTH_FILE", None)
    env.pop("LAYERSCOPE_DEBUG", None)
    yield work, env


def run_documented(command: DocCommand, work: Path, env: dict[str, str]) -> str | None:
    """Run one documented command; None when it did what the docs say, else why not (one paragraph)."""
    text = _mirrored(substitute(command.text, env["REGISTRY"]), env["REGISTRY"])
    proc = subprocess.run(
        ["bash", "-o", "pipefail", "-c", text], cwd=work, env=env, capture_output=True, text=True, timeout=300
    )
    said = f"{command.where}: `{command.text}`\n  ran: {text}\n  exit {proc.returncode}"
    tail = (proc.stderr.strip().splitlines() or [""])[-1]
    if command.exit_code is not None and proc.returncode != command.exit_code:
        return f"{said}, the docs say {command.exit_code}; stderr: {tail}"
    if command.exit_code is None and command.shows_error and proc.returncode == 0:
        return f"{said}, the docs show an error"
    if command.exit_code is None and not command.shows_error and proc.returncode != 0:
        return f"{said}; stderr: {tail}"
    if not command.output or any(re.search(p, command.text) for p in OUTPUT_NOT_CHECKED):
        return None
    missing = output_mismatch(command.output, proc.stdout + proc.stderr)
    if missing is None:
        return None
    got = "\n".join(f"    | {line}" for line in (proc.stdout + proc.stderr).splitlines()[:12])
    return f"{said}; the docs show a line the output lacks:\n    {missing}\n  the output begins:\n{got}"


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_documented_commands_run_as_documented(
    doc: Path, docs_env: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    work, env = docs_env
    state = tmp_path / "state"  # each doc starts cold, as a reader does: no store, no user catalog
    env = {**env, "LAYERSCOPE_STORE": str(state / "store.sqlite3"), "XDG_DATA_HOME": str(state / "data")}
    env |= {"XDG_CACHE_HOME": str(state / "cache"), "XDG_STATE_HOME": str(state / "state")}
    failures = []
    for command in commands_in(doc, ROOT):
        if isinstance(command, DocFile):
            (work / command.name).write_text(command.content, encoding="utf-8")
            continue
        if any(re.search(pattern, command.text) for pattern in SKIPPED):
            continue
        failure = run_documented(command, work, env)
        if failure:
            failures.append(failure)
        print(f"{command.where}: {'FAILED' if failure else 'ok'}: {command.text}")
    hint = (
        "(a new placeholder or example file? add it to SUBSTITUTIONS in tests/support/doc_commands.py or to"
        " _write_inputs here; a command that needs AWS or a cluster goes in SKIPPED with its reason)"
    )
    assert not failures, f"{len(failures)} documented command(s) do not run as documented {hint}:\n" + "\n".join(
        failures
    )


def test_a_broken_option_is_reported(docs_env: tuple[Path, dict[str, str]]) -> None:
    """The harness fails a command the CLI no longer accepts, and output that no longer matches."""
    work, env = docs_env
    broken = DocCommand("README.md", 1, "layerscope files oci:fixtures/layout:windows-app --deep 2")
    assert "exit 2" in (run_documented(broken, work, env) or "")
    wrong = DocCommand("README.md", 1, "layerscope catalog when 10.0.17763.1879", ("KB0000000",))
    assert "lacks" in (run_documented(wrong, work, env) or "")


def test_skip_list_is_short_and_reasoned() -> None:
    assert len(SKIPPED) <= 4 and all(len(reason) > 20 for reason in SKIPPED.values())
    assert len(OUTPUT_NOT_CHECKED) <= 4
