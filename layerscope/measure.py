"""Measure one layer blob in a single streaming pass: compression, diff_id, uncompressed and extracted bytes.

`measure_layer` reads an already verified stream of the compressed blob (the content source checks the
compressed digest and size at the end of the stream and raises from the iterator; those errors pass
through unchanged). It counts the compressed bytes, sniffs and decompresses (layerscope.decompress),
hashes the decompressed stream (the diff_id) and walks the tar (layerscope.tarwalk), in constant memory.

The compression is taken from the magic bytes, never from the media type (as containerd and
go-containerregistry do); the media type only words the error when the data is neither gzip, zstd nor tar.

Work is split over three threads when the blob is large enough to pay for it, so that a layer is
measured at the speed of its slowest stage rather than the sum of all: a reader thread pulls the source's
chunks (the download, and the source's own hashing of the compressed bytes), the calling thread
decompresses, and a worker hashes the decompressed pieces and walks the tar. Small bounded queues sit
between them, so memory stays constant (zlib/ISA-L, libzstd and hashlib release the GIL, so the stages
really overlap). On a corrupt stream the pass stops early, so the source's own digest check at the end of
the stream does not run: the error is then a CorruptLayerError even when the cause was bytes damaged in
transit (a caller may read the rest of *chunks* to find out; the reader thread is stopped first).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass

from layerscope.decompress import DEFAULT_ZSTD_MAX_WINDOW, MAGIC_BYTES, decompress, sniff
from layerscope.digest import Hasher, hasher_for, parse_digest
from layerscope.errors import CorruptLayerError, SizeMismatchError, UnsupportedMediaTypeError
from layerscope.measurement import LayerMeasurement, SizeSource, diff_id_mismatch
from layerscope.oci import Compression, Descriptor, layer_compression
from layerscope.tarwalk import DEFAULT_MAX_ENTRIES, DEFAULT_MAX_HEADER_BYTES, TarWalker

__all__ = ["DEFAULT_LIMITS", "Limits", "measure_layer", "measure_layer_indexed"]

_MIB, _GIB = 1 << 20, 1 << 30
#: Blobs smaller than this are measured on the calling thread (threads cost more than they save).
_THREAD_MIN_BYTES = 4 * _MIB
#: Decompressed pieces queued between decompression and the worker (each at most
#: decompress.DEFAULT_PIECE_SIZE, 1 MiB): with one piece in each thread's hands, 4 MiB per layer at most.
_QUEUE_DEPTH = 2
#: Source chunks read ahead of decompression (registry chunks are registry.client.BLOB_CHUNK_SIZE).
_READ_AHEAD = 4


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety bounds for one layer; exceeding one raises CorruptLayerError.

    Defaults are far above real layers: Windows Server Core bases are ~2 GB compressed, ~7 GB
    uncompressed (3.5:1), a few hundred thousand tar headers and pax records of a few KiB.

    - `max_uncompressed_bytes` (64 GiB): decompression-bomb bound on the tar stream.
    - `max_ratio` (2048) applies once the stream passes `ratio_floor_bytes` (1 GiB): uncompressed bytes
      may not exceed max_ratio × compressed bytes read so far. Deflate cannot exceed ~1032:1 (RFC 1951,
      258-byte matches), so no gzip layer can trip it; only a zstd stream of mostly zeros can.
    - `max_entries` (10 million): tar headers, counting pax and GNU extension headers.
    - `max_header_bytes` (1 MiB): one pax extended header or GNU long name (Go's archive/tar limit).
    - `max_zstd_window_bytes` (128 MiB): zstd window, as `zstd -d` allows by default (RFC 8878 §3.1.1.1.2).
    """

    max_uncompressed_bytes: int = 64 * _GIB
    max_ratio: int = 2048
    ratio_floor_bytes: int = 1 * _GIB
    max_entries: int = DEFAULT_MAX_ENTRIES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    max_zstd_window_bytes: int = DEFAULT_ZSTD_MAX_WINDOW

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"Limits.{name} must be a positive int, not {value!r}")


DEFAULT_LIMITS = Limits()


