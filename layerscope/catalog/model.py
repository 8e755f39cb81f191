"""The Windows base catalog as frozen data: known base layers, MCR index pins, size figures, lookups.

Every record keeps the `source` of the reference row it came from (see data/README.md). Nothing here
guesses: a value the reference data does not give is None. Pure: no I/O (loading is in load.py);
the merge rules for user entries live here so that `Catalog.merged` needs no loader.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from layerscope.basematch import BaseLayer
from layerscope.errors import CatalogError, UnsupportedMediaTypeError
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Compression, Descriptor, layer_compression

__all__ = [
    "BUILD_CHANNELS",
    "CHANNEL_BUILDS",
    "CHANNEL_TAGS",
    "FAMILY_IMAGES",
    "FULL_VERSION",
    "VERSION",
    "BaseConfig",
    "BaseImageSize",
    "BaseLayer",
    "BaseRevision",
    "Catalog",
    "ExtractedEstimate",
    "IndexPin",
    "build_of",
    "channel_of",
    "compatible",
    "family_of_image",
    "merge_layers",
    "merge_pins",
]

#: LTSC build number -> channel (Microsoft base-image-lifecycle.md: 2016=14393, 2019=17763 (1809),
#: 2022=20348, 2025=26100).
BUILD_CHANNELS: Mapping[int, str] = MappingProxyType(
    {14393: "ltsc2016", 17763: "ltsc2019", 20348: "ltsc2022", 26100: "ltsc2025"}
)
CHANNEL_BUILDS: Mapping[str, int] = MappingProxyType({v: k for k, v in BUILD_CHANNELS.items()})
#: Repository of each family on MCR; no layer digests are known for `server`/`windows`, so no rows.
FAMILY_IMAGES: Mapping[str, str] = MappingProxyType(
    {
        "servercore": "mcr.microsoft.com/windows/servercore",
        "nanoserver": "mcr.microsoft.com/windows/nanoserver",
    }
)
#: MCR tags of each channel, pinned tag first (docker-library pins 1809, not ltsc2019; Nano Server 2016
#: was tagged sac2016 — reference README).
CHANNEL_TAGS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "ltsc2016": ("ltsc2016", "sac2016"),
        "ltsc2019": ("1809", "ltsc2019"),
        "ltsc2022": ("ltsc2022",),
        "ltsc2025": ("ltsc2025",),
    }
)
FAMILIES = ("servercore", "nanoserver")
ROLES = ("base", "update", "single")
MEDIA_KINDS = ("foreign", "rootfs.diff", "unknown")
REGISTRY_COPIES = ("mcr", "dockerhub", "unknown")
#: A Windows version `10.0.BUILD[.UBR]` (groups: build, UBR or None) and the full `10.0.BUILD.UBR`.
VERSION = re.compile(r"10\.0\.(\d+)(?:\.(\d+))?")
FULL_VERSION = re.compile(r"10\.0\.(\d+)\.(\d+)")


def build_of(os_version: str | None) -> int | None:
    """The build number of a Windows version `10.0.BUILD[.UBR]`, else None."""
    if not os_version:
        return None
    m = VERSION.fullmatch(os_version.strip())
    return int(m[1]) if m else None


def channel_of(os_version: str | None) -> str | None:
    """The LTSC channel of a Windows version, or None for a non-LTSC or unparseable version."""
    build = build_of(os_version)
    return BUILD_CHANNELS.get(build) if build is not None else None


def family_of_image(repository: str) -> str | None:
    """`servercore`/`nanoserver` for an MCR repository name (with or without the registry host)."""
    name = repository.removeprefix("mcr.microsoft.com/")
    for family, image in FAMILY_IMAGES.items():
        if name == image.removeprefix("mcr.microsoft.com/"):
            return family
    return None


_LAYER_FIELDS = frozenset(f.name for f in dataclasses.fields(BaseLayer))


@dataclass(frozen=True, slots=True)
class IndexPin:
    """The manifest-list digest an MCR tag pointed to, from docker-library official-images pins."""

    repository: str
    tag: str
    index_digest: str
    date: str  # official-images commit date (YYYY-MM-DD), not the MCR push time
    source: str
    os_version: str | None = None  # only where a source states it (most pin -> build maps are unverified)
    os_version_source: str | None = None

    @property
    def month(self) -> str:
        """YYYY-MM of the pin's commit date (the revision month, unverified except where os_version is set)."""
        return self.date[:7]


