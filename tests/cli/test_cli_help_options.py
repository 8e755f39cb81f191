"""Every option a command's `--help` lists is accepted by that command (#18 item 11: `diff` listed options it
then rejected). For each subcommand, each option its help shows is passed with a valid value against the
fixture images in the test registry; the run must not end in a usage error (exit 2), and `--help` must list it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

from layerscope.cli import cli
from tests.integration.conftest import Run
from tests.support.paths import FIXTURE_LAYOUT, ROOT
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess

REPO = "t/help-options"


def _commands() -> list[tuple[str, ...]]:
    ctx = click.Context(cli)
    out: list[tuple[str, ...]] = []

    def walk(cmd: click.Command, path: tuple[str, ...]) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None
                walk(sub, (*path, name))
        else:
            out.append(path)

    walk(cli, ())
    return out


def _command(path: tuple[str, ...]) -> click.Command:
    cmd: click.Command | None = cli
    for name in path:
        assert isinstance(cmd, click.Group)
        cmd = cmd.get_command(click.Context(cli), name)
    assert cmd is not None
    return cmd


def _listed_options(path: tuple[str, ...]) -> list[click.Option]:
    return [p for p in _command(path).params if isinstance(p, click.Option) and not p.hidden]


COMMANDS = _commands()


@pytest.fixture(scope="module")
def own_registry(registry_binary: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryProcess]:
    """A registry of its own: `catalog refresh` and `scan` read whole repositories, which other tests fill."""
    with RegistryProcess(tmp_path_factory.mktemp("options-registry"), binary=registry_binary, name="opts") as reg:
        yield reg


@pytest.fixture(scope="module")
def env(own_registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Images in the registry, and the files the options name, in a working directory of their own."""
    registry = own_registry
    work = tmp_path_factory.mktemp("help-options")
    (work / "fixtures").symlink_to(ROOT / "fixtures")
    with Pusher(registry.url) as pusher:
        for tag in ("linux-gzip", "windows-app", "servercore-ltsc2019-2022-09"):
            pusher.push_layout(FIXTURE_LAYOUT, tag, REPO)
        pusher.push_layout(FIXTURE_LAYOUT, "servercore-ltsc2019-2022-09", "windows/servercore", "ltsc2019")
    image = f"{registry.host}/{REPO}:linux-gzip"
    app = f"{registry.host}/{REPO}:windows-app"  # a Windows image: one the node can run, so recommend chooses it
    (work / "fleet.yaml").write_text(f"images:\n  - ref: {app}\n    weight: 10\n", encoding="utf-8")
    events = [
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": f"web-{i}.17a", "namespace": "shop"},
            "reason": "Pulled",
            "message": f'Successfully pulled image "{app}" in 1m{30 + i}.5s (1m{30 + i}.5s including waiting)',
            "source": {"component": "kubelet", "host": f"node-{i}"},
            "lastTimestamp": f"2026-11-0{1 + i}T10:00:00Z",
            "type": "Normal",
        }
        for i in range(3)
    ]
    (work / "events.json").write_text(json.dumps({"kind": "EventList", "items": events}), encoding="utf-8")
    tasks = [
        {
            "taskArn": f"arn:aws:ecs:us-west-2:1:task/c/{i}",
            "containerInstanceArn": f"arn:aws:ecs:us-west-2:1:container-instance/c/{i}",
            "pullStartedAt": 1_790_000_000.0 + 3600 * i,
            "pullStoppedAt": 1_790_000_090.0 + 3600 * i,
            "containers": [{"image": app}],
        }
        for i in range(3)
    ]
    (work / "tasks.json").write_text(json.dumps({"tasks": tasks, "failures": []}), encoding="utf-8")
    yield {"REGISTRY": registry.host, "IMAGE": image, "WORK": str(work)}


def _values(env: dict[str, str], work: Path) -> dict[str, list[str]]:
    """A valid value for each option name (a Choice option takes each of its choices instead)."""
    registry, image = env["REGISTRY"], env["IMAGE"]
    return {
        "--platform": ["linux/amd64"],
        "--profile": ["fixtures/demo-node.yaml"],
        "--baked": [f"{registry}/{REPO}:servercore-ltsc2019-2022-09"],
        "--mirror": [f"mcr.microsoft.com={registry}"],
        "--timeout": ["30"],
        "--store": [str(work / "store.sqlite3")],
        "--concurrency": ["2"],
        "--executor": ["threads"],
        "--max-pull": ["10GB"],
        "--max-waste": ["99%"],
        "--min-efficiency": ["0"],
        "--top": ["5"],
        "--layer": ["0"],
        "--depth": ["2"],
        "--path": ["/"],
        "--workload": ["fleet.yaml"],
        "--from-recommendation": ["rec.json"],
        "--name": ["prepull"],
        "--budget": ["10GB"],
        "--tags": ["ltsc*"],
        "--since": ["2020-01-01"],
        "--checkpoint": [str(work / "scan.ckpt")],
        "--batch-size": ["10"],
        "--older-than": ["30d"],
        "--registry": [registry],
        "--repository": ["windows/servercore"],
        "--max-tags": ["2"],
        "--catalog": [str(work / "catalog.json")],
        "--build": ["2019"],
        "--family": ["Windows_Server-2019-English-Core-EKS_Optimized-1.29"],
        "--k8s": ["1.29"],
        "--from": ["eks-ws2019-core"],
        "--events": ["events.json"],
        "--ecs-tasks": ["tasks.json"],
        "--write-profile": [str(work / "ours.yaml")],
        "--ami": ["Windows_Server-2019-English-Core-EKS_Optimized-1.29-2022.09.14"],  # #14: a name, offline
        "--nodes": ["fixtures/nodes.json"],  # #14: kubectl get nodes -o json
        "--output": [str(work / "out")],
        "_image": [image],
    }


