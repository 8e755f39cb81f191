"""Layer file indexes read back from the measurement store, and the `contents` they give an image (issue #15).

A layer has an index when its exact measurement streamed its bytes here or in an earlier run with the same
store (`size_source` measured/store). Foreign and catalogued base layers, estimates, and measurements read
from an attached analysis or made by a remote executor with another store have none: their `contents`
fields are null and the image's figures cover the layers that have one (contents.py, `scope`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from layerscope.contents import ImageContents, image_contents
from layerscope.measurement import SizeSource
from layerscope.plan.planned import PlannedImage
from layerscope.results import LayerResult
from layerscope.store import MeasurementStore
from layerscope.tarindex import FileEntry, read_index

__all__ = ["layer_indexes", "with_contents"]

_INDEXED = (SizeSource.MEASURED, SizeSource.STORE)


def layer_indexes(layers: Sequence[LayerResult], store: MeasurementStore) -> list[dict[str, FileEntry] | None]:
    """The decoded index of each layer, or None where there is none (or it fails its checks)."""
    out: list[dict[str, FileEntry] | None] = []
    for layer in layers:
        data = store.get_index(layer.digest) if layer.measurement.size_source in _INDEXED else None
        try:
            out.append(read_index(data) if data is not None else None)
        except ValueError:
            out.append(None)
    return out


def with_contents(
    images: Sequence[PlannedImage], store: MeasurementStore, *, top: int = 10, depth: int = 3
) -> list[PlannedImage]:
    """*images* with their analysis's `contents` filled in (None for an image none of whose layers has an index)."""
    out = []
    for planned in images:
        contents: ImageContents | None = image_contents(layer_indexes(planned.layers, store), top=top, depth=depth)
        out.append(replace(planned, image=replace(planned.image, contents=contents)))
    return out
