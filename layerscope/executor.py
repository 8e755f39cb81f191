"""Where per-layer measurements run: the local worker pool (pool.py), or tasks on a Dask distributed cluster.

A task is plain data — `LayerTask` (reference string, descriptor as a dict, expected diff_id) — and the
worker entry point `measure_task(task, settings)` opens its own content source and measurement store
from `WorkerSettings` (registry hosts, plain http, the store path), once per worker process. So a task
can run in another process or on another machine: nothing unpicklable (connections, locks, SQLite
handles) crosses the wire, and the result comes back as `LayerMeasurement.to_dict()` (or an error
record, re-raised here as the same `LayerscopeError` class with its hint).

Whatever comes back is checked before it is used or stored, as a local measurement is: the digest,
the compressed size, exactness, and the diff_id of every task that asked for the blob (issue #12:
a worker's answer is trusted no further than the bytes it counted).

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
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from layerscope import errors
from layerscope.errors import CorruptLayerError, LayerscopeError, UsageError
from layerscope.measure import measure_layer_indexed
from layerscope.measurement import LayerMeasurement, check_layer
from layerscope.observer import NullObserver, Observer
from layerscope.oci import Descriptor, parse_descriptor
from layerscope.pool import DaemonPool, abortable, wait_or_abort
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
    "check_results",
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
            result, file_index = measure_layer_indexed(stream, desc, expected_diff_id=task.diff_id)
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
    try:
        m = LayerMeasurement.from_dict(doc["measurement"])
    except (KeyError, ValueError, TypeError):
        raise LayerscopeError(f"a worker's answer for layer {task.digest} is malformed") from None
    if m.digest != task.digest:
        raise LayerscopeError(f"a worker answered for {m.digest[:19]}… when asked for {task.digest[:19]}…")
    # As for a local measurement: exact, the blob's size, the diff_id the image config names.
    return check_layer(m, digest=task.digest, size=task.size, diff_id=task.diff_id)


# -- executors ---------------------------------------------------------------------------------------


class ThreadExecutor:
    """Measures tasks on the local worker pool (pool.py) over one content source (the default, as a protocol).

    The first failure ends `measure` at once: the other streams stop within one chunk, tasks not started
    are cancelled, and `close` never waits for a stuck download (daemon workers). Given *pool* (the
    analyzer's), it runs there and leaves closing it to its owner: one local pool per run.
    """

    def __init__(
        self,
        source: ContentSource,
        store: MeasurementStore | None = None,
        workers: int = 4,
        observer: Observer | None = None,
        pool: DaemonPool | None = None,
    ) -> None:
        self._source = source
        self._store = store
        self._observer = observer or NullObserver()
        self._owns_pool = pool is None
        self._pool = pool if pool is not None else DaemonPool(workers, name="layer-task")

    def _one(self, task: LayerTask, abort: threading.Event) -> LayerMeasurement:
        self._observer.layer_started(task.digest, task.size)
        try:
            return measure_with(task, self._source, self._store, abort, self._observer)
        finally:
            self._observer.layer_done(task.digest)

    def measure(self, tasks: Sequence[LayerTask]) -> dict[str, LayerMeasurement]:
        """Measure *tasks* concurrently; the first failure stops the rest and is raised."""
        abort = threading.Event()
        futures: dict[Future[LayerMeasurement], LayerTask] = {
            self._pool.submit(self._one, task, abort): task for task in _unique(tasks)
        }
        try:
            wait_or_abort(list(futures), abort)
        finally:
            abort.set()  # also on KeyboardInterrupt: nothing keeps streaming for a run that ended
            for future in futures:
                future.cancel()
        return check_results(tasks, {task.digest: future.result() for future, task in futures.items()})

    def close(self) -> None:
        """Stop the pool (if this executor made it): pending tasks are cancelled, running ones not waited for."""
        if self._owns_pool:
            self._pool.shutdown(cancel_futures=True)


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
            try:
                self._cluster = distributed.LocalCluster(
                    n_workers=n_workers,
                    threads_per_worker=threads_per_worker,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            except (RuntimeError, OSError) as exc:
                raise LayerscopeError(
                    f"cannot start a local Dask cluster: {str(exc).splitlines()[0] if str(exc) else exc!r}",
                    hint="retry, or start a scheduler and workers and pass --executor dask://HOST:PORT",
                ) from None
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
        return check_results(tasks, out)

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
    pool: DaemonPool | None = None,
) -> Executor:
    """The executor *spec* names (see parse_executor); `threads` runs on *pool* when given."""
    kind, address = parse_executor(spec)
    if kind == "threads":
        return ThreadExecutor(source, store, workers, observer, pool)
    return DaskExecutor(settings, address, observer=observer)


def _unique(tasks: Sequence[LayerTask]) -> Iterator[LayerTask]:
    """*tasks* without repeated digests (the first of each kept): each layer is measured once."""
    seen: set[str] = set()
    for task in tasks:
        if task.digest not in seen:
            seen.add(task.digest)
            yield task
