"""Fast, labelled size estimates from a few KiB of a layer, read with Range requests (`analyze --estimate`).

Each estimate is guarded; where no safe estimate exists the answer is None ("unknown"), never a guess:

* The compression is sniffed from the blob's first bytes by `decompress.sniff` (the one sniffer exact
  mode uses too), so a zstd layer that starts with a skippable frame is zstd, whatever the media type.
* An uncompressed layer's tar size is its blob size (`descriptor`) only when its first block is a valid
  tar header (or the blob is empty). Bytes that are neither gzip, zstd nor tar — a "tar+gzip" layer that
  holds text — are a CorruptLayerError, exactly as exact mode fails on them (issue #12, item 5b).
* gzip ISIZE (RFC 1952 §2.3.1) is the *last member's* uncompressed length modulo 2**32. It is used only
  when nothing shows the blob to have more than one member: the last TAIL_WINDOW bytes are searched for
  a member header that inflates cleanly (CRC and ISIZE checked) to the blob's end, and eStargz /
  zstd:chunked annotations mark multi-member / multi-frame blobs. A > 4 GiB size is unwrapped to
  ``ISIZE + k·2**32`` only when exactly one k gives a plausible ratio (within [MIN_RATIO, MAX_RATIO]).
  **Limit**: a multi-member blob whose last member is larger than TAIL_WINDOW and that carries no such
  annotation cannot be told from a single member without reading it; its estimate is that last member's.
* zstd Frame_Content_Size (RFC 8878 §3.1.1.1.4) describes *its frame only*. It is used only when the
  frame is shown to span the whole blob: its block headers are walked with Range reads to the frame's
  end, and only skippable frames may follow (issue #18, item 6). When the walk needs more than
  MAX_WALK_READS reads (large layers), the size is unknown.
* Descriptor annotations some builders write (`io.containers.estargz.uncompressed-size`), within the same
  plausibility band.

Estimates cover the uncompressed (tar) size only; extracted bytes and file counts stay unknown.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from layerscope.decompress import sniff
from layerscope.errors import CorruptLayerError
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Compression, Descriptor
from layerscope.tarheader import BLOCK
from layerscope.tarwalk import TarWalker

__all__ = [
    "HEAD_BYTES",
    "MAX_RATIO",
    "MAX_WALK_READS",
    "MIN_RATIO",
    "MULTI_PART_ANNOTATIONS",
    "TAIL_WINDOW",
    "Estimate",
    "RangeReader",
    "estimate_from_annotations",
    "estimate_layer",
    "gzip_isize_estimate",
    "gzip_member_in_tail",
    "to_measurement",
    "zstd_header_estimate",
    "zstd_single_frame",
]

#: Reads bytes [offset, offset + length) of the blob, or None when the source cannot serve a range.
RangeReader = Callable[[int, int], bytes | None]

#: Bytes read from the start of a blob: one tar block (to check an uncompressed layer), which also holds
#: any gzip or zstd frame header.
HEAD_BYTES = BLOCK
#: Bytes read from the end of a gzip blob: the trailer, and the window searched for a last member's header.
#: With HEAD_BYTES, at most 60.5 KiB a layer (the project's budget: 64 KiB, `make bench`).
TAIL_WINDOW = 60 * 1024
#: Range reads (of _WALK_WINDOW bytes) allowed to walk one zstd frame's block headers: 60 KiB at most.
MAX_WALK_READS = 15
_WALK_WINDOW = 4096
#: Plausible uncompressed/compressed ratios for container layers. Real Windows base layers inflate
#: 2.5–4x (1.74 GB → ~5.7 GB); text-heavy Linux layers up to ~10x. Outside this band we say unknown.
#: The band's width also decides when a wrapped ISIZE can be unwrapped: with 12x, a single candidate
#: remains for compressed sizes up to ~390 MB, and for larger blobs only when the ratio is low.
MIN_RATIO = 1.0
MAX_RATIO = 12.0
_SIZE_ANNOTATIONS = ("io.containers.estargz.uncompressed-size",)
#: Annotations of formats made of many gzip members (eStargz) or zstd frames (zstd:chunked): the last
#: member's ISIZE or the first frame's content size says nothing about the whole blob.
MULTI_PART_ANNOTATIONS = (
    "containerd.io/snapshot/stargz/toc.digest",
    "io.github.containers.zstd-chunked.manifest-checksum",
    "io.github.containers.zstd-chunked.manifest-position",
)
_ZSTD_MAGIC = 0xFD2FB528
_SKIPPABLE_MASK, _SKIPPABLE = 0xFFFFFFF0, 0x184D2A50
#: Candidate gzip headers tried in a tail window before giving up (a deflate stream holds 1f 8b 08 by chance
#: about once per 16 MiB; more candidates than this is not chance).
_MAX_CANDIDATES = 32


@dataclass(frozen=True, slots=True)
class Estimate:
    """An estimated uncompressed size and where it came from."""

    uncompressed_bytes: int
    source: SizeSource


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


def _member_ends_at_end(data: bytes) -> bool:
    """True if *data* is exactly one whole gzip member (CRC and ISIZE checked by zlib)."""
    d = zlib.decompressobj(wbits=31)
    buf = data
    try:
        while buf:
            d.decompress(buf, 1 << 20)  # output is dropped: only where the member ends matters
            buf = d.unconsumed_tail
        while not d.eof and d.decompress(b"", 1 << 20):
            pass
    except zlib.error:
        return False
    return d.eof and not d.unused_data


def gzip_member_in_tail(window: bytes, window_offset: int) -> int | None:
    """Blob offset of the last gzip member when its header lies in *window* (the blob's last bytes), else None."""
    pos = window.find(b"\x1f\x8b\x08")
    tried = 0
    while pos >= 0 and tried < _MAX_CANDIDATES:
        if len(window) - pos >= 18 and not window[pos + 3] & 0xE0:  # RFC 1952: FLG bits 5-7 reserved, zero
            tried += 1
            if _member_ends_at_end(window[pos:]):
                return window_offset + pos
        pos = window.find(b"\x1f\x8b\x08", pos + 1)
    return None


def _zstd_frame_header(head: bytes) -> tuple[int, int | None] | None:
    """(header length, Frame_Content_Size or None) of the zstd frame *head* starts with, or None if short."""
    if len(head) < 5:
        return None
    fhd = head[4]
    fcs_flag, single_segment, dict_flag = fhd >> 6, (fhd >> 5) & 1, fhd & 3
    pos = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[dict_flag]
    size_len = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if len(head) < pos + size_len:
        return None
    if size_len == 0:
        return pos, None
    value = int.from_bytes(head[pos : pos + size_len], "little") + (256 if size_len == 2 else 0)  # RFC 8878
    return pos + size_len, value


def zstd_header_estimate(head: bytes, compressed_size: int) -> Estimate | None:
    """Frame_Content_Size of the zstd frame *head* starts with, when present and plausible.

    The caller must show that this frame is the blob's only one (`zstd_single_frame`): the field
    describes its own frame.
    """
    if int.from_bytes(head[:4], "little") != _ZSTD_MAGIC:
        return None
    header = _zstd_frame_header(head)
    if header is None or header[1] is None or not _plausible(header[1], compressed_size):
        return None
    return Estimate(header[1], SizeSource.ZSTD_HEADER)


class _Reads:
    """Range reads through small windows, counted against a budget."""

    def __init__(self, read: RangeReader, size: int, budget: int) -> None:
        self._read, self.size, self.left = read, size, budget
        self._start, self._data = 0, b""

    def get(self, offset: int, length: int) -> bytes | None:
        if offset + length > self.size:
            return None
        if not (self._start <= offset and offset + length <= self._start + len(self._data)):
            if self.left <= 0:
                return None
            self.left -= 1
            data = self._read(offset, min(max(length, _WALK_WINDOW), self.size - offset))
            if data is None or len(data) < length:
                return None
            self._start, self._data = offset, data
        return self._data[offset - self._start : offset - self._start + length]


def _skippable_end(reads: _Reads, offset: int) -> int | None:
    """End of the run of skippable frames starting at *offset* (RFC 8878 §3.1.2), or None if unreadable."""
    while offset < reads.size:
        head = reads.get(offset, 8)
        if head is None or int.from_bytes(head[:4], "little") & _SKIPPABLE_MASK != _SKIPPABLE:
            return offset if head is not None else None
        offset += 8 + int.from_bytes(head[4:], "little")
    return offset


def zstd_single_frame(read: RangeReader, size: int, budget: int = MAX_WALK_READS) -> tuple[int, bytes] | None:
    """(offset, header bytes) of the blob's only data frame, when walking its block headers shows it is
    the only one (skippable frames aside); None when another frame follows or the walk is too long."""
    reads = _Reads(read, size, budget)
    start = _skippable_end(reads, 0)
    if start is None or start >= size:
        return None
    head = reads.get(start, min(18, size - start))  # 18: the longest frame header (RFC 8878 §3.1.1.1)
    if head is None or int.from_bytes(head[:4], "little") != _ZSTD_MAGIC:
        return None
    header = _zstd_frame_header(head)
    if header is None:
        return None
    checksum = bool(head[4] & 0x04)
    pos = start + header[0]
    while True:  # §3.1.1.2 Block_Header: Last_Block (1 bit), Block_Type (2), Block_Size (21)
        raw = reads.get(pos, 3)
        if raw is None:
            return None
        value = int.from_bytes(raw, "little")
        block_type = (value >> 1) & 3
        if block_type == 3:
            return None
        pos += 3 + (1 if block_type == 1 else value >> 3)
        if value & 1:
            break
    end = pos + (4 if checksum else 0)
    if end > size or _skippable_end(reads, end) != size:
        return None
    return start, head


def estimate_from_annotations(desc: Descriptor) -> Estimate | None:
    """An uncompressed size a builder recorded in the descriptor's annotations."""
    for key in _SIZE_ANNOTATIONS:
        value = desc.annotations.get(key, "")
        if value.isdigit() and _plausible(int(value), desc.size):
            return Estimate(int(value), SizeSource.ANNOTATION)
    return None


def _check_tar_head(desc: Descriptor, head: bytes) -> None:
    """Raise CorruptLayerError unless *head* (the first bytes of an uncompressed blob) can start a tar."""
    if desc.size == 0:
        return  # an empty stream is an empty archive (as in Go's archive/tar and exact mode)
    try:
        if len(head) < BLOCK:
            raise CorruptLayerError("tar stream is truncated (shorter than one 512-byte block)")
        TarWalker().feed(head[:BLOCK])
    except CorruptLayerError as exc:
        raise CorruptLayerError(
            f"layer {desc.digest[:19]}… is neither gzip, zstd nor a tar stream ({exc.message})",
            hint=f"its media type says {desc.media_type}; exact mode fails on these bytes too",
        ) from None


def estimate_layer(desc: Descriptor, read: RangeReader) -> LayerMeasurement:
    """A labelled estimate of one layer from a few Range reads (see the module docstring)."""
    found = estimate_from_annotations(desc)
    multi_part = any(key in desc.annotations for key in MULTI_PART_ANNOTATIONS)
    head = read(0, min(HEAD_BYTES, desc.size)) if desc.size else b""
    compression = sniff(head) if head is not None else None
    if compression is Compression.NONE and head is not None:
        _check_tar_head(desc, head)
    if found is not None or head is None or multi_part:
        return to_measurement(desc, compression, found)
    if compression is Compression.NONE:
        found = Estimate(desc.size, SizeSource.DESCRIPTOR)
    elif compression is Compression.ZSTD:
        frame = zstd_single_frame(read, desc.size)
        found = zstd_header_estimate(frame[1], desc.size) if frame is not None else None
    elif compression is Compression.GZIP and desc.size >= 18:
        window = min(TAIL_WINDOW, desc.size)
        tail = read(desc.size - window, window)
        if tail is not None:
            last = gzip_member_in_tail(tail, desc.size - window)
            # A member header found past offset 0 proves a second member; none found leaves the documented
            # limit (a last member larger than the window).
            if last is None or last == 0:
                found = gzip_isize_estimate(tail, desc.size)
    return to_measurement(desc, compression, found)


def to_measurement(desc: Descriptor, compression: Compression | None, estimate: Estimate | None) -> LayerMeasurement:
    """A LayerMeasurement carrying an estimate (or nothing known beyond the descriptor)."""
    return LayerMeasurement(
        digest=desc.digest,
        compressed_bytes=desc.size,
        size_source=estimate.source if estimate else SizeSource.UNKNOWN,
        compression=compression,
        uncompressed_bytes=estimate.uncompressed_bytes if estimate else None,
    )
