"""Fast estimates: gzip ISIZE and zstd frame headers, checked against real compressors, and their guards."""

from __future__ import annotations

import gzip
import io
import os
import random
import tarfile

import pytest
import zstandard

from layerscope.decompress import sniff
from layerscope.errors import CorruptLayerError
from layerscope.estimate import (
    MAX_RATIO,
    TAIL_WINDOW,
    estimate_from_annotations,
    estimate_layer,
    gzip_isize_estimate,
    zstd_header_estimate,
)
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Compression, Descriptor, MediaType


def _payload(n: int) -> bytes:
    rng = random.Random(7)
    words = [bytes(rng.choice(b"abcdefghij") for _ in range(rng.randint(2, 9))) for _ in range(300)]
    out = bytearray()
    while len(out) < n:
        out += rng.choice(words) + b" "
        if rng.random() < 0.05:
            out += os.urandom(0) + rng.randbytes(64)
    return bytes(out[:n])


def test_gzip_isize_matches_real_length() -> None:
    data = _payload(300_000)
    blob = gzip.compress(data, mtime=0)
    est = gzip_isize_estimate(blob[-8:], len(blob))
    assert est is not None and est.uncompressed_bytes == len(data) and est.source is SizeSource.GZIP_ISIZE
    assert sniff(blob[:4]) is Compression.GZIP


def test_gzip_isize_unwraps_past_4gib_only_when_unambiguous() -> None:
    # 600 MiB compressed, 4.5 GiB true: ISIZE says 0.5 GiB (0.85x, implausible); 8.5 GiB would be 14.5x.
    true_size = 9 * 2**29
    tail = (true_size % 2**32).to_bytes(4, "little")
    est = gzip_isize_estimate(b"\0\0\0\0" + tail, 600 * 2**20)
    assert est is not None and est.uncompressed_bytes == true_size
    # 2 GiB compressed, ISIZE 1 GiB: 5 GiB (2.5x) and 9 GiB (4.5x) both plausible — ambiguous, so unknown.
    tail = (2**30).to_bytes(4, "little")
    assert gzip_isize_estimate(tail, 2 * 2**30) is None


def test_multi_member_gzip_with_tiny_last_member_is_unknown() -> None:
    blob = gzip.compress(_payload(500_000), mtime=0) + gzip.compress(b"x" * 10, mtime=0)
    assert gzip_isize_estimate(blob[-8:], len(blob)) is None


def test_zstd_frame_content_size() -> None:
    data = _payload(200_000)
    for level in (1, 3, 19):
        blob = zstandard.ZstdCompressor(level=level, write_content_size=True).compress(data)
        est = zstd_header_estimate(blob[:32], len(blob))
        assert est is not None and est.uncompressed_bytes == len(data), level
    small = zstandard.ZstdCompressor(write_content_size=True).compress(b"a" * 3000)
    assert zstd_header_estimate(small[:32], len(small)) is None  # 3000 bytes in ~20: implausible ratio, unknown
    no_size = zstandard.ZstdCompressor(write_content_size=False).compress(data)
    assert zstd_header_estimate(no_size[:32], len(no_size)) is None


def test_zstd_all_field_widths_decode() -> None:
    for n in (300, 70_000, 5_000_000):
        data = _payload(n)
        blob = zstandard.ZstdCompressor(write_content_size=True).compress(data)
        fhd = blob[4]
        assert fhd >> 6 in (1, 2, 3) or (fhd >> 5) & 1
        est = zstd_header_estimate(blob[:32], max(1, int(len(data) / (MAX_RATIO - 1))))
        assert est is not None and est.uncompressed_bytes == len(data)


def test_annotation() -> None:
    d = Descriptor("x", "sha256:" + "0" * 64, 1000, annotations={"io.containers.estargz.uncompressed-size": "3000"})
    est = estimate_from_annotations(d)
    assert est is not None and est.uncompressed_bytes == 3000 and est.source is SizeSource.ANNOTATION
    bogus = Descriptor("x", "sha256:" + "0" * 64, 1000, annotations={"io.containers.estargz.uncompressed-size": "5"})
    assert estimate_from_annotations(bogus) is None


# -- estimate_layer: the whole decision, over an in-memory blob read by ranges ------------------------------------


def _estimate(blob: bytes, media_type: str = MediaType.OCI_LAYER_GZIP, **annotations: str) -> LayerMeasurement:
    reads: list[tuple[int, int]] = []

    def read(offset: int, length: int) -> bytes | None:
        reads.append((offset, length))
        assert offset >= 0 and offset + length <= len(blob)
        return blob[offset : offset + length]

    desc = Descriptor(media_type, "sha256:" + "0" * 64, len(blob), annotations=annotations)
    try:
        return estimate_layer(desc, read)
    finally:
        # The read budget (README, `make bench`): at most 60.5 KiB of a layer, whatever the outcome.
        assert sum(length for _, length in reads) <= 512 + 60 * 1024, reads


