"""From an index to the image manifests it names: nested indexes, entries without a platform, partial copies.

What image-index.md allows, and how layerscope reads it:

- an entry's `platform` is OPTIONAL: an image entry without one is fetched and its platform read from
  its config (what a runtime does when it pulls it);
- nested indexes SHOULD be supported: they are followed, up to MAX_INDEX_DEPTH levels below the top;
- an unknown `mediaType` MUST NOT generate an error: such entries (and attestations, artifacts) are skipped;
- a child whose manifest is absent (a partial copy, e.g. `docker save` of one platform of a multi-platform
  image) is reported with the platforms that are present and a `--platform` hint, never skipped silently.

Only `Manifest`/`Index` values and two callbacks are used, so registries and layouts are read the same way
(through the ContentSource protocol, above any one backend).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from layerscope.errors import NotFoundError, UnsupportedMediaTypeError
from layerscope.oci import Descriptor, EntryKind, ImageConfig, Index, Manifest, entry_kind, require_verifiable
from layerscope.platforms import PlatformFilter
from layerscope.reference import Reference

__all__ = ["MAX_INDEX_DEPTH", "ResolvedImage", "index_images"]


@dataclass(frozen=True, slots=True)
class ResolvedImage:
    """An image manifest with its config, before any layer is measured."""

    ref: Reference
    reference: str
    index_digest: str | None
    manifest: Manifest
    config: ImageConfig


#: Levels of nested indexes followed below the reference's own index (real images use one; a deeper
#: chain is more likely a loop a registry built than an image anyone runs).
MAX_INDEX_DEPTH = 4


@dataclass
class _Walk:
    ref: Reference
    platform: PlatformFilter | None
    fetch: Callable[[str], Manifest | Index]
    with_config: Callable[[Manifest], ResolvedImage]
    found: list[ResolvedImage] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    present: list[str] = field(default_factory=list)  # platforms whose manifests were read
    listed: list[str] = field(default_factory=list)  # platforms the index entries declare
    missing: list[tuple[Descriptor, NotFoundError]] = field(default_factory=list)

    def visit(self, index: Index, depth: int) -> None:
        for entry in index.manifests:
            kind = entry_kind(entry)
            if kind is EntryKind.OTHER or entry.digest in self.seen:
                continue
            self.seen.add(entry.digest)
            if entry.platform is not None:
                _add(self.listed, str(entry.platform))
                if self.platform is not None and not self.platform.matches(entry.platform):
                    continue  # not fetched: a partial copy may well lack it
            require_verifiable(entry, f"{self.ref}: index entry {entry.digest[:40]}")
            try:
                child = self.fetch(entry.digest)
            except NotFoundError as exc:
                self.missing.append((entry, exc))
                continue
            if isinstance(child, Index):
                if depth >= MAX_INDEX_DEPTH:
                    raise UnsupportedMediaTypeError(
                        f"{self.ref}: indexes nested more than {MAX_INDEX_DEPTH} levels deep",
                        hint=f"layerscope follows {MAX_INDEX_DEPTH} levels of nested indexes; name a deeper"
                        " index by digest (REPOSITORY@sha256:…) to analyse it",
                    )
                self.visit(child, depth + 1)
            elif child.is_image:
                self.take(entry, child)

    def take(self, entry: Descriptor, manifest: Manifest) -> None:
        try:
            image = self.with_config(manifest)
        except NotFoundError as exc:  # the manifest was copied, its config was not: as partial as above
            self.missing.append((entry, exc))
            return
        _add(self.present, str(entry.platform or image.config.platform))
        if entry.platform is None:
            _add(self.listed, str(image.config.platform))
            if self.platform is not None and not self.platform.matches(image.config.platform):
                return
        self.found.append(image)


def _add(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def index_images(
    ref: Reference,
    top: Index,
    platform: PlatformFilter | None,
    fetch: Callable[[str], Manifest | Index],
    with_config: Callable[[Manifest], ResolvedImage],
) -> list[ResolvedImage]:
    """The images *top* names (each manifest once, in index order), filtered by *platform*.

    *fetch* reads a manifest or index by digest in *ref*'s repository; *with_config* fetches an image
    manifest's config. Raises NotFoundError when nothing matches, or when a wanted child is absent.
    """
    walk = _Walk(ref, platform, fetch, with_config)
    walk.visit(top, 0)
    wanted = f" for platform {platform}" if platform else ""
    if walk.missing:
        entry, exc = walk.missing[0]
        what = f"platform {entry.platform}" if entry.platform else f"entry {entry.digest[:19]}…"
        more = len(walk.missing) - 1
        also = f"; {more} more of the index's manifests are missing too" if more else ""
        if platform is not None:
            hint = (
                "a partial copy of a multi-platform index (as `docker save` writes) holds only some platforms;"
                f" try another --platform (listed: {', '.join(walk.listed)})"
            )
        elif walk.present:
            hint = (
                f"the index lists platforms whose content is not here (a partial copy, as `docker save` writes);"
                f" choose present ones with --platform, e.g. --platform {walk.present[0]}"
                f" (present: {', '.join(walk.present)})"
            )
        else:
            hint = "none of the index's platforms are present: copy the image again with all its platforms"
        raise NotFoundError(f"{ref}: the manifest of {what} is missing ({exc.message}){also}", hint=hint)
    if not walk.found:
        raise NotFoundError(
            f"{ref} has no image{wanted}", hint=f"platforms in this index: {', '.join(sorted(walk.listed)) or 'none'}"
        )
    return walk.found
