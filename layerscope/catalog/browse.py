"""What `catalog list` and `catalog show NAME` print, as JSON-able documents built from the catalog.

The documents are the `-o json` output (schemas `layerscope.catalog.list/v1` and `layerscope.catalog.show/v1`,
documented in docs/cli-catalog-profile-diff.md); the table renderers in report/catalog_table.py read the
same documents. `origin` tells where an entry came from: `shipped` (package data), `user` (the user catalog
written by `catalog refresh`), or `shipped+user` (a shipped row the user catalog also has, e.g. with a
diff_id it filled in). Building the documents is pure; `load_view` reads the catalog files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from layerscope.catalog.load import default_user_path, load_shipped, read_user_file
from layerscope.catalog.model import (
    BUILD_CHANNELS,
    CHANNEL_BUILDS,
    CHANNEL_TAGS,
    FAMILY_IMAGES,
    BaseLayer,
    BaseRevision,
    Catalog,
    IndexPin,
    build_of,
)
from layerscope.errors import NotFoundError

__all__ = [
    "LIST_SCHEMA",
    "SHOW_SCHEMA",
    "CatalogView",
    "base_names",
    "layer_detail",
    "list_document",
    "load_view",
    "show_document",
]

LIST_SCHEMA = "layerscope.catalog.list/v1"
SHOW_SCHEMA = "layerscope.catalog.show/v1"
_FULL_VERSION = re.compile(r"10\.0\.\d+\.\d+")
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


def _evidence(layer: BaseLayer) -> list[str]:
    """What an image's layer can be matched by with this row (DESIGN.md "base layers")."""
    return [name for name, value in (("digest", layer.digest), ("diff_id", layer.diff_id)) if value]


def _layer_summary(view: CatalogView, layer: BaseLayer) -> dict[str, Any]:
    return {
        "role": layer.role,
        "digest": layer.digest,
        "diff_id": layer.diff_id,
        "compressed_bytes": layer.compressed_bytes,
        "media_kind": layer.media_kind,
        "os_version": layer.os_version,
        "month": layer.month,
        "evidence": _evidence(layer),
        "registry_copy": layer.registry_copy,
        "provenance_verified": layer.provenance_verified,
        "origin": view.origin(layer),
    }


def layer_detail(view: CatalogView, layer: BaseLayer) -> dict[str, Any]:
    """Every field of a catalog layer, with the extracted size and where that figure comes from."""
    extracted, size_source = view.catalog.extracted_bytes(layer)
    if layer.extracted_bytes is not None:
        basis = layer.extracted_source
    else:
        est = view.catalog.estimate_for(layer.family, layer.channel)
        basis = f"ratio {est.ratio} x compressed bytes ({est.basis}; group {est.group})" if est and extracted else None
    return {
        **_layer_summary(view, layer),
        "family": layer.family,
        "channel": layer.channel,
        "build": layer.build,
        "history_label": layer.history_label,
        "extracted_bytes": extracted,
        "extracted_source": str(size_source),
        "extracted_basis": basis,
        "source": layer.source,
        "diff_id_source": layer.diff_id_source,
    }


def _pin(view: CatalogView, pin: IndexPin) -> dict[str, Any]:
    return {
        "repository": pin.repository,
        "tag": pin.tag,
        "index_digest": pin.index_digest,
        "date": pin.date,
        "os_version": pin.os_version,
        "os_version_source": pin.os_version_source,
        "source": pin.source,
        "origin": view.pin_origin(pin),
    }


def _revision(view: CatalogView, rev: BaseRevision, *, detail: bool) -> dict[str, Any]:
    layers = [layer_detail(view, x) if detail else _layer_summary(view, x) for x in rev.layers]
    return {
        "family": rev.family,
        "channel": rev.channel or None,
        "image": FAMILY_IMAGES[rev.family],
        "month": rev.month,
        "os_version": rev.os_version,
        "compressed_bytes": _total([x.compressed_bytes for x in rev.layers]) if rev.layers else None,
        "layers": layers,
        "pins": [_pin(view, p) if detail else {"tag": p.tag, "index_digest": p.index_digest, "date": p.date}
                 for p in rev.pins],
    }  # fmt: skip


def _total(values: Sequence[int | None]) -> int | None:
    """Sum, or None when a part is unknown (never a partial sum)."""
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def list_document(view: CatalogView) -> dict[str, Any]:
    """`catalog list -o json`: every base (family, channel) with its revisions, oldest first."""
    bases = []
    for family in FAMILY_IMAGES:
        for channel in _channels():
            revisions = _revisions(view.catalog, family, channel)
            if not revisions:
                continue
            bases.append(
                {
                    "name": base_name(family, channel),
                    "family": family,
                    "channel": channel,
                    "image": FAMILY_IMAGES[family],
                    "layers": sum(len(r.layers) for r in revisions),
                    "revisions": [_revision(view, r, detail=False) for r in revisions],
                }
            )
    return {
        "schema": LIST_SCHEMA,
        "user_catalog": view.user_path,
        "layers": len(view.catalog.layers),
        "pins": len(view.catalog.pins),
        "bases": bases,
    }


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


def _matches(view: CatalogView, hexpart: str) -> tuple[list[BaseRevision], list[dict[str, str]]]:
    """Revisions holding a layer, pin or config whose digest (or a layer's diff_id) starts with *hexpart*."""
    prefix = "sha256:" + hexpart
    found: list[dict[str, str]] = []
    revisions: list[BaseRevision] = []
    for rev in _all_revisions(view.catalog):
        hit = False
        for layer in rev.layers:
            for what, value in (("layer digest", layer.digest), ("layer diff_id", layer.diff_id)):
                if value and value.startswith(prefix):
                    found.append({"what": what, "digest": value})
                    hit = True
        for pin in rev.pins:
            if pin.index_digest.startswith(prefix):
                found.append({"what": f"index pin {pin.repository}:{pin.tag} ({pin.date})", "digest": pin.index_digest})
                hit = True
        if hit:
            revisions.append(rev)
    for cfg in view.catalog.configs:
        if cfg.digest.startswith(prefix):
            found.append({"what": f"base config of {cfg.repository}:{cfg.tag} ({cfg.month or 'month unknown'})",
                          "digest": cfg.digest})  # fmt: skip
    # Pins of tags outside CHANNEL_TAGS (build tags from refresh) belong to no revision; list them too.
    for pin in view.catalog.pins:
        if pin.index_digest.startswith(prefix) and not any(pin in r.pins for r in revisions):
            found.append({"what": f"index pin {pin.repository}:{pin.tag} ({pin.date})", "digest": pin.index_digest})
    return revisions, found


def show_document(view: CatalogView, name: str) -> dict[str, Any]:
    """`catalog show NAME -o json`; NotFoundError (exit 4) with the known names when nothing matches."""
    text = name.strip().lower()
    revisions: list[BaseRevision] = []
    matched: list[dict[str, str]] = []
    kind = "base"
    bases = _select_bases(text)
    if bases is not None:
        for family, channel in bases:
            revisions.extend(_revisions(view.catalog, family, channel))
    elif _FULL_VERSION.fullmatch(build := text.rpartition(":")[2]) and (
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
        matched = [{"what": f"index pin {p.repository}:{p.tag} ({p.date})", "digest": p.index_digest} for p in pins]
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
    return {
        "schema": SHOW_SCHEMA,
        "name": name,
        "kind": kind,
        "user_catalog": view.user_path,
        "matched": matched,
        "revisions": [_revision(view, r, detail=True) for r in revisions],
    }
