"""Fast, labelled size estimates that read at most a few KiB of a layer (`analyze --estimate`).

Each estimate is guarded; where no safe estimate exists the answer is None ("unknown"), never a guess:

* gzip ISIZE (RFC 1952 §2.3.1) is the *last member's* uncompressed length modulo 2**32. A multi-member
  blob or a > 4 GiB layer makes it wrong. We accept ``ISIZE + k·2**32`` only when exactly one k gives
  a plausible ratio (uncompressed/compressed within [MIN_RATIO, MAX_RATIO]); otherwise unknown.
* zstd Frame_Content_Size (RFC 8878 §3.1.1.1.4) describes the *first frame* only; a multi-frame blob
  (e.g. chunked zstd) is larger. The same plausibility band applies; absent field → unknown.
* Descriptor annotations some builders write (eStargz's uncompressed size).

Estimates cover the uncompressed (tar) size only; extracted bytes and file counts stay unknown.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Compression, Descriptor

__all__ = [
    "MAX_RATIO",
    "MIN_RATIO",
    "TAIL_BYTES",
    "Estimate",
    "estimate_from_annotations",
    "gzip_isize_estimate",
    "sniff",
    "to_measurement",
    "zstd_header_estimate",
]

#: Bytes read from the end (gzip) or the start (zstd, sniffing) of a blob.
TAIL_BYTES = 8
HEAD_BYTES = 32
#: Plausible uncompressed/compressed ratios for container layers. Real Windows base layers inflate
#: 2.5–4x (1.74 GB → ~5.7 GB); text-heavy Linux layers up to ~10x. Outside this band we say unknown.
#: The band's width also decides when a wrapped ISIZE can be unwrapped: with 12x, a single candidate
#: remains for compressed sizes up to ~390 MB, and for larger blobs only when the ratio is low.
MIN_RATIO = 1.0
MAX_RATIO = 12.0
_ANNOTATIONS = ("io.containers.estargz.uncompressed-size",)
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimated uncompressed size and where it came from."""

    uncompressed_bytes: int
    source: SizeSource


def sniff(head: bytes) -> Compression:
    """Compression from a blob's first bytes (never trust the media type)."""
    if head.startswith(_GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(_ZSTD_MAGIC):
        return Compression.ZSTD
    return Compression.NONE


def _plausible(uncompressed: int, compressed: int) -> bool:
    return compressed > 0 and MIN_RATIO * compressed <= uncompressed <= MAX_RATIO * compressed


def gzip_isize_estimate(tail: bytes, compressed_size: int) -> Estimate | None:
    """Uncompressed size from the gzip trailer (last 4 bytes), unwrapped only when unambiguous."""
    if len(tail) < 4 or compressed_size < 18:  # 18 = smallest gzip member (header + trailer)
        return None
    (isize,) = struct.unpack("<I", tail[-4:])
    candidates = [isize + k * 2**32 for k in range(int(MAX_RATIO * compressed_size) // 2**32 + 1)]
    fits = [c for c in candidates if _plausible(c, compressed_size)]
    if len(fits) != 1:
        return None
    return Estimate(fits[0], SizeSource.GZIP_ISIZE)


def zstd_header_estimate(head: bytes, compressed_size: int) -> Estimate | None:
    """Frame_Content_Size of the first zstd frame, when present and plausible."""
    if not head.startswith(_ZSTD_MAGIC) or len(head) < 6:
        return None
    fhd = head[4]
    fcs_flag, single_segment, dict_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    pos = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dict_flag]
    size_len = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if size_len == 0 or len(head) < pos + size_len:
        return None
    raw = head[pos : pos + size_len]
    value = int.from_bytes(raw, "little") + (256 if size_len == 2 else 0)  # RFC 8878: 2-byte field is +256
    if not _plausible(value, compressed_size):
        return None
    return Estimate(value, SizeSource.ZSTD_HEADER)


def estimate_from_annotations(desc: Descriptor) -> Estimate | None:
    """An uncompressed size a builder recorded in the descriptor's annotations."""
    for key in _ANNOTATIONS:
        value = desc.annotations.get(key, "")
        if value.isdigit() and _plausible(int(value), desc.size):
            return Estimate(int(value), SizeSource.ANNOTATION)
    return None


def to_measurement(desc: Descriptor, compression: Compression | None, estimate: Estimate | None) -> LayerMeasurement:
    """A LayerMeasurement carrying an estimate (or nothing known beyond the descriptor)."""
    return LayerMeasurement(
        digest=desc.digest,
        compressed_bytes=desc.size,
        size_source=estimate.source if estimate else SizeSource.UNKNOWN,
        compression=compression,
        uncompressed_bytes=estimate.uncompressed_bytes if estimate else None,
    )
