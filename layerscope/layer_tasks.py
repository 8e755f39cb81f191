"""Per-layer measurement tasks as plain data, and the worker side that runs them (any process, any host).

`LayerTask` (reference string, descriptor as a dict, expected diff_id) and `WorkerSettings` (registry hosts,
plain http, the store path) cross process boundaries; the worker entry point `measure_task` opens its own content
source and store from the settings, once per worker process, and answers with plain data. executor.py decides
where tasks run and checks every answer (`check_results`) before it is used.
"""

from __future__ import annotations

import atexit
import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from layerscope.errors import CorruptLayerError, LayerscopeError
from layerscope.measure import measure_layer_indexed
from layerscope.measurement import LayerMeasurement, check_layer
from layerscope.observer import Observer
from layerscope.oci import Descriptor, parse_descriptor
from layerscope.pool import abortable
from layerscope.reference import Reference, parse_reference

if TYPE_CHECKING:
    from layerscope.content_source import ContentSource
    from layerscope.registry.config import HostConfig, RegistryConfig, Timeouts
    from layerscope.store import MeasurementStore

__all__ = ["LayerTask", "WorkerSettings", "check_results", "measure_task", "measure_with"]


@dataclass(frozen=True, slots=True)
class LayerTask:
    """One layer to measure, as plain picklable data."""

    reference: str
    descriptor: dict[str, Any] = field(hash=False)
    diff_id: str

    @classmethod
    def of(cls, ref: Reference, desc: Descriptor, diff_id: str) -> LayerTask:
        """The task for layer *desc* of *ref*."""
        doc: dict[str, Any] = {"mediaType": desc.media_type, "digest": desc.digest, "size": desc.size}
        if desc.urls:
            doc["urls"] = list(desc.urls)
        if desc.annotations:
            doc["annotations"] = dict(desc.annotations)
        return cls(str(ref), doc, diff_id)

    @property
    def digest(self) -> str:
        """The layer's digest."""
        return str(self.descriptor["digest"])

    @property
    def size(self) -> int:
        """The layer's compressed size."""
        return int(self.descriptor["size"])

    def parsed(self) -> tuple[Reference, Descriptor]:
        """The reference and descriptor, parsed back."""
        return parse_reference(self.reference), parse_descriptor(self.descriptor, "layer task")


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """What a worker needs to open its own content source and store (picklable, hashable)."""

    plain_http: bool = False
    hosts: tuple[tuple[str, HostConfig], ...] = ()
    max_concurrency: int | None = None
    timeouts: Timeouts | None = None
    #: The measurement store every worker reads and writes; None: workers keep no store.
    store_path: str | None = None

    @classmethod
    def of(cls, config: RegistryConfig | None, store_path: Path | str | None) -> WorkerSettings:
        """Settings carrying *config* (RegistryConfig holds a mappingproxy, which does not pickle)."""
        if config is None:
            return cls(store_path=str(store_path) if store_path else None)
        return cls(
            plain_http=config.plain_http,
            hosts=tuple(sorted(config.hosts.items())),
            max_concurrency=config.max_concurrency,
            timeouts=config.timeouts,
            store_path=str(store_path) if store_path else None,
        )

    def registry_config(self) -> RegistryConfig:
        """The RegistryConfig these settings describe."""
        from layerscope.registry.config import DEFAULT_CONCURRENCY, RegistryConfig, Timeouts

        return RegistryConfig(
            hosts=dict(self.hosts),
            plain_http=self.plain_http,
            max_concurrency=self.max_concurrency or DEFAULT_CONCURRENCY,
            timeouts=self.timeouts or Timeouts(),
        )


def measure_with(
    task: LayerTask,
    source: ContentSource,
    store: MeasurementStore | None,
    abort: threading.Event | None = None,
    observer: Observer | None = None,
) -> LayerMeasurement:
    """Measure one layer from *source*: the store's copy when it has one, else stream and count it.

    With *abort*, the stream stops within one chunk once it is set (another task of the batch failed).
    """
    ref, desc = task.parsed()
    if store is not None:
        stored = store.get(desc.digest)
        if stored is not None and stored.diff_id == task.diff_id:
            return stored
    with source.open_blob(ref, desc) as blob:
        chunks: Iterable[bytes] = blob if abort is None else abortable(blob, abort, desc.digest)
        if observer is not None:
            chunks = _reporting(chunks, desc.digest, observer)
        stream = iter(chunks)
        try:
            result, file_index = measure_layer_indexed(
                stream,
                desc,
                expected_diff_id=task.diff_id,
                on_inflated=functools.partial(observer.layer_inflated, desc.digest) if observer is not None else None,
            )
        except CorruptLayerError:
            # As in the analyzer: read to the end so the digest check can say whether the registry lied.
            for _ in stream:
                pass
            raise
    if store is not None:
        store.put(result, file_index)
    return result


def _reporting(chunks: Iterable[bytes], digest: str, observer: Observer) -> Iterator[bytes]:
    for chunk in chunks:
        observer.layer_progress(digest, len(chunk))
        yield chunk


def check_results(tasks: Sequence[LayerTask], measured: dict[str, LayerMeasurement]) -> dict[str, LayerMeasurement]:
    """*measured*, once every task's answer is an exact measurement of its blob with the task's diff_id.

    Every task is checked, also those `_unique` left out as repeats of a digest: the work is shared,
    the check is not.
    """
    for task in tasks:
        m = measured.get(task.digest)
        if m is None:
            raise LayerscopeError(f"no measurement came back for layer {task.digest}")
        check_layer(m, digest=task.digest, size=task.size, diff_id=task.diff_id)
    return measured


# -- the worker side ---------------------------------------------------------------------------------

_resources: dict[WorkerSettings, tuple[ContentSource, MeasurementStore | None]] = {}
_resources_lock = threading.Lock()


def _close_resources() -> None:
    with _resources_lock:
        for source, store in _resources.values():
            source.close()
            if store is not None:
                store.close()
        _resources.clear()


def _worker_resources(settings: WorkerSettings) -> tuple[ContentSource, MeasurementStore | None]:
    """One content source and store per worker process and settings, shared by its threads."""
    with _resources_lock:
        found = _resources.get(settings)
        if found is None:
            from layerscope.source_routing import RoutingSource
            from layerscope.store import MeasurementStore

            if not _resources:
                atexit.register(_close_resources)
            store = MeasurementStore(Path(settings.store_path)) if settings.store_path else None
            found = (RoutingSource(settings.registry_config()), store)
            _resources[settings] = found
        return found


def measure_task(task: LayerTask, settings: WorkerSettings) -> dict[str, Any]:
    """Worker entry point: `{"measurement": {...}}`, or `{"error": {"type", "message", "hint"}}`."""
    source, store = _worker_resources(settings)
    try:
        return {"measurement": measure_with(task, source, store).to_dict()}
    except LayerscopeError as exc:
        # Our exceptions take keyword-only arguments that pickle drops; send them as data instead.
        return {"error": {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint}}
