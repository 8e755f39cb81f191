"""dive's `efficiency` and `wasted_bytes`, from layer file indexes (issue #15). Pure.

A dive user must see the same two numbers, so this follows dive 0.13's definitions exactly
(github.com/wagoodman/dive, dive/filetree/efficiency.go, file_tree.go, file_node.go; dive/image/analysis.go):

- Each layer is a tree of its tar entries (the last entry at a path wins) plus the directories above them
  that the tar does not list (no payload: size 0, not a directory). Names starting `.wh..wh.` (the opaque
  marker) are never added — dive does not apply opaque directories — but the directories above them are.
- In each layer, every *leaf* (a node without children in that layer) is visited, in dive's order (children
  sorted by name, depth first). Its path is the node's path with a `.wh.` prefix taken off its own name, so a
  whiteout and the file it deletes share a path. A leaf counts its tar size; a whiteout counts the total size
  of everything at and below its path in the layers beneath it stacked (dive's StackTreeRange) when that is
  a directory, else 0. When a whiteout's path is not in the stack, dive's visit of that layer stops there
  (an error it only logs): the layer's remaining leaves are not counted — so here too.
- Per path: the sum of what it counted (`cumulative`) and the smallest one. efficiency = Σ smallest / Σ
  cumulative (1.0 when nothing was counted); wasted_bytes = Σ cumulative over paths counted in two or
  more layers; those paths are dive's "inefficiencies".
- The stack dive compares against: layer 0's tree (whiteout nodes and all), then every layer 0..i-1 grafted
  onto it in dive's order — a whiteout removes the path and what is below; any other node, listed or not,
  replaces the payload at its path (so an unlisted directory loses its directory flag, as in dive).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from layerscope.tarindex import FileEntry

__all__ = ["Efficiency", "WastedPath", "dive_efficiency"]

_WH = ".wh."
_DOUBLE_WH = ".wh..wh."
#: Payload of a node the tar does not list (Go's zero FileInfo): size 0, not a directory.
_IMPLICIT = (0, False)


@dataclass(frozen=True, slots=True)
class WastedPath:
    """A path counted in two or more layers: the positions (in the given sequence) and dive's cumulative size."""

    path: str
    layers: tuple[int, ...]
    bytes: int


@dataclass(frozen=True, slots=True)
class Efficiency:
    """dive's score and wasted bytes, with every inefficient path (largest first, then by path)."""

    efficiency: float
    wasted_bytes: int
    wasted: tuple[WastedPath, ...]


class _Tree:
    """Path → (size, is_dir), with each node's children: dive's FileTree, flattened."""

    __slots__ = ("children", "nodes")

    def __init__(self) -> None:
        self.nodes: dict[str, tuple[int, bool]] = {}
        self.children: dict[str, set[str]] = {}

    def add(self, path: str, payload: tuple[int, bool]) -> None:
        """dive's AddPath: missing parents appear without payload, the node at *path* takes *payload*."""
        parent = path.rpartition("/")[0]
        if path not in self.nodes:
            if parent and parent not in self.nodes:
                self.add(parent, _IMPLICIT)
            self.children.setdefault(parent, set()).add(path)
        self.nodes[path] = payload

    def remove(self, path: str) -> None:
        """dive's RemovePath: the node and everything below it (nothing when it is not there)."""
        if path not in self.nodes:
            return
        for child in list(self.children.get(path, ())):
            self.remove(child)
        self.children.pop(path, None)
        del self.nodes[path]
        self.children[path.rpartition("/")[0]].discard(path)

    def subtree_bytes(self, path: str) -> int:
        """The sizes of the node at *path* and of every node below it."""
        total, stack = 0, [path]
        while stack:
            p = stack.pop()
            total += self.nodes[p][0]
            stack.extend(self.children.get(p, ()))
        return total

    def post_order(self) -> list[str]:
        """Every node, children (sorted by name) before their parent: dive's VisitDepthChildFirst."""
        out: list[str] = []
        children = self.children
        # (node, expanded): a node is emitted after its children, which are pushed in reverse name order.
        stack: list[tuple[str, bool]] = [("", False)]
        while stack:
            path, expanded = stack.pop()
            if expanded:
                if path:
                    out.append(path)
                continue
            stack.append((path, True))
            below = children.get(path)
            if below:
                stack.extend((child, False) for child in sorted(below, key=_name, reverse=True))
        return out


def _name(path: str) -> str:
    return path.rpartition("/")[2]


def _layer_tree(entries: Mapping[str, FileEntry]) -> _Tree:
    tree = _Tree()
    for path, entry in entries.items():
        parent, _, name = path.rpartition("/")
        if name.startswith(_DOUBLE_WH):  # never added (dive's AddChild), but its directory is
            if parent and parent not in tree.nodes:
                tree.add(parent, _IMPLICIT)
            continue
        tree.add(path, (entry.size, entry.kind == "d"))
    return tree


