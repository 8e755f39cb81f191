"""The Windows model is pure: builds.py, amis.py and inference.py do no I/O and do not load package data."""

from __future__ import annotations

import ast
from pathlib import Path

import layerscope
from tests.unit.test_import_rules import IMPURE, _imports

PACKAGE = Path(layerscope.__file__).parent
PURE = ("windows/builds.py", "windows/amis.py", "windows/inference.py")
NO_IO = (*IMPURE, "importlib", "csv", "io", "os", "pathlib", "open")


def _modules_imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_pure_windows_modules_do_no_io() -> None:
    for name in PURE:
        path = PACKAGE / name
        assert not (_imports(path) & set(NO_IO)), name
        assert "layerscope.windows.load" not in _modules_imported(path), name
        calls = {
            n.func.id
            for n in ast.walk(ast.parse(path.read_text("utf-8")))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
        }
        assert "open" not in calls, name


def test_cli_and_report_modules_stay_in_their_layer() -> None:
    assert "tabulate" in _imports(PACKAGE / "report/windows_view.py")
    assert "click" not in _imports(PACKAGE / "report/windows_view.py")
    for name in (*PURE, "windows/load.py", "windows/__init__.py"):
        assert not (_imports(PACKAGE / name) & {"click", "rich", "tabulate", "httpx"}), name
