"""An OCI image layout directory as a content source (image-spec image-layout.md).

Used for offline analysis, the shipped demo fixture, and `skopeo copy ... oci:DIR` output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layerscope.digest import is_digest, verified_stream, verify_bytes
from layerscope.errors import InvalidManifestError, NotFoundError, UsageError
from layerscope.oci import (
    MAX_MANIFEST_BYTES,
    Descriptor,
    Index,
    Manifest,
    parse_descriptor,
    parse_manifest_or_index,
)
from layerscope.reference import LayoutReference, Reference

__all__ = ["REF_NAME", "LayoutSource"]

REF_NAME = "org.opencontainers.image.ref.name"
_CHUNK = 1 << 20


class LayoutSource:
    """Read manifests and blobs from OCI image layout directories, verifying every byte."""

    def _root(self, ref: Reference) -> Path:
        if not isinstance(ref, LayoutReference):
            raise UsageError(f"{ref} is not an OCI layout reference")
        root = Path(ref.path)
        if not (root / "index.json").is_file():
            raise NotFoundError(
                f"{root} is not an OCI image layout (no index.json)",
                hint="point oci:PATH at a directory written by 'skopeo copy ... oci:PATH' or oras",
            )
        return root

    def _blob_path(self, root: Path, digest: str) -> Path:
        if not is_digest(digest):
            raise InvalidManifestError(f"invalid digest {digest[:80]!r}")
        algorithm, _, encoded = digest.partition(":")
        return root / "blobs" / algorithm / encoded

    def _read_blob(self, root: Path, desc: Descriptor, cap: int) -> bytes:
        path = self._blob_path(root, desc.digest)
        try:
            with path.open("rb") as f:
                data = f.read(cap + 1)
        except FileNotFoundError:
            raise NotFoundError(f"blob {desc.digest[:19]}… is not in layout {root}") from None
        if len(data) > cap:
            raise InvalidManifestError(f"blob {desc.digest[:19]}… is over the {cap}-byte limit")
        verify_bytes(data, desc.digest, desc.size, what=f"blob {desc.digest[:19]}…")
        return data

    def _top_index(self, root: Path) -> Index:
        raw = (root / "index.json").read_bytes()
        parsed = parse_manifest_or_index(raw)
        if not isinstance(parsed, Index):
            raise InvalidManifestError(f"{root}/index.json is not an image index")
        return parsed

    def get_manifest(self, ref: Reference, identifier: str | None = None) -> Manifest | Index:
        """The manifest/index for a tag (ref.name annotation) or digest; the whole index.json if neither."""
        root = self._root(ref)
        assert isinstance(ref, LayoutReference)
        wanted = identifier or ref.digest or ref.tag
        top = self._top_index(root)
        if wanted is None:
            if len(top.manifests) != 1:
                return top
            desc = top.manifests[0]
        elif is_digest(wanted):
            desc = next((d for d in top.manifests if d.digest == wanted), None) or Descriptor(
                media_type="", digest=wanted, size=-1
            )
        else:
            matches = [d for d in top.manifests if d.annotations.get(REF_NAME) == wanted]
            if not matches:
                names = sorted({d.annotations.get(REF_NAME, "") for d in top.manifests} - {""})
                raise NotFoundError(
                    f"tag {wanted!r} not found in layout {root}",
                    hint=f"tags in this layout: {', '.join(names) or 'none'}",
                )
            desc = matches[0]
        size = desc.size if desc.size >= 0 else None
        path = self._blob_path(root, desc.digest)
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError:
            raise NotFoundError(f"manifest {desc.digest[:19]}… is not in layout {root}") from None
        verify_bytes(raw, desc.digest, size, what=f"manifest {desc.digest[:19]}…")
        return parse_manifest_or_index(raw, desc.media_type or None)

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        """A small verified blob."""
        return self._read_blob(self._root(ref), descriptor, max_bytes)

    @contextmanager
    def open_blob(self, ref: Reference, descriptor: Descriptor) -> Iterator[Iterator[bytes]]:
        """A verified stream of the blob's chunks."""
        path = self._blob_path(self._root(ref), descriptor.digest)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise NotFoundError(f"blob {descriptor.digest[:19]}… is not in layout {ref}") from None
        with f:
            chunks = iter(lambda: f.read(_CHUNK), b"")
            yield verified_stream(chunks, descriptor.digest, descriptor.size, what=f"blob {descriptor.digest[:19]}…")

    def read_range(self, ref: Reference, descriptor: Descriptor, offset: int, length: int) -> bytes | None:
        """Bytes of a blob file at *offset* (for estimates; the blob is not verified)."""
        path = self._blob_path(self._root(ref), descriptor.digest)
        if offset < 0 or length < 0 or offset + length > descriptor.size:
            return None
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read(length)
        except FileNotFoundError:
            raise NotFoundError(f"blob {descriptor.digest[:19]}… is not in layout {ref}") from None
        return data if len(data) == length else None

    def close(self) -> None:
        """Nothing to release."""


def read_layout_descriptors(root: str | os.PathLike[str]) -> list[Descriptor]:
    """The descriptors listed in a layout's index.json (for tooling and tests)."""
    doc = json.loads(Path(root, "index.json").read_bytes())
    return [parse_descriptor(d, "index.json entry") for d in doc.get("manifests", [])]
