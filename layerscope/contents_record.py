"""An image's `contents` as a plain record, and the key it is cached under in the store (issue #15). Pure.

Computing `contents` costs ~9 µs per indexed file (README, "Where the bytes are"): 1.8 s for a 200,000-file
image on every `analyze`. It depends only on the layers' file indexes (in order) and on `top` and `depth`,
so the store keeps it under `contents_key` of exactly those: the sha256 each index is stored with (None for
a layer without one), the two parameters and `CONTENTS_FORMAT`. A warm re-analysis then reads one row and
decodes no index. The record is the dataclasses field for field; `from_record` raises ValueError on anything
else, which the caller treats as a miss.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from layerscope.contents import DirSize, FileAt, ImageContents, LayerChanges, WastedFile
from layerscope.tarindex import INDEX_FORMAT

__all__ = ["CONTENTS_FORMAT", "contents_key", "from_record", "to_record"]

#: Bumped when what contents.py / efficiency.py compute, or this record, changes: older rows are then misses.
CONTENTS_FORMAT = 1


def contents_key(index_checksums: Sequence[str | None], *, top: int, depth: int) -> str:
    """The cache key of the contents of layers (bottom first) whose indexes have these sha256s."""
    basis = json.dumps([CONTENTS_FORMAT, INDEX_FORMAT, top, depth, list(index_checksums)], separators=(",", ":"))
    return hashlib.sha256(basis.encode()).hexdigest()


def to_record(c: ImageContents) -> dict[str, Any]:
    """*c* as JSON-ready data (every field, so `from_record` gives it back equal)."""
    return {
        "efficiency": c.efficiency,
        "wasted_bytes": c.wasted_bytes,
        "reclaimable_bytes": c.reclaimable_bytes,
        "scope": c.scope,
        "indexed_layers": list(c.indexed_layers),
        "final_files": c.final_files,
        "final_bytes": c.final_bytes,
        "wasted": [[w.path, list(w.layers), w.bytes] for w in c.wasted],
        "largest_files": [[f.path, f.layer, f.bytes] for f in c.largest_files],
        "largest_dirs": [[d.path, d.bytes, d.files] for d in c.largest_dirs],
        "layers": [
            None if ch is None else [ch.added_files, ch.modified_files, ch.deleted_files, ch.reclaimed_by_later_bytes]
            for ch in c.layers
        ],
        "windows": c.windows,
    }


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return value


def _opt_int(value: object) -> int | None:
    return None if value is None else _int(value)


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError(f"not a string: {value!r}")
    return value


def _list(value: object) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"not a list: {value!r}")
    return value


def from_record(r: Mapping[str, Any]) -> ImageContents:
    """The ImageContents *r* holds; ValueError when it is not a record `to_record` made."""
    try:
        efficiency = r["efficiency"]
        if isinstance(efficiency, bool) or not isinstance(efficiency, int | float):
            raise ValueError("efficiency is not a number")
        windows = r["windows"]
        if not isinstance(windows, bool):
            raise ValueError("windows is not a boolean")
        layers: list[LayerChanges | None] = []
        for ch in _list(r["layers"]):
            if ch is None:
                layers.append(None)
                continue
            a, m, d, reclaimed = _list(ch)
            layers.append(LayerChanges(_int(a), _int(m), _int(d), _opt_int(reclaimed)))
        return ImageContents(
            efficiency=float(efficiency),
            wasted_bytes=_int(r["wasted_bytes"]),
            reclaimable_bytes=_int(r["reclaimable_bytes"]),
            scope=_str(r["scope"]),
            indexed_layers=tuple(_int(i) for i in _list(r["indexed_layers"])),
            final_files=_int(r["final_files"]),
            final_bytes=_int(r["final_bytes"]),
            wasted=tuple(
                WastedFile(_str(p), tuple(_int(i) for i in _list(ls)), _int(b))
                for p, ls, b in map(_list, _list(r["wasted"]))
            ),
            largest_files=tuple(FileAt(_str(p), _int(i), _int(b)) for p, i, b in map(_list, _list(r["largest_files"]))),
            largest_dirs=tuple(DirSize(_str(p), _int(b), _int(n)) for p, b, n in map(_list, _list(r["largest_dirs"]))),
            layers=tuple(layers),
            windows=windows,
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"malformed contents record: {exc}") from None
