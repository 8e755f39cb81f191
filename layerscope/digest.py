"""Content digests: parsing, validation and hashing (OCI image-spec "descriptor.md#digests")."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from typing import Protocol

from layerscope.errors import DigestMismatchError, InvalidManifestError, SizeMismatchError

__all__ = ["Hasher", "compute", "hasher_for", "is_digest", "parse_digest", "verified_stream", "verify_bytes"]

# Registered algorithms only: an unknown algorithm cannot be verified, so it is an error, not a pass.
_ENCODED = {"sha256": re.compile(r"[a-f0-9]{64}"), "sha512": re.compile(r"[a-f0-9]{128}")}


class Hasher(Protocol):
    """The part of hashlib's interface layerscope uses."""

    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


def is_digest(value: object) -> bool:
    """True when *value* is a digest of a registered algorithm in canonical form."""
    if not isinstance(value, str):
        return False
    algorithm, sep, encoded = value.partition(":")
    pattern = _ENCODED.get(algorithm)
    return bool(sep) and pattern is not None and pattern.fullmatch(encoded) is not None


def parse_digest(value: object, *, what: str = "digest") -> str:
    """Return *value* if it is a valid digest, else raise InvalidManifestError."""
    if not is_digest(value):
        shown = repr(value)[:90]
        raise InvalidManifestError(
            f"invalid {what} {shown}", hint="digests must be sha256:<64 hex> or sha512:<128 hex>"
        )
    assert isinstance(value, str)
    return value


def hasher_for(digest: str) -> Hasher:
    """A new hash object for the algorithm of *digest*."""
    algorithm = digest.partition(":")[0]
    if algorithm not in _ENCODED:
        raise InvalidManifestError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def compute(data: bytes, algorithm: str = "sha256") -> str:
    """Digest of *data* in `algorithm:hex` form."""
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def verify_bytes(data: bytes, digest: str, size: int | None, *, what: str) -> None:
    """Raise unless *data* has exactly *size* bytes (when given) and hashes to *digest*."""
    if size is not None and len(data) != size:
        raise SizeMismatchError(f"{what}: got {len(data)} bytes, descriptor says {size}")
    h = hasher_for(digest)
    h.update(data)
    actual = f"{digest.partition(':')[0]}:{h.hexdigest()}"
    if actual != digest:
        raise DigestMismatchError(f"{what}: content hashes to {actual[:19]}…, expected {digest[:19]}…")


def verified_stream(chunks: Iterable[bytes], digest: str, size: int | None, *, what: str) -> Iterator[bytes]:
    """Pass *chunks* through, raising at the end (or as soon as it is too long) unless they match.

    Every blob layerscope reads goes through this, so a wrong byte is never measured as right.
    """
    h = hasher_for(digest)
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if size is not None and seen > size:
            raise SizeMismatchError(f"{what}: more than the {size} bytes the descriptor says")
        h.update(chunk)
        yield chunk
    if size is not None and seen != size:
        raise SizeMismatchError(f"{what}: got {seen} bytes, descriptor says {size}")
    actual = f"{digest.partition(':')[0]}:{h.hexdigest()}"
    if actual != digest:
        raise DigestMismatchError(f"{what}: content hashes to {actual[:19]}…, expected {digest[:19]}…")
