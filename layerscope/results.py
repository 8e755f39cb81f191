"""Pure result objects of an analysis: what the renderers and the planner read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from layerscope.basematch import BaseMatch
from layerscope.measurement import LayerMeasurement
from layerscope.oci import Platform

__all__ = [
    "DirSize",
    "FileAt",
    "ImageContents",
    "ImageResult",
    "LayerChanges",
    "LayerResult",
    "Totals",
    "WastedFile",
]


# Where an image's bytes are (issue #15): computed by contents.py from the layers' file indexes.


@dataclass(frozen=True, slots=True)
class LayerChanges:
    """What one layer did to the filesystem beneath it."""

    added_files: int
    modified_files: int
    deleted_files: int
    reclaimed_by_later_bytes: int | None  # None when a later layer has no index


@dataclass(frozen=True, slots=True)
class WastedFile:
    """A path dive counts as wasted: the image layers (indexes) it appears in, and dive's bytes for it."""

    path: str
    layers: tuple[int, ...]
    bytes: int


@dataclass(frozen=True, slots=True)
class FileAt:
    """A regular file of the final filesystem and the layer that wrote it."""

    path: str
    layer: int
    bytes: int


@dataclass(frozen=True, slots=True)
class DirSize:
    """A directory of the final filesystem: bytes and regular files at and below it."""

    path: str
    bytes: int
    files: int


@dataclass(frozen=True, slots=True)
class ImageContents:
    """The `contents` of one image (JSON contract: README "Where the bytes are")."""

    efficiency: float
    wasted_bytes: int
    reclaimable_bytes: int
    scope: str  # "all-layers" | "indexed-layers"
    indexed_layers: tuple[int, ...]
    final_files: int
    final_bytes: int
    wasted: tuple[WastedFile, ...]
    largest_files: tuple[FileAt, ...]
    largest_dirs: tuple[DirSize, ...]
    layers: tuple[LayerChanges | None, ...]  # one per image layer, None where it has no index
    windows: bool


@dataclass(frozen=True, slots=True)
class LayerResult:
    """One layer of one image, measured, with its place in the chain (whether a node holds it: PlannedImage)."""

    index: int
    digest: str
    media_type: str
    foreign: bool
    diff_id: str | None
    chain_id: str | None
    measurement: LayerMeasurement
    base: bool = False


def _sum(values: list[int | None]) -> int | None:
    """Sum, or None when any part is unknown (a partial sum would be a made-up number)."""
    if any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


@dataclass(frozen=True, slots=True)
class Totals:
    """Per-image totals (the JSON `totals` object)."""

    compressed_bytes: int
    uncompressed_bytes: int | None
    extracted_bytes: int | None
    base_compressed_bytes: int
    app_compressed_bytes: int
    pull_compressed_bytes: int
    pull_extracted_bytes: int | None
    cache_hit_ratio: float | None
    # False when a known total includes an estimate or catalog figure (see each layer's size_source).
    exact: bool = True

    @classmethod
    def of(cls, layers: tuple[LayerResult, ...], cached: Sequence[bool | None] = ()) -> Totals:
        """Totals of *layers*; *cached* says per layer whether the node holds it (None: unknown, counted as pulled).

        With no baked set (*cached* empty: unknown for every layer) the node is empty and pulls everything.
        """
        held = list(cached) if cached else [None] * len(layers)
        ms = [layer.measurement for layer in layers]
        pulled = [layer for layer, c in zip(layers, held, strict=True) if c is not True]
        compressed = sum(m.compressed_bytes for m in ms)
        known_cache = all(c is not None for c in held)
        ratio: float | None = None
        if known_cache and layers:
            hit = sum(layer.measurement.compressed_bytes for layer, c in zip(layers, held, strict=True) if c)
            ratio = hit / compressed if compressed else 1.0
        return cls(
            compressed_bytes=compressed,
            uncompressed_bytes=_sum([m.uncompressed_bytes for m in ms]),
            extracted_bytes=_sum([m.extracted_bytes for m in ms]),
            base_compressed_bytes=sum(layer.measurement.compressed_bytes for layer in layers if layer.base),
            app_compressed_bytes=sum(layer.measurement.compressed_bytes for layer in layers if not layer.base),
            pull_compressed_bytes=sum(layer.measurement.compressed_bytes for layer in pulled),
            pull_extracted_bytes=_sum([layer.measurement.extracted_bytes for layer in pulled]),
            cache_hit_ratio=ratio,
            exact=all(m.exact for m in ms if m.extracted_bytes is not None or m.uncompressed_bytes is not None),
        )


@dataclass(frozen=True, slots=True)
class ImageResult:
    """One analysed image (one platform of a reference): what the analysis found, no node involved."""

    reference: str
    index_digest: str | None
    digest: str
    media_type: str
    platform: Platform
    config_digest: str
    layers: tuple[LayerResult, ...]
    base: BaseMatch | None = None
    contents: ImageContents | None = None  # where the bytes are (issue #15), from the layers' file indexes

    @property
    def totals(self) -> Totals:
        """Totals over this image's layers on an empty node (PlannedImage.totals: on a node with a baked set)."""
        return Totals.of(self.layers)

    @property
    def pinned(self) -> str:
        """The digest-pinned reference of this platform's manifest."""
        name = self.reference.split("@", 1)[0]
        if not name.startswith("oci:"):
            last = name.rfind(":")
            if last > name.rfind("/"):
                name = name[:last]
        elif name.count(":") > 1:
            name = name.rsplit(":", 1)[0]
        return f"{name}@{self.digest}"