@dataclass(frozen=True, slots=True)
class BaseImageSize:
    """A size figure exactly as the reference gives it (windows-base-sizes.csv)."""

    image: str
    tag_or_version: str
    kind: str  # compressed | on_disk | extracted
    bytes_or_text: str
    unit_as_given: str
    source: str
    bytes: int | None  # docker CLI figures only (decimal, rounded to 3 significant digits)


@dataclass(frozen=True, slots=True)
class BaseConfig:
    """A known base-image config digest (a config-level fact, not a layer)."""

    digest: str
    size: int | None
    repository: str
    tag: str
    month: str | None
    source: str


@dataclass(frozen=True, slots=True)
class ExtractedEstimate:
    """extracted ≈ ratio × compressed for a family's channels; `basis` says which pairs gave the ratio."""

    group: str
    family: str
    channels: tuple[str, ...]  # "" covers rows whose channel is unknown
    ratio: float
    basis: str
    pairs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BaseRevision:
    """One monthly revision of a base (family + channel) as far as the catalog knows it."""

    family: str
    channel: str
    month: str | None
    os_version: str | None
    layers: tuple[BaseLayer, ...]
    pins: tuple[IndexPin, ...]


def _layer_compression(media_type: str) -> Compression | None:
    try:
        return layer_compression(media_type)
    except UnsupportedMediaTypeError:
        return None


