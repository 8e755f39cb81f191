"""The package's shape, checked: no import cycle among its modules, no module over 500 lines (issue #13).

Every import counts: module-level ones, the lazy ones inside functions (kept lazy for start-up time, not to
hide a cycle) and those under `if TYPE_CHECKING:` (a type that must come from above is a layer inverted).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "layerscope"
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(tree: ast.Module, package: str, modules: set[str]) -> set[str]:
    """The package's modules that *tree* imports anywhere (a `from P import m` of a submodule names P.m)."""
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                out.add(candidate if candidate in modules else base)
    return {m for m in out if m in modules}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = _imports(ast.parse(path.read_text(encoding="utf-8")), package, modules) - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_imports() -> None:
    graph = _graph()
    assert "layerscope.errors" in graph["layerscope.registry.client"] or any(
        m.startswith("layerscope.registry.") for m in graph["layerscope.registry.client"]
    )
    assert "layerscope.oci" in graph["layerscope.analysis"]


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    assert _cycles(_graph()) == []


def test_no_module_over_500_lines() -> None:
    long = {
        p.relative_to(PACKAGE).as_posix(): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


#: The result types sit at the bottom: they are what the analysis produces, and everything above reads them.
BOTTOM = ("layerscope.results", "layerscope.basematch", "layerscope.measurement")
#: Modules that decide without I/O: matching and drift take the catalog as an argument (issue #13 move 2).
NO_FILE_IO = ("layerscope.catalog.match", "layerscope.catalog.drift", "layerscope.catalog.isolation")


def test_the_result_types_import_nothing_from_above() -> None:
    graph = _graph()
    above = ("layerscope.plan", "layerscope.catalog", "layerscope.report", "layerscope.analysis", "layerscope.cli")
    offenders = {m: sorted(i for i in graph[m] if i.startswith(above)) for m in BOTTOM}
    assert offenders == {m: [] for m in BOTTOM}


def test_matching_and_drift_do_no_file_io() -> None:
    for name in NO_FILE_IO:
        path = PACKAGE.parent / (name.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = _imports(tree, name.rpartition(".")[0], set(_graph()))
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "layerscope.catalog.load" not in imported, name
        assert "open" not in calls, name


#: The package's layers (docs/architecture.md), longest prefix first: a module belongs to the first that matches.
PARTS: dict[str, tuple[str, ...]] = {
    "cli": ("layerscope.cli",),
    "run": (
        "layerscope.session",
        "layerscope.fleet",
        "layerscope.fleet_options",
        "layerscope.scan",
        "layerscope.baked",
        "layerscope.node_baked",
        "layerscope.attach",
        "layerscope.calibrate.run",
    ),
    "report": ("layerscope.report",),
    "analysis": (
        "layerscope.analysis",
        "layerscope.layer_checks",
        "layerscope.layer_tasks",
        "layerscope.executor",
        "layerscope.resolution",
        "layerscope.layer_index",
    ),
    "plan": (
        "layerscope.plan",
        "layerscope.calibrate",
        "layerscope.diff",
        "layerscope.gate",
        "layerscope.waste_gate",
        "layerscope.file_diff",
    ),
    "catalog": ("layerscope.catalog", "layerscope.windows"),
    "measure": (
        "layerscope.measure",
        "layerscope.decompress",
        "layerscope.tarwalk",
        "layerscope.tarheader",
        "layerscope.tarindex",
        "layerscope.estimate",
        "layerscope.contents",
        "layerscope.contents_record",
        "layerscope.efficiency",
        "layerscope.listing",
    ),
    "sources": (
        "layerscope.registry",
        "layerscope.layout",
        "layerscope.source_routing",
        "layerscope.content_source",
        "layerscope.store",
        "layerscope.aws_amis",
    ),
    "model": (
        "layerscope.results",
        "layerscope.basematch",
        "layerscope.node_revision",
        "layerscope.measurement",
        "layerscope.oci",
        "layerscope.reference",
        "layerscope.digest",
        "layerscope.units",
        "layerscope.platforms",
        "layerscope.errors",
        "layerscope.observer",
        "layerscope.pool",
        "layerscope.output",
    ),
}
#: Which layer may never import which (the arrows point down: docs/architecture.md draws them).
NEVER: dict[str, tuple[str, ...]] = {
    "model": ("cli", "run", "report", "analysis", "plan", "catalog", "measure", "sources"),
    "sources": ("cli", "run", "report", "analysis", "plan"),
    "measure": ("cli", "run", "report", "analysis", "plan", "sources"),
    "catalog": ("cli", "run", "report", "analysis", "plan"),
    "plan": ("cli", "run", "report", "sources"),
    "analysis": ("cli", "run", "report"),
    "report": ("cli", "run", "sources"),
    "run": ("cli",),
}


def _part(module: str) -> str | None:
    return next(
        (part for part, prefixes in PARTS.items() for p in prefixes if module == p or module.startswith(p + ".")), None
    )


def test_every_module_has_a_layer() -> None:
    assert [m for m in _graph() if m != "layerscope" and _part(m) is None] == []


def test_layers_import_only_downwards() -> None:
    offenders = [
        f"{a} ({_part(a)}) imports {b} ({_part(b)})"
        for a, imports in sorted(_graph().items())
        for b in sorted(imports)
        if _part(b) in NEVER.get(_part(a) or "", ())
    ]
    assert offenders == []