#: Arguments (and required options) that make each command runnable; a new command needs a line here.
BASE: dict[tuple[str, ...], Callable[[dict[str, str]], list[str]]] = {
    ("analyze",): lambda e: [e["IMAGE"]],
    ("diff",): lambda e: [e["IMAGE"], f"{e['REGISTRY']}/{REPO}:windows-app"],
    ("files",): lambda e: [e["IMAGE"]],
    ("report",): lambda e: [e["IMAGE"]],
    ("recommend",): lambda e: ["--workload", "fleet.yaml", "--profile", "fixtures/demo-node.yaml"],
    ("pull-list",): lambda e: [e["IMAGE"]],
    ("scan",): lambda e: [f"{e['REGISTRY']}/{REPO}", "--tags", "linux-gzip"],
    ("store", "stats"): lambda e: [],
    ("store", "prune"): lambda e: [],
    ("catalog", "list"): lambda e: [],
    ("catalog", "show"): lambda e: ["servercore:ltsc2019"],
    ("catalog", "when"): lambda e: ["10.0.17763.2928"],
    ("catalog", "amis"): lambda e: [],
    ("catalog", "refresh"): lambda e: ["--registry", e["REGISTRY"], "--repository", "windows/servercore", "--dry-run"],
    ("profile", "list"): lambda e: [],
    ("profile", "show"): lambda e: ["eks-ws2019-core"],
    ("profile", "init"): lambda e: ["my-node", "--from", "eks-ws2019-core"],
    ("calibrate",): lambda e: ["--profile", "fixtures/demo-node.yaml", "--events", "events.json"],
}

#: (command, option) -> the documented refusal (exit 2) that a valid value still gets from these inputs.
REFUSED = {
    # Three recorded pulls fit nothing (at least 5 are needed), and a profile is written only from a fit;
    # tests/integration/test_calibrate.py writes one from events generated by the model.
    (("calibrate",), "--write-profile"): "no parameter could be fitted",
}

#: Options that pair with another (documented), and options that stand for the image arguments.
NEEDS = {"--estimate-fallback": ["--estimate"]}
INSTEAD_OF_REFS = ("--workload", "--from-recommendation")


def test_every_command_has_runnable_arguments() -> None:
    missing = [" ".join(c) for c in COMMANDS if c not in BASE]
    assert not missing, f"add base arguments for {missing} to BASE (tests/cli/test_cli_help_options.py)"


def _cases(path: tuple[str, ...]) -> list[tuple[str, list[str]]]:
    cases: list[tuple[str, list[str]]] = []
    for option in _listed_options(path):
        for flag in option.opts + option.secondary_opts:
            if option.is_flag:
                cases.append((flag, [flag]))
            elif isinstance(option.type, click.Choice):
                cases.extend((flag, [flag, str(choice)]) for choice in option.type.choices if flag.startswith("--"))
            elif flag.startswith("--"):
                cases.append((flag, [flag, "VALUE"]))
    return cases


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_listed_options_are_accepted(
    path: tuple[str, ...],
    env: dict[str, str],
    layerscope: Callable[..., Run],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    work = Path(env["WORK"])
    monkeypatch.chdir(work)
    values = _values(env, work)
    if path == ("pull-list",) or path[0] == "store":
        # --from-recommendation needs a recommendation; store stats|prune --store need an existing store.
        assert layerscope("recommend", *BASE[("recommend",)](env), "-o", "json", "--output", "rec.json").exit_code == 0
        assert layerscope("analyze", env["IMAGE"], "--store", values["--store"][0], "-o", "json").exit_code == 0
    help_text = layerscope(*path, "--help").stdout
    base = BASE[path](env)
    failures = []
    for flag, args in _cases(path):
        assert flag in help_text, f"{' '.join(path)} --help does not show {flag}"
        if "VALUE" in args:
            if flag not in values:
                failures.append(f"{' '.join(path)} {flag}: add a valid value for it to _values() in this test")
                continue
            args = [flag, values[flag][0]]
        refs = [] if flag in INSTEAD_OF_REFS and path != ("recommend",) else base
        argv = [*path, *refs, *args, *NEEDS.get(flag, [])]
        if flag == "--output":
            argv += ["-o", "json"] if any(o.opts[-1] == "--format" for o in _listed_options(path)) else []
        if path == ("catalog", "refresh") and flag in ("--tags", "--max-tags", "--registry", "--repository"):
            argv = [a for a in argv if a != "--dry-run"] + ["--dry-run"]
        run = layerscope(*argv)
        refusal = REFUSED.get((path, flag))
        if run.exit_code == 2 and refusal and refusal in run.stderr:
            continue
        if run.exit_code == 2:
            failures.append(f"layerscope {' '.join(argv)} -> exit 2: {run.stderr.strip()}")
    assert not failures, "\n".join(failures)