@dataclass(frozen=True, eq=False)
class Catalog:
    """Everything layerscope knows about Windows base images, with lookups (hashed by identity)."""

    layers: tuple[BaseLayer, ...]
    pins: tuple[IndexPin, ...] = ()
    sizes: tuple[BaseImageSize, ...] = ()
    configs: tuple[BaseConfig, ...] = ()
    os_versions: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # os_version -> (month, source)
    estimates: tuple[ExtractedEstimate, ...] = ()
    _by_digest: dict[str, BaseLayer] = field(init=False, repr=False, compare=False)
    _by_diff_id: dict[str, BaseLayer] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_digest: dict[str, BaseLayer] = {}
        by_diff_id: dict[str, BaseLayer] = {}
        for layer in self.layers:
            if layer.digest:
                by_digest[layer.digest] = layer
            if layer.diff_id:
                by_diff_id[layer.diff_id] = layer
        object.__setattr__(self, "_by_digest", by_digest)
        object.__setattr__(self, "_by_diff_id", by_diff_id)

    def by_digest(self, digest: str) -> BaseLayer | None:
        """The base layer whose compressed blob has *digest*."""
        return self._by_digest.get(digest)

    def by_diff_id(self, diff_id: str) -> BaseLayer | None:
        """The base layer whose uncompressed tar has *diff_id* (stable across re-compression)."""
        return self._by_diff_id.get(diff_id)

    def month_of(self, os_version: str | None) -> str | None:
        """The YYYY-MM release month of a Windows build when a source states it, else None."""
        if not os_version:
            return None
        fact = self.os_versions.get(os_version)
        return fact[0] if fact else None

    def os_version_of(self, family: str, channel: str, month: str) -> str | None:
        """The os.version of a family/channel revision month when exactly one is known, else None."""
        build = CHANNEL_BUILDS.get(channel)
        found = {v for v, (m, _) in self.os_versions.items() if m == month and build_of(v) == build} | {
            p.os_version for p in self.pins_for(family, channel) if p.os_version and p.month == month
        }
        return found.pop() if len(found) == 1 else None

    def pins_for(self, family: str, channel: str) -> tuple[IndexPin, ...]:
        """MCR index pins of the tags of *channel* for *family*, newest first."""
        image = FAMILY_IMAGES.get(family)
        tags = CHANNEL_TAGS.get(channel, ())
        found = [p for p in self.pins if p.repository == image and p.tag in tags]
        return tuple(sorted(found, key=lambda p: p.date, reverse=True))

    def revisions(self, family: str, channel: str) -> tuple[BaseRevision, ...]:
        """Known monthly revisions of a base, oldest first; months come from layer rows and index pins."""
        by_month: dict[str | None, list[BaseLayer]] = {}
        for layer in self.layers:
            if layer.family == family and layer.channel == channel:
                by_month.setdefault(layer.month, []).append(layer)
        pins = self.pins_for(family, channel)
        months = set(by_month) | {p.month for p in pins}
        out = []
        for month in sorted(months, key=lambda m: m or ""):
            rows = tuple(by_month.get(month, ()))
            versions = {r.os_version for r in rows if r.os_version and r.role in ("update", "single")}
            versions |= {p.os_version for p in pins if p.month == month and p.os_version}
            os_version = versions.pop() if len(versions) == 1 else None
            if os_version is None and month is not None:
                os_version = self.os_version_of(family, channel, month)
            out.append(
                BaseRevision(
                    family=family,
                    channel=channel,
                    month=month,
                    os_version=os_version,
                    layers=rows,
                    pins=tuple(p for p in pins if p.month == month),
                )
            )
        return tuple(out)

    def layers_of(self, family: str | None = None, channel: str | None = None) -> tuple[BaseLayer, ...]:
        """Layers of a family and/or channel (None = any)."""
        return tuple(
            layer
            for layer in self.layers
            if (family is None or layer.family == family) and (channel is None or layer.channel == channel)
        )

    def estimate_for(self, family: str | None, channel: str | None) -> ExtractedEstimate | None:
        """The extracted/compressed estimate that covers a family and channel, if any."""
        if family is None:
            return None
        for est in self.estimates:
            if est.family == family and (channel or "") in est.channels:
                return est
        return None

    def extracted_bytes(self, layer: BaseLayer) -> tuple[int | None, SizeSource]:
        """Extracted bytes of a base layer: the catalog figure, else the documented ratio estimate."""
        if layer.extracted_bytes is not None:
            exact = layer.extracted_precision == "exact"
            return layer.extracted_bytes, SizeSource.CATALOG if exact else SizeSource.CATALOG_APPROX
        return self.estimate_extracted(layer.family, layer.channel, layer.compressed_bytes)

    def estimate_extracted(
        self, family: str | None, channel: str | None, compressed_bytes: int | None
    ) -> tuple[int | None, SizeSource]:
        """ratio × compressed bytes for a base layer of *family*/*channel* (see data/README.md)."""
        est = self.estimate_for(family, channel)
        if est is None or compressed_bytes is None:
            return None, SizeSource.UNKNOWN
        return round(compressed_bytes * est.ratio), SizeSource.ESTIMATED

    def measurement(
        self, layer: BaseLayer, descriptor: Descriptor | None = None, diff_id: str | None = None
    ) -> LayerMeasurement:
        """A LayerMeasurement for a catalog layer; digest and compressed size from *descriptor* if given.

        The extracted size is a property of the content, so a re-compressed copy (other digest, other
        compressed size) gets the figure of the catalog row; the estimate uses the row's own compressed
        bytes when known because the ratio was derived from MCR's compression. Uncompressed (tar) bytes
        are not in the reference data and stay None.
        """
        extracted, source = self.extracted_bytes(layer)
        if extracted is None and descriptor is not None:
            extracted, source = self.estimate_extracted(layer.family, layer.channel, descriptor.size)
        digest = descriptor.digest if descriptor is not None else layer.digest
        compressed = descriptor.size if descriptor is not None else layer.compressed_bytes
        if digest is None or compressed is None:
            raise ValueError("a catalog layer without digest or size needs the image's descriptor")
        compression = _layer_compression(descriptor.media_type) if descriptor is not None else None
        if compression is None and layer.media_kind in ("foreign", "rootfs.diff"):
            compression = Compression.GZIP  # both Docker media types the kinds stand for are tar+gzip
        return LayerMeasurement(
            digest=digest,
            compressed_bytes=compressed,
            size_source=source,
            diff_id=diff_id or layer.diff_id,
            compression=compression,
            extracted_bytes=extracted,
        )

    def estimated_measurement(
        self, descriptor: Descriptor, family: str | None, channel: str | None, diff_id: str | None = None
    ) -> LayerMeasurement:
        """A LayerMeasurement for a base layer with no catalog row (history match): ratio estimate or None."""
        extracted, source = self.estimate_extracted(family, channel, descriptor.size)
        return LayerMeasurement(
            digest=descriptor.digest,
            compressed_bytes=descriptor.size,
            size_source=source,
            diff_id=diff_id,
            compression=_layer_compression(descriptor.media_type),
            extracted_bytes=extracted,
        )

    def merged(self, layers: Iterable[BaseLayer], pins: Iterable[IndexPin] = ()) -> Catalog:
        """A catalog with *layers*/*pins* added; see merge_layers for the conflict rules."""
        merged_layers = merge_layers(self.layers, layers)
        # A refreshed revision dates its own build (the update or single layer's month), so that an image
        # matched on it reports its month; a build the shipped data already dates keeps that source.
        os_versions = dict(self.os_versions)
        for layer in merged_layers:
            if layer.role in ("update", "single") and layer.os_version and layer.month:
                os_versions.setdefault(layer.os_version, (layer.month, layer.source))
        return Catalog(
            layers=merged_layers,
            pins=merge_pins(self.pins, pins),
            sizes=self.sizes,
            configs=self.configs,
            os_versions=os_versions,
            estimates=self.estimates,
        )


