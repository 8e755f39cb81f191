"""Analyse images: resolve references, fetch configs, measure each unique layer once, assemble results.

`Analyzer` holds one content source, the measurement store and a bounded thread pool; layers of all
requested images are measured concurrently and a layer shared by several images is measured once.
The work is shared, never the check: every image checks every measurement it uses — however obtained —
against its own config's diff_id (layer_checks.py), so a result never depends on which image came first.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import replace
from enum import StrEnum
from typing import TYPE_CHECKING

from layerscope.catalog import BaseMatch, Catalog, base_measurements, match_base
from layerscope.content_source import ContentSource
from layerscope.digest import is_digest
from layerscope.errors import (
    CorruptLayerError,
    InvalidManifestError,
    NotFoundError,
    UnsupportedMediaTypeError,
)
from layerscope.layer_checks import checked_future, checked_now
from layerscope.measurement import LayerMeasurement, SizeSource, check_layer
from layerscope.observer import NullObserver, Observer
from layerscope.oci import (
    MAX_CONFIG_BYTES,
    Descriptor,
    Index,
    Manifest,
    layer_compression,
    parse_config,
    parse_manifest_or_index,
    require_verifiable,
)
from layerscope.plan.chain import chain_ids
from layerscope.platforms import PlatformFilter
from layerscope.pool import Aborted, DaemonPool, abortable, wait_or_abort
from layerscope.reference import Reference
from layerscope.resolution import ResolvedImage, index_images
from layerscope.results import ImageResult, LayerResult
from layerscope.store import MeasurementStore

if TYPE_CHECKING:
    from layerscope.executor import Executor

__all__ = ["RESOLVE_WORKERS", "Analyzer", "Mode", "ResolvedImage", "default_workers"]


class Mode(StrEnum):
    """How layer sizes are obtained."""

    EXACT = "exact"  # stream and count every byte (or reuse an exact stored measurement)
    ESTIMATE = "estimate"  # labelled estimates from a few bytes; unknown where none is safe
    ESTIMATE_OR_EXACT = "estimate-or-exact"  # estimates, measuring exactly where none is safe


#: References resolved at once (manifests and configs: small requests, so round trips, not bandwidth, bound them).
RESOLVE_WORKERS = 8


def _configured_workers() -> int | None:
    """`LAYERSCOPE_CONCURRENCY` when it is set to a number."""
    try:
        return max(1, int(os.environ["LAYERSCOPE_CONCURRENCY"]))
    except (KeyError, ValueError):
        return None


def default_workers() -> int:
    """Layers measured at once: `LAYERSCOPE_CONCURRENCY`, else 4 (I/O overlaps with inflate on 2 cores)."""
    return _configured_workers() or 4


class Analyzer:
    """Analyse images from one content source (which may route to several backends)."""

    def __init__(
        self,
        source: ContentSource,
        store: MeasurementStore | None = None,
        observer: Observer | None = None,
        workers: int | None = None,
        catalog: Catalog | None = None,
        mode: Mode = Mode.EXACT,
        executor: Executor | None = None,
    ) -> None:
        self.mode = mode
        #: Where exact measurements run instead of this pool (executor.py: Dask, ...); None: the pool.
        self.executor = executor
        self._remote: dict[tuple[str, str], LayerMeasurement] = {}
        self.catalog = catalog
        self.source = source
        self.store = store
        self.observer = observer or NullObserver()
        self._pool = DaemonPool(workers or default_workers())
        # References resolved at once: as many as layers when the user set that (`--concurrency 1` against a
        # registry that rate-limits means one request at a time), else RESOLVE_WORKERS.
        self._resolve_workers = workers or _configured_workers() or RESOLVE_WORKERS
        self._resolver: DaemonPool | None = None  # made by the first resolve_all of several references
        self._lock = threading.Lock()
        # Shared work by (blob digest, diff_id algorithm); each image checks the result itself.
        self._inflight: dict[tuple[str, str], Future[LayerMeasurement]] = {}
        self._closing = threading.Event()

    @property
    def resolver(self) -> DaemonPool:
        """The pool references are resolved on (`resolve_all`, `scan`'s batches), made on first use."""
        with self._lock:
            if self._resolver is None:
                self._resolver = DaemonPool(self._resolve_workers, name="resolve")
            return self._resolver

    @property
    def pool(self) -> DaemonPool:
        """The run's local worker pool (the `threads` executor runs on it too)."""
        return self._pool

    def close(self) -> None:
        """Stop the pool: pending measurements are cancelled, running ones stop within one chunk."""
        self._closing.set()
        self._pool.shutdown(cancel_futures=True)
        if self._resolver is not None:
            self._resolver.shutdown(cancel_futures=True)

    def resolve(self, ref: Reference, platform: PlatformFilter | None = None) -> list[ResolvedImage]:
        """Manifests and configs of the image(s) *ref* names, filtered by *platform*."""
        self.observer.image_started(str(ref))
        top = self._manifest(ref)
        if isinstance(top, Index):
            return index_images(
                ref,
                top,
                platform,
                lambda digest: self._manifest(ref, digest),
                lambda child: self._with_config(ref, child, top.digest),
            )
        image = self._with_config(ref, top, None)
        if platform is not None and not platform.matches(image.config.platform):
            raise NotFoundError(f"{ref} is {image.config.platform}, not {platform}")
        return [image]

    def _manifest(self, ref: Reference, identifier: str | None = None) -> Manifest | Index:
        """A manifest by digest from the store when it has it (content-addressed: verified on read); tags
        always go to the source, since a tag may move."""
        digest = identifier if identifier is not None and is_digest(identifier) else None
        if identifier is None:
            digest = ref.digest
        if digest is not None and self.store is not None:
            raw = self.store.get_content(digest)
            if raw is not None:
                return parse_manifest_or_index(raw)
        manifest = self.source.get_manifest(ref, identifier)
        if self.store is not None:
            self.store.put_content(manifest.digest, manifest.raw)
        return manifest

    def _with_config(self, ref: Reference, manifest: Manifest, index_digest: str | None) -> ResolvedImage:
        if not manifest.is_image:
            kind = manifest.artifact_type or manifest.config.media_type
            raise UnsupportedMediaTypeError(
                f"{ref} is an artifact ({kind}), not a container image",
                hint="analyze image references; artifacts such as signatures or SBOMs have no layers to run",
            )
        # Content that could not be verified is refused before anything is downloaded; foreign layers are
        # never downloaded, so any digest will do for them.
        for desc, what in ((manifest.config, "config"), *((x, "layer") for x in manifest.layers if not x.foreign)):
            require_verifiable(desc, f"{ref}: {what} {desc.digest[:40]}")
        raw = self.store.get_content(manifest.config.digest) if self.store is not None else None
        if raw is None:
            raw = self.source.get_blob(ref, manifest.config, MAX_CONFIG_BYTES)
            if self.store is not None:
                self.store.put_content(manifest.config.digest, raw)
        config = parse_config(raw, manifest.config.digest)
        if len(config.diff_ids) != len(manifest.layers):
            raise InvalidManifestError(
                f"{ref}: config lists {len(config.diff_ids)} diff_ids for {len(manifest.layers)} layers"
            )
        for layer in manifest.layers:
            layer_compression(layer.media_type)  # rejects unknown layer types before any download
        return ResolvedImage(ref, str(ref), index_digest, manifest, config)

    def _measure(self, ref: Reference, desc: Descriptor, diff_id: str, abort: threading.Event) -> LayerMeasurement:
        """The blob's measurement (shared by every image that has it): not checked against *diff_id* here,
        which only picks the stored record and the hash algorithm; each image checks it (layer_checks.py)."""
        if self.store is not None:
            stored = self.store.get(desc.digest)
            if stored is not None and stored.diff_id == diff_id:
                return stored
        if self.mode is not Mode.EXACT:
            estimated = self._estimate(ref, desc)
            if estimated.uncompressed_bytes is not None or self.mode is Mode.ESTIMATE:
                return estimated
        self.observer.layer_started(desc.digest, desc.size)
        try:
            from layerscope.measure import measure_layer_indexed  # here: a run served from the store never needs it

            with self.source.open_blob(ref, desc) as chunks:
                stream = self._progress(desc.digest, chunks, abort)
                try:
                    result, file_index = measure_layer_indexed(
                        stream,
                        desc,
                        algorithm=_algorithm(diff_id),
                        on_inflated=lambda n: self.observer.layer_inflated(desc.digest, n),
                    )
                except CorruptLayerError:
                    # Corrupt data may be the registry's fault (bytes damaged in transit or at rest) rather
                    # than the image's: read to the end so the digest check can say which (exit message).
                    for _ in stream:
                        pass
                    raise
        finally:
            self.observer.layer_done(desc.digest)
        if self.store is not None and result.diff_id == diff_id:
            # Kept only when the config that asked agrees: a run that fails on a lying config stores nothing.
            self.store.put(result, file_index)
        return result

    def _estimate(self, ref: Reference, desc: Descriptor) -> LayerMeasurement:
        """A labelled estimate from a few Range reads of the blob (see estimate.py)."""
        from layerscope.estimate import estimate_layer  # here: an exact run never loads the estimators

        return estimate_layer(desc, lambda offset, length: self.source.read_range(ref, desc, offset, length))

    def _progress(self, digest: str, chunks: Iterator[bytes], abort: threading.Event) -> Iterator[bytes]:
        for chunk in abortable(chunks, abort, digest):
            if self._closing.is_set():
                # Closing (another layer of this run failing sets *abort*): stop reading now, so the error
                # is reported at once rather than after every other download finishes.
                raise Aborted(digest)
            self.observer.layer_progress(digest, len(chunk))
            yield chunk

    def _submit(
        self, ref: Reference, desc: Descriptor, diff_id: str, abort: threading.Event
    ) -> Future[LayerMeasurement]:
        """The shared measurement of *desc* (submitted by the first image that needs it)."""
        key = (desc.digest, _algorithm(diff_id))
        with self._lock:
            future = self._inflight.get(key)
            if future is None:
                future = self._pool.submit(self._measure, ref, desc, diff_id, abort)
                self._inflight[key] = future
            return future

    def _foreign(self, desc: Descriptor, diff_id: str) -> LayerMeasurement:
        # Foreign layers live outside the registry (Microsoft's CDN) and are never downloaded: the catalog
        # may know their sizes (applied with the base match in _with_base); until then nothing is known.
        return LayerMeasurement(
            digest=desc.digest, compressed_bytes=desc.size, size_source=SizeSource.UNKNOWN, diff_id=diff_id
        )

    def _with_base(
        self, image: ResolvedImage, layers: tuple[LayerResult, ...]
    ) -> tuple[BaseMatch | None, tuple[LayerResult, ...]]:
        """Mark the image's Windows base layers and fill sizes of unmeasured ones from the catalog."""
        if self.catalog is None:
            return None, layers
        from layerscope.windows.dating import date_base

        match = date_base(
            match_base(image.config, image.manifest.layers, self.catalog), image.config.os, image.config.os_version
        )
        known = base_measurements(match, image.manifest.layers, self.catalog) if match and match.layer_count else []
        out = []
        for layer in layers:
            m = layer.measurement
            is_base = match is not None and layer.index < match.layer_count
            if m.size_source is SizeSource.UNKNOWN:
                if is_base:
                    m = known[layer.index]
                elif (row := self.catalog.by_digest(layer.digest)) is not None:
                    m = self.catalog.measurement(row, image.manifest.layers[layer.index], layer.diff_id)
                m = replace(m, digest=layer.digest, compressed_bytes=layer.measurement.compressed_bytes)
            out.append(replace(layer, measurement=m, base=is_base))
        return match, tuple(out)

    def _measure_remote(
        self, images: Sequence[ResolvedImage], known: Sequence[Mapping[str, LayerMeasurement]]
    ) -> dict[tuple[str, str], LayerMeasurement]:
        """Exact measurements from the executor of layers neither known nor stored (each digest once a run).

        Keyed by (digest, diff_id algorithm); each image checks them against its own config (measure_images).
        """
        from layerscope.layer_tasks import LayerTask

        assert self.executor is not None
        tasks: dict[tuple[str, str], LayerTask] = {}
        for image, mine in zip(images, known, strict=True):
            for desc, diff_id in zip(image.manifest.layers, image.config.diff_ids, strict=True):
                key = (desc.digest, _algorithm(diff_id))
                if desc.foreign or _known(mine, desc.digest, diff_id) or key in self._remote or key in tasks:
                    continue
                stored = self.store.get(desc.digest) if self.store is not None else None
                if stored is not None and stored.diff_id == diff_id:
                    self._remote[key] = stored
                else:
                    tasks[key] = LayerTask.of(image.ref, desc, diff_id)
        if tasks:
            measured = self.executor.measure(list(tasks.values()))
            for key, task in tasks.items():
                # The executor checked it against the task already; checked here again before it is kept,
                # since an executor is a plug-in point (executor.py) and the store must only hold the truth.
                m = check_layer(measured[task.digest], digest=task.digest, size=task.size, diff_id=task.diff_id)
                if self.store is not None:
                    self.store.put(m)
                self._remote[key] = m
        return self._remote

    def measure_images(
        self,
        images: Sequence[ResolvedImage],
        known: Mapping[str, LayerMeasurement] | None = None,
        attached: Sequence[Mapping[str, LayerMeasurement]] | None = None,
    ) -> list[ImageResult]:
        """Measure every layer of *images* (each unique blob once, concurrently) and build results.

        *known* maps layer digests to exact measurements this user made earlier (a scan's checkpoint),
        usable for any image; *attached*, one map per image, holds what was read from analyses attached
        to that image, usable for that image only (issue #12: an attachment is trusted only for its
        subject). A measurement is used when its diff_id matches the image's config.
        """
        known = known or {}
        per_image = [{**known, **mine} for mine in attached] if attached is not None else [known] * len(images)
        if len(per_image) != len(images):
            raise ValueError("one attached map per image")
        exact_remote = self.executor is not None and self.mode is Mode.EXACT
        remote = self._measure_remote(images, per_image) if exact_remote else {}
        pending: list[list[Future[LayerMeasurement] | LayerMeasurement]] = []
        shared: list[Future[LayerMeasurement]] = []
        abort = threading.Event()
        for image, mine in zip(images, per_image, strict=True):
            row: list[Future[LayerMeasurement] | LayerMeasurement] = []
            for desc, diff_id in zip(image.manifest.layers, image.config.diff_ids, strict=True):
                hit = _known(mine, desc.digest, diff_id)
                key = (desc.digest, _algorithm(diff_id))
                if desc.foreign:
                    row.append(self._foreign(desc, diff_id))
                elif hit is not None:
                    row.append(checked_now(hit, desc, diff_id))
                elif key in remote:
                    row.append(checked_now(remote[key], desc, diff_id))
                else:
                    work = self._submit(image.ref, desc, diff_id, abort)
                    shared.append(work)
                    row.append(checked_future(work, desc, diff_id))
            pending.append(row)
        self._wait_or_fail([item for row in pending for item in row if isinstance(item, Future)], shared, abort)
        results = []
        for image, row in zip(images, pending, strict=True):
            measured = [item.result() if isinstance(item, Future) else item for item in row]
            chains = chain_ids(list(image.config.diff_ids))
            layers = tuple(
                LayerResult(
                    index=i,
                    digest=desc.digest,
                    media_type=desc.media_type,
                    foreign=desc.foreign,
                    diff_id=image.config.diff_ids[i],
                    chain_id=chains[i],
                    measurement=m,
                )
                for i, (desc, m) in enumerate(zip(image.manifest.layers, measured, strict=True))
            )
            base, layers = self._with_base(image, layers)
            results.append(
                ImageResult(
                    reference=image.reference,
                    index_digest=image.index_digest,
                    digest=image.manifest.digest,
                    media_type=image.manifest.media_type,
                    platform=image.config.platform,
                    config_digest=image.config.digest,
                    layers=layers,
                    base=base,
                )
            )
        return results

    def _wait_or_fail(
        self,
        checked: list[Future[LayerMeasurement]],
        shared: list[Future[LayerMeasurement]],
        abort: threading.Event,
    ) -> None:
        """Wait for the per-image *checked* futures; on the first failure stop the *shared* work, raise it."""
        try:
            wait_or_abort(checked, abort)
        except BaseException:
            for future in shared:
                future.cancel()
            with self._lock:
                # Forget what did not finish well, so a later call (the next batch of a scan) measures it again.
                ours = {id(f) for f in shared}
                for key, future in list(self._inflight.items()):
                    if id(future) in ours and (not future.done() or future.cancelled() or future.exception()):
                        del self._inflight[key]
            raise

    def resolve_all(self, refs: Sequence[Reference], platform: PlatformFilter | None = None) -> list[ResolvedImage]:
        """`resolve` of every ref, several at once (RESOLVE_WORKERS, or the workers the user set), in ref order.

        At fleet scale the cost is round trips, not bytes: a report over 5,000 tags asks for 5,000 manifests,
        one after another minutes against a registry 50 ms away. The registry client bounds requests per host
        (`max_concurrency`). On a failure the refs not yet started are dropped and the first failure in the
        order of *refs* among those seen is raised (pool.wait_or_abort).
        """
        if len(refs) < 2 or self._resolve_workers == 1:
            return [image for ref in refs for image in self.resolve(ref, platform)]
        abort = threading.Event()
        futures = [self.resolver.submit(self._resolve_unless, ref, platform, abort) for ref in refs]
        wait_or_abort(futures, abort)
        return [image for future in futures for image in future.result()]

    def _resolve_unless(
        self, ref: Reference, platform: PlatformFilter | None, abort: threading.Event
    ) -> list[ResolvedImage]:
        if abort.is_set():
            raise Aborted(str(ref))
        return self.resolve(ref, platform)

    def analyze(self, refs: Sequence[Reference], platform: PlatformFilter | None = None) -> list[ImageResult]:
        """Resolve and measure every image of *refs*."""
        return self.measure_images(self.resolve_all(refs, platform))


def _algorithm(diff_id: str) -> str:
    """The hash algorithm of *diff_id* (sha256 for all but exotic images)."""
    return diff_id.partition(":")[0] or "sha256"


def _known(known: Mapping[str, LayerMeasurement], digest: str, diff_id: str) -> LayerMeasurement | None:
    """The measurement of *digest* in *known*, if it is for the same diff_id."""
    m = known.get(digest)
    return m if m is not None and m.diff_id == diff_id else None
