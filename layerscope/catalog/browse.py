"""What `catalog list` and `catalog show NAME` look up: the merged catalog with where each entry came from,
its bases and revisions, and what a name (base, build or digest) selects.

`origin` tells where an entry came from: `shipped` (package data), `user` (the user catalog written by
`catalog refresh`), or `shipped+user` (a shipped row the user catalog also has, e.g. with a diff_id it filled
in). `load_view` reads the catalog files; the queries are pure. The JSON documents are built in
report/catalog_json.py, the tables in report/catalog_table.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from layerscope.basematch import BaseLayer
from layerscope.catalog.load import default_user_path, load_shipped, read_user_file
from layerscope.catalog.model import (
    BUILD_CHANNELS,
    CHANNEL_BUILDS,
    CHANNEL_TAGS,
    FAMILY_IMAGES,
    FULL_VERSION,
    BaseRevision,
    Catalog,
    IndexPin,
    build_of,
)
from layerscope.errors import NotFoundError
from layerscope.measurement import SizeSource

__all__ = [
    "CatalogBase",
    "CatalogView",
    "Found",
    "Selection",
    "base_name",
    "base_names",
    "catalog_bases",
    "extracted_figure",
    "load_view",
    "select",
]

_HEX = re.compile(r"(?:sha256:)?([0-9a-f]{8,64})")
_MIN_PREFIX = 8


def _pin_key(pin: IndexPin) -> tuple[str, str, str, str]:
    return (pin.repository, pin.tag, pin.index_digest, pin.date)


@dataclass(frozen=True, slots=True)
class CatalogView:
    """The merged catalog plus which entries the user catalog contributed."""

    catalog: Catalog
    user_keys: frozenset[str] = frozenset()
    user_pins: frozenset[tuple[str, str, str, str]] = frozenset()
    shipped_keys: frozenset[str] = frozenset()
    user_path: str | None = None  # the user catalog file that was read, if any

    def origin(self, layer: BaseLayer) -> str:
        """`shipped`, `user` or `shipped+user`."""
        shipped, user = layer.key in self.shipped_keys, layer.key in self.user_keys
        return "shipped+user" if shipped and user else "user" if user else "shipped"

    def pin_origin(self, pin: IndexPin) -> str:
        """`user` for a pin from the user catalog, else `shipped`."""
        return "user" if _pin_key(pin) in self.user_pins else "shipped"


def load_view(user_path: str | Path | None = None) -> CatalogView:
    """The shipped catalog extended by the user catalog (*user_path*, else the default file if present)."""
    shipped = load_shipped()
    path = Path(user_path) if user_path is not None else default_user_path()
    shipped_keys = frozenset(layer.key for layer in shipped.layers)
    if user_path is None and not path.exists():
        return CatalogView(shipped, shipped_keys=shipped_keys)
    layers, pins = read_user_file(path)
    return CatalogView(
        catalog=shipped.merged(layers, pins),
        user_keys=frozenset(layer.key for layer in layers),
        user_pins=frozenset(_pin_key(p) for p in pins),
        shipped_keys=shipped_keys,
        user_path=str(path),
    )


def _channels() -> list[str | None]:
    """Channels oldest first, then rows whose channel is unknown."""
    return [*sorted(CHANNEL_BUILDS, key=lambda c: CHANNEL_BUILDS[c]), None]


def _revisions(catalog: Catalog, family: str, channel: str | None) -> tuple[BaseRevision, ...]:
    """Catalog.revisions, plus a month grouping for rows whose channel is unknown (no pins apply)."""
    if channel is not None:
        return catalog.revisions(family, channel)
    by_month: dict[str | None, list[BaseLayer]] = {}
    for layer in catalog.layers:
        if layer.family == family and layer.channel is None:
            by_month.setdefault(layer.month, []).append(layer)
    out = []
    for month in sorted(by_month, key=lambda m: m or ""):
        rows = tuple(by_month[month])
        versions = {r.os_version for r in rows if r.os_version and r.role in ("update", "single")}
        out.append(BaseRevision(family, "", month, versions.pop() if len(versions) == 1 else None, rows, ()))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class CatalogBase:
    """One base (family, channel) with its revisions, oldest first; channel None for rows whose channel is unknown."""

    family: str
    channel: str | None
    revisions: tuple[BaseRevision, ...]

    @property
    def name(self) -> str:
        """`servercore:ltsc2019`, or `servercore:unknown`."""
        return base_name(self.family, self.channel)


@dataclass(frozen=True, slots=True)
class Found:
    """An entry a name matched outside the listed revisions' layers (a pin, a config, a diff_id …)."""

    what: str
    digest: str


@dataclass(frozen=True, slots=True)
class Selection:
    """What `catalog show NAME` selected: revisions and the entries the name matched."""

    name: str
    kind: str  # base | build | digest
    revisions: tuple[BaseRevision, ...]
    matched: tuple[Found, ...]


def extracted_figure(catalog: Catalog, layer: BaseLayer) -> tuple[int | None, SizeSource, str | None]:
    """A layer's extracted bytes, where the figure comes from, and what it rests on (source or ratio)."""
    extracted, size_source = catalog.extracted_bytes(layer)
    if layer.extracted_bytes is not None:
        basis = layer.extracted_source
    else:
        est = catalog.estimate_for(layer.family, layer.channel)
        basis = f"ratio {est.ratio} x compressed bytes ({est.basis}; group {est.group})" if est and extracted else None
    return extracted, size_source, basis


