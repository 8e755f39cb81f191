"""`catalog refresh`, building: user-catalog rows from a base image's manifest and config, and their checks.

How each field of a row is decided is stated in refresh.py's docstring. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Sequence

from layerscope.basematch import BaseLayer
from layerscope.catalog.match import MAX_BASE_LAYERS, parse_history_label
from layerscope.catalog.model import BUILD_CHANNELS, FULL_VERSION, Catalog, build_of, compatible, family_of_image
from layerscope.errors import CatalogError
from layerscope.observer import Observer
from layerscope.oci import ImageConfig, Manifest, is_foreign

__all__ = [
    "TAG_VERSION",
    "account",
    "base_problem",
    "check_against",
    "created_date",
    "dedupe",
    "family_of_repository",
    "layer_rows",
    "registry_copy_of",
    "source_of",
]

# Docker Hub's retired Microsoft repositories (registry_copy dockerhub rows of the shipped catalog).
_LEGACY_FAMILIES = {
    "microsoft/windowsservercore": "servercore",
    "microsoft/nanoserver": "nanoserver",
}
#: A build tag: `10.0.17763.5206`, `10.0.17763.5206-amd64`.
TAG_VERSION = re.compile(r"10\.0\.(\d+)\.(\d+)(?:-.*)?")
_CREATED = re.compile(r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?:[T ].*)?")


def family_of_repository(repository: str) -> str | None:
    """`servercore`/`nanoserver` for an MCR repository or a retired Docker Hub one, else None."""
    return family_of_image(repository) or _LEGACY_FAMILIES.get(repository)


def created_date(config: ImageConfig) -> str | None:
    """YYYY-MM-DD of the last layer history entry's `created`, else of the config's `created`."""
    entries = config.layer_history()
    candidates = [entries[-1].created] if entries else []
    try:
        doc = json.loads(config.raw)
    except (ValueError, UnicodeDecodeError):
        doc = {}
    candidates.append(doc.get("created") if isinstance(doc, dict) else None)
    for value in candidates:
        m = _CREATED.fullmatch(value.strip()) if isinstance(value, str) else None
        if m:
            return f"{m[1]}-{m[2]}-{m[3]}"
    return None


def _media_kind(media_type: str) -> str:
    if is_foreign(media_type):
        return "foreign"
    if media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip":
        return "rootfs.diff"
    return "unknown"


def registry_copy_of(registry: str) -> str:
    return {"mcr.microsoft.com": "mcr", "docker.io": "dockerhub"}.get(registry, "unknown")


def _labels(config: ImageConfig, count: int) -> list[str | None]:
    """created_by per layer when the history lines up with the layers, else None per layer."""
    entries = config.layer_history()
    if len(entries) != count:
        return [None] * count
    return [h.created_by.strip() or None for h in entries]


def base_problem(config: ImageConfig, manifest: Manifest) -> str | None:
    """Why this image is not a Windows base image we can catalogue, or None."""
    if config.os != "windows" or config.architecture != "amd64":
        return f"config is {config.os}/{config.architecture}, not windows/amd64"
    if not config.os_version or not FULL_VERSION.fullmatch(config.os_version):
        return f"os.version {config.os_version!r} is not 10.0.BUILD.UBR"
    count = len(manifest.layers)
    if not 1 <= count <= MAX_BASE_LAYERS:
        return f"{count} layers: a Windows base image has 1 or 2"
    if len(config.diff_ids) != count:
        return f"config lists {len(config.diff_ids)} diff_ids for {count} layers"
    build = build_of(config.os_version)
    for position, label in enumerate(_labels(config, count)):
        if label is None:
            continue
        parsed = parse_history_label(label)
        wanted = "Apply image" if position == 0 else "Install update"
        if parsed is None or parsed[0] != wanted:
            return f"layer {position} history {label[:60]!r} is not '{wanted} …'"
        if parsed[1] is not None and parsed[1] != build:
            return f"layer {position} history {label[:60]!r} names another build than os.version {config.os_version}"
    return None


def _describe(layer: BaseLayer) -> str:
    return f"{layer.family}/{layer.channel or '?'}/{layer.role or '?'}"


def source_of(registry: str, repository: str, tags: Sequence[str], digest: str, day: str, endpoint: str | None) -> str:
    tag = next((t for t in tags if TAG_VERSION.fullmatch(t)), tags[0])
    via = f" via {endpoint}" if endpoint else ""
    return f"{registry}/{repository}:{tag}@{digest} (layerscope catalog refresh {day}{via})"


def layer_rows(
    family: str,
    manifest: Manifest,
    config: ImageConfig,
    *,
    source: str,
    month: str | None,
    registry_copy: str,
    provenance: str,
) -> tuple[BaseLayer, ...]:
    assert config.os_version is not None  # checked by base_problem
    build = build_of(config.os_version)
    channel = BUILD_CHANNELS.get(build or -1)
    count = len(manifest.layers)
    labels = _labels(config, count)
    rows = []
    for position, (desc, diff_id, label) in enumerate(zip(manifest.layers, config.diff_ids, labels, strict=True)):
        role = "single" if count == 1 else ("base" if position == 0 else "update")
        rows.append(
            BaseLayer(
                family=family,
                channel=channel,
                build=build if channel else None,
                role=role,
                digest=desc.digest,
                compressed_bytes=desc.size if desc.size > 0 else None,
                media_kind=_media_kind(desc.media_type),
                history_label=label,
                os_version=config.os_version,
                month=month,
                registry_copy=registry_copy,
                provenance_verified=provenance,
                source=source,
                diff_id=diff_id,
                diff_id_source=source,
            )
        )
    return tuple(rows)


def check_against(shipped: Catalog, rows: Iterable[BaseLayer], registry: str) -> None:
    """Raise CatalogError when a row gives a shipped digest or diff_id another meaning."""
    for row in rows:
        for known in (shipped.by_digest(row.digest or ""), shipped.by_diff_id(row.diff_id or "")):
            if known is not None and not compatible(known, row):
                raise CatalogError(
                    f"{registry} says layer {row.key[:19]}… is {_describe(row)}, "
                    f"but the shipped catalog has it as {_describe(known)} ({known.source[:80]})",
                    hint="check that --registry/--mirror point at Microsoft's repositories; nothing was saved",
                )


def account(catalog: Catalog, rows: Sequence[BaseLayer]) -> tuple[list[str], list[str], list[str], int]:
    """Which rows are new, fill blanks of a known row, or add nothing; and how many bring a new diff_id."""
    added, filled, unchanged, new_diff_ids = [], [], [], 0
    for row in rows:
        known = catalog.by_digest(row.digest or "")
        if row.diff_id and catalog.by_diff_id(row.diff_id) is None and (known is None or known.diff_id is None):
            new_diff_ids += 1
        if known is None:
            added.append(row.key)
            continue
        blanks = [f.name for f in dataclasses.fields(BaseLayer) if f.name != "source"]
        if any(getattr(known, n) is None and getattr(row, n) is not None for n in blanks):
            filled.append(row.key)
        else:
            unchanged.append(row.key)
    return added, filled, unchanged, new_diff_ids


def dedupe(rows: Sequence[BaseLayer], observer: Observer) -> list[BaseLayer]:
    """One row per digest: the oldest observation (rows come sorted by month); disagreements are warned."""
    out: dict[str, BaseLayer] = {}
    for row in rows:
        first = out.get(row.key)
        if first is None:
            out[row.key] = row
        elif not compatible(first, row):
            observer.warning(
                f"layer {row.key[:19]}… is {_describe(first)} in {first.source} but {_describe(row)} in "
                f"{row.source}; keeping the first"
            )
    return list(out.values())
