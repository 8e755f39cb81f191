"""Where per-layer measurements run: the local worker pool (pool.py), or tasks on a Dask distributed cluster.

A task is plain data (layer_tasks.py, re-exported here) — `LayerTask` (reference string, descriptor as a
dict, expected diff_id) — and the worker entry point `measure_task(task, settings)` opens its own content
source and measurement store from `WorkerSettings` (registry hosts, plain http, the store path), once per
worker process. So a task
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

import importlib
import logging
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Protocol

from layerscope import errors
from layerscope.errors import LayerscopeError, UsageError
from layerscope.layer_tasks import LayerTask, WorkerSettings, check_results, measure_task, measure_with
from layerscope.measurement import LayerMeasurement, check_layer
from layerscope.observer import NullObserver, Observer
from layerscope.pool import DaemonPool, wait_or_abort

if TYPE_CHECKING:
    from layerscope.content_source import ContentSource
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


class Executor(Protocol):
    """Runs layer measurements somewhere; `measure` returns one measurement per task digest."""

    def measure(self, tasks: Sequence[LayerTask]) -> dict[str, LayerMeasurement]:
        """Measure every task (their digests are unique) and return the results by digest."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...


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
        self._scratch: str | None = None
        if address is None:
            # Processes, not threads: measuring is CPU work (inflate, hashing, tar parsing) and each
            # worker process gets its own GIL. Bound to loopback, no dashboard: nothing listens outside.
            # Workers' scratch space (locks, spill) goes to a directory this run owns and removes on close,
            # not the shared /tmp/dask-scratch-space that outlives the run (issue #17).
            self._scratch = tempfile.mkdtemp(prefix="layerscope-dask-")
            try:
                with importlib.import_module("dask").config.set({"temporary-directory": self._scratch}):
                    self._cluster = distributed.LocalCluster(
                        n_workers=n_workers,
                        threads_per_worker=threads_per_worker,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                        silence_logs=logging.ERROR,
                        local_directory=self._scratch,
                    )
            except (RuntimeError, OSError) as exc:
                self._close_cluster()
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
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

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
