"""A small pool of daemon worker threads for layer measurements.

concurrent.futures.ThreadPoolExecutor joins its (non-daemon) workers at interpreter exit, so one download
stalled in a socket read would hold the process — and the error that should end the run — until the read
timeout. Daemon workers let the run report its first failure and exit at once; an abandoned measurement
never writes a partial record (store writes are single SQLite transactions).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["DaemonPool"]

T = TypeVar("T")
_STOP = object()


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