def measure_layer(
    chunks: Iterable[bytes],
    descriptor: Descriptor,
    *,
    expected_diff_id: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    algorithm: str | None = None,
    on_inflated: Callable[[int], None] | None = None,
) -> LayerMeasurement:
    """Measure a layer blob streamed as *chunks*; check its diff_id against *expected_diff_id* if given.

    The diff_id is hashed with *algorithm*, else that of *expected_diff_id*, else sha256. *on_inflated*
    is told the size of each uncompressed piece once it is hashed and walked (progress, #18 item 16).
    """
    return measure_layer_indexed(
        chunks,
        descriptor,
        expected_diff_id=expected_diff_id,
        limits=limits,
        algorithm=algorithm,
        index=False,
        on_inflated=on_inflated,
    )[0]


def measure_layer_indexed(
    chunks: Iterable[bytes],
    descriptor: Descriptor,
    *,
    expected_diff_id: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
    algorithm: str | None = None,
    index: bool = True,
    on_inflated: Callable[[int], None] | None = None,
) -> tuple[LayerMeasurement, bytes | None]:
    """`measure_layer`, and with *index* the layer's file index (tarindex.py) from the same pass (issue #15)."""
    if expected_diff_id is not None:
        parse_digest(expected_diff_id, what="expected diff_id")
    algorithm = algorithm or (expected_diff_id.partition(":")[0] if expected_diff_id else "sha256")
    threaded = descriptor.size >= _THREAD_MIN_BYTES
    reader = _ReadAhead(chunks, _READ_AHEAD) if threaded else None
    try:
        source = _Counter(chunks if reader is None else reader)
        head, stream = _peek(source, MAGIC_BYTES)
        compression = sniff(head)
        pieces = _bounded(decompress(compression, stream, zstd_max_window=limits.max_zstd_window_bytes), source, limits)
        walker = TarWalker(max_entries=limits.max_entries, max_header_bytes=limits.max_header_bytes, index=index)
        sink = _Sink(hasher_for(f"{algorithm}:"), walker, on_inflated)
        try:
            if threaded:
                _run_threaded(pieces, sink)
            else:
                _run_inline(pieces, sink)
            stats = walker.finish()
        except CorruptLayerError as exc:
            raise _layer_error(exc, descriptor, compression, head, sink) from None
        finally:
            pieces.close()
    finally:
        if reader is not None:
            reader.close()

    if descriptor.size != source.count:
        raise SizeMismatchError(
            f"layer {descriptor.digest}: got {source.count} bytes, descriptor says {descriptor.size}"
        )
    diff_id = f"{algorithm}:{sink.hasher.hexdigest()}"
    if expected_diff_id is not None and diff_id != expected_diff_id:
        raise diff_id_mismatch(descriptor.digest, diff_id, expected_diff_id)
    measurement = LayerMeasurement(
        digest=descriptor.digest,
        compressed_bytes=source.count,
        size_source=SizeSource.MEASURED,
        diff_id=diff_id,
        compression=compression,
        uncompressed_bytes=sink.count,
        extracted_bytes=stats.extracted_bytes,
        files=stats.files,
        dirs=stats.dirs,
        symlinks=stats.symlinks,
        hardlinks=stats.hardlinks,
        whiteouts=stats.whiteouts,
        other_entries=stats.other_entries,
        windows_files_bytes=stats.windows_files_bytes,
        windows_hives_bytes=stats.windows_hives_bytes,
    )
    return measurement, stats.file_index


class _ReadAhead:
    """Iterates *chunks* on a thread of its own, at most *depth* chunks ahead of the consumer.

    Exceptions of the source (a digest mismatch at the end of a verified stream) are re-raised to the
    consumer at their place in the stream. `close()` stops the thread and waits for it, so that the
    source is never used by two threads at once: after it, the caller may go on reading *chunks*.
    """

    _END = object()

    def __init__(self, chunks: Iterable[bytes], depth: int) -> None:
        self._it = iter(chunks)
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="layerscope-read", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        put, stop = self._queue.put, self._stop
        try:
            for chunk in self._it:
                if stop.is_set():
                    return
                put(chunk)
            put(self._END)
        except BaseException as exc:  # handed to the consumer
            put(_Raised(exc))

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is self._END:
            self._done = True
            raise StopIteration
        if isinstance(item, _Raised):
            self._done = True
            raise item.exc
        assert isinstance(item, bytes)
        return item

    def close(self) -> None:
        """Stop reading ahead and wait for the thread (it finishes the chunk it is reading, if any)."""
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:  # unblock a producer waiting on a full queue
                while True:
                    self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(0.05)


