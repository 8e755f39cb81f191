"""`catalog refresh`: user-catalog entries from a registry that serves Microsoft's base images.

Only tags, manifests and configs are read — never a layer blob (a Server Core base is gigabytes, and on MCR
its layers are foreign blobs on Microsoft's CDN anyway). For each selected tag: the index (or manifest) →
its windows/amd64 image manifests → each config (`os.version`, `history`, `rootfs.diff_ids`) → one
`BaseLayer` per layer, plus one `IndexPin` per tag. The I/O goes through an injected `RefreshClient`
(layerscope's RegistryClient in the CLI); this module does no network I/O of its own and never prints.

How each field of a row is decided (stated here so it can be challenged):

- `family`: from the repository (`windows/servercore`, `windows/nanoserver`; Docker Hub's retired
  `microsoft/windowsservercore` and `microsoft/nanoserver` too). Other repositories are refused.
- `channel`/`build`: from the config's `os.version` (10.0.BUILD.UBR); a non-LTSC build (1903, 20H2 …)
  gets channel and build None, like shipped rows whose channel is unknown.
- `role`: by position and count. A one-layer image is `single`; a two-layer image is `base` + `update`.
  An image with more layers, or whose history labels contradict that (`Apply image …` must lead,
  `Install update …` must follow, and a label's build must be the config's build), is not a base image
  and is skipped with a warning.
- `diff_id`: the config's `rootfs.diff_ids` entry (survives re-compression, so matching by diff_id then
  works for copies pushed elsewhere). `diff_id_source` is the row's source.
- `os_version`: the config's `os.version` (the image the layer was seen in, as for shipped rows).
- `month`: YYYY-MM of the `created` time of the config's **last layer history entry** (the newest layer:
  the update, or the single layer), falling back to the config's own `created`. That is the build date
  of the revision; it can precede its Patch Tuesday release by days, so a disagreement with a month the
  shipped data states for that os.version is reported as a warning (matching reads the shipped month).
- A layer seen in several images (the RTM layer is shared by many monthly revisions) keeps the
  observation of the **oldest** image, so its month is when that layer first appeared in the run.
- `registry_copy`: `mcr` for mcr.microsoft.com, `dockerhub` for docker.io, else `unknown` (the catalog
  knows only these; the host is in `source`).
- `provenance_verified`: `yes` when the content came from mcr.microsoft.com itself; `low` when it came
  through a mirror endpoint or from another registry, which could serve anything under those names.
- `source`: `<registry>/<repo>:<tag>@<manifest digest> (layerscope catalog refresh YYYY-MM-DD[ via
  ENDPOINT])`, naming a `10.0.*` build tag when one points at the manifest (those do not move).

Pins: one per tag read, `index_digest` = the digest the tag resolved to (an index, or a manifest for
single-platform tags), `date` = the image's build date by the same rule as `month` (so pins and layers of
one revision share a month in `Catalog.revisions`; the refresh date is in `source`), and `os_version` from
the config — read, not inferred — when the tag holds exactly one windows/amd64 image.

A row that contradicts the shipped catalog (same digest or diff_id, other family/channel/role) raises
CatalogError before anything is saved.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from layerscope.catalog.load import load_shipped
from layerscope.catalog.match import parse_history_label
from layerscope.catalog.model import (
    BUILD_CHANNELS,
    CHANNEL_TAGS,
    BaseLayer,
    Catalog,
    IndexPin,
    build_of,
    compatible,
    family_of_image,
)
from layerscope.errors import (
    AuthenticationError,
    CatalogError,
    LayerscopeError,
    NotFoundError,
    RateLimitedError,
    RegistryUnavailableError,
    UsageError,
)
from layerscope.observer import NullObserver, Observer
from layerscope.oci import MAX_CONFIG_BYTES, Descriptor, ImageConfig, Index, Manifest, is_foreign, parse_config
from layerscope.reference import ImageReference, Reference

__all__ = [
    "DEFAULT_REGISTRY",
    "DEFAULT_REPOSITORIES",
    "RefreshClient",
    "RefreshResult",
    "RefreshedImage",
    "SkippedTag",
    "default_tag_patterns",
    "refresh_catalog",
]

DEFAULT_REGISTRY = "mcr.microsoft.com"
DEFAULT_REPOSITORIES = ("windows/servercore", "windows/nanoserver")
MAX_BASE_LAYERS = 2
# Docker Hub's retired Microsoft repositories (registry_copy dockerhub rows of the shipped catalog).
_LEGACY_FAMILIES = {
    "microsoft/windowsservercore": "servercore",
    "microsoft/nanoserver": "nanoserver",
}
_FULL_VERSION = re.compile(r"10\.0\.(\d+)\.(\d+)")
_TAG_VERSION = re.compile(r"10\.0\.(\d+)\.(\d+)(?:-.*)?")
_CREATED = re.compile(r"(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?:[T ].*)?")
# Errors that say the registry as a whole cannot be used: stop, rather than warn once per tag.
_FATAL = (AuthenticationError, RateLimitedError, RegistryUnavailableError)


class RefreshClient(Protocol):
    """What refresh needs from a registry client (layerscope.registry.RegistryClient provides it)."""

    def list_tags(self, ref: Reference) -> list[str]:
        """All tags of ref's repository."""

    def get_manifest(self, ref: Reference, identifier: str | None = None) -> Manifest | Index:
        """A verified manifest or index."""

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        """A small verified blob (used for configs only)."""


