"""What layerscope knows about one layer's sizes, and where each number came from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from enum import StrEnum
from typing import Any

from layerscope.errors import ContentError, DigestMismatchError
from layerscope.oci import Compression

__all__ = ["LayerMeasurement", "SizeSource", "check_layer", "diff_id_mismatch"]


class SizeSource(StrEnum):
    """Where a layer's uncompressed/extracted numbers came from (the JSON `size_source`)."""

    MEASURED = "measured"  # streamed and counted in this run
    STORE = "store"  # measured earlier, read back from the measurement store
    CHECKPOINT = "checkpoint"  # measured by an interrupted scan, read back from its checkpoint (issue #17)
    ATTACHED = "attached"  # measured by layerscope elsewhere, read from an analysis attached to the image (attach.py)
    CATALOG = "catalog"  # a known Windows base layer: an exact byte count from the catalog
    # A known Windows base layer: a rounded published figure (Microsoft's "2.76 GB"), an approximation (#12 item 13).
    CATALOG_APPROX = "catalog-approx"
    ANNOTATION = "annotation"  # a size annotation on the descriptor (estimate)
    GZIP_ISIZE = "gzip-isize"  # gzip trailer ISIZE read with a tail Range request (estimate)
    ZSTD_HEADER = "zstd-header"  # zstd frame header content size (estimate)
    DESCRIPTOR = "descriptor"  # an uncompressed layer: its tar size is the descriptor size (estimate mode)
    ESTIMATED = "estimated"  # a documented model, not a measurement
    UNKNOWN = "unknown"  # nothing known beyond the descriptor


@dataclass(frozen=True, slots=True)
class LayerMeasurement:
    """Sizes and counts of one layer blob. `None` means not known — never a made-up number."""

    digest: str
    compressed_bytes: int
    size_source: SizeSource
    diff_id: str | None = None
    compression: Compression | None = None
    uncompressed_bytes: int | None = None
    extracted_bytes: int | None = None
    files: int | None = None
    dirs: int | None = None
    symlinks: int | None = None
    hardlinks: int | None = None
    whiteouts: int | None = None
    other_entries: int | None = None
    # Windows layers (Files/ and Hives/ at the top of the tar): extracted bytes of each part.
    windows_files_bytes: int | None = None
    windows_hives_bytes: int | None = None

    @property
    def exact(self) -> bool:
        """True when every number was counted from the bytes (now, in an earlier run, or by the attacher)."""
        exact = (SizeSource.MEASURED, SizeSource.STORE, SizeSource.CHECKPOINT, SizeSource.ATTACHED)
        return self.size_source in exact

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (the store's record)."""
        out = asdict(self)
        out["size_source"] = str(self.size_source)
        out["compression"] = str(self.compression) if self.compression else None
        return out

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> LayerMeasurement:
        """Inverse of to_dict; raises KeyError/ValueError/TypeError on a malformed record."""
        names = {f.name for f in fields(cls)}
        if set(doc) != names:
            raise ValueError("record fields differ from LayerMeasurement")
        values = dict(doc)
        values["size_source"] = SizeSource(values["size_source"])
        values["compression"] = Compression(values["compression"]) if values["compression"] else None
        for name in names - {"digest", "diff_id", "size_source", "compression"}:
            v = values[name]
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
                raise TypeError(f"{name} must be a non-negative int or null")
        if not isinstance(values["digest"], str):
            raise TypeError("digest must be a string")
        return cls(**values)


def diff_id_mismatch(digest: str, actual: str | None, expected: str) -> DigestMismatchError:
    """The error of a layer whose uncompressed content does not hash to the image config's diff_id."""
    return DigestMismatchError(
        f"layer {digest}: uncompressed content hashes to {actual}, the image config's diff_id is {expected}",
        hint="the layer does not belong to this image config (or the registry served wrong content)",
    )


def check_layer(m: LayerMeasurement, *, digest: str, size: int, diff_id: str) -> LayerMeasurement:
    """*m*, if it is an exact measurement of blob *digest* (*size* bytes) whose content hashes to *diff_id*.

    Applied to every use of a measurement by every image, wherever it came from (this run's stream, the
    store, another image's in-flight measurement, an executor): work is shared by digest, the check is
    per image (issue #12: a shared blob must not skip the diff_id check of all but the first image).
    """
    if m.digest != digest:
        raise ContentError(f"a measurement of {m.digest} was offered for layer {digest}")
    if not m.exact or m.uncompressed_bytes is None:
        raise ContentError(f"layer {digest}: the measurement offered as exact is {m.size_source}")
    if m.compressed_bytes != size:
        raise ContentError(f"layer {digest}: measured {m.compressed_bytes} bytes, the descriptor says {size}")
    if m.diff_id != diff_id:
        raise diff_id_mismatch(digest, m.diff_id, diff_id)
    return m
