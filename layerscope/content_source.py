"""The ContentSource protocol: verified, read-only manifests and blobs, as registries and layout dirs serve them.

Every implementation returns verified content: manifests and configs are checked against their digest
(and size when known) before parsing; blob streams raise DigestMismatchError / SizeMismatchError at the
end of the stream (digest.verified_stream), so a consumer must read to the end before trusting a result.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Protocol

from layerscope.oci import Descriptor, Index, Manifest
from layerscope.reference import Reference

__all__ = ["ContentSource"]


class ContentSource(Protocol):
    """Read-only access to manifests and blobs of images."""

    def get_manifest(self, ref: Reference, identifier: str | None = None) -> Manifest | Index:
        """The manifest or index *ref* points at (or *identifier*, a tag or digest, in ref's repository)."""
        ...

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        """A small blob (a config), verified, refusing more than *max_bytes*."""
        ...

    def open_blob(self, ref: Reference, descriptor: Descriptor) -> AbstractContextManager[Iterator[bytes]]:
        """A verified stream of a blob's chunks (see the module docstring)."""
        ...

    def read_range(self, ref: Reference, descriptor: Descriptor, offset: int, length: int) -> bytes | None:
        """Bytes [offset, offset+length) of a blob (unverified: for estimates only), or None if not servable.

        None when the backend cannot honour a range (a registry that ignores Range answers 200 with the
        whole blob; we read no further than *length* bytes and give up rather than download it).
        """
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...
