"""The result types sit at the bottom; no runtime import cycle through results/plan/report/analysis (issue #13)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layerscope"
#: Modules of the results → planned image → renderers chain, and the analysis/executor split; a cycle through any
#: of them, or one of them over 500 lines, fails (issue #13: one idea per module, aim ~400 lines).
GUARDED = (
    "layerscope.results",
    "layerscope.plan.planned",
    "layerscope.plan.launch",
    "layerscope.baked",
    "layerscope.gate",
    "layerscope.session",
    "layerscope.fleet",
    "layerscope.analysis",
    "layerscope.layer_checks",
    "layerscope.layer_tasks",
    "layerscope.executor",
    "layerscope.report.model",
    "layerscope.report.fleet_figures",
    "layerscope.report.fleet_html",
    "layerscope.report.fleet_charts",
    "layerscope.report.analysis_json",
    "layerscope.report.analysis_table",
    "layerscope.report.analysis_csv",
)


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        out[".".join(parts).removesuffix(".__init__")] = path
    return out


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, modules: dict[str, Path], *, runtime: bool) -> set[str]:
    """The package modules *path* imports (with *runtime*, leaving out `if TYPE_CHECKING:` blocks)."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and _is_type_checking(node):
                visit(node.orelse)
                if not runtime:
                    visit(node.body)
                continue
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    found.update(a.name for a in sub.names)
                elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                    found.add(sub.module)
                    found.update(f"{sub.module}.{a.name}" for a in sub.names)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {m for m in found if m in modules}


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[set[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return out


def test_no_runtime_import_cycle_through_the_results_chain() -> None:
    modules = _modules()
    graph = {name: _imports(path, modules, runtime=True) - {name} for name, path in modules.items()}
    bad = [sorted(c) for c in _cycles(graph) if c & set(GUARDED)]
    assert not bad


def test_results_import_nothing_from_plan() -> None:
    # Not even for type hints: the node's view of an image is plan/planned.py's, composing ImageResult.
    modules = _modules()
    imported = _imports(modules["layerscope.results"], modules, runtime=False)
    assert not [m for m in imported if m.startswith("layerscope.plan")]


def test_guarded_modules_stay_small() -> None:
    modules = _modules()
    sizes = {name: len(modules[name].read_text(encoding="utf-8").splitlines()) for name in GUARDED}
    assert {name: n for name, n in sizes.items() if n > 500} == {}
