"""Pure result objects of an analysis: what the renderers and the planner read."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from layerscope.measurement import LayerMeasurement
from layerscope.oci import Platform

if TYPE_CHECKING:
    from layerscope.catalog.match import BaseMatch
    from layerscope.contents import ImageContents
    from layerscope.plan.launch import LaunchComparison

__all__ = ["AnalysisRun", "DriftInfo", "ImageResult", "LayerResult", "Totals"]


@dataclass(frozen=True, slots=True)
class DriftInfo:
    """The image's base is the baked base's channel but another monthly build (the JSON `drift`)."""

    baked_os_version: str | None
    baked_month: str | None
    image_os_version: str | None
    image_month: str | None
    bytes_to_pull: int | None
    rebuild_on: str | None = None
    layers: tuple[int, ...] = ()  # indexes of the image's base layers the node does not hold

    @property
    def message(self) -> str:
        """One line for people."""
        from layerscope.units import format_size

        pull = format_size(self.bytes_to_pull) if self.bytes_to_pull is not None else "an unknown amount"
        text = (
            f"base {self.image_os_version} ({self.image_month or 'month unknown'}) differs from the baked "
            f"{self.baked_os_version} ({self.baked_month or 'month unknown'}): {pull} of base layers are pulled"
        )
        return text + (f"; rebuild on {self.rebuild_on}" if self.rebuild_on else "")


@dataclass(frozen=True, slots=True)
class LayerResult:
    """One layer of one image, measured, with its place in the chain and on the node."""

    index: int
    digest: str
    media_type: str
    foreign: bool
    diff_id: str | None
    chain_id: str | None
    measurement: LayerMeasurement
    base: bool = False
    cached: bool | None = None


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
    def of(cls, layers: tuple[LayerResult, ...]) -> Totals:
        """Totals of *layers*; with no baked set (cached None) the node is empty and pulls everything."""
        ms = [layer.measurement for layer in layers]
        pulled = [layer for layer in layers if layer.cached is not True]
        compressed = sum(m.compressed_bytes for m in ms)
        known_cache = all(layer.cached is not None for layer in layers)
        ratio: float | None = None
        if known_cache and layers:
            hit = sum(layer.measurement.compressed_bytes for layer in layers if layer.cached)
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
    """One analysed image (one platform of a reference)."""

    reference: str
    index_digest: str | None
    digest: str
    media_type: str
    platform: Platform
    config_digest: str
    layers: tuple[LayerResult, ...]
    base: BaseMatch | None = None
    drift: DriftInfo | None = None
    warnings: tuple[str, ...] = ()
    launch: LaunchComparison | None = None  # with a node profile: time to ready, with and without the bake
    contents: ImageContents | None = None  # where the bytes are (issue #15), from the layers' file indexes

    @property
    def totals(self) -> Totals:
        """Totals over this image's layers."""
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


@dataclass(frozen=True, slots=True)
class AnalysisRun:
    """Everything one `analyze` produced."""

    images: tuple[ImageResult, ...]
    profile: str | None = None
    baked: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