def catalog_bases(catalog: Catalog) -> list[CatalogBase]:
    """Every base (family, channel) the catalog has rows or pins for, with its revisions."""
    bases = []
    for family in FAMILY_IMAGES:
        for channel in _channels():
            revisions = _revisions(catalog, family, channel)
            if revisions:
                bases.append(CatalogBase(family, channel, revisions))
    return bases


def base_name(family: str, channel: str | None) -> str:
    """`servercore:ltsc2019`; `servercore:unknown` for rows whose channel is unknown."""
    return f"{family}:{channel or 'unknown'}"


def base_names(catalog: Catalog) -> list[str]:
    """Names `catalog show` accepts for the bases the catalog has rows or pins for."""
    return [
        base_name(family, channel)
        for family in FAMILY_IMAGES
        for channel in _channels()
        if _revisions(catalog, family, channel)
    ]


def _family(text: str) -> str | None:
    name = text.removeprefix("mcr.microsoft.com/").removeprefix("windows/")
    return name if name in FAMILY_IMAGES else None


def _channel(text: str) -> str | None:
    tag = text.removesuffix("-amd64")
    if tag in CHANNEL_BUILDS or tag == "unknown":
        return tag
    return next((c for c, tags in CHANNEL_TAGS.items() if tag in tags), None)


def _select_bases(name: str) -> list[tuple[str, str | None]] | None:
    """(family, channel) pairs a base name selects: `servercore:ltsc2019`, `nanoserver:1809`, `servercore`,
    `ltsc2022`; None when *name* is not of that form."""
    family_text, sep, channel_text = name.partition(":")
    family = _family(family_text)
    if not sep:
        if family is not None:
            return [(family, c) for c in _channels()]
        channel = _channel(family_text)
        if channel is None:
            return None
        return [(f, None if channel == "unknown" else channel) for f in FAMILY_IMAGES]
    channel = _channel(channel_text)
    if family is None or channel is None:
        return None
    return [(family, None if channel == "unknown" else channel)]


def _all_revisions(catalog: Catalog) -> Iterable[BaseRevision]:
    for family in FAMILY_IMAGES:
        for channel in _channels():
            yield from _revisions(catalog, family, channel)


def _matches(view: CatalogView, hexpart: str) -> tuple[list[BaseRevision], list[Found]]:
    """Revisions holding a layer, pin or config whose digest (or a layer's diff_id) starts with *hexpart*."""
    prefix = "sha256:" + hexpart
    found: list[Found] = []
    revisions: list[BaseRevision] = []
    for rev in _all_revisions(view.catalog):
        hit = False
        for layer in rev.layers:
            for what, value in (("layer digest", layer.digest), ("layer diff_id", layer.diff_id)):
                if value and value.startswith(prefix):
                    found.append(Found(what, value))
                    hit = True
        for pin in rev.pins:
            if pin.index_digest.startswith(prefix):
                found.append(Found(f"index pin {pin.repository}:{pin.tag} ({pin.date})", pin.index_digest))
                hit = True
        if hit:
            revisions.append(rev)
    for cfg in view.catalog.configs:
        if cfg.digest.startswith(prefix):
            found.append(
                Found(f"base config of {cfg.repository}:{cfg.tag} ({cfg.month or 'month unknown'})", cfg.digest)
            )
    # Pins of tags outside CHANNEL_TAGS (build tags from refresh) belong to no revision; list them too.
    for pin in view.catalog.pins:
        if pin.index_digest.startswith(prefix) and not any(pin in r.pins for r in revisions):
            found.append(Found(f"index pin {pin.repository}:{pin.tag} ({pin.date})", pin.index_digest))
    return revisions, found


def select(view: CatalogView, name: str) -> Selection:
    """What NAME selects (a base, a build or a digest); NotFoundError (exit 4) with the known names when nothing."""
    text = name.strip().lower()
    revisions: list[BaseRevision] = []
    matched: list[Found] = []
    kind = "base"
    bases = _select_bases(text)
    if bases is not None:
        for family, channel in bases:
            revisions.extend(_revisions(view.catalog, family, channel))
    elif FULL_VERSION.fullmatch(build := text.rpartition(":")[2]) and (
        ":" not in text or _family(text.rpartition(":")[0]) is not None
    ):
        kind = "build"
        only_family = _family(text.rpartition(":")[0]) if ":" in text else None
        channel = BUILD_CHANNELS.get(build_of(build) or -1)
        revisions = [
            r
            for r in _all_revisions(view.catalog)
            if (r.channel or None) == channel
            and (only_family is None or r.family == only_family)
            and (r.os_version == build or any(x.os_version == build for x in r.layers))
        ]
        pins = [
            p
            for p in view.catalog.pins
            if p.os_version == build
            and (only_family is None or p.repository.endswith(f"/{only_family}"))
            and not any(p in r.pins for r in revisions)
        ]
        matched = [Found(f"index pin {p.repository}:{p.tag} ({p.date})", p.index_digest) for p in pins]
    elif (m := _HEX.fullmatch(text)) is not None:
        kind = "digest"
        revisions, matched = _matches(view, m[1])
    if not revisions and not matched:
        raise NotFoundError(
            f"the catalog has nothing named {name!r}",
            hint=(
                f"use a base ({', '.join(base_names(view.catalog))}), a build such as 10.0.17763.2928, "
                f"or a digest (sha256:… or at least {_MIN_PREFIX} hex digits); 'layerscope catalog list' shows them"
            ),
        )
    return Selection(name, kind, tuple(revisions), tuple(matched))
