"""The `diff --files` section: table, markdown, or the `files` object of the diff JSON (issue #15)."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from layerscope.file_diff import FileDiff
from layerscope.units import format_size

__all__ = ["file_diff_document", "render_file_diff"]

_KINDS = ("added", "removed", "grown", "shrunk")


def file_diff_document(d: FileDiff, top: int) -> dict[str, Any]:
    """The `files` object: totals per kind of change and the *top* changes by impact."""
    return {
        "a_scope": d.a_scope,
        "b_scope": d.b_scope,
        "unchanged": d.unchanged,
        "summary": {k: {"paths": d.count(k), "bytes": d.total(k)} for k in _KINDS},
        "changes": [
            {"path": c.path, "change": c.change, "a_bytes": c.a_bytes, "b_bytes": c.b_bytes, "delta_bytes": c.delta}
            for c in d.changes[:top]
        ],
        "changes_total": len(d.changes),
    }


def _size(n: int | None) -> str:
    return "-" if n is None else format_size(n)


def render_file_diff(d: FileDiff, top: int, *, markdown: bool = False) -> str:
    """Files added, removed, grown and shrunk from A to B, largest change first."""
    if d.a_scope is None or d.b_scope is None:
        return "Files: unknown (an image has no layer with a file index)\n"
    summary = ", ".join(f"{d.count(k)} {k} ({format_size(d.total(k))})" for k in _KINDS)
    note = ""
    if "indexed-layers" in (d.a_scope, d.b_scope):
        note = " (over the layers that have a file index only)"
    rows = [
        [
            c.path,
            c.change,
            _size(c.a_bytes),
            _size(c.b_bytes),
            ("+" if c.delta > 0 else "-") + format_size(abs(c.delta)),
        ]
        for c in d.changes[:top]
    ]
    table = tabulate(
        rows,
        headers=["path", "change", "A", "B", "delta"],
        tablefmt="github" if markdown else "simple",
        disable_numparse=True,
    )
    more = f"\n({len(d.changes) - top} more changed paths; --top to see more)" if len(d.changes) > top else ""
    head = f"Files from A to B{note}: {summary}; {d.unchanged} unchanged"
    return f"{head}\n\n{table}{more}\n" if rows else f"{head}\n"
