"""Import boundaries of DESIGN.md, checked by walking the AST of every module (imports inside functions too).

- httpx (network I/O) only in layerscope/registry/; click and rich only in layerscope/cli/;
  tabulate only in layerscope/report/; dask/distributed only in the executor; boto3 only where ECR is
  reached (registry credentials, the scan's ECR listing).
- The pure modules import none of those, nor sqlite3/subprocess/socket — directly (AST) and transitively: each
  pure module is imported alone in a fresh interpreter and what it actually loads is checked (issue #12: the
  AST walk saw `plan/launch.py` clean while importing it loaded `yaml` through `plan/profile.py`).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import layerscope

PACKAGE = Path(layerscope.__file__).parent

ALLOWED = {
    "httpx": ("registry/",),
    "click": ("cli/",),
    "rich": ("cli/",),
    "tabulate": ("report/",),
    "dask": ("executor.py",),
    "distributed": ("executor.py",),
    "boto3": ("registry/credentials.py", "scan.py", "aws_amis.py"),
    "botocore": ("registry/credentials.py", "scan.py", "aws_amis.py"),
}
PURE = (
    "reference.py",
    "oci.py",
    "digest.py",
    "estimate.py",
    "platforms.py",
    "measurement.py",
    "layer_checks.py",
    "results.py",
    "plan/chain.py",
    "plan/launch.py",
    "plan/planned.py",
    "plan/disk.py",
    "plan/recommend.py",
    "plan/recommend_problem.py",
    "plan/recommend_bounds.py",
    "plan/recommend_search.py",
    "plan/compat.py",
    "node_revision.py",
    "node_baked.py",
    "windows/generations.py",
    "plan/profile.py",
    "basematch.py",
    "catalog/model.py",
    "catalog/match.py",
    "catalog/drift.py",
    "catalog/isolation.py",
    "resolution.py",
    "diff.py",
    "gate.py",
    "units.py",
    "contents.py",
    "efficiency.py",
    "contents_record.py",
    "listing.py",
    "waste_gate.py",
    "file_diff.py",
    "calibrate/events.py",
    "calibrate/fit.py",
    "calibrate/result.py",
)
IMPURE = ("httpx", "click", "rich", "tabulate", "sqlite3", "subprocess", "socket", "dask", "boto3")
#: what a pure module must not load, even indirectly (yaml: parsing files belongs to the loaders)
NOT_LOADED = (*IMPURE, "_sqlite3", "distributed", "botocore", "yaml", "ssl", "httpcore", "anyio")
_PROBE = "import importlib, json, sys; importlib.import_module(sys.argv[1]); print(json.dumps(sorted(sys.modules)))"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def _modules() -> dict[str, set[str]]:
    return {p.relative_to(PACKAGE).as_posix(): _imports(p) for p in PACKAGE.rglob("*.py")}


def test_third_party_imports_stay_in_their_layer() -> None:
    offenders = [
        f"{name} imports {lib}"
        for name, imports in _modules().items()
        for lib, places in ALLOWED.items()
        if lib in imports and not name.startswith(places)
    ]
    assert offenders == []


def test_pure_modules_do_no_io() -> None:
    modules = _modules()
    assert set(PURE) <= set(modules)
    offenders = [f"{name} imports {lib}" for name in PURE for lib in IMPURE if lib in modules[name]]
    assert offenders == []


def test_the_rules_see_real_imports() -> None:
    # Guard against a walker that finds nothing: the registry client does import httpx, the CLI click.
    modules = _modules()
    assert "httpx" in modules["registry/client.py"] and "click" in modules["cli/app.py"]


def _loaded_by(module: str) -> set[str]:
    """Top-level packages loaded by importing *module* alone in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {name.split(".")[0] for name in json.loads(out)}


@pytest.mark.parametrize("name", PURE)
def test_pure_modules_load_nothing_impure(name: str) -> None:
    module = "layerscope." + name.removesuffix(".py").replace("/", ".")
    assert sorted(set(NOT_LOADED) & _loaded_by(module)) == []


def test_the_probe_sees_transitive_imports() -> None:
    # Guard against a probe that sees nothing: the profile file reader loads yaml, the CLI click and rich.
    assert "yaml" in _loaded_by("layerscope.plan.profile_files")
    assert {"click", "layerscope"} <= _loaded_by("layerscope.cli.app")


#: Loaded only by the runs that need them: a profile or --baked file (YAML), an AMI (AWS tables and boto3),
#: --executor/--attach (fleet), --estimate, a registry reference (httpx).
_NOT_FOR_A_PLAIN_RUN = (
    "yaml",
    "httpx",
    "boto3",
    "dask",
    "layerscope.fleet",
    "layerscope.estimate",
    "layerscope.aws_amis",
    "layerscope.windows.node",
    "layerscope.plan.profile_files",
)
_RUN_PROBE = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: sys.stderr.write('MODULES ' + json.dumps(sorted(sys.modules)) + '\\n'))\n"
    "from layerscope.cli import main\nmain()\n"
)


def test_a_plain_warm_analyze_loads_only_what_it_uses(tmp_path: Path) -> None:
    """Start-up is most of a warm run (README "Performance"): modules for other runs' options stay unloaded."""
    layout = PACKAGE.parent / "fixtures" / "layout"
    args = ["analyze", f"oci:{layout}:windows-app", "--store", str(tmp_path / "store.sqlite3"), "-o", "json"]
    for _ in range(2):  # the first run fills the store, the second is the warm run
        run = subprocess.run(
            [sys.executable, "-c", _RUN_PROBE, *args, "--no-progress"], capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stderr
    line = next(x for x in run.stderr.splitlines() if x.startswith("MODULES "))
    loaded = set(json.loads(line.removeprefix("MODULES ")))
    assert "layerscope.analysis" in loaded  # the probe sees the run's own imports
    assert sorted(loaded & set(_NOT_FOR_A_PLAIN_RUN)) == []
