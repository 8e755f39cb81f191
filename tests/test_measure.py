"""measure_layer end to end: every number is checked against tarfile / gzip / zstandard / hashlib."""

from __future__ import annotations

import gzip
import hashlib
import io
import random
import tarfile
import threading
import tracemalloc
import zlib
from collections.abc import Iterable, Iterator

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from layerscope.decompress import GZIP_BACKENDS, decompress
from layerscope.errors import CorruptLayerError, DigestMismatchError, SizeMismatchError
from layerscope.measure import DEFAULT_LIMITS, Limits, measure_layer
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Compression, Descriptor, MediaType
from tests.support.truth import tar_fields

EMPTY_TAR_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"  # 1024 zeros

# -- building layers (tarfile, gzip, zstandard) -------------------------------------------------------


def content(seed: int, size: int) -> bytes:
    """Deterministic, moderately compressible bytes (like binaries: random words, repeated phrases)."""
    rng = random.Random(seed)
    words = [rng.randbytes(rng.randint(2, 12)) for _ in range(64)]
    out = bytearray()
    while len(out) < size:
        out += rng.choice(words)
    return bytes(out[:size])


def make_tar(members: Iterable[tuple[str, str, int]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar of (name, kind, size) members; kind is file, noise (incompressible), dir, symlink, hardlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for i, (name, kind, size) in enumerate(members):
            info = tarfile.TarInfo(name)
            info.mtime = 1_700_000_000
            data = None
            if kind == "file":
                info.size = size
                data = io.BytesIO(content(i, size))
            elif kind == "noise":
                info.size = size
                data = io.BytesIO(random.Random(i).randbytes(size))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, "target"
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, members_first_file(name)
            tf.addfile(info, data)
    return buf.getvalue()


def members_first_file(name: str) -> str:
    return name.rsplit("/", 1)[0] + "/a.bin"


LINUX = [
    ("usr/", "dir", 0),
    ("usr/bin/", "dir", 0),
    ("usr/bin/a.bin", "file", 200_000),
    ("usr/bin/b.sh", "file", 1_500),
    ("usr/bin/hard", "hardlink", 0),
    ("usr/bin/sym", "symlink", 0),
    ("usr/share/" + "long-directory-name/" * 12 + "file.txt", "file", 3_000),
    ("etc/.wh.old", "file", 0),
    ("var/.wh..wh..opq", "file", 0),
]
WINDOWS = [
    ("Files/", "dir", 0),
    ("Files/Windows/System32/kernel32.dll", "file", 120_000),
    ("Files/Windows/a.bin", "file", 40_000),
    ("Files/Windows/hard", "hardlink", 0),
    ("Hives/", "dir", 0),
    ("Hives/Software_Delta", "file", 30_000),
    ("Hives/System_Delta", "file", 7_000),
]


def truth(tar: bytes) -> dict[str, object]:
    """The expected measurement fields, computed with hashlib and tarfile only (tests/support/truth.py)."""
    return {
        "diff_id": "sha256:" + hashlib.sha256(tar).hexdigest(),
        "uncompressed_bytes": len(tar),
        **tar_fields(tar),
    }


def descriptor(blob: bytes, media_type: str = MediaType.OCI_LAYER_GZIP, size: int | None = None) -> Descriptor:
    return Descriptor(media_type, "sha256:" + hashlib.sha256(blob).hexdigest(), len(blob) if size is None else size)


def chunked(blob: bytes, size: int = 65536) -> Iterator[bytes]:
    for i in range(0, len(blob), size):
        yield blob[i : i + size]


def check(m: LayerMeasurement, tar: bytes, blob: bytes, compression: Compression) -> None:
    expected = truth(tar)
    got = {name: getattr(m, name) for name in expected}
    assert got == expected
    assert m.digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert m.compressed_bytes == len(blob)
    assert m.compression is compression
    assert m.size_source is SizeSource.MEASURED and m.exact


def zstd_frames(data: bytes, parts: int = 3, skippable: bool = True) -> bytes:
    cctx = zstandard.ZstdCompressor(level=3, write_checksum=True)
    step = -(-len(data) // parts)
    frames = [cctx.compress(data[i : i + step]) for i in range(0, len(data), step)]
    skip = (0x184D2A5E).to_bytes(4, "little") + (11).to_bytes(4, "little") + b"seekable!!!"
    return (skip if skippable else b"") + (skip if skippable else b"").join(frames)


# -- the formats --------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 1000, 1 << 20])
def test_gzip_single_member(chunk: int) -> None:
    tar = make_tar(LINUX)
    blob = gzip.compress(tar, mtime=0)
    m = measure_layer(chunked(blob, chunk), descriptor(blob))
    check(m, tar, blob, Compression.GZIP)
    assert m.whiteouts == 2 and m.hardlinks == 1 and m.symlinks == 1 and m.files == 3


def test_gzip_multi_member_with_empty_members() -> None:
    tar = make_tar(LINUX)
    thirds = [tar[: len(tar) // 3], tar[len(tar) // 3 : 2 * len(tar) // 3], tar[2 * len(tar) // 3 :]]
    blob = b"".join([gzip.compress(b"", mtime=0)] + [gzip.compress(part, mtime=0) for part in thirds])
    blob += gzip.compress(b"", mtime=0)
    assert gzip.decompress(blob) == tar  # the independent reference reads all members too
    check(measure_layer(chunked(blob, 777), descriptor(blob)), tar, blob, Compression.GZIP)


def test_gzip_trailing_zero_padding_is_accepted_and_not_counted() -> None:
    tar = make_tar(LINUX)
    blob = gzip.compress(tar, mtime=0) + bytes(4096)
    m = measure_layer(chunked(blob, 1000), descriptor(blob))
    check(m, tar, blob, Compression.GZIP)


def test_gzip_trailing_garbage_is_corrupt() -> None:
    blob = gzip.compress(make_tar(LINUX), mtime=0) + b"garbage"
    with pytest.raises(CorruptLayerError, match="trailing data"):
        measure_layer(chunked(blob), descriptor(blob))


@pytest.mark.parametrize("chunk", [1, 4096, 1 << 20])
def test_zstd_multi_frame_with_skippable_frames(chunk: int) -> None:
    tar = make_tar(LINUX)
    blob = zstd_frames(tar)
    assert zstandard.ZstdDecompressor().decompressobj(read_across_frames=True).decompress(blob) == tar
    m = measure_layer(chunked(blob, chunk), descriptor(blob, MediaType.OCI_LAYER_ZSTD))
    check(m, tar, blob, Compression.ZSTD)


def test_zstd_streamed_frames_without_content_size() -> None:
    tar = make_tar(WINDOWS)
    out = io.BytesIO()
    with zstandard.ZstdCompressor(level=1).stream_writer(out, closefd=False) as writer:
        for piece in chunked(tar, 10_000):
            writer.write(piece)
    blob = out.getvalue()
    check(measure_layer(chunked(blob), descriptor(blob, MediaType.OCI_LAYER_ZSTD)), tar, blob, Compression.ZSTD)


@pytest.mark.parametrize("cut", [1, 20, 1000])
def test_zstd_truncated(cut: int) -> None:
    blob = zstd_frames(make_tar(LINUX), skippable=False)[:-cut]
    with pytest.raises(CorruptLayerError, match="zstd"):
        measure_layer(chunked(blob), descriptor(blob, MediaType.OCI_LAYER_ZSTD))


def test_uncompressed() -> None:
    tar = make_tar(LINUX, tarfile.GNU_FORMAT)
    check(measure_layer(chunked(tar, 999), descriptor(tar, MediaType.OCI_LAYER)), tar, tar, Compression.NONE)


def test_compression_is_sniffed_not_taken_from_the_media_type() -> None:
    tar = make_tar(LINUX)
    blob = zstd_frames(tar)
    m = measure_layer(chunked(blob), descriptor(blob, MediaType.DOCKER_LAYER))  # says gzip, holds zstd
    check(m, tar, blob, Compression.ZSTD)
    m = measure_layer(chunked(tar), descriptor(tar, MediaType.OCI_LAYER_GZIP))  # says gzip, holds tar
    check(m, tar, tar, Compression.NONE)


def test_data_that_is_no_known_format() -> None:
    blob = b"\xfd7zXZ\x00" + bytes(range(256)) * 8  # xz: not an OCI layer compression
    with pytest.raises(CorruptLayerError, match="neither gzip, zstd nor tar") as info:
        measure_layer(chunked(blob), descriptor(blob, MediaType.OCI_LAYER_GZIP))
    assert "media type says gzip" in info.value.message
    assert info.value.message.startswith("layer sha256:")


def test_empty_layer() -> None:
    tar = bytes(1024)  # what `docker build` and buildkit write for a layer with no changes
    blob = gzip.compress(tar, mtime=0)
    m = measure_layer(chunked(blob), descriptor(blob), expected_diff_id=EMPTY_TAR_DIFF_ID)
    check(m, tar, blob, Compression.GZIP)
    assert (m.files, m.extracted_bytes, m.windows_files_bytes) == (0, 0, None)


def test_windows_layer_split() -> None:
    tar = make_tar(WINDOWS)
    blob = gzip.compress(tar, mtime=0)
    m = measure_layer(chunked(blob), descriptor(blob, MediaType.DOCKER_FOREIGN))
    check(m, tar, blob, Compression.GZIP)
    assert (m.windows_files_bytes, m.windows_hives_bytes) == (160_000, 37_000)


# -- corruption and verification ----------------------------------------------------------------------


def test_corrupt_gzip() -> None:
    blob = bytearray(gzip.compress(make_tar(LINUX), mtime=0))
    blob[len(blob) // 2] ^= 0xFF
    with pytest.raises(CorruptLayerError, match="gzip"):
        measure_layer(chunked(bytes(blob)), descriptor(bytes(blob)))


@pytest.mark.parametrize("cut", [1, 8, 500])
def test_truncated_gzip(cut: int) -> None:
    blob = gzip.compress(make_tar(LINUX), mtime=0)[:-cut]
    with pytest.raises(CorruptLayerError, match="truncated"):
        measure_layer(chunked(blob), descriptor(blob))


def test_truncated_tar_inside_valid_gzip() -> None:
    tar = make_tar(LINUX)
    blob = gzip.compress(tar[:100_000], mtime=0)
    with pytest.raises(CorruptLayerError, match="tar stream is truncated"):
        measure_layer(chunked(blob), descriptor(blob))


def test_expected_diff_id() -> None:
    tar = make_tar(LINUX)
    blob = gzip.compress(tar, mtime=0)
    right = "sha256:" + hashlib.sha256(tar).hexdigest()
    assert measure_layer(chunked(blob), descriptor(blob), expected_diff_id=right).diff_id == right
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DigestMismatchError) as info:
        measure_layer(chunked(blob), descriptor(blob), expected_diff_id=wrong)
    assert descriptor(blob).digest in info.value.message and wrong in info.value.message


def test_source_errors_pass_through() -> None:
    blob = gzip.compress(make_tar(LINUX), mtime=0)

    def failing() -> Iterator[bytes]:
        yield from chunked(blob)
        raise DigestMismatchError("blob: content hashes to something else")

    with pytest.raises(DigestMismatchError, match="something else"):
        measure_layer(failing(), descriptor(blob))


def test_size_differs_from_descriptor() -> None:
    blob = gzip.compress(make_tar(LINUX), mtime=0)
    with pytest.raises(SizeMismatchError):
        measure_layer(chunked(blob), descriptor(blob, size=len(blob) + 1))


# -- limits -------------------------------------------------------------------------------------------


def test_limits_defaults_and_validation() -> None:
    assert DEFAULT_LIMITS.max_uncompressed_bytes == 64 << 30
    assert DEFAULT_LIMITS.max_ratio * DEFAULT_LIMITS.ratio_floor_bytes > 0
    with pytest.raises(ValueError, match="max_entries"):
        Limits(max_entries=0)


def test_uncompressed_bytes_limit() -> None:
    tar = make_tar([("big", "file", 3 << 20)])
    blob = gzip.compress(tar, mtime=0)
    with pytest.raises(CorruptLayerError, match="more than 2097152 bytes") as info:
        measure_layer(chunked(blob), descriptor(blob), limits=Limits(max_uncompressed_bytes=2 << 20))
    assert info.value.hint and "max_uncompressed_bytes" in info.value.hint


def test_ratio_limit_is_a_bomb_bound() -> None:
    tar = make_tar([("zeros", "file", 0)]) + bytes(8 << 20)  # 8 MiB of zeros after the tar end
    blob = gzip.compress(tar, compresslevel=9, mtime=0)
    assert len(tar) / len(blob) > 500
    limits = Limits(ratio_floor_bytes=1 << 20, max_ratio=100)
    with pytest.raises(CorruptLayerError, match="100 times"):
        measure_layer(chunked(blob, 4096), descriptor(blob), limits=limits)
    # The same layer is fine with the defaults (ratio checked only above 1 GiB).
    check(measure_layer(chunked(blob), descriptor(blob)), tar, blob, Compression.GZIP)


def test_entries_limit() -> None:
    tar = make_tar([(f"f{i}", "file", 1) for i in range(20)])
    blob = gzip.compress(tar, mtime=0)
    with pytest.raises(CorruptLayerError, match="more than 10 headers"):
        measure_layer(chunked(blob), descriptor(blob), limits=Limits(max_entries=10))


def test_zstd_window_limit() -> None:
    tar = make_tar(LINUX)
    params = zstandard.ZstdCompressionParameters(window_log=24)
    out = io.BytesIO()
    with zstandard.ZstdCompressor(compression_params=params).stream_writer(out, closefd=False) as writer:
        writer.write(tar)  # streamed: no content size, so the frame really asks for a 16 MiB window
    blob = out.getvalue()
    with pytest.raises(CorruptLayerError, match="zstd") as info:
        measure_layer(chunked(blob), descriptor(blob), limits=Limits(max_zstd_window_bytes=1 << 20))
    assert info.value.hint and "max_zstd_window_bytes" in info.value.hint
    check(measure_layer(chunked(blob), descriptor(blob)), tar, blob, Compression.ZSTD)


# -- the threaded path (blobs of 4 MiB and more) ------------------------------------------------------


def big_tar() -> bytes:
    rng = random.Random(7)
    members = [(f"Files/dir{i % 7}/f{i}.dll", "file", rng.randint(0, 200_000)) for i in range(120)]
    members += [("Hives/Software_Delta", "file", 300_000), ("Files/.wh.x", "file", 0)]
    members += [("Files/noise.bin", "noise", 5 << 20)]  # incompressible: the blob passes the 4 MiB threshold
    return make_tar(members)


def test_threaded_gzip_and_zstd() -> None:
    tar = big_tar()
    blob = gzip.compress(tar, compresslevel=1, mtime=0)
    assert len(blob) >= 4 << 20
    check(measure_layer(chunked(blob, 1 << 20), descriptor(blob)), tar, blob, Compression.GZIP)
    zblob = zstd_frames(tar, parts=5)
    zdesc = descriptor(zblob, MediaType.OCI_LAYER_ZSTD)
    check(measure_layer(chunked(zblob, 100_000), zdesc), tar, zblob, Compression.ZSTD)

    # Errors on the worker side (a corrupt tar) and on the source side both surface.
    damaged = gzip.compress(tar[: len(tar) - 3 * 4096], compresslevel=1, mtime=0)  # cut inside noise.bin
    with pytest.raises(CorruptLayerError, match="truncated"):
        measure_layer(chunked(damaged, 1 << 20), descriptor(damaged))
    header = tar.index(b"Files/dir0/f0.dll")  # a bad checksum in the first file header, early on
    broken = gzip.compress(tar[:header] + b"X" + tar[header + 1 :], compresslevel=1, mtime=0)
    with pytest.raises(CorruptLayerError, match="checksum"):
        measure_layer(chunked(broken, 1 << 20), descriptor(broken))

    def failing() -> Iterator[bytes]:
        yield from chunked(blob, 1 << 20)
        raise DigestMismatchError("blob: wrong bytes")

    with pytest.raises(DigestMismatchError):
        measure_layer(failing(), descriptor(blob))


def test_threaded_source_is_handed_back_after_an_early_stop() -> None:
    """The read-ahead thread is stopped before measure_layer returns or raises, so a caller can read the
    rest of the source on its own thread (as analysis does to tell a corrupt layer from a lying registry)."""
    tar = big_tar()
    header = tar.index(b"Files/dir0/f0.dll")
    broken = gzip.compress(tar[:header] + b"X" + tar[header + 1 :], compresslevel=1, mtime=0)
    pulled_on: set[str] = set()
    served = 0

    def source() -> Iterator[bytes]:
        nonlocal served
        for chunk in chunked(broken, 256 * 1024):
            pulled_on.add(threading.current_thread().name)
            served += len(chunk)
            yield chunk

    before = threading.active_count()
    stream = source()
    with pytest.raises(CorruptLayerError, match="checksum"):
        measure_layer(stream, descriptor(broken))
    assert threading.active_count() == before  # no thread left behind
    assert served < len(broken)  # stopped early (a few chunks read ahead at most)
    rest = sum(len(c) for c in stream)  # the same generator goes on, now on this thread
    assert served == len(broken) and rest > 0
    assert threading.current_thread().name in pulled_on and "layerscope-read" in pulled_on

    # A good layer: every thread is gone afterwards too.
    blob = gzip.compress(tar, compresslevel=1, mtime=0)
    check(measure_layer(chunked(blob, 1 << 20), descriptor(blob)), tar, blob, Compression.GZIP)
    assert threading.active_count() == before


# -- gzip backends ------------------------------------------------------------------------------------


def gzip_with_all_header_fields(data: bytes) -> bytes:
    """A gzip member with FEXTRA, FNAME, FCOMMENT and FHCRC set (RFC 1952 §2.3.1)."""
    extra = b"LS" + (4).to_bytes(2, "little") + b"test"
    header = b"\x1f\x8b\x08\x1e" + bytes(4) + b"\x00\xff" + len(extra).to_bytes(2, "little") + extra
    header += b"layer.tar\x00" + b"a comment\x00"
    header += (zlib.crc32(header) & 0xFFFF).to_bytes(2, "little")
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(data) + deflate.flush()
    trailer = zlib.crc32(data).to_bytes(4, "little") + (len(data) & 0xFFFFFFFF).to_bytes(4, "little")
    return header + body + trailer


def test_all_gzip_backends_give_identical_output() -> None:
    tar = make_tar(LINUX + WINDOWS)
    members = gzip.compress(tar[:5000], mtime=0) + gzip_with_all_header_fields(tar[5000:])
    blob = members + bytes(100)
    reference = gzip.decompress(members)
    assert "zlib" in GZIP_BACKENDS
    for backend in GZIP_BACKENDS:
        pieces = list(decompress(Compression.GZIP, chunked(blob, 3000), gzip_backend=backend, piece_size=4096))
        assert b"".join(pieces) == reference == tar, backend
        assert max(len(p) for p in pieces) <= 4096


# -- properties ---------------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    data=st.binary(max_size=3000),
    kind=st.sampled_from(["gzip", "zstd", "none", "gzip-cut"]),
    chunk=st.integers(1, 4000),
)
def test_property_any_blob_measures_or_is_corrupt(data: bytes, kind: str, chunk: int) -> None:
    if kind == "gzip":
        blob = gzip.compress(data, mtime=0)
    elif kind == "gzip-cut":
        blob = gzip.compress(data, mtime=0)[: max(0, len(data) // 2)]
    elif kind == "zstd":
        blob = zstandard.ZstdCompressor().compress(data)
    else:
        blob = data
    try:
        m = measure_layer(chunked(blob, chunk), descriptor(blob), limits=Limits(max_header_bytes=4096))
    except CorruptLayerError:
        return
    assert m.compressed_bytes == len(blob)


# -- memory -------------------------------------------------------------------------------------------

_MEMORY_FILES = 200
_MEMORY_FILE_SIZE = 1 << 20  # 200 files of 1 MiB: a ~200 MB tar stream


def _generated_layer() -> Iterator[bytes]:
    """A gzip layer of ~200 MB uncompressed, built on the fly in small chunks (never held in memory)."""
    rng = random.Random(11)
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    for i in range(_MEMORY_FILES):
        info = tarfile.TarInfo(f"Files/data/{i:04}.bin")
        info.size = _MEMORY_FILE_SIZE
        info.mtime = 1_700_000_000
        yield compressor.compress(info.tobuf(tarfile.PAX_FORMAT))
        block = rng.randbytes(16 * 1024)  # 16 KiB of noise per file, then repeats of it (fast to deflate)
        for _ in range(_MEMORY_FILE_SIZE // len(block)):
            if out := compressor.compress(block):
                yield out
    yield compressor.compress(bytes(1024)) + compressor.flush()


def _generated_tar_hash() -> str:
    h = hashlib.sha256()
    decompressor = zlib.decompressobj(31)
    for chunk in _generated_layer():
        h.update(decompressor.decompress(chunk))
    return "sha256:" + h.hexdigest()


def test_memory_stays_flat_on_a_200_mb_layer() -> None:
    size = sum(len(c) for c in _generated_layer())
    diff_id = _generated_tar_hash()
    desc = Descriptor(MediaType.OCI_LAYER_GZIP, "sha256:" + "ab" * 32, size)
    assert size >= 4 << 20  # large enough for the threaded path
    tracemalloc.start()
    try:
        m = measure_layer(_generated_layer(), desc, expected_diff_id=diff_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert m.uncompressed_bytes is not None and m.uncompressed_bytes > 200 * _MEMORY_FILE_SIZE
    assert m.files == _MEMORY_FILES and m.extracted_bytes == _MEMORY_FILES * _MEMORY_FILE_SIZE
    assert m.windows_files_bytes is None  # Files/ without Hives/ is not a Windows layer
    assert peak < 4 << 20, f"peak traced memory {peak} bytes"


@pytest.mark.parametrize("kind", ["gzip", "zstd", "none"])
def test_empty_chunks_are_harmless(kind: str) -> None:
    tar = make_tar(WINDOWS)
    blob = {"gzip": gzip.compress(tar, mtime=0), "zstd": zstd_frames(tar), "none": tar}[kind]
    chunks = [b""] + [piece for c in chunked(blob, 1000) for piece in (c, b"")]
    m = measure_layer(iter(chunks), descriptor(blob))
    check(m, tar, blob, Compression(kind))