def _tar(n: int) -> bytes:
    info = tarfile.TarInfo("payload")
    data = _payload(n)
    info.size = len(data)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_zstd_after_a_skippable_frame_is_zstd_and_estimated() -> None:
    tar = _tar(200_000)
    skippable = (0x184D2A5E).to_bytes(4, "little") + (16).to_bytes(4, "little") + b"s" * 16
    blob = skippable + zstandard.ZstdCompressor(write_content_size=True).compress(tar)
    m = _estimate(blob, MediaType.OCI_LAYER_ZSTD)
    assert m.compression is Compression.ZSTD
    assert m.size_source is SizeSource.ZSTD_HEADER and m.uncompressed_bytes == len(tar)


def test_zstd_of_several_frames_is_unknown() -> None:
    tar = _payload(20_000) * 30  # compressible: the first frame's 200 kB alone pass the ratio band
    cctx = zstandard.ZstdCompressor(write_content_size=True)
    plain = _tar(600_000)
    one = cctx.compress(plain)
    assert _estimate(one, MediaType.OCI_LAYER_ZSTD).uncompressed_bytes == len(plain)
    thirds = [tar[:200_000], tar[200_000:400_000], tar[400_000:]]
    blob = b"".join(cctx.compress(part) for part in thirds)
    assert zstd_header_estimate(blob[:32], len(blob)) is not None  # the frame header alone would be believed
    m = _estimate(blob, MediaType.OCI_LAYER_ZSTD)
    assert m.compression is Compression.ZSTD
    assert m.size_source is SizeSource.UNKNOWN and m.uncompressed_bytes is None
    # A trailing skippable frame (zstd:chunked keeps its table of contents in one) is not another data frame.
    trailer = (0x184D2A50).to_bytes(4, "little") + (8).to_bytes(4, "little") + bytes(8)
    assert _estimate(one + trailer, MediaType.OCI_LAYER_ZSTD).uncompressed_bytes == len(plain)


def test_zstd_frame_too_long_to_walk_is_unknown() -> None:
    tar = _tar(8_000_000)  # incompressible enough to need far more than MAX_WALK_READS windows of blocks
    blob = zstandard.ZstdCompressor(level=1, write_content_size=True).compress(tar + os.urandom(4_000_000))
    assert _estimate(blob, MediaType.OCI_LAYER_ZSTD).size_source is SizeSource.UNKNOWN


def test_gzip_single_member_is_estimated_and_multi_member_in_the_tail_window_is_unknown() -> None:
    tar = _tar(300_000)
    one = gzip.compress(tar, mtime=0)
    m = _estimate(one)
    assert m.size_source is SizeSource.GZIP_ISIZE and m.uncompressed_bytes == len(tar)
    # The last member is large but still inside the tail window: its header is found, the ISIZE refused.
    last = gzip.compress(_payload(20_000) * 50, mtime=0)  # 1 MB that deflate shrinks below the window
    assert len(last) < TAIL_WINDOW
    two = gzip.compress(tar, mtime=0) + last
    assert gzip_isize_estimate(two[-8:], len(two)) is not None  # the ratio band alone would accept it
    m = _estimate(two)
    assert m.size_source is SizeSource.UNKNOWN and m.uncompressed_bytes is None


def test_estargz_and_zstd_chunked_annotations_make_the_trailer_unknown() -> None:
    tar = _tar(300_000)
    one = gzip.compress(tar, mtime=0)
    toc = {"containerd.io/snapshot/stargz/toc.digest": "sha256:" + "1" * 64}
    assert _estimate(one, **toc).size_source is SizeSource.UNKNOWN
    sized = {**toc, "io.containers.estargz.uncompressed-size": str(len(tar))}
    m = _estimate(one, **sized)
    assert m.size_source is SizeSource.ANNOTATION and m.uncompressed_bytes == len(tar)
    z = zstandard.ZstdCompressor(write_content_size=True).compress(tar)
    chunked = {"io.github.containers.zstd-chunked.manifest-checksum": "sha256:" + "2" * 64}
    assert _estimate(z, MediaType.OCI_LAYER_ZSTD, **chunked).size_source is SizeSource.UNKNOWN


def test_uncompressed_tar_is_its_descriptor_size() -> None:
    tar = _tar(10_000)
    m = _estimate(tar, MediaType.OCI_LAYER)
    assert m.size_source is SizeSource.DESCRIPTOR and m.uncompressed_bytes == len(tar)
    assert _estimate(b"", MediaType.OCI_LAYER).uncompressed_bytes == 0


@pytest.mark.parametrize("media_type", [MediaType.OCI_LAYER_GZIP, MediaType.OCI_LAYER_ZSTD, MediaType.OCI_LAYER])
def test_bytes_that_are_not_a_layer_fail_as_in_exact_mode(media_type: str) -> None:
    text = b"this is a README, not a layer\n" * 100
    with pytest.raises(CorruptLayerError, match="neither gzip, zstd nor a tar stream"):
        _estimate(text, media_type)
    with pytest.raises(CorruptLayerError):
        _estimate(b"short", media_type)
