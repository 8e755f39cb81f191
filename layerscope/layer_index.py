"""Layer file indexes read back from the measurement store, and the `contents` they give an image (issue #15).

A layer has an index when its exact measurement streamed its bytes here or in an earlier run with the same
store (`size_source` measured/store). Foreign and catalogued base layers, estimates, and measurements read
from an attached analysis or made by a remote executor with another store have none: their `contents`
fields are null and the image's figures cover the layers that have one (contents.py, `scope`).

An image's contents are cached in the store under the key of what determines them (contents_record.py):
a warm run reads the indexes' checksums and one row, and decodes no index. Indexes are read and decoded
only on a miss, one layer at a time as the computation needs them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from layerscope.contents import ImageContents, image_contents
from layerscope.contents_record import contents_key, from_record, to_record
from layerscope.measurement import SizeSource
from layerscope.plan.planned import PlannedImage
from layerscope.results import LayerResult
from layerscope.store import MeasurementStore
from layerscope.tarindex import FileEntry, read_index

__all__ = ["image_contents_cached", "layer_indexes", "with_contents"]

_INDEXED = (SizeSource.MEASURED, SizeSource.STORE)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while indexes are decoded and combined.

    They allocate a few tuples and dicts per path (10,000s to millions) and make no reference cycles, yet each
    700 allocations start a collection, and the older generations' passes walk every object of the process:
    measured, a quarter of the contents computation of an 11k-file layer (issue #15, speed). Collection
    resumes afterwards unless something else had turned it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _index(layer: LayerResult, store: MeasurementStore) -> dict[str, FileEntry] | None:
    data = store.get_index(layer.digest) if layer.measurement.size_source in _INDEXED else None
    try:
        return read_index(data) if data is not None else None
    except ValueError:
        return None


def layer_indexes(
    layers: Sequence[LayerResult], store: MeasurementStore, *, only: int | None = None
) -> list[dict[str, FileEntry] | None]:
    """The decoded index of each layer, or None where there is none (or it fails its checks).

    With *only*: just that layer's index is read and decoded; another layer that has an index stored
    comes back as an empty mapping (it has one, not read), so `files --layer N` decodes one layer.
    """
    if only is None:
        return [_index(layer, store) for layer in layers]
    stored = store.index_checksums([layer.digest for layer in layers if layer.measurement.size_source in _INDEXED])
    return [
        _index(layer, store)
        if i == only
        else ({} if layer.measurement.size_source in _INDEXED and layer.digest in stored else None)
        for i, layer in enumerate(layers)
    ]


def image_contents_cached(
    layers: Sequence[LayerResult], store: MeasurementStore, *, top: int = 10, depth: int = 3
) -> ImageContents | None:
    """The contents of an image with these *layers*: from the store's cache, else computed and kept there."""
    eligible = [layer.digest for layer in layers if layer.measurement.size_source in _INDEXED]
    stored = store.index_checksums(eligible)
    checksums = [stored.get(layer.digest) if layer.measurement.size_source in _INDEXED else None for layer in layers]
    if not any(checksums):
        return None
    key = contents_key(checksums, top=top, depth=depth)
    record = store.get_image_contents(key)
    if record is not None:
        try:
            cached = from_record(record)
        except ValueError:
            cached = None  # a row that fails its checks is a miss: computed again and replaced
        if cached is not None and len(cached.layers) == len(layers):
            return cached
    with _collector_paused():
        indexes = [_index(layer, store) if sha else None for layer, sha in zip(layers, checksums, strict=True)]
        contents = image_contents(indexes, top=top, depth=depth)
    # Kept only when every index the key names was read: an index that failed its checks is not what the key says.
    if contents is not None and all((i is not None) == bool(c) for i, c in zip(indexes, checksums, strict=True)):
        store.put_image_contents(key, to_record(contents))
    return contents


def with_contents(
    images: Sequence[PlannedImage], store: MeasurementStore, *, top: int = 10, depth: int = 3
) -> list[PlannedImage]:
    """*images* with their analysis's `contents` filled in (None for an image none of whose layers has an index)."""
    out = []
    for planned in images:
        contents = image_contents_cached(planned.layers, store, top=top, depth=depth)
        out.append(replace(planned, image=replace(planned.image, contents=contents)))
    return out