@dataclass(frozen=True, slots=True)
class _Raised:
    exc: BaseException


class _Counter:
    """Passes chunks through, counting bytes (the source already verified digest and size)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it = iter(chunks)
        self.count = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._it)
        self.count += len(chunk)
        return chunk


class _Sink:
    """The consumer side: hash and tar-walk each decompressed piece."""

    def __init__(self, hasher: Hasher, walker: TarWalker, on_inflated: Callable[[int], None] | None = None) -> None:
        self.hasher = hasher
        self.walker = walker
        self.count = 0
        self._on_inflated = on_inflated

    def feed(self, piece: bytes) -> None:
        self.count += len(piece)
        self.hasher.update(piece)
        self.walker.feed(piece)
        if self._on_inflated is not None:
            self._on_inflated(len(piece))


def _peek(source: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first *size* bytes (fewer if the stream is shorter) and an iterator over the whole stream."""
    head = b""
    for chunk in source:
        head += chunk
        if len(head) >= size:
            break

    def stream() -> Iterator[bytes]:
        if head:
            yield head
        yield from source

    return head[:size], stream()


def _bounded(pieces: Iterator[bytes], source: _Counter, limits: Limits) -> Generator[bytes, None, None]:
    """Pass pieces through, stopping a decompression bomb before it costs minutes of CPU."""
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > limits.max_uncompressed_bytes:
            raise CorruptLayerError(
                f"decompresses to more than {limits.max_uncompressed_bytes} bytes",
                hint="a decompression bomb, or an unusually large layer: raise Limits.max_uncompressed_bytes",
            )
        if total > limits.ratio_floor_bytes and total > limits.max_ratio * source.count:
            raise CorruptLayerError(
                f"decompresses more than {limits.max_ratio} times its compressed size",
                hint="a decompression bomb, or a layer of mostly zeros: raise Limits.max_ratio",
            )
        yield piece


def _run_inline(pieces: Iterator[bytes], sink: _Sink) -> None:
    for piece in pieces:
        sink.feed(piece)


def _run_threaded(pieces: Iterator[bytes], sink: _Sink) -> None:
    """Decompress here, hash and walk in a worker; the first error on either side wins."""
    handoff: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
    failed: list[BaseException] = []

    def work() -> None:
        while (piece := handoff.get()) is not None:
            if failed:
                continue  # keep draining so the producer never blocks on a full queue
            try:
                sink.feed(piece)
            except BaseException as exc:  # re-raised on the calling thread
                failed.append(exc)

    worker = threading.Thread(target=work, name="layerscope-measure", daemon=True)
    worker.start()
    try:
        for piece in pieces:
            if failed:
                break
            handoff.put(piece)
    finally:
        handoff.put(None)
        worker.join()
    if failed:
        raise failed[0]


def _layer_error(
    exc: CorruptLayerError, descriptor: Descriptor, compression: Compression, head: bytes, sink: _Sink
) -> CorruptLayerError:
    """The error named after the layer; data that is no known format is described as such."""
    message = exc.message
    if compression is Compression.NONE and sink.walker.headers == 0 and message.startswith("tar"):
        try:
            declared = str(layer_compression(descriptor.media_type))
        except UnsupportedMediaTypeError:
            declared = "unknown"
        message = (
            f"data is neither gzip, zstd nor tar (starts with {head.hex(' ') or 'nothing'}; "
            f"the media type says {declared}): {message}"
        )
    return CorruptLayerError(f"layer {descriptor.digest}: {message}", hint=exc.hint)
