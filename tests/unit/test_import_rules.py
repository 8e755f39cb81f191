"""Import boundaries of DESIGN.md, checked by walking the AST of every module (imports inside functions too).

- httpx (network I/O) only in layerscope/registry/; click and rich only in layerscope/cli/;
  tabulate only in layerscope/report/; dask/distributed only in the executor; boto3 only where ECR is
  reached (registry credentials, the scan's ECR listing).
- The pure modules import none of those, nor sqlite3/subprocess/socket.
"""

from __future__ import annotations

import ast
from pathlib import Path

import layerscope

PACKAGE = Path(layerscope.__file__).parent

ALLOWED = {
    "httpx": ("registry/",),
    "click": ("cli/",),
    "rich": ("cli/",),
    "tabulate": ("report/",),
    "dask": ("executor.py",),
    "distributed": ("executor.py",),
    "boto3": ("registry/credentials.py", "scan.py"),
    "botocore": ("registry/credentials.py", "scan.py"),
}
PURE = (
    "reference.py",
    "oci.py",
    "digest.py",
    "estimate.py",
    "platforms.py",
    "measurement.py",
    "results.py",
    "plan/chain.py",
    "plan/launch.py",
    "plan/disk.py",
    "plan/recommend.py",
    "catalog/match.py",
)
IMPURE = ("httpx", "click", "rich", "tabulate", "sqlite3", "subprocess", "socket", "dask", "boto3")


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
