"""Progress tracks the work, not only the download (#18 item 16): the observer hears inflated bytes too.

Ground truth: the layer blobs of the fixture layout, decompressed here with Python's gzip/zstandard.
"""

from __future__ import annotations

import gzip
import io
import threading
from pathlib import Path

import zstandard

from layerscope.cli.app import StderrObserver, inflated_label
from layerscope.observer import NullObserver
from layerscope.session import Session, Settings


class Recorder(NullObserver):
    """Every layer event, in order (thread-safe: layers are measured on a pool)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, int]] = []
        self._lock = threading.Lock()

    def _add(self, kind: str, digest: str, n: int) -> None:
        with self._lock:
            self.events.append((kind, digest, n))

    def layer_started(self, digest: str, size: int) -> None:
        self._add("started", digest, size)

    def layer_progress(self, digest: str, nbytes: int) -> None:
        self._add("read", digest, nbytes)

    def layer_inflated(self, digest: str, nbytes: int) -> None:
        self._add("inflated", digest, nbytes)

    def layer_done(self, digest: str) -> None:
        self._add("done", digest, 0)


def _inflate(blob: bytes) -> int:
    if blob[:2] == b"\x1f\x8b":
        return len(gzip.decompress(blob))
    if blob[:4] == b"\x28\xb5\x2f\xfd":
        reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob), read_across_frames=True)
        return len(reader.read())
    return len(blob)


def test_observer_hears_inflated_bytes_between_start_and_done(fixture_layout: Path) -> None:
    recorder = Recorder()
    refs = [f"oci:{fixture_layout}:linux-gzip", f"oci:{fixture_layout}:linux-zstd"]
    with Session(Settings(store_path=None), recorder) as session:
        images = session.images(refs)
    digests = {layer.digest for image in images for layer in image.layers}
    assert len(digests) >= 3
    for digest in digests:
        blob = (fixture_layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()
        mine = [(kind, n) for kind, d, n in recorder.events if d == digest]
        kinds = [kind for kind, _ in mine]
        assert kinds[0] == "started" and kinds[-1] == "done" and kinds.count("done") == 1
        assert sum(n for kind, n in mine if kind == "read") == len(blob)
        assert sum(n for kind, n in mine if kind == "inflated") == _inflate(blob)


def test_the_terminal_bar_shows_the_inflated_bytes() -> None:
    observer = StderrObserver(progress=True, force_progress=True)
    digest = "sha256:" + "ab" * 32
    with observer:
        observer.layer_started(digest, 4_300_000)
        observer.layer_progress(digest, 4_300_000)
        observer.layer_inflated(digest, 2_000_000_000)
        observer.layer_inflated(digest, 2_400_000_000)
        (task,) = observer._progress.tasks
        assert task.completed == task.total  # the download is done ...
        assert task.fields["stage"] == inflated_label(4_400_000_000)  # ... and the bar still shows the work
        assert "4.4 GB" in task.fields["stage"]
        observer.layer_done(digest)
        assert observer._progress.tasks == []
