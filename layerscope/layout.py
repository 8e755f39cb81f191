"""An OCI image layout directory as a content source (image-spec image-layout.md).

Used for offline analysis, the shipped demo fixture, and `skopeo copy ... oci:DIR` output.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from layerscope.digest import is_digest, verified_stream, verify_bytes
from layerscope.errors import (
    ContentError,
    DigestMismatchError,
    InvalidManifestError,
    NotFoundError,
    SizeMismatchError,
    UsageError,
)
from layerscope.oci import (
    MAX_MANIFEST_BYTES,
    Descriptor,
    Index,
    Manifest,
    parse_manifest_or_index,
    require_verifiable,
)
from layerscope.reference import LayoutReference, Reference

__all__ = ["REF_NAME", "LayoutSource"]

REF_NAME = "org.opencontainers.image.ref.name"
_CHUNK = 1 << 20

# Hints that fit a directory on this machine (issue #12): not the registry's "check spelling and
# credentials" or "a proxy served truncated content".
_MISSING_HINT = (
    "the layout is incomplete: it names a blob its blobs/ directory lacks; copy the image again"
    " (e.g. skopeo copy --all … oci:PATH:TAG), or choose the platforms it holds with --platform"
)
_DAMAGED_HINT = "the file under blobs/ was changed or cut short after the layout was written; copy the image again"


def _missing(what: str, digest: str, root: object) -> NotFoundError:
    return NotFoundError(f"{what} {digest[:19]}… is not in layout {root}", hint=_MISSING_HINT)


def _damaged(exc: ContentError) -> ContentError:
    """The same mismatch error, with the hint for a layout file instead of a registry transfer."""
    return type(exc)(exc.message, hint=_DAMAGED_HINT)


def _checked(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except (SizeMismatchError, DigestMismatchError) as exc:
        raise _damaged(exc) from None


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
        # Only verifiable digests name files we read (their encodings are hex: no path tricks either).
        require_verifiable(Descriptor(media_type="", digest=digest, size=0), f"blob {digest[:40]} of layout {root}")
        algorithm, _, encoded = digest.partition(":")
        return root / "blobs" / algorithm / encoded

    def _read_blob(self, root: Path, desc: Descriptor, cap: int) -> bytes:
        path = self._blob_path(root, desc.digest)
        try:
            with path.open("rb") as f:
                data = f.read(cap + 1)
        except FileNotFoundError:
            raise _missing("blob", desc.digest, root) from None
        if len(data) > cap:
            raise InvalidManifestError(f"blob {desc.digest[:19]}… is over the {cap}-byte limit")
        try:
            verify_bytes(data, desc.digest, desc.size, what=f"blob {desc.digest[:19]}… of layout {root}")
        except (SizeMismatchError, DigestMismatchError) as exc:
            raise _damaged(exc) from None
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
                names = _tags(top)
                if len(names) > 1:
                    # index.json lists several tagged images, not the platforms of one: which one is meant?
                    raise UsageError(
                        f"layout {root} holds {len(names)} tagged images; name one as oci:PATH:TAG",
                        hint=f"tags in this layout: {', '.join(names)}",
                    )
                return top
            desc = top.manifests[0]
        elif is_digest(wanted):
            desc = next((d for d in top.manifests if d.digest == wanted), None) or Descriptor(
                media_type="", digest=wanted, size=-1
            )
        else:
            matches = [d for d in top.manifests if d.annotations.get(REF_NAME) == wanted]
            if not matches:
                raise NotFoundError(
                    f"tag {wanted!r} not found in layout {root}",
                    hint=f"tags in this layout: {', '.join(_tags(top)) or 'none'}",
                )
            desc = matches[0]
        size = desc.size if desc.size >= 0 else None
        path = self._blob_path(root, desc.digest)
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_MANIFEST_BYTES + 1)
        except FileNotFoundError:
            raise _missing("manifest", desc.digest, root) from None
        try:
            verify_bytes(raw, desc.digest, size, what=f"manifest {desc.digest[:19]}… of layout {root}")
        except (SizeMismatchError, DigestMismatchError) as exc:
            raise _damaged(exc) from None
        return parse_manifest_or_index(raw, desc.media_type or None)

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        """A small verified blob."""
        return self._read_blob(self._root(ref), descriptor, max_bytes)

    @contextmanager
    def open_blob(self, ref: Reference, descriptor: Descriptor) -> Iterator[Iterator[bytes]]:
        """A verified stream of the blob's chunks."""
        root = self._root(ref)
        path = self._blob_path(root, descriptor.digest)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            raise _missing("blob", descriptor.digest, root) from None
        with f:
            chunks = iter(lambda: f.read(_CHUNK), b"")
            what = f"blob {descriptor.digest[:19]}… of layout {root}"
            yield _checked(verified_stream(chunks, descriptor.digest, descriptor.size, what=what))

    def read_range(self, ref: Reference, descriptor: Descriptor, offset: int, length: int) -> bytes | None:
        """Bytes of a blob file at *offset* (for estimates; the blob is not verified)."""
        root = self._root(ref)
        path = self._blob_path(root, descriptor.digest)
        if offset < 0 or length < 0 or offset + length > descriptor.size:
            return None
        try:
            with path.open("rb") as f:
                f.seek(offset)
                data = f.read(length)
        except FileNotFoundError:
            raise _missing("blob", descriptor.digest, root) from None
        return data if len(data) == length else None

    def close(self) -> None:
        """Nothing to release."""


def _tags(index: Index) -> list[str]:
    """The distinct ref names (tags) of a layout's index.json, sorted."""
    return sorted({d.annotations.get(REF_NAME, "") for d in index.manifests} - {""})
