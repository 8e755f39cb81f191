"""Where per-layer measurements run: a thread pool here, or tasks on a Dask distributed cluster.

A task is plain data — `LayerTask` (reference string, descriptor as a dict, expected diff_id) — and the
worker entry point `measure_task(task, settings)` opens its own content source and measurement store
from `WorkerSettings` (registry hosts, plain http, the store path), once per worker process. So a task
can run in another process or on another machine: nothing unpicklable (connections, locks, SQLite
handles) crosses the wire, and the result comes back as `LayerMeasurement.to_dict()` (or an error
record, re-raised here as the same `LayerscopeError` class with its hint).

Each unique layer is measured once: the analyzer submits one task per digest, and a Dask task's key
is derived from the digest, so two clients of one scheduler asking for the same layer at the same
time share one computation. Workers share finished results through the store path (SQLite in WAL mode:
safe between processes on one host's filesystem, not over NFS) — and through attached analyses
(attach.py) across hosts and runs. Credentials come from each worker's own environment (Docker
`config.json`, `REGISTRY_AUTH_FILE`), never from the client.

Dask and distributed are optional (`pip install layerscope[dask]`) and imported only by DaskExecutor.
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from layerscope import errors
from layerscope.errors import CorruptLayerError, LayerscopeError, UsageError
from layerscope.measure import measure_layer
from layerscope.measurement import LayerMeasurement
from layerscope.observer import NullObserver, Observer
from layerscope.oci import Descriptor, parse_descriptor
from layerscope.reference import Reference, parse_reference

if TYPE_CHECKING:
    from layerscope.registry.config import HostConfig, RegistryConfig, Timeouts
    from layerscope.source import ContentSource
    from layerscope.store import MeasurementStore

__all__ = [
    "DaskExecutor",
    "Executor",
    "LayerTask",
    "ThreadExecutor",
    "WorkerSettings",
    "make_executor",
    "measure_task",
    "measure_with",
    "parse_executor",
]

#: Workers of the LocalCluster started when `--executor dask` names no scheduler (one per core here).
LOCAL_WORKERS = 2
_DASK_HINT = "install the extra: pip install 'layerscope[dask]'"
#: How long to wait for a Dask scheduler to answer before giving up.
CONNECT_SECONDS = 15.0


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


class Executor(Protocol):
    """Runs layer measurements somewhere; `measure` returns one measurement per task digest."""

    def measure(self, tasks: Sequence[LayerTask]) -> dict[str, LayerMeasurement]:
        """Measure every task (their digests are unique) and return the results by digest."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...


def measure_with(task: LayerTask, source: ContentSource, store: MeasurementStore | None) -> LayerMeasurement:
    """Measure one layer from *source*: the store's copy when it has one, else stream and count it."""
    ref, desc = task.parsed()
    if store is not None:
        stored = store.get(desc.digest)
        if stored is not None and stored.diff_id == task.diff_id:
            return stored
    with source.open_blob(ref, desc) as chunks:
        try:
            result = measure_layer(chunks, desc, expected_diff_id=task.diff_id)
        except CorruptLayerError:
            # As in the analyzer: read to the end so the digest check can say whether the registry lied.
            for _ in chunks:
                pass
            raise
    if store is not None:
        store.put(result)
    return result


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
            from layerscope.sources import RoutingSource
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


def _result(task: LayerTask, doc: dict[str, Any]) -> LayerMeasurement:
    """The measurement in a worker's answer, or the worker's error raised here."""
    error = doc.get("error")
    if isinstance(error, dict):
        cls = getattr(errors, str(error.get("type")), None)
        if not (isinstance(cls, type) and issubclass(cls, LayerscopeError)):
            cls = LayerscopeError
        raise cls(str(error.get("message")), hint=error.get("hint"))
    m = LayerMeasurement.from_dict(doc["measurement"])
    if m.digest != task.digest:
        raise LayerscopeError(f"a worker answered for {m.digest[:19]}… when asked for {task.digest[:19]}…")
    return m


# -- executors ---------------------------------------------------------------------------------------


