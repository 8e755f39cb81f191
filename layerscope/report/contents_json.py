"""The `contents` object of an image and the per-layer contents fields, for `analyze -o json` (issue #15)."""

from __future__ import annotations

from typing import Any

from layerscope.results import ImageContents

__all__ = ["contents_document", "layer_contents_fields"]


def contents_document(c: ImageContents | None) -> dict[str, Any] | None:
    """The `contents` object, or None when no layer of the image has a file index."""
    if c is None:
        return None
    return {
        "efficiency": c.efficiency,
        "wasted_bytes": c.wasted_bytes,
        "reclaimable_bytes": c.reclaimable_bytes,
        "scope": c.scope,
        "indexed_layers": list(c.indexed_layers),
        "files": c.final_files,
        "bytes": c.final_bytes,
        "windows": c.windows,
        "wasted": [{"path": w.path, "layers": list(w.layers), "bytes": w.bytes} for w in c.wasted],
        "largest_files": [{"path": f.path, "layer": f.layer, "bytes": f.bytes} for f in c.largest_files],
        "largest_dirs": [{"path": d.path, "bytes": d.bytes, "files": d.files} for d in c.largest_dirs],
    }


def layer_contents_fields(c: ImageContents | None, index: int) -> dict[str, Any]:
    """`added_files`, `modified_files`, `deleted_files`, `reclaimed_by_later_bytes` of layer *index* (null: unknown)."""
    changes = c.layers[index] if c is not None and index < len(c.layers) else None
    if changes is None:
        return dict.fromkeys(("added_files", "modified_files", "deleted_files", "reclaimed_by_later_bytes"))
    return {
        "added_files": changes.added_files,
        "modified_files": changes.modified_files,
        "deleted_files": changes.deleted_files,
        "reclaimed_by_later_bytes": changes.reclaimed_by_later_bytes,
    }
