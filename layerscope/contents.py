"""Where an image's bytes are, from its layers' file indexes (issue #15). Pure.

- The final filesystem: the layers applied in order as containerd and moby extract them (OCI image-spec
  layer.md, "Whiteouts"): a `.wh.NAME` entry deletes NAME (and what is below it) from the layers beneath,
  `.wh..wh..opq` empties its directory of what the layers beneath put there; both act on lower layers only,
  never on entries of their own layer. A non-directory written over a directory removes what was below it.
- Per layer: `added_files` (non-directory entries where the layers beneath have no non-directory: nothing,
  or a directory), `modified_files` (over a non-directory of theirs), `deleted_files` (non-directories of
  the layers beneath that this layer's whiteouts, opaque markers or replaced directories remove) and
  `reclaimed_by_later_bytes` (bytes of this layer's files that the final filesystem does not show:
  overwritten or deleted later). `reclaimable_bytes` is their sum: what a squash (or a Dockerfile that
  does not write what it later deletes) saves on every pull.
- `efficiency` and `wasted_bytes` are dive's (efficiency.py).
- Sizes are regular-file bytes, as `extracted_bytes` counts them (a hard link holds no bytes of its own).
- Windows layers (top-level `Files/` and `Hives/`): directory sizes are listed under `Files/`, depth counted
  from there, and `Hives` as one directory, so registry hives do not crowd out the filesystem.
- Layers without an index (foreign, catalogued, estimated, measured elsewhere) are left out: the figures
  are then over the layers that have one (`scope` "indexed-layers", `indexed_layers` says which).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

from layerscope.efficiency import dive_efficiency
from layerscope.results import DirSize, FileAt, ImageContents, LayerChanges, WastedFile
from layerscope.tarindex import FileEntry

__all__ = [
    "DirSize",
    "FileAt",
    "ImageContents",
    "LayerChanges",
    "WastedFile",
    "final_filesystem",
    "image_contents",
    "is_windows",
]

#: What the final filesystem maps each path to: the entry and the index of the layer that wrote it.
Final = dict[str, tuple[FileEntry, int]]


def _parent(path: str) -> str:
    return path.rpartition("/")[0]


def _under(path: str, roots: set[str]) -> bool:
    """True when *path* is below (not at) one of *roots* ("" is the root of everything)."""
    if "" in roots:
        return True
    p = _parent(path)
    while p:
        if p in roots:
            return True
        p = _parent(p)
    return False


def _apply(fs: Final, entries: Mapping[str, FileEntry], layer: int) -> tuple[int, int, int]:
    """Apply one layer to *fs* in place; its (added, modified, deleted) non-directory counts."""
    if not fs:  # the bottom layer: nothing beneath to replace or delete (the same result, one pass less)
        fs.update((path, (entry, layer)) for path, entry in entries.items() if entry.kind not in "wo")
        return sum(1 for entry, _ in fs.values() if entry.kind != "d"), 0, 0
    gone: set[str] = set()  # paths removed with everything below them
    emptied: set[str] = set()  # directories whose lower contents are removed
    for path, entry in entries.items():
        if entry.kind == "o":
            emptied.add(_parent(path))
        elif entry.kind == "w":
            name = path.rpartition("/")[2][4:]
            parent = _parent(path)
            gone.add(f"{parent}/{name}" if parent else name)
        elif entry.kind != "d" and path in fs and fs[path][0].kind == "d":
            emptied.add(path)  # a non-directory over a directory: extraction removes the directory's tree
    added = modified = deleted = 0
    for path, entry in entries.items():
        if entry.kind not in "dwo":
            if path in fs and fs[path][0].kind != "d":
                modified += 1
            else:
                added += 1
    if gone or emptied:
        roots = gone | emptied
        for path in [p for p in fs if p in gone or _under(p, roots)]:
            if fs.pop(path)[0].kind != "d" and path not in entries:
                deleted += 1
    for path, entry in entries.items():
        if entry.kind not in "wo":
            fs[path] = (entry, layer)
    return added, modified, deleted


def final_filesystem(indexes: Sequence[Mapping[str, FileEntry] | None]) -> Final:
    """Path → (entry, layer index) of what extracting the layers that have an index leaves."""
    fs: Final = {}
    for i, entries in enumerate(indexes):
        if entries is not None:
            _apply(fs, entries, i)
    return fs


def is_windows(fs: Mapping[str, object]) -> bool:
    """True for a Windows image: top-level `Files` and `Hives` (as tarwalk.py decides)."""
    tops = {p.partition("/")[0] for p in fs}
    return "Files" in tops and "Hives" in tops


def _per_dir(fs: Final) -> dict[str, list[int]]:
    """Parent directory → [bytes, files] of the files directly in it.

    Directory sizes are summed per parent first, then rolled up into the ancestors (`_rolled_up`): the per-file
    work is one rpartition, not a split and a join per level (a layer has ~10x more files than directories).
    """
    per_dir: dict[str, list[int]] = {}
    for path, (entry, _) in fs.items():
        if entry.kind == "f":
            parent = path.rpartition("/")[0]
            acc = per_dir.get(parent)
            if acc is None:
                per_dir[parent] = [entry.size, 1]
            else:
                acc[0] += entry.size
                acc[1] += 1
    return per_dir


def _rolled_up(per_dir: Mapping[str, list[int]], depth: int, prefix: str = "") -> dict[str, DirSize]:
    """Every directory at most *depth* levels below *prefix* with the files below it, from `_per_dir`."""
    base = prefix.strip("/")
    lead = base + "/" if base else ""
    start = base.count("/") + 1 if base else 0
    sizes: dict[str, list[int]] = {}
    for parent, (size, files) in per_dir.items():
        if lead and not (parent + "/").startswith(lead):
            continue
        parts = parent.split("/") if parent else []
        for level in range(start + 1, min(len(parts), start + depth) + 1):
            acc = sizes.setdefault("/".join(parts[:level]), [0, 0])
            acc[0] += size
            acc[1] += files
    return {p: DirSize(p, b, n) for p, (b, n) in sizes.items()}


def _largest_dirs(fs: Final, depth: int, top: int, windows: bool) -> tuple[DirSize, ...]:
    per_dir = _per_dir(fs)
    if windows:
        dirs = _rolled_up(per_dir, depth, "Files")
        hives = [acc for parent, acc in per_dir.items() if (parent + "/").startswith("Hives/")]
        dirs["Hives"] = DirSize("Hives", sum(b for b, _ in hives), sum(n for _, n in hives))
    else:
        dirs = _rolled_up(per_dir, depth)
    return tuple(heapq.nsmallest(top, dirs.values(), key=lambda d: (-d.bytes, d.path)))


def image_contents(
    indexes: Sequence[Mapping[str, FileEntry] | None], *, top: int = 10, depth: int = 3
) -> ImageContents | None:
    """The contents of an image whose layers (bottom first) have these indexes; None when none has one."""
    indexed = tuple(i for i, entries in enumerate(indexes) if entries is not None)
    if not indexed:
        return None
    fs: Final = {}
    counts: dict[int, tuple[int, int, int]] = {}
    for i in indexed:
        entries = indexes[i]
        assert entries is not None
        counts[i] = _apply(fs, entries, i)
    shown = dict.fromkeys(indexed, 0)
    final_files = 0
    for entry, layer in fs.values():
        if entry.kind == "f":
            shown[layer] += entry.size
            final_files += 1
    last_unindexed = max((i for i, e in enumerate(indexes) if e is None), default=-1)
    changes: list[LayerChanges | None] = []
    for i, entries in enumerate(indexes):
        if entries is None:
            changes.append(None)
            continue
        written = sum(e.size for e in entries.values() if e.kind == "f")
        reclaimed = written - shown[i] if i > last_unindexed else None
        changes.append(LayerChanges(*counts[i], reclaimed))
    dive = dive_efficiency([e for e in indexes if e is not None])
    # Only the top files become FileAt objects (an image has 10,000s of files).
    largest = heapq.nsmallest(top, ((-e.size, p, layer) for p, (e, layer) in fs.items() if e.kind == "f"))
    windows = is_windows(fs)
    return ImageContents(
        efficiency=dive.efficiency,
        wasted_bytes=dive.wasted_bytes,
        reclaimable_bytes=sum(c.reclaimed_by_later_bytes or 0 for c in changes if c is not None),
        scope="all-layers" if len(indexed) == len(indexes) else "indexed-layers",
        indexed_layers=indexed,
        final_files=final_files,
        final_bytes=sum(shown.values()),
        wasted=tuple(WastedFile(w.path, tuple(indexed[p] for p in w.layers), w.bytes) for w in dive.wasted[:top]),
        largest_files=tuple(FileAt(path, layer, -negative) for negative, path, layer in largest),
        largest_dirs=_largest_dirs(fs, depth, top, windows),
        layers=tuple(changes),
        windows=windows,
    )
