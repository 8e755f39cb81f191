"""`layerscope files`: a du/ls-style listing of one layer or of an image's final filesystem (issue #15). Pure.

Rows are every path at most `depth` levels below `prefix` ("" the root): a directory row carries the
regular-file bytes and count at and below it (directories the tar does not list but that hold entries
appear too), a file row its size. Rows are sorted by bytes, largest first (then by path), and cut to `top`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layerscope.contents import final_filesystem
from layerscope.errors import UsageError
from layerscope.tarindex import FileEntry

__all__ = ["FilesListing", "ListedEntry", "list_files"]

_TYPES = {
    "f": "file",
    "d": "dir",
    "l": "symlink",
    "h": "hardlink",
    "w": "whiteout",
    "o": "opaque",
    "x": "other",
}


@dataclass(frozen=True, slots=True)
class ListedEntry:
    """One row: `layer` is the layer that wrote the path (None for a directory no tar lists)."""

    path: str
    type: str
    bytes: int
    files: int
    layer: int | None
    link: str = ""


@dataclass(frozen=True, slots=True)
class FilesListing:
    """The rows shown and what they were taken from."""

    layer: int | None  # None: the final filesystem
    scope: str  # "all-layers" | "indexed-layers" (the final filesystem of the layers that have an index)
    indexed_layers: tuple[int, ...]
    prefix: str
    depth: int
    entries: tuple[ListedEntry, ...]
    total_rows: int  # rows before the --top cut
    total_bytes: int  # regular-file bytes below the prefix
    total_files: int


def list_files(
    indexes: Sequence[Mapping[str, FileEntry] | None],
    *,
    layer: int | None = None,
    depth: int = 1,
    top: int = 50,
    prefix: str = "",
) -> FilesListing:
    """The listing of layer *layer* (or the final filesystem) below *prefix*; UsageError when there is no index."""
    indexed = tuple(i for i, entries in enumerate(indexes) if entries is not None)
    if layer is not None:
        if not 0 <= layer < len(indexes):
            raise UsageError(
                f"the image has {len(indexes)} layers; there is no layer {layer}", hint="layers count from 0"
            )
        chosen = indexes[layer]
        if chosen is None:
            raise UsageError(
                f"layer {layer} has no file index (foreign, catalogued or estimated layers are not read)",
                hint=f"list a layer that was measured: {', '.join(map(str, indexed)) or 'none'}",
            )
        fs = {path: (entry, layer) for path, entry in chosen.items()}
    elif not indexed:
        raise UsageError(
            "no layer of this image has a file index", hint="files needs layers it can read (not --estimate)"
        )
    else:
        fs = final_filesystem(indexes)
    base = prefix.strip("/")
    rows: dict[str, list[int]] = {}  # path -> [bytes, files]
    writer: dict[str, int] = {}  # path -> layer that wrote it
    kinds: dict[str, tuple[str, str]] = {}  # path -> (type, hard-link target)
    total_bytes = total_files = 0
    for path, (entry, at) in fs.items():
        if base and not path.startswith(base + "/"):
            continue
        parts = path[len(base) + 1 :].split("/") if base else path.split("/")
        size = entry.size if entry.kind == "f" else 0
        counted = 1 if entry.kind == "f" else 0
        total_bytes += size
        total_files += counted
        for level in range(1, min(len(parts) - 1, depth) + 1):
            row = rows.setdefault("/".join([*([base] if base else []), *parts[:level]]), [0, 0])
            row[0] += size
            row[1] += counted
        if len(parts) <= depth:
            row = rows.setdefault(path, [0, 0])
            if entry.kind != "d":
                row[0], row[1] = size, counted
            writer[path] = at
            kinds[path] = (_TYPES[entry.kind], entry.link)
    entries = sorted(
        (
            ListedEntry(path, kinds.get(path, ("dir", ""))[0], b, n, writer.get(path), kinds.get(path, ("", ""))[1])
            for path, (b, n) in rows.items()
        ),
        key=lambda e: (-e.bytes, e.path),
    )
    return FilesListing(
        layer=layer,
        scope="all-layers" if len(indexed) == len(indexes) or layer is not None else "indexed-layers",
        indexed_layers=indexed,
        prefix=base,
        depth=depth,
        entries=tuple(entries[:top]),
        total_rows=len(entries),
        total_bytes=total_bytes,
        total_files=total_files,
    )
