"""The catalog's modules stay one idea each (issue 13): no runtime import cycle among them, none over 500 lines.

Imports inside functions count (a lazy import is still a cycle: `Catalog.merged` once imported load.py
that way); imports under `if TYPE_CHECKING:` do not. A module importing a sibling also runs the package's
`__init__`, which re-exports the siblings: that edge is Python's package mechanism, not a cycle, so an
edge goes to the module the statement names.
"""

from __future__ import annotations

import ast
from pathlib import Path

import layerscope

PACKAGE = Path(layerscope.__file__).parent
MAX_LINES = 500


def _runtime_imports(path: Path) -> set[str]:
    out: set[str] = set()

    def walk(node: ast.AST, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            guarded = type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if not guarded and isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                out.add(child.module)
            elif not guarded and isinstance(child, ast.Import):
                out.update(alias.name for alias in child.names)
            walk(child, guarded)

    walk(ast.parse(path.read_text(encoding="utf-8")), False)
    return out


def _graph() -> dict[str, set[str]]:
    files = [*sorted((PACKAGE / "catalog").glob("*.py")), PACKAGE / "basematch.py", PACKAGE / "results.py"]
    names = {p: "layerscope." + p.relative_to(PACKAGE).with_suffix("").as_posix().replace("/", ".") for p in files}
    names = {p: n.removesuffix(".__init__") for p, n in names.items()}
    known = set(names.values())
    return {names[p]: _runtime_imports(p) & known for p in files}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(module: str, stack: list[str]) -> None:
        for dep in sorted(graph[module]):
            if dep in stack:
                found.append([*stack[stack.index(dep) :], dep])
            else:
                visit(dep, [*stack, dep])

    for module in graph:
        visit(module, [module])
    return found


def test_no_import_cycle_among_the_catalog_modules() -> None:
    cycles = _cycles(_graph())
    assert not cycles, " ; ".join(" -> ".join(c) for c in cycles)


def test_the_result_types_import_no_catalog_module() -> None:
    graph = _graph()
    for bottom in ("layerscope.basematch", "layerscope.results"):
        assert not {m for m in graph[bottom] if m.startswith("layerscope.catalog")}, bottom


def test_no_catalog_module_over_500_lines() -> None:
    files = [*(PACKAGE / "catalog").glob("*.py"), PACKAGE / "basematch.py", *(PACKAGE / "windows").glob("*.py")]
    long = {p.name: n for p in files if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long
