"""`catalog refresh`, reading: which tags to read, and each tag's windows/amd64 manifests and configs.

Only tags, manifests and configs are read — never a layer blob — through an injected `RefreshClient`
(layerscope's RegistryClient in the CLI). Tags are read a few at a time; a failing tag is a warning, a
registry that cannot be used at all (authentication, rate limit, unavailable) stops the run.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from layerscope.catalog.model import CHANNEL_TAGS
from layerscope.catalog.refresh_rows import TAG_VERSION, base_problem
from layerscope.errors import AuthenticationError, LayerscopeError, RateLimitedError, RegistryUnavailableError
from layerscope.observer import Observer
from layerscope.oci import MAX_CONFIG_BYTES, Descriptor, ImageConfig, Index, Manifest, parse_config
from layerscope.reference import ImageReference, Reference

__all__ = ["RefreshClient", "SkippedTag", "TagRead", "TagReader", "default_tag_patterns", "read_all", "select_tags"]

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


def default_tag_patterns() -> tuple[str, ...]:
    """LTSC channel tags (`ltsc2019`, `1809`, …) and full-build tags (`10.0.*`)."""
    channel_tags = dict.fromkeys(tag for tags in CHANNEL_TAGS.values() for tag in tags)
    return (*channel_tags, "10.0.*")


def _tag_order(tag: str) -> tuple[int, int, int, str]:
    """Channel tags first (they name the current revisions), then builds newest first, then the rest."""
    channel_tags = [t for tags in CHANNEL_TAGS.values() for t in tags]
    if tag in channel_tags:
        return (0, channel_tags.index(tag), 0, tag)
    m = TAG_VERSION.fullmatch(tag)
    if m:
        return (1, -int(m[1]), -int(m[2]), tag)
    return (2, 0, 0, tag)


def select_tags(tags: Iterable[str], patterns: Sequence[str], max_tags: int | None) -> list[str]:
    """Tags matching any glob in *patterns*, in `_tag_order`, at most *max_tags* of them."""
    chosen = sorted({t for t in tags if any(fnmatch.fnmatchcase(t, p) for p in patterns)}, key=_tag_order)
    return chosen[:max_tags] if max_tags is not None else chosen


@dataclass(frozen=True, slots=True)
class TagRead:
    """What one tag gave: its top digest and its windows/amd64 images (manifest, config)."""

    repository: str
    tag: str
    top_digest: str
    images: tuple[tuple[Manifest, ImageConfig], ...]
    skipped: tuple[SkippedTag, ...]


class TagReader:
    """State of one refresh run (configs are fetched once per manifest digest)."""

    def __init__(self, client: RefreshClient, registry: str, observer: Observer) -> None:
        self.client = client
        self.registry = registry
        self.observer = observer

    def read_tag(self, repository: str, tag: str) -> TagRead:
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
            problem = base_problem(config, manifest)
            if problem is not None:
                skipped.append(SkippedTag(repository, tag, f"{manifest.digest[:19]}…: {problem}"))
                continue
            images.append((manifest, config))
        if not images and not skipped:
            skipped.append(SkippedTag(repository, tag, "no windows/amd64 image"))
        return TagRead(repository, tag, top.digest, tuple(images), tuple(skipped))


def read_all(
    refresher: TagReader, jobs: Sequence[tuple[str, str]], workers: int, observer: Observer, skipped: list[SkippedTag]
) -> list[TagRead]:
    """Read every (repository, tag), a few at a time; a failing tag is a warning, a dead registry an error."""

    def one(job: tuple[str, str]) -> TagRead | SkippedTag:
        repository, tag = job
        try:
            return refresher.read_tag(repository, tag)
        except _FATAL:
            raise
        except LayerscopeError as exc:
            return SkippedTag(repository, tag, exc.message)

    reads: list[TagRead] = []
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
