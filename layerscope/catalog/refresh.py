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

Reading the registry is in refresh_tags.py, building rows from what was read in refresh_rows.py; this
module runs the two and accounts for what is new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from layerscope.basematch import BaseLayer
from layerscope.catalog.load import load_shipped
from layerscope.catalog.model import Catalog, IndexPin
from layerscope.catalog.refresh_rows import (
    account,
    check_against,
    created_date,
    dedupe,
    family_of_repository,
    layer_rows,
    registry_copy_of,
    source_of,
)
from layerscope.catalog.refresh_tags import (
    RefreshClient,
    SkippedTag,
    TagRead,
    TagReader,
    default_tag_patterns,
    read_all,
    select_tags,
)
from layerscope.errors import CatalogError, NotFoundError, UsageError
from layerscope.observer import NullObserver, Observer
from layerscope.oci import ImageConfig, Manifest
from layerscope.reference import ImageReference

__all__ = [
    "DEFAULT_REGISTRY",
    "DEFAULT_REPOSITORIES",
    "RefreshClient",
    "RefreshResult",
    "RefreshedImage",
    "SkippedTag",
    "default_tag_patterns",
    "family_of_repository",
    "refresh_catalog",
    "require_images",
    "select_tags",
]

DEFAULT_REGISTRY = "mcr.microsoft.com"
DEFAULT_REPOSITORIES = ("windows/servercore", "windows/nanoserver")


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


def require_images(result: RefreshResult, patterns: Sequence[str]) -> None:
    """Fail (before anything is saved) when no tag matched *patterns*, or no base image could be read."""
    if result.tags_selected == 0:
        wanted = ", ".join(patterns or default_tag_patterns())
        raise NotFoundError(f"no tag matches {wanted}", hint="list the repository's tags, then pass --tags PATTERN")
    if not result.images:
        raise CatalogError(
            f"none of the {result.tags_selected} tags held a Windows base image that could be read"
            f" ({len(result.skipped)} skipped)",
            hint="see the warnings above; nothing was saved",
        )


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
    registry_copy = registry_copy_of(registry)
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
    refresher = TagReader(client, registry, observer)
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

    reads = read_all(refresher, jobs, workers, observer, skipped)
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
        created = created_date(config)
        month = created[:7] if created else None
        stated = catalog.month_of(config.os_version)
        if stated is not None and month is not None and stated != month:
            observer.warning(
                f"{registry}/{repository}:{tags[0]}: config built {month}, the shipped catalog dates "
                f"{config.os_version} {stated}; the row keeps {month}, matching reports {stated}"
            )
        source = source_of(registry, repository, tags, digest, day, endpoint)
        rows = layer_rows(
            families[repository],
            manifest,
            config,
            source=source,
            month=month,
            registry_copy=registry_copy,
            provenance=provenance,
        )
        check_against(shipped, rows, registry)
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
    layers = dedupe([row for image in images for row in image.layers], observer)
    pins = _pins(reads, by_manifest, registry, day, endpoint)
    added, filled, unchanged, new_diff_ids = account(catalog, layers)
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


def _pins(
    reads: Sequence[TagRead],
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
        dates = sorted(d for d in (created_date(c) for c in configs) if d)
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