def compatible(a: BaseLayer, b: BaseLayer) -> bool:
    """Whether two rows for one digest/diff_id can mean the same base layer: same family, and channel/role
    equal where both are known."""
    return (
        a.family == b.family
        and (a.channel is None or b.channel is None or a.channel == b.channel)
        and (a.role is None or b.role is None or a.role == b.role)
    )


def _fill(a: BaseLayer, b: BaseLayer) -> BaseLayer:
    """*a* with its empty fields filled from *b*; sources joined."""
    changes: dict[str, Any] = {}
    for name in _LAYER_FIELDS - {"source"}:
        if getattr(a, name) is None and getattr(b, name) is not None:
            changes[name] = getattr(b, name)
    if changes and b.source not in a.source:
        changes["source"] = f"{a.source}; {b.source}"
    return dataclasses.replace(a, **changes) if changes else a


def merge_layers(base: Iterable[BaseLayer], extra: Iterable[BaseLayer]) -> tuple[BaseLayer, ...]:
    """*base* plus *extra*: a known digest/diff_id must mean the same base layer, and only fills blanks."""
    out = list(base)
    index = {layer.key: i for i, layer in enumerate(out)}
    for layer in extra:
        i = index.get(layer.key)
        if i is None:
            index[layer.key] = len(out)
            out.append(layer)
            continue
        if not compatible(out[i], layer):
            raise CatalogError(
                f"catalog entry {layer.key[:19]}… says {layer.family}/{layer.channel}/{layer.role}, "
                f"but the catalog already has it as {out[i].family}/{out[i].channel}/{out[i].role}",
                hint="the user catalog disagrees with the shipped one; delete it and run 'layerscope catalog refresh'",
            )
        out[i] = _fill(out[i], layer)
    return tuple(out)


def merge_pins(base: Iterable[IndexPin], extra: Iterable[IndexPin]) -> tuple[IndexPin, ...]:
    """*base* plus the pins of *extra* not already present (same repository, tag, digest and date)."""
    out = list(base)
    seen = {(p.repository, p.tag, p.index_digest, p.date) for p in out}
    for p in extra:
        key = (p.repository, p.tag, p.index_digest, p.date)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return tuple(out)
