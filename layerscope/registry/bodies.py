"""Response bodies from servers we do not trust: capped, and decoded only with a bound on the output.

httpx decodes `Content-Encoding` (gzip, deflate, br, zstd) on its own, a whole network read at a time and
with no limit on the output — one 64 KiB read of zstd RLE blocks expands to gigabytes — and it reads the
bodies of the redirects and 401s it handles to the end, however long. A hostile registry, CDN or token
service could spend all our memory either way. So the client installs `guard_response` as a response
hook: it takes `Content-Encoding` away from httpx (remembering it) and caps the bodies of error and
redirect responses; `read_body` then decodes gzip/deflate with zlib's `max_length`, stopping at the
caller's cap. Blobs are read raw (`Accept-Encoding: identity`) and never decoded.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "MAX_UNREAD_BODY",
    "CappedStream",
    "content_encoding",
    "decode_body",
    "guard_response",
    "read_body",
]

#: What we accept: encodings we can decode with a bound (httpx would also offer br and zstd).
ACCEPT_ENCODING = "gzip, deflate"
#: Bodies httpx reads itself (redirects, 401s, other errors) are cut here; nobody needs more of them.
MAX_UNREAD_BODY = 64 * 1024
_ENCODING_KEY = "layerscope.content_encoding"
_IDENTITY = frozenset({"", "identity"})
_ZLIB = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": 32 + zlib.MAX_WBITS}


class CappedStream(httpx.SyncByteStream):
    """A response stream that ends after *cap* bytes; `overflow` tells whether there was more."""

    def __init__(self, stream: httpx.SyncByteStream, cap: int) -> None:
        self._stream = stream
        self._cap = cap
        self.overflow = False

    def __iter__(self) -> Iterator[bytes]:
        seen = 0
        for chunk in self._stream:
            if seen + len(chunk) > self._cap:
                self.overflow = True
                if self._cap > seen:
                    yield chunk[: self._cap - seen]
                return
            seen += len(chunk)
            yield chunk

    def close(self) -> None:
        self._stream.close()


def guard_response(response: httpx.Response) -> None:
    """httpx response hook: no unbounded decoding by httpx, no unbounded reads of bodies httpx consumes."""
    encoding = response.headers.get("content-encoding")
    if encoding is not None:
        del response.headers["content-encoding"]
        response.extensions[_ENCODING_KEY] = encoding
    if not 200 <= response.status_code < 300 and isinstance(response.stream, httpx.SyncByteStream):
        response.stream = CappedStream(response.stream, MAX_UNREAD_BODY)


def content_encoding(response: httpx.Response) -> str:
    """The response's `Content-Encoding` as the server sent it (guard_response removed the header)."""
    value = response.extensions.get(_ENCODING_KEY) or response.headers.get("content-encoding") or ""
    return str(value).strip().lower()


def decode_body(chunks: Iterable[bytes], encoding: str, cap: int) -> Iterator[bytes]:
    """The decoded body of raw *chunks*, at most *cap* bytes of it (httpx.DecodingError if undecodable)."""
    codings = [c.strip() for c in encoding.split(",") if c.strip() not in _IDENTITY]
    if not codings:
        yield from _take(chunks, cap)
        return
    if len(codings) > 1 or codings[0] not in _ZLIB:
        raise httpx.DecodingError(f"unsupported Content-Encoding {encoding[:40]!r}")
    d = zlib.decompressobj(_ZLIB[codings[0]])
    produced = 0
    empty = True
    try:
        for chunk in chunks:
            empty = empty and not chunk
            data = chunk
            while data and produced < cap:
                out = d.decompress(data, cap - produced)
                produced += len(out)
                if out:
                    yield out
                data = d.unconsumed_tail
                if d.eof:
                    return  # what follows a complete stream is not part of the body
            if produced >= cap:
                return
    except zlib.error as exc:
        raise httpx.DecodingError(f"the {codings[0]} body is corrupt: {exc}") from None
    if not d.eof and not empty:
        raise httpx.DecodingError(f"the {codings[0]} body is truncated")


def _take(chunks: Iterable[bytes], cap: int) -> Iterator[bytes]:
    seen = 0
    for chunk in chunks:
        if seen + len(chunk) >= cap:
            yield chunk[: cap - seen]
            return
        seen += len(chunk)
        yield chunk


def read_body(response: httpx.Response, cap: int) -> bytes:
    """Up to *cap* bytes of the decoded body; stops reading (and decoding) there."""
    try:
        loaded = response.content
    except httpx.ResponseNotRead:
        chunks, encoding = response.iter_raw(), content_encoding(response)
    else:
        chunks, encoding = iter([loaded]), ""  # read, and decoded, before the hook saw it (a test's mock)
    out = bytearray()
    for piece in decode_body(chunks, encoding, cap):
        out += piece
    return bytes(out)
