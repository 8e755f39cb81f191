"""The one local worker pool: daemon threads for layer measurements, and first-failure abort.

concurrent.futures.ThreadPoolExecutor joins its (non-daemon) workers at interpreter exit, so one download
stalled in a socket read would hold the process — and the error that should end the run — until the read
timeout. Daemon workers let the run report its first failure and exit at once; an abandoned measurement
never writes a partial record (store writes are single SQLite transactions). `wait_or_abort` is the
other half: the first failure of a batch sets an abort event that every running stream checks between
chunks (`abortable`), so the other downloads stop within one chunk instead of running to their end.
Both the analyzer and the `threads` executor (executor.py) run on this pool (issue #13: one local pool).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from typing import Any, TypeVar

__all__ = ["Aborted", "DaemonPool", "abortable", "wait_or_abort"]

T = TypeVar("T")
_STOP = object()


class Aborted(Exception):
    """A stream stopped because another task of the same run failed (never reaches the user)."""


class DaemonPool:
    """Run callables on up to *workers* daemon threads; `shutdown` never waits for a stuck one."""

    def __init__(self, workers: int, name: str = "layer") -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(max(1, workers))
        ]
        self._lock = threading.Lock()
        self._closed = False
        for thread in self._threads:
            thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # the future carries it to whoever waits
                future.set_exception(exc)

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Schedule fn(*args)."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("pool is shut down")
            self._queue.put((future, fn, args))
        return future

    def shutdown(self, *, cancel_futures: bool = True, timeout: float = 1.0) -> None:
        """Stop taking work, cancel what has not started, and give running work *timeout* seconds."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if cancel_futures:
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is not _STOP:
                    item[0].cancel()
        for _ in self._threads:
            self._queue.put(_STOP)
        for thread in self._threads:
            thread.join(timeout / len(self._threads))


def abortable(chunks: Iterable[bytes], abort: threading.Event, name: str = "") -> Iterator[bytes]:
    """*chunks*, raising Aborted as soon as *abort* is set (checked before each chunk)."""
    for chunk in chunks:
        if abort.is_set():
            raise Aborted(name)
        yield chunk


def wait_or_abort(futures: Sequence[Future[Any]], abort: threading.Event) -> None:
    """Wait for *futures*; on the first failure set *abort*, cancel what has not started, raise it at once.

    When several have failed by then, the first in *futures*' order is raised (a stable error for a
    given input order).
    """
    wait(futures, return_when=FIRST_EXCEPTION)
    failed = next((f for f in futures if f.done() and not f.cancelled() and f.exception() is not None), None)
    if failed is None:
        return
    abort.set()
    for future in futures:
        future.cancel()
    error = failed.exception()
    assert error is not None
    raise error
