"""Reading blobs: a resumable download (`BlobReader`), foreign-layer URLs, and Range reads for estimates.

Blob streams are resumed when cut: the next request asks for `Range: bytes=N-` (distribution spec "Fetch
Blob Part"). A 206 must start at or before N (we drop the overlap); a server that ignores Range and answers
200 is read from the start again and its first N bytes are dropped — wasteful but correct, because the
digest is computed over the bytes we yield and checked at the end (`digest.verified_stream`, applied by
the client).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator

import httpx

from layerscope.errors import NotFoundError, RegistryError, RegistryUnavailableError, SizeMismatchError
from layerscope.oci import Descriptor
from layerscope.reference import ImageReference
from layerscope.registry.config import ResolvedHost
from layerscope.registry.failures import Failure, Where, redact, transport_error
from layerscope.registry.retry import Fail, TruncatedBody, decide
from layerscope.registry.transport import Transport

__all__ = ["BLOB_CHUNK_SIZE", "RESUME_PROGRESS_BYTES", "BlobReader", "open_reader", "read_range"]

#: Least size of the chunks open_blob yields (the last may be smaller): big enough that per-chunk Python
#: overhead is noise next to hashing and decompression, small enough to keep memory flat with a thread pool.
BLOB_CHUNK_SIZE = 1 << 20
#: A cut download that made this much progress since the last fresh retry budget gets a new one.
RESUME_PROGRESS_BYTES = BLOB_CHUNK_SIZE
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
# Raw bytes only: a CDN must not re-encode a blob, and Range offsets count raw bytes.
_RAW = {"Accept-Encoding": "identity"}
_RANGE_OK = frozenset({200, 206, 416})


class BlobReader:
    """One blob download: the open response, the bytes received, and resumption with Range."""

    def __init__(
        self,
        transport: Transport,
        where: Where,
        host: ResolvedHost,
        url: str,
        *,
        use_auth: bool,
        size: int,
        chunk_size: int,
        on_bytes: Callable[[int], None] | None,
    ) -> None:
        self._transport = transport
        self._where = where
        self._host = host
        self._url = url
        self._use_auth = use_auth
        self._size = size
        self._chunk_size = chunk_size
        self._on_bytes = on_bytes
        self._received = 0
        self._response: httpx.Response | None = None

    def open(self) -> None:
        """(Re)open the response from the current offset, retrying per the policy."""
        headers = dict(_RAW)
        if self._received:
            headers["Range"] = f"bytes={self._received}-"

        def attempt() -> httpx.Response:
            return self._transport.open(
                self._where, self._host, self._url, headers, use_auth=self._use_auth, ok=_RANGE_OK
            )

        self._response = self._transport.retrying(self._where, attempt)

    def close(self) -> None:
        """Close the open response, if any."""
        if self._response is not None:
            self._response.close()

    def _skip(self, response: httpx.Response) -> int:
        """How many leading bytes of *response* we already have."""
        status = response.status_code
        if status == 416:
            # Nothing at or after our offset: the registry's blob is shorter than the descriptor says.
            raise SizeMismatchError(
                f"{self._where}: got {self._received} bytes, descriptor says {self._size}",
            )
        if status == 200:
            return self._received  # Range ignored (or not sent): the body starts at byte 0
        header = response.headers.get("content-range", "")
        m = _CONTENT_RANGE.fullmatch(header.strip())
        start = int(m[1]) if m else None
        if start is None or start > self._received:
            raise RegistryError(
                f"{self._where}: unusable Content-Range {header[:60]!r} resuming at byte {self._received}"
            )
        return self._received - start

    def chunks(self) -> Generator[bytes, None, None]:
        """Raw chunks of the blob from byte 0, resuming cut transfers; not verified (open_blob does that)."""
        # We re-chunk ourselves rather than with iter_raw(chunk_size): httpx's chunker would drop what it
        # buffered when the connection breaks, and a resume should start exactly where the bytes stopped.
        # The pieces are joined once (a bytearray that is then copied to bytes would copy every byte twice).
        parts: list[bytes] = []
        held = 0
        for piece in self._pieces():
            parts.append(piece)
            held += len(piece)
            if held >= self._chunk_size:
                yield parts[0] if len(parts) == 1 else b"".join(parts)
                parts, held = [], 0
        if parts:
            yield b"".join(parts)

    def _pieces(self) -> Generator[bytes, None, None]:
        """The blob's bytes as they arrive, from byte 0, across as many resumed responses as it takes."""
        transport, policy = self._transport, self._transport.config.retry
        number, streak_start, mark = 1, transport.clock(), self._received
        # Progress that earns a fresh retry budget: a MiB, or a 16th of a small blob. So a blob gets at most
        # max(16, size in MiB) budgets, and a server that cuts every few bytes runs out of attempts instead
        # of being resumed byte by byte (retries are bounded in count and time, not only per streak).
        fresh_budget_bytes = max(1, min(RESUME_PROGRESS_BYTES, -(-self._size // 16)))
        try:
            while True:
                response = self._response
                assert response is not None
                skip = 0
                try:
                    skip = self._skip(response)
                    for chunk in response.iter_raw():
                        if skip:
                            if len(chunk) <= skip:
                                skip -= len(chunk)
                                continue
                            chunk, skip = chunk[skip:], 0
                        self._received += len(chunk)
                        if self._on_bytes is not None:
                            self._on_bytes(len(chunk))
                        yield chunk
                    if skip or self._received < self._size:
                        raise TruncatedBody(f"body ended after {self._received} of {self._size} bytes")
                    return
                except (httpx.TransportError, TruncatedBody) as exc:
                    response.close()
                    if not skip and self._received >= self._size:
                        # Every byte the descriptor promised is here and the connection died after them (a
                        # Content-Length that lied, a reset at the very end): nothing to resume; the digest
                        # check at the end of the stream says whether the bytes are right.
                        return
                    if self._received - mark >= fresh_budget_bytes:
                        number, streak_start, mark = 1, transport.clock(), self._received
                    decision = decide(
                        number,
                        status=None,
                        error=exc,
                        retry_after=None,
                        elapsed=transport.clock() - streak_start,
                        policy=policy,
                    )
                    if isinstance(decision, Fail):
                        raise RegistryUnavailableError(
                            redact(
                                f"{self._where}: download cut after {self._received} of {self._size} bytes "
                                f"({decision.reason})"
                            )
                        ) from exc
                    transport.sleep(decision.delay)
                    number += 1
                    self.open()
        finally:
            self.close()


def open_reader(
    transport: Transport,
    where: Where,
    host: ResolvedHost,
    image: ImageReference,
    descriptor: Descriptor,
    *,
    chunk_size: int,
    on_bytes: Callable[[int], None] | None,
) -> BlobReader:
    """A reader whose first response is open: the registry's blob, or one of a foreign layer's `urls`."""
    url = f"{host.base_url}/v2/{image.repository}/blobs/{descriptor.digest}"
    reader = BlobReader(
        transport, where, host, url, use_auth=True, size=descriptor.size, chunk_size=chunk_size, on_bytes=on_bytes
    )
    try:
        reader.open()
        return reader
    except NotFoundError as not_found:
        if not descriptor.urls:
            raise
        missing = not_found
    # Foreign (non-distributable) layers may live only at their `urls` (image-spec descriptor.md);
    # those hosts are not the registry, so they get no credentials; the digest still guards the bytes.
    for raw_url in descriptor.urls:
        try:
            target = _remap(transport, httpx.URL(raw_url))
        except httpx.InvalidURL:
            continue
        if target.scheme not in ("http", "https"):
            continue
        foreign_host = transport.config.resolve(target.netloc.decode("ascii"))
        foreign_where = Where(target.host, None, where.what, target.host)
        reader = BlobReader(
            transport,
            foreign_where,
            foreign_host,
            str(target),
            use_auth=False,
            size=descriptor.size,
            chunk_size=chunk_size,
            on_bytes=on_bytes,
        )
        try:
            reader.open()
            return reader
        except RegistryError:
            continue
    raise NotFoundError(
        f"{missing.message}; its {len(descriptor.urls)} foreign URL(s) failed too",
        status=missing.status,
        codes=missing.codes,
    )


def _remap(transport: Transport, url: httpx.URL) -> httpx.URL:
    """*url* with its host replaced by the configured endpoint, if the host has one."""
    config = transport.config
    netloc = url.netloc.decode("ascii").lower()
    if netloc not in config.hosts:
        return url
    host = config.resolve(netloc)
    return url.copy_with(scheme=host.scheme, netloc=host.endpoint.encode("ascii"))


def read_range(
    transport: Transport, where: Where, host: ResolvedHost, url: str, offset: int, length: int
) -> bytes | None:
    """Bytes [offset, offset+length) of the blob at *url* by a Range request (unverified), or None."""
    headers = {**_RAW, "Range": f"bytes={offset}-{offset + length - 1}"}

    def attempt() -> bytes | None:
        response = transport.open(where, host, url, headers, ok=_RANGE_OK)
        try:
            if response.status_code == 416:
                return None
            if response.status_code == 200 and offset != 0:
                # Range ignored: an estimate is not worth downloading the whole blob for.
                return None
            if response.status_code == 206:
                m = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
                if m is None or int(m[1]) != offset:
                    return None
            data = bytearray()
            for piece in response.iter_raw():
                data += piece
                if len(data) >= length:
                    break
        except httpx.TransportError as exc:
            raise Failure(transport_error(where, exc), error=exc) from None
        finally:
            response.close()
        return bytes(data[:length]) if len(data) >= length else None

    return transport.retrying(where, attempt)