def _logical(path: str) -> str:
    """A node's path as dive names it: the `.wh.` prefix of its own name taken off."""
    parent, _, name = path.rpartition("/")
    if name.startswith(_WH):
        name = name[len(_WH) :]
    return f"{parent}/{name}" if parent else name


def _graft(stack: _Tree, upper: _Tree) -> None:
    """dive's FileTree.Stack: *upper*'s whiteouts remove, its other nodes replace payloads."""
    for path in upper.post_order():
        if _name(path).startswith(_WH):
            stack.remove(_logical(path))
        else:
            stack.add(path, upper.nodes[path])


def _leaves(entries: Mapping[str, FileEntry]) -> dict[str, int]:
    """Path → size of the leaves of `_layer_tree(entries)`, for a layer without whiteouts (any order)."""
    has_child: set[str] = set()
    for path in entries:
        parent, _, name = path.rpartition("/")
        if name.startswith(_DOUBLE_WH):
            continue  # never a node: its directory is one, but not through this marker
        while parent and parent not in has_child:
            has_child.add(parent)
            parent = parent.rpartition("/")[0]
    leaves: dict[str, int] = {}
    for path, entry in entries.items():
        if path in has_child:
            continue
        if _DOUBLE_WH in path:
            parent, _, name = path.rpartition("/")
            if name.startswith(_DOUBLE_WH):
                # The marker's directory is a node; unlisted and without other children it is a leaf of size 0.
                if parent and parent not in has_child and parent not in entries:
                    leaves[parent] = 0
                continue
        leaves[path] = entry.size
    return leaves


def dive_efficiency(layers: Sequence[Mapping[str, FileEntry]]) -> Efficiency:
    """dive's efficiency, wasted bytes and inefficient paths of the image made of *layers* (bottom first)."""
    return _efficiency(layers, shortcut=True)


def _efficiency(layers: Sequence[Mapping[str, FileEntry]], *, shortcut: bool) -> Efficiency:
    """dive_efficiency; without *shortcut* every layer is visited as a tree, in dive's order (for the tests)."""
    cumulative: dict[str, int] = {}
    smallest: dict[str, int] = {}
    seen_in: dict[str, list[int]] = {}

    def tally(counted: Iterable[tuple[str, int]], position: int) -> None:
        """Add what one layer's visit counted, per path."""
        for key, size in counted:
            total = cumulative.get(key)
            if total is None:
                cumulative[key] = smallest[key] = size
                seen_in[key] = [position]
            else:
                cumulative[key] = total + size
                if size < smallest[key]:
                    smallest[key] = size
                seen_in[key].append(position)

    # The stack is only ever read for a whiteout leaf above layer 0 (layer 0's own whiteouts read layer 0's
    # tree): without any, it is not built — the same numbers, without a copy of every path.
    whiteouts_above = any(
        _name(path).startswith(_WH) for entries in layers[1:] for path in entries if entries[path].kind in "wo"
    )
    # A layer without whiteouts cannot stop its visit early (only a whiteout can), so the order of its leaves
    # does not matter and its tree need not be built: its leaves count their own sizes (`_leaves`).
    trees: list[_Tree | None] = [
        _layer_tree(entries)
        if whiteouts_above or not shortcut or any(e.kind == "w" for e in entries.values())
        else None
        for entries in layers
    ]
    stack = _Tree()
    for position, tree in enumerate(trees):
        if tree is None:
            tally(_leaves(layers[position]).items(), position)
            continue
        if not whiteouts_above:
            if position == 0:
                stack = tree
        elif position == 0:
            for path in tree.post_order():
                stack.add(path, tree.nodes[path])
        else:
            previous = trees[position - 1]
            assert previous is not None  # with whiteouts above, every layer has its tree
            _graft(stack, previous)
        counted: list[tuple[str, int]] = []
        for path in tree.post_order():
            if tree.children.get(path):
                continue  # not a leaf
            key = _logical(path)
            if key != path:  # a whiteout
                if key not in stack.nodes:
                    break  # dive: GetNode fails, the visit of this layer stops
                size = stack.subtree_bytes(key) if stack.nodes[key][1] else 0
            else:
                size = tree.nodes[path][0]
            counted.append((key, size))
        tally(counted, position)
    total = sum(cumulative.values())
    score = 1.0 if total == 0 else sum(smallest.values()) / total
    wasted = sorted(
        (WastedPath(path, tuple(where), cumulative[path]) for path, where in seen_in.items() if len(where) > 1),
        key=lambda w: (-w.bytes, w.path),
    )
    return Efficiency(score, sum(w.bytes for w in wasted), tuple(wasted))
