"""Fast estimates: gzip ISIZE and zstd frame headers, checked against real compressors, and their guards."""

from __future__ import annotations

import gzip
import os
import random

import zstandard

from layerscope.estimate import (
    MAX_RATIO,
    estimate_from_annotations,
    gzip_isize_estimate,
    sniff,
    zstd_header_estimate,
)
from layerscope.measurement import SizeSource
from layerscope.oci import Compression, Descriptor


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