@dataclass(frozen=True, slots=True)
class SkippedTag:
    """A tag (or one image of it) that gave no catalog entries, and why."""

    repository: str
    tag: str
    reason: str


@dataclass(frozen=True, slots=True)
class RefreshedImage:
    """One windows/amd64 base image read from the registry."""

    repository: str
    tags: tuple[str, ...]
    manifest_digest: str
    config_digest: str
    family: str
    channel: str | None
    os_version: str
    month: str | None
    layers: tuple[BaseLayer, ...]


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What a refresh read and what it would add to the user catalog (saving is the caller's step)."""

    registry: str
    endpoint: str | None  # the mirror actually contacted, if any
    day: str  # YYYY-MM-DD of the refresh
    repositories: tuple[str, ...]
    tags_listed: int
    tags_selected: int
    images: tuple[RefreshedImage, ...]
    layers: tuple[BaseLayer, ...]  # one row per layer digest, ready for save_user_entries
    pins: tuple[IndexPin, ...]
    added: tuple[str, ...]  # keys (digests) the catalog did not know
    filled: tuple[str, ...]  # keys the catalog knew, now with blanks filled (diff_id, month, …)
    unchanged: tuple[str, ...]  # keys the catalog already knew completely
    new_diff_ids: int  # rows whose diff_id the catalog did not have before
    new_pins: int
    skipped: tuple[SkippedTag, ...]

    def to_json(self) -> dict[str, Any]:
        """The `layerscope.catalog.refresh/v1` summary document (see docs/cli-catalog-profile-diff.md)."""
        return {
            "schema": "layerscope.catalog.refresh/v1",
            "registry": self.registry,
            "endpoint": self.endpoint,
            "date": self.day,
            "repositories": list(self.repositories),
            "tags_listed": self.tags_listed,
            "tags_selected": self.tags_selected,
            "images": [
                {
                    "repository": i.repository,
                    "tags": list(i.tags),
                    "digest": i.manifest_digest,
                    "config_digest": i.config_digest,
                    "family": i.family,
                    "channel": i.channel,
                    "os_version": i.os_version,
                    "month": i.month,
                    "layers": [
                        {
                            "role": row.role,
                            "digest": row.digest,
                            "diff_id": row.diff_id,
                            "compressed_bytes": row.compressed_bytes,
                            "media_kind": row.media_kind,
                            "history_label": row.history_label,
                        }
                        for row in i.layers
                    ],
                }
                for i in self.images
            ],
            "added": list(self.added),
            "filled": list(self.filled),
            "unchanged": list(self.unchanged),
            "new_diff_ids": self.new_diff_ids,
            "new_pins": self.new_pins,
            "skipped": [{"repository": s.repository, "tag": s.tag, "reason": s.reason} for s in self.skipped],
        }


def default_tag_patterns() -> tuple[str, ...]:
    """LTSC channel tags (`ltsc2019`, `1809`, …) and full-build tags (`10.0.*`)."""
    channel_tags = dict.fromkeys(tag for tags in CHANNEL_TAGS.values() for tag in tags)
    return (*channel_tags, "10.0.*")


def family_of_repository(repository: str) -> str | None:
    """`servercore`/`nanoserver` for an MCR repository or a retired Docker Hub one, else None."""
    return family_of_image(repository) or _LEGACY_FAMILIES.get(repository)


def _tag_order(tag: str) -> tuple[int, int, int, str]:
    """Channel tags first (they name the current revisions), then builds newest first, then the rest."""
    channel_tags = [t for tags in CHANNEL_TAGS.values() for t in tags]
    if tag in channel_tags:
        return (0, channel_tags.index(tag), 0, tag)
    m = _TAG_VERSION.fullmatch(tag)
    if m:
        return (1, -int(m[1]), -int(m[2]), tag)
    return (2, 0, 0, tag)


def select_tags(tags: Iterable[str], patterns: Sequence[str], max_tags: int | None) -> list[str]:
    """Tags matching any glob in *patterns*, in `_tag_order`, at most *max_tags* of them."""
    chosen = sorted({t for t in tags if any(fnmatch.fnmatchcase(t, p) for p in patterns)}, key=_tag_order)
    return chosen[:max_tags] if max_tags is not None else chosen


def _created_date(config: ImageConfig) -> str | None:
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


def _registry_copy(registry: str) -> str:
    return {"mcr.microsoft.com": "mcr", "docker.io": "dockerhub"}.get(registry, "unknown")


def _labels(config: ImageConfig, count: int) -> list[str | None]:
    """created_by per layer when the history lines up with the layers, else None per layer."""
    entries = config.layer_history()
    if len(entries) != count:
        return [None] * count
    return [h.created_by.strip() or None for h in entries]


def _base_problem(config: ImageConfig, manifest: Manifest) -> str | None:
    """Why this image is not a Windows base image we can catalogue, or None."""
    if config.os != "windows" or config.architecture != "amd64":
        return f"config is {config.os}/{config.architecture}, not windows/amd64"
    if not config.os_version or not _FULL_VERSION.fullmatch(config.os_version):
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


@dataclass(frozen=True, slots=True)
class _Read:
    """What one tag gave: its top digest and its windows/amd64 images (manifest, config)."""

    repository: str
    tag: str
    top_digest: str
    images: tuple[tuple[Manifest, ImageConfig], ...]
    skipped: tuple[SkippedTag, ...]


class _Refresher:
    """State of one refresh run (configs are fetched once per manifest digest)."""

    def __init__(self, client: RefreshClient, registry: str, observer: Observer) -> None:
        self.client = client
        self.registry = registry
        self.observer = observer

    def read_tag(self, repository: str, tag: str) -> _Read:
        """The tag's windows/amd64 images; non-windows platforms are skipped silently (a multi-OS index)."""
        ref = ImageReference(self.registry, repository, tag)
        self.observer.image_started(str(ref))
        top = self.client.get_manifest(ref)
        skipped: list[SkippedTag] = []
        if isinstance(top, Index):
            entries = [
                d
                for d in top.images()
                if d.platform is not None and d.platform.os == "windows" and d.platform.architecture == "amd64"
            ]
            manifests = []
            for entry in entries:
                child = self.client.get_manifest(ref, entry.digest)
                if not isinstance(child, Manifest):
                    skipped.append(SkippedTag(repository, tag, f"{entry.digest[:19]}… is a nested index"))
                    continue
                manifests.append(child)
        else:
            manifests = [top]
        images = []
        for manifest in manifests:
            if not manifest.is_image:
                skipped.append(SkippedTag(repository, tag, f"{manifest.digest[:19]}… is not a container image"))
                continue
            raw = self.client.get_blob(ref, manifest.config, MAX_CONFIG_BYTES)
            config = parse_config(raw, manifest.config.digest)
            if isinstance(top, Manifest) and (config.os != "windows" or config.architecture != "amd64"):
                continue  # a single-platform tag of another OS: nothing to catalogue, nothing wrong
            problem = _base_problem(config, manifest)
            if problem is not None:
                skipped.append(SkippedTag(repository, tag, f"{manifest.digest[:19]}…: {problem}"))
                continue
            images.append((manifest, config))
        if not images and not skipped:
            skipped.append(SkippedTag(repository, tag, "no windows/amd64 image"))
        return _Read(repository, tag, top.digest, tuple(images), tuple(skipped))


def _source(registry: str, repository: str, tags: Sequence[str], digest: str, day: str, endpoint: str | None) -> str:
    tag = next((t for t in tags if _TAG_VERSION.fullmatch(t)), tags[0])
    via = f" via {endpoint}" if endpoint else ""
    return f"{registry}/{repository}:{tag}@{digest} (layerscope catalog refresh {day}{via})"


def _rows(
    family: str,
    manifest: Manifest,
    config: ImageConfig,
    *,
    source: str,
    month: str | None,
    registry_copy: str,
    provenance: str,
) -> tuple[BaseLayer, ...]:
    assert config.os_version is not None  # checked by _base_problem
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


def _check_against(shipped: Catalog, rows: Iterable[BaseLayer], registry: str) -> None:
    """Raise CatalogError when a row gives a shipped digest or diff_id another meaning."""
    for row in rows:
        for known in (shipped.by_digest(row.digest or ""), shipped.by_diff_id(row.diff_id or "")):
            if known is not None and not compatible(known, row):
                raise CatalogError(
                    f"{registry} says layer {row.key[:19]}… is {_describe(row)}, "
                    f"but the shipped catalog has it as {_describe(known)} ({known.source[:80]})",
                    hint="check that --registry/--mirror point at Microsoft's repositories; nothing was saved",
                )


def _account(catalog: Catalog, rows: Sequence[BaseLayer]) -> tuple[list[str], list[str], list[str], int]:
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


def refresh_catalog(
    client: RefreshClient,
    catalog: Catalog,
    *,
    registry: str = DEFAULT_REGISTRY,
    repositories: Sequence[str] = DEFAULT_REPOSITORIES,
    patterns: Sequence[str] | None = None,
    max_tags: int | None = None,
    endpoint: str | None = None,
    today: date | None = None,
    workers: int = 4,
    observer: Observer | None = None,
) -> RefreshResult:
    """Read the base images under the selected tags of *repositories* and build catalog entries.

    *catalog* is what is known now (shipped + user), used to report what is new; conflicts are checked
    against the shipped catalog. *endpoint* names the mirror actually contacted for *registry*, if any.
    Nothing is saved: pass `result.layers` and `result.pins` to `save_user_entries`.
    """
    observer = observer or NullObserver()
    registry = registry.strip().lower()
    wanted = tuple(patterns) if patterns else default_tag_patterns()
    day = (today or date.today()).isoformat()
    registry_copy = _registry_copy(registry)
    provenance = "yes" if registry == DEFAULT_REGISTRY and endpoint is None else "low"
    families: dict[str, str] = {}
    for repository in repositories:
        family = family_of_repository(repository)
        if family is None:
            raise UsageError(
                f"{repository!r} is not a Windows base repository layerscope catalogues",
                hint=f"use one of {', '.join(DEFAULT_REPOSITORIES)}",
            )
        families[repository] = family
    refresher = _Refresher(client, registry, observer)
    skipped: list[SkippedTag] = []
    jobs: list[tuple[str, str]] = []
    listed = 0
    for repository in repositories:
        try:
            tags = client.list_tags(ImageReference(registry, repository, "latest"))
        except NotFoundError as exc:
            observer.warning(f"{registry}/{repository}: {exc.message}; skipped")
            skipped.append(SkippedTag(repository, "*", exc.message))
            continue
        listed += len(tags)
        chosen = select_tags(tags, wanted, max_tags)
        if not chosen:
            observer.warning(f"{registry}/{repository}: no tag matches {', '.join(wanted)}")
        jobs.extend((repository, tag) for tag in chosen)

    reads = _read_all(refresher, jobs, workers, observer, skipped)
    # One image per manifest digest, with every tag that pointed at it.
    by_manifest: dict[tuple[str, str], tuple[Manifest, ImageConfig, list[str]]] = {}
    for read in reads:
        skipped.extend(read.skipped)
        for manifest, config in read.images:
            key = (read.repository, manifest.digest)
            by_manifest.setdefault(key, (manifest, config, []))[2].append(read.tag)

    shipped = load_shipped()
    images: list[RefreshedImage] = []
    for (repository, digest), (manifest, config, tags) in by_manifest.items():
        created = _created_date(config)
        month = created[:7] if created else None
        stated = catalog.month_of(config.os_version)
        if stated is not None and month is not None and stated != month:
            observer.warning(
                f"{registry}/{repository}:{tags[0]}: config built {month}, the shipped catalog dates "
                f"{config.os_version} {stated}; the row keeps {month}, matching reports {stated}"
            )
        source = _source(registry, repository, tags, digest, day, endpoint)
        rows = _rows(
            families[repository],
            manifest,
            config,
            source=source,
            month=month,
            registry_copy=registry_copy,
            provenance=provenance,
        )
        _check_against(shipped, rows, registry)
        assert config.os_version is not None
        images.append(
            RefreshedImage(
                repository=repository,
                tags=tuple(tags),
                manifest_digest=digest,
                config_digest=config.digest,
                family=families[repository],
                channel=rows[0].channel,
                os_version=config.os_version,
                month=month,
                layers=rows,
            )
        )
    images.sort(key=lambda i: (i.repository, i.month or "", i.os_version, i.manifest_digest))
    layers = _dedupe([row for image in images for row in image.layers], observer)
    pins = _pins(reads, by_manifest, registry, day, endpoint)
    added, filled, unchanged, new_diff_ids = _account(catalog, layers)
    known_pins = {(p.repository, p.tag, p.index_digest, p.date) for p in catalog.pins}
    return RefreshResult(
        registry=registry,
        endpoint=endpoint,
        day=day,
        repositories=tuple(repositories),
        tags_listed=listed,
        tags_selected=len(jobs),
        images=tuple(images),
        layers=tuple(layers),
        pins=tuple(pins),
        added=tuple(added),
        filled=tuple(filled),
        unchanged=tuple(unchanged),
        new_diff_ids=new_diff_ids,
        new_pins=sum(1 for p in pins if (p.repository, p.tag, p.index_digest, p.date) not in known_pins),
        skipped=tuple(skipped),
    )


def _read_all(
    refresher: _Refresher, jobs: Sequence[tuple[str, str]], workers: int, observer: Observer, skipped: list[SkippedTag]
) -> list[_Read]:
    """Read every (repository, tag), a few at a time; a failing tag is a warning, a dead registry an error."""

    def one(job: tuple[str, str]) -> _Read | SkippedTag:
        repository, tag = job
        try:
            return refresher.read_tag(repository, tag)
        except _FATAL:
            raise
        except LayerscopeError as exc:
            return SkippedTag(repository, tag, exc.message)

    reads: list[_Read] = []
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="refresh")
    try:
        futures = [pool.submit(one, job) for job in jobs]
        for future in futures:  # in submission order, so the output is deterministic
            outcome = future.result()
            if isinstance(outcome, SkippedTag):
                observer.warning(f"{refresher.registry}/{outcome.repository}:{outcome.tag}: {outcome.reason}; skipped")
                skipped.append(outcome)
            else:
                for s in outcome.skipped:
                    observer.warning(f"{refresher.registry}/{s.repository}:{s.tag}: {s.reason}; skipped")
                reads.append(outcome)
    finally:
        # After a fatal error the queued tags would each fail (slowly, with retries): drop them.
        pool.shutdown(wait=True, cancel_futures=True)
    return reads


def _dedupe(rows: Sequence[BaseLayer], observer: Observer) -> list[BaseLayer]:
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


def _pins(
    reads: Sequence[_Read],
    by_manifest: dict[tuple[str, str], tuple[Manifest, ImageConfig, list[str]]],
    registry: str,
    day: str,
    endpoint: str | None,
) -> list[IndexPin]:
    pins = []
    via = f" via {endpoint}" if endpoint else ""
    for read in reads:
        if not read.images:
            continue
        configs = [by_manifest[(read.repository, m.digest)][1] for m, _ in read.images]
        dates = sorted(d for d in (_created_date(c) for c in configs) if d)
        versions = {c.os_version for c in configs}
        os_version = versions.pop() if len(configs) == 1 and len(versions) == 1 else None
        source = f"{registry}/{read.repository}:{read.tag}@{read.top_digest} (layerscope catalog refresh {day}{via})"
        pins.append(
            IndexPin(
                repository=f"{registry}/{read.repository}",
                tag=read.tag,
                index_digest=read.top_digest,
                date=dates[-1] if dates else day,
                source=source,
                os_version=os_version,
                os_version_source=f"os.version of config {configs[0].digest} ({source})" if os_version else None,
            )
        )
    return pins