class ThreadExecutor:
    """Measures tasks on a local thread pool over one content source (the default, as a protocol)."""

    def __init__(
        self,
        source: ContentSource,
        store: MeasurementStore | None = None,
        workers: int = 4,
        observer: Observer | None = None,
    ) -> None:
        self._source = source
        self._store = store
        self._observer = observer or NullObserver()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="layer-task")

    def measure(self, tasks: Sequence[LayerTask]) -> dict[str, LayerMeasurement]:
        """Measure *tasks* concurrently."""
        futures = {}
        for task in _unique(tasks):
            self._observer.layer_started(task.digest, task.size)
            futures[self._pool.submit(measure_with, task, self._source, self._store)] = task
        out: dict[str, LayerMeasurement] = {}
        try:
            for future in as_completed(futures):
                task = futures[future]
                self._observer.layer_done(task.digest)
                out[task.digest] = future.result()
        finally:
            for future in futures:
                future.cancel()
        return out

    def close(self) -> None:
        """Stop the pool."""
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Measures tasks on a Dask distributed cluster: at *address*, or a LocalCluster started here."""

    def __init__(
        self,
        settings: WorkerSettings,
        address: str | None = None,
        *,
        n_workers: int = LOCAL_WORKERS,
        threads_per_worker: int = 1,
        observer: Observer | None = None,
        connect_timeout: float = CONNECT_SECONDS,
    ) -> None:
        try:
            # Typed as Any: distributed ships without complete annotations (and is an optional extra).
            distributed: Any = importlib.import_module("distributed")
        except ImportError:
            raise UsageError("--executor dask needs the dask and distributed packages", hint=_DASK_HINT) from None
        self._settings = settings
        self._observer = observer or NullObserver()
        self._cluster: Any = None
        if address is None:
            # Processes, not threads: measuring is CPU work (inflate, hashing, tar parsing) and each
            # worker process gets its own GIL. Bound to loopback, no dashboard: nothing listens outside.
            self._cluster = distributed.LocalCluster(
                n_workers=n_workers,
                threads_per_worker=threads_per_worker,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            address = self._cluster.scheduler_address
        try:
            self._client: Any = distributed.Client(address, set_as_default=False, timeout=connect_timeout)
        except OSError as exc:
            self._close_cluster()
            raise LayerscopeError(
                f"cannot reach the Dask scheduler at {address}: {exc}",
                hint="start one with `dask scheduler` and workers with `dask worker ADDRESS`, or use --executor dask",
            ) from None

    @property
    def workers(self) -> int:
        """Workers connected to the scheduler now."""
        return len(self._client.scheduler_info(n_workers=-1).get("workers", {}))

    def measure(self, tasks: Sequence[LayerTask]) -> dict[str, LayerMeasurement]:
        """Submit one task per digest (keyed by it), gather the answers as they finish."""
        dask_completed: Any = importlib.import_module("distributed").as_completed
        futures = {}
        for task in _unique(tasks):
            self._observer.layer_started(task.digest, task.size)
            # The digest is the key: the scheduler runs a key once while any client holds it.
            key = f"layerscope-measure-{task.digest}-{task.diff_id}"
            futures[self._client.submit(measure_task, task, self._settings, key=key, pure=False)] = task
        out: dict[str, LayerMeasurement] = {}
        try:
            # The loop must be given: with set_as_default=False there is no default client to find it.
            for future in dask_completed(list(futures), loop=self._client.loop):
                task = futures[future]
                self._observer.layer_done(task.digest)
                out[task.digest] = _result(task, future.result())
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                self._client.cancel(pending)
        return out

    def _close_cluster(self) -> None:
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def close(self) -> None:
        """Disconnect, and stop the LocalCluster if this executor started it."""
        self._client.close()
        self._close_cluster()


def parse_executor(spec: str) -> tuple[str, str | None]:
    """(`threads` | `dask`, scheduler address or None) from `threads`, `dask` or `dask://HOST:PORT`."""
    text = spec.strip()
    if text in ("threads", "dask"):
        return text, None
    for prefix in ("dask://", "tcp://", "tls://"):
        if text.startswith(prefix) and len(text) > len(prefix):
            scheme = "tls" if prefix == "tls://" else "tcp"
            return "dask", f"{scheme}://{text[len(prefix) :]}"
    raise UsageError(f"invalid executor {spec!r}", hint="use threads, dask (a local cluster) or dask://HOST:PORT")


def make_executor(
    spec: str,
    settings: WorkerSettings,
    source: ContentSource,
    store: MeasurementStore | None,
    *,
    workers: int = 4,
    observer: Observer | None = None,
) -> Executor:
    """The executor *spec* names (see parse_executor)."""
    kind, address = parse_executor(spec)
    if kind == "threads":
        return ThreadExecutor(source, store, workers, observer)
    return DaskExecutor(settings, address, observer=observer)


def _unique(tasks: Sequence[LayerTask]) -> Iterator[LayerTask]:
    """*tasks* without repeated digests (the first of each kept): each layer is measured once."""
    seen: set[str] = set()
    for task in tasks:
        if task.digest not in seen:
            seen.add(task.digest)
            yield task
