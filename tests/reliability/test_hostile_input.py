"""Hostile input: images a real registry serves (pushed by the independent pusher), and layers handed to
`measure_layer` directly — tar bombs, decompression bombs, corrupt and truncated streams — plus property
tests (hypothesis) that parsers return a result or raise layerscope's own error, never anything else.

Bounds under test are the documented `measure.Limits` (uncompressed bytes, ratio, entries, header bytes,
zstd window): a bomb ends in CorruptLayerError in bounded time and memory, not in running out of either.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sys
import tarfile
import textwrap
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.errors import (
    ContentError,
    CorruptLayerError,
    DigestMismatchError,
    InvalidManifestError,
    SizeMismatchError,
)
from layerscope.measure import Limits, measure_layer
from layerscope.oci import Descriptor, MediaType, parse_config, parse_manifest_or_index
from layerscope.registry.auth import parse_www_authenticate
from layerscope.registry.retry import Fail, Retry, RetryPolicy, decide, parse_retry_after
from layerscope.tarwalk import TarWalker
from scripts import fixturegen
from tests.integration.conftest import Run
from tests.reliability.helpers import (
    Pushed,
    assert_ok,
    assert_one_line_error,
    push_with_truth,
    run_measured,
    store_entries,
)
from tests.support.faultproxy import FaultProxy
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess
from tests.support.truth import decompress as truth_decompress
from tests.support.truth import tar_counts

Layerscope = Callable[..., Run]
ROOT = __file__.rsplit("/tests/", 1)[0]


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _desc(size: int, media_type: str = MediaType.OCI_LAYER_GZIP) -> Descriptor:
    return Descriptor(media_type, "sha256:" + "ab" * 32, size)


def _chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _layer(seed: str, compression: fixturegen.Compression = "gzip") -> fixturegen.Layer:
    return fixturegen.make_layer(fixturegen.linux_extra_entries(seed), compression)


# == images a real registry serves ==========================================================================


def test_config_whose_diff_ids_do_not_match_the_layers(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    good, other = _layer("diff-good"), _layer("diff-other")
    honest = push_with_truth(pusher, repo_name, "honest", [good])
    # Same layer blob, but the config claims another layer's diff_id.
    config = fixturegen.make_config([other.diff_id], [{"created_by": "COPY x /"}])
    lying = fixturegen.make_image([good], config)
    pusher.push_image(repo_name, "lying", lying.manifest, {b.digest: b for b in lying.blobs()})

    run = layerscope("analyze", f"{registry.host}/{repo_name}:lying", "-o", "json")
    assert_one_line_error(run, DigestMismatchError.exit_code, contains="diff_id")
    assert store_entries(layerscope) == 0
    # Measured and stored through the honest image, the layer is still not served for the lying config.
    assert_ok(layerscope("analyze", honest.at(registry.host), "-o", "json"), honest)
    assert store_entries(layerscope) == 1
    again = layerscope("analyze", f"{registry.host}/{repo_name}:lying", "-o", "json")
    assert_one_line_error(again, 1, contains="diff_id")


def test_config_with_the_wrong_number_of_diff_ids(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    a, b = _layer("count-a"), _layer("count-b")
    config = fixturegen.make_config([a.diff_id], [{"created_by": "COPY a /"}])
    image = fixturegen.make_image([a, b], config)
    pusher.push_image(repo_name, "v1", image.manifest, {x.digest: x for x in image.blobs()})
    mark = registry.mark()
    run = layerscope("analyze", f"{registry.host}/{repo_name}:v1", "-o", "json")
    assert_one_line_error(run, InvalidManifestError.exit_code, contains="1 diff_ids for 2 layers")
    assert [r for r in registry.blob_gets(mark, repo=repo_name) if r.digest in (a.digest, b.digest)] == []


def test_unknown_layer_media_type_fails_before_any_download(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    layer = _layer("weird-type")
    image = fixturegen.make_image(
        [
            fixturegen.Layer(
                fixturegen.Blob("application/x-weird-layer", layer.blob.data), layer.diff_id, layer.expected
            )
        ],
        fixturegen.make_config([layer.diff_id], [{"created_by": "COPY x /"}]),
    )
    pusher.push_image(repo_name, "v1", image.manifest, {b.digest: b for b in image.blobs()})
    mark = registry.mark()
    run = layerscope("analyze", f"{registry.host}/{repo_name}:v1", "-o", "json")
    assert_one_line_error(run, 1, contains="unsupported layer media type 'application/x-weird-layer'")
    assert registry.blob_gets(mark, repo=repo_name, digest=layer.digest) == []


def test_sha512_layer_digests_and_diff_ids_are_verified_and_measured(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    layer = _layer("sha512")
    tar = gzip.decompress(layer.blob.data)
    digest = "sha512:" + hashlib.sha512(layer.blob.data).hexdigest()
    diff_id = "sha512:" + hashlib.sha512(tar).hexdigest()
    pusher.push_blob(repo_name, layer.blob.data, digest)
    config = fixturegen.make_config([diff_id], [{"created_by": "COPY x /"}])
    pusher.push_blob(repo_name, config.data)
    manifest = {
        "schemaVersion": 2,
        "mediaType": fixturegen.OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [{"mediaType": fixturegen.OCI_LAYER_GZIP, "digest": digest, "size": layer.blob.size}],
    }
    pusher.push_json_manifest(repo_name, "v1", manifest)
    run = layerscope("analyze", f"{registry.host}/{repo_name}:v1", "-o", "json")
    assert run.exit_code == 0, run.stderr
    got = run.json()["images"][0]["layers"][0]
    truth = tar_counts(tar)
    assert got["digest"] == digest and got["diff_id"] == diff_id
    assert got["uncompressed_bytes"] == len(tar) and got["extracted_bytes"] == truth["extracted_bytes"]
    assert got["files"] == truth["files"]


def test_descriptor_size_that_lies_is_a_size_error_and_nothing_is_stored(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    layer = _layer("size-lie")
    config = fixturegen.make_config([layer.diff_id], [{"created_by": "COPY x /"}])
    for blob in (layer.blob, config):
        pusher.push_blob(repo_name, blob.data)
    desc = {**layer.descriptor(), "size": layer.blob.size + 10}  # distribution 2.8 does not check sizes
    manifest = {
        "schemaVersion": 2,
        "mediaType": fixturegen.OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [desc],
    }
    pusher.push_json_manifest(repo_name, "v1", manifest)
    run = layerscope("analyze", f"{registry.host}/{repo_name}:v1", "-o", "json")
    assert_one_line_error(run, SizeMismatchError.exit_code, contains="descriptor says")
    assert store_entries(layerscope) == 0


def test_oversized_config_is_refused_without_downloading_it(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Layerscope
) -> None:
    layer = _layer("big-config")
    history = [{"created_by": "COPY x /", "comment": "x" * (9 << 20)}]  # a 9 MiB config, over the 8 MiB cap
    image = fixturegen.make_image([layer], fixturegen.make_config([layer.diff_id], history))
    pusher.push_image(repo_name, "v1", image.manifest, {b.digest: b for b in image.blobs()})
    mark = registry.mark()
    run = layerscope("analyze", f"{registry.host}/{repo_name}:v1", "-o", "json")
    assert_one_line_error(run, InvalidManifestError.exit_code, contains="limit")
    assert registry.blob_gets(mark, repo=repo_name) == []


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda blob: blob[:10] + bytes(b ^ 0x55 for b in blob[10:40]) + blob[40:], "gzip"),
        (lambda blob: gzip.compress(gzip.decompress(blob)[:3000], mtime=0), "truncated"),
        (lambda blob: b"PK\x03\x04 this is a zip file, not a layer" + bytes(600), "neither gzip, zstd nor tar"),
    ],
    ids=["corrupt-gzip", "truncated-tar", "not-a-layer"],
)
def test_corrupt_layer_pushed_as_is_is_a_clean_error(
    corrupt: Callable[[bytes], bytes],
    message: str,
    registry: RegistryProcess,
    pusher: Pusher,
    repo_name: str,
    layerscope: Layerscope,
) -> None:
    layer = _layer("corrupt-me")
    bad = corrupt(layer.blob.data)
    blob = fixturegen.Blob(fixturegen.OCI_LAYER_GZIP, bad)
    broken = fixturegen.Layer(blob, layer.diff_id, layer.expected)  # the registry stores it; digest is honest
    image = fixturegen.make_image([broken], fixturegen.make_config([layer.diff_id], [{"created_by": "x"}]))
    pusher.push_image(repo_name, "v1", image.manifest, {b.digest: b for b in image.blobs()})
    run = layerscope("analyze", f"{registry.host}/{repo_name}:v1", "-o", "json")
    assert_one_line_error(run, CorruptLayerError.exit_code, contains=message)
    assert store_entries(layerscope) == 0


# -- what a registry cannot store but a hostile one (the proxy) can serve ----------------------------------


def _manifest_with(pushed: Pushed, **changes: Any) -> bytes:
    doc = json.loads(pushed.image.manifest.data)
    for key, value in changes.items():
        if key == "layer0":
            doc["layers"][0].update(value)
        else:
            doc[key] = value
    return json.dumps(doc).encode()


@pytest.fixture(scope="module")
def hostile_base(registry: RegistryProcess) -> Pushed:
    with Pusher(registry.url) as p:
        return push_with_truth(p, "hostile/base", "v1", [_layer("hostile-base")])


@pytest.mark.parametrize(
    ("body", "exit_code", "message"),
    [
        (lambda p: b"this is not json {", 1, "not valid JSON"),
        (lambda p: b"[" * 200_000 + b"]" * 200_000, 1, "not valid JSON"),
        (lambda p: b"[1, 2, 3]", 1, "not a JSON object"),
        (lambda p: b"\xff\xfe{}", 1, "not valid JSON"),
        (lambda p: _manifest_with(p, schemaVersion=1), 1, "schema 1"),
        (lambda p: _manifest_with(p, mediaType="application/x-unknown"), 1, "unsupported manifest media type"),
        # md5:… fits the spec's digest grammar (a valid, unregistered algorithm): refused when it must be read.
        (lambda p: _manifest_with(p, layer0={"digest": "md5:" + "0" * 32}), 1, "('md5') layerscope cannot verify"),
        (lambda p: _manifest_with(p, layer0={"digest": "sha256:" + "Z" * 64}), 1, "invalid layer 0 digest"),
        (lambda p: _manifest_with(p, layer0={"size": -1}), 1, "size must be a non-negative integer"),
        (lambda p: _manifest_with(p, layer0={"size": 1e400}), 1, "size must be a non-negative integer"),
        (lambda p: _manifest_with(p, layers="nope"), 1, "layers must be a list"),
        (lambda p: _manifest_with(p, annotations={"big": "x" * (5 << 20)}), 1, "limit"),
    ],
    ids=[
        "garbage",
        "deep-nesting",
        "array",
        "bad-utf8",
        "schema1",
        "unknown-media-type",
        "md5-digest",
        "uppercase-digest",
        "negative-size",
        "infinite-size",
        "layers-not-a-list",
        "over-the-cap",
    ],
)
def test_malformed_manifest_from_a_hostile_registry(
    body: Callable[[Pushed], bytes],
    exit_code: int,
    message: str,
    hostile_base: Pushed,
    proxy: FaultProxy,
    layerscope: Layerscope,
) -> None:
    proxy.replace_body("/manifests/", body(hostile_base), content_type=fixturegen.OCI_MANIFEST)
    run = layerscope("analyze", hostile_base.at(proxy.host), "-o", "json")
    assert_one_line_error(run, exit_code, contains=message)
    assert proxy.calls("/blobs/") == []  # nothing downloaded on the strength of a bad manifest


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (b"{not json", "not valid JSON"),
        (json.dumps({"rootfs": {"diff_ids": ["sha1:" + "0" * 40]}}).encode(), "invalid diff_id"),
        (json.dumps({"rootfs": {"diff_ids": "x"}}).encode(), "rootfs.diff_ids is missing"),
        (json.dumps({"rootfs": {"diff_ids": []}, "history": [1]}).encode(), "history entries must be objects"),
    ],
    ids=["garbage", "sha1-diff-id", "diff-ids-not-a-list", "bad-history"],
)
def test_malformed_config_served_under_its_own_digest(
    config: bytes, message: str, proxy: FaultProxy, hostile_base: Pushed, layerscope: Layerscope
) -> None:
    # The manifest (by tag, no digest header) points at a config that hashes right but says nonsense.
    manifest = _manifest_with(
        hostile_base, config={"mediaType": fixturegen.OCI_CONFIG, "digest": _sha256(config), "size": len(config)}
    )
    proxy.replace_body("/manifests/", manifest, content_type=fixturegen.OCI_MANIFEST)
    proxy.replace_body(r"/blobs/" + _sha256(config), config)
    run = layerscope("analyze", hostile_base.at(proxy.host), "-o", "json")
    assert_one_line_error(run, 1, contains=message)


# == layers given to measure_layer directly: tar bombs ==========================================================


def _header(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.mtime = size, kind, 0
    return info.tobuf(fmt)


def _fix_checksum(block: bytearray) -> bytearray:
    block[148:156] = b"        "
    block[148:156] = b"%06o\x00 " % sum(block)
    return block


def _raw_header(kind: bytes, size_field: bytes, name: bytes = b"x") -> bytes:
    block = bytearray(512)
    block[0 : len(name)] = name
    block[100:108] = b"0000644\x00"
    block[124:136] = size_field
    block[156:157] = kind
    block[257:263] = b"ustar\x00"
    block[263:265] = b"00"
    return bytes(_fix_checksum(block))


def _measure_uncompressed(data: bytes | Iterator[bytes], size: int, limits: Limits | None = None) -> Any:
    chunks = _chunks(data) if isinstance(data, bytes) else data
    kwargs = {"limits": limits} if limits else {}
    return measure_layer(chunks, _desc(size, MediaType.OCI_LAYER), **kwargs)


class _Endless:
    """*first*, then 64 KiB chunks of filler forever, counting what was read (the declared size is huge)."""

    def __init__(self, first: bytes) -> None:
        self.first, self.read = first, 0

    def __iter__(self) -> Iterator[bytes]:
        yield self.first
        filler = b"a" * 65536
        while True:
            self.read += len(filler)
            yield filler


def test_pax_header_declaring_100_gb_is_refused_at_once() -> None:
    stream = _Endless(_raw_header(b"x", _o(100 * 10**9)))
    with pytest.raises(CorruptLayerError, match="exceeds the 1048576-byte limit"):
        _measure_uncompressed(iter(stream), 512 + 100 * 10**9)
    assert stream.read <= 1 << 20  # a bounded read-ahead, not the declared 100 GB


def test_pax_record_with_an_absurd_length_is_malformed() -> None:
    record = b"999999999999999999 path=x\n"
    data = _raw_header(b"x", _o(len(record))) + record.ljust(512, b"\x00") + _header("f") + bytes(1024)
    with pytest.raises(CorruptLayerError, match="malformed record"):
        _measure_uncompressed(data, len(data))


def test_pax_size_of_thousands_of_digits_is_corrupt_not_a_crash() -> None:
    info = tarfile.TarInfo("big")
    info.pax_headers = {"size": "9" * 5000}
    data = info.tobuf(tarfile.PAX_FORMAT) + bytes(1024)
    with pytest.raises(CorruptLayerError, match="at most 2\\*\\*63-1"):
        _measure_uncompressed(data, len(data))


def test_gnu_long_name_declaring_100_mb_is_refused_at_once() -> None:
    stream = _Endless(_raw_header(b"L", _o(100 << 20), b"././@LongLink"))
    with pytest.raises(CorruptLayerError, match="exceeds the 1048576-byte limit"):
        _measure_uncompressed(iter(stream), 100 << 20)
    assert stream.read <= 1 << 20


def test_base256_size_beyond_int64_is_corrupt() -> None:
    field = b"\x80" + b"\xff" * 11  # 2**88 - 1: base-256, positive, more than Go's int64
    data = _raw_header(b"0", field) + bytes(1024)
    with pytest.raises(CorruptLayerError, match="invalid size field"):
        _measure_uncompressed(data, len(data))


def _old_gnu_sparse(realsize: bytes, entries: list[tuple[bytes, bytes]], stored: int, extended: bool = False) -> bytes:
    block = bytearray(_raw_header(b"S", _o(stored), b"sparse"))
    block[257:265] = b"ustar  \x00"  # old GNU magic
    for i, (offset, length) in enumerate(entries[:4]):
        block[386 + 24 * i : 398 + 24 * i] = offset
        block[398 + 24 * i : 410 + 24 * i] = length
    block[482] = 1 if extended else 0
    block[483:495] = realsize
    return bytes(_fix_checksum(block))


def _o(n: int) -> bytes:
    """A 12-byte numeric field: octal when it fits, else GNU base-256."""
    return b"%011o\x00" % n if n < 8**11 else b"\x80" + n.to_bytes(11, "big")


@pytest.mark.parametrize(
    ("realsize", "entries", "message"),
    [
        (b"\x80" + b"\xff" * 11, [(_o(0), _o(512))], "invalid realsize"),
        (_o(1 << 20), [(_o(2 << 20), _o(512))], "beyond the file's size"),
        (_o(1 << 20), [(_o(4096), _o(512)), (_o(0), _o(0))], "out of order"),
        (_o(1 << 20), [(_o(0), _o(4096)), (_o(1024), _o(512))], "overlapping"),
        (_o(1 << 20), [(_o(0), _o(1024))], "describes 1024 bytes of data, the entry stores 512"),
        (_o(1 << 20), [(b"\x80" + b"\xff" * 11, _o(512))], "invalid number"),
    ],
    ids=["realsize-beyond-int64", "fragment-beyond-size", "unsorted", "overlap", "data-mismatch", "bad-number"],
)
def test_old_gnu_sparse_entry_with_an_absurd_map(
    realsize: bytes, entries: list[tuple[bytes, bytes]], message: str
) -> None:
    data = _old_gnu_sparse(realsize, entries, 512) + bytes(512) + bytes(1024)
    with pytest.raises(CorruptLayerError, match=message):
        _measure_uncompressed(data, len(data))


def test_old_gnu_sparse_map_extension_chain_is_bounded() -> None:
    """An endless chain of sparse extension blocks ends at max_header_bytes, not at the end of the layer."""
    first = _old_gnu_sparse(_o(1 << 40), [(_o(0), _o(0))], 0, extended=True)
    ext = bytearray(512)
    ext[504] = 1  # isextended, forever
    blocks = bytes(ext) * 2048  # 1 MiB of extension blocks per chunk

    def stream() -> Iterator[bytes]:
        yield first
        for _ in range(1024):  # a 1 GiB chain, if nothing stopped it
            yield blocks

    start = time.monotonic()
    with pytest.raises(CorruptLayerError, match="sparse map exceeds"):
        _measure_uncompressed(stream(), 512 + (1 << 30))
    assert time.monotonic() - start < 5


def test_pax_sparse_realsize_beyond_int64_is_corrupt() -> None:
    info = tarfile.TarInfo("GNUSparseFile.0/f")
    info.size = 512
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.realsize": str(1 << 64)}
    data = info.tobuf(tarfile.PAX_FORMAT) + bytes(512) + bytes(1024)
    with pytest.raises(CorruptLayerError, match=r"GNU\.sparse\.realsize"):
        _measure_uncompressed(data, len(data))


def _tiny_entries(count: int, per_chunk: int = 2048) -> tuple[Iterator[bytes], int]:
    """An uncompressed tar of *count* empty files, all at distinct paths, streamed.

    One chunk of headers is built and re-used with another directory name per round: the names `abcDEF/`
    with D = 9-a, E = 9-b, F = 9-c all have the same byte sum, so the header checksums stay valid.
    """
    chunk = b"".join(_header(f"000999/f{i:05d}") for i in range(per_chunk))
    rounds = count // per_chunk
    assert rounds <= 1000

    def stream() -> Iterator[bytes]:
        for r in range(rounds):
            a, b, c = f"{r:03d}"
            directory = f"{a}{b}{c}{9 - int(a)}{9 - int(b)}{9 - int(c)}/".encode()
            yield chunk.replace(b"000999/", directory)
        yield bytes(1024)

    return stream(), len(chunk) * rounds + 1024


def test_a_million_tiny_entries_are_measured_in_bounded_time() -> None:
    stream, size = _tiny_entries(1 << 20)  # 512 MiB of tar headers, within the 10-million-entries limit
    start = time.monotonic()
    m = _measure_uncompressed(stream, size)
    # Every path distinct: the walker's path table (duplicate detection) holds a million fingerprints.
    assert m.files == 1 << 20 and m.extracted_bytes == 0 and m.uncompressed_bytes == size
    assert time.monotonic() - start < 30


def test_a_million_entries_at_one_path_count_once() -> None:
    """What extraction leaves: a path written a million times is one file (issue #12 item 7)."""
    one = _header("same/path", size=0)
    rounds = 1 << 10

    def stream() -> Iterator[bytes]:
        for _ in range(rounds):
            yield one * 1024
        yield bytes(1024)

    m = _measure_uncompressed(stream(), len(one) * 1024 * rounds + 1024)
    assert m.files == 1


@pytest.mark.stress
def test_four_million_tiny_entries_are_measured_in_bounded_time() -> None:
    stream, size = _tiny_entries(4 << 20, per_chunk=8192)  # 512 rounds: the distinct-name scheme allows 1000
    start = time.monotonic()
    m = _measure_uncompressed(stream, size)
    assert m.files == 4 << 20 and m.uncompressed_bytes == size
    assert time.monotonic() - start < 120


def test_entries_beyond_the_limit_stop_the_walk_early() -> None:
    stream, size = _tiny_entries(64 * 1024)
    with pytest.raises(CorruptLayerError, match="more than 10000 headers"):
        _measure_uncompressed(stream, size, Limits(max_entries=10_000))


# == decompression bombs: bounded by Limits, in a child process whose peak RSS is measured =======================

_BOMB = textwrap.dedent(
    """
    import gzip, json, sys, tarfile, time, zstandard
    sys.path.insert(0, {root!r})
    from layerscope.errors import CorruptLayerError
    from layerscope.measure import Limits, measure_layer
    from layerscope.oci import Descriptor, MediaType

    GIB = 1 << 30
    info = tarfile.TarInfo("zeros")
    info.size = 64 * GIB  # one file of 64 GiB of zeros: the tar walk skips it, everything else streams it
    header = info.tobuf(tarfile.GNU_FORMAT)

    def zstd_bomb():
        yield zstandard.ZstdCompressor().compress(header)
        rle = ((128 * 1024) << 3 | 1 << 1).to_bytes(3, "little") + b"\\x00"  # 128 KiB of zeros per 4 bytes
        yield b"\\x28\\xb5\\x2f\\xfd\\x00\\x38"
        for _ in range(64 * GIB // (128 * 1024) // 16384):
            yield rle * 16384  # 2 GiB of zeros per 64 kB chunk

    def gzip_bomb():
        yield gzip.compress(header)
        member = gzip.compress(bytes(64 << 20), compresslevel=9, mtime=0)  # 64 MiB of zeros, ~64 kB
        while True:
            yield member

    kind, limits = sys.argv[1], json.loads(sys.argv[2])
    stream = {{"zstd": zstd_bomb, "gzip": gzip_bomb}}[kind]()
    start = time.monotonic()
    try:
        measure_layer(stream, Descriptor(MediaType.OCI_LAYER_ZSTD, "sha256:" + "ab" * 32, 1 << 40),
                      limits=Limits(**limits))
        outcome = "measured"
    except CorruptLayerError as exc:
        outcome = exc.message
    print(json.dumps({{"outcome": outcome, "seconds": time.monotonic() - start}}))
    """
).format(root=ROOT)


def _bomb(kind: str, **limits: int) -> dict[str, Any]:
    rc, out, err, maxrss_kib, _ = run_measured([sys.executable, "-c", _BOMB, kind, json.dumps(limits)], timeout=120)
    assert rc == 0, err[-2000:]
    result: dict[str, Any] = json.loads(out)
    result["maxrss_kib"] = maxrss_kib
    return result


def test_zstd_bomb_of_many_gigabytes_stops_at_the_ratio_limit_in_small_memory() -> None:
    got = _bomb("zstd")  # default Limits: ratio 2048 checked from 1 GiB on
    assert "times its compressed size" in got["outcome"], got
    assert got["maxrss_kib"] < 64 * 1024, got
    assert got["seconds"] < 30, got


def test_zstd_bomb_stops_at_the_absolute_limit() -> None:
    got = _bomb("zstd", max_uncompressed_bytes=256 << 20, ratio_floor_bytes=1 << 40)
    assert "more than 268435456 bytes" in got["outcome"], got
    assert got["maxrss_kib"] < 64 * 1024, got


def test_gzip_bomb_stops_at_the_absolute_limit() -> None:
    # Deflate cannot pass ~1032:1, so the ratio limit never trips on gzip; the absolute bound does.
    got = _bomb("gzip", max_uncompressed_bytes=512 << 20)
    assert "more than 536870912 bytes" in got["outcome"], got
    assert got["maxrss_kib"] < 64 * 1024, got


# == properties: mutated real streams never crash and never measure wrong ==========================================

_TAR = fixturegen.tar_bytes(fixturegen.linux_base_entries("hostile-property"))
_GZIP = gzip.compress(_TAR, mtime=0)
_ZSTD = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(_TAR)
_ZSTD_NO_CHECKSUM = zstandard.ZstdCompressor(level=3).compress(_TAR)
_LIMITS = Limits(max_header_bytes=64 * 1024, max_entries=5000)


def _mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        out[position % len(out)] = value
    return bytes(out[:cut] if cut is not None else out)


def _independent(blob: bytes) -> dict[str, Any] | None:
    """What Python's own gzip/zstandard/tarfile make of *blob*, or None when they refuse it."""
    try:
        tar = truth_decompress(blob)
        # An empty stream is an empty layer (Go's archive/tar: no entries); tarfile calls it an error.
        counts = tar_counts(tar) if tar else dict.fromkeys(("files", "dirs", "symlinks", "hardlinks"), 0)
        counts.setdefault("extracted_bytes", 0)
    except Exception:
        return None
    return {"diff_id": _sha256(tar), "uncompressed": len(tar), **counts}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.sampled_from(["gzip", "zstd", "zstd-no-checksum"]),
    edits=st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.integers(0, 1 << 16)),
    chunk=st.integers(1, 70_000),
)
def test_property_mutated_compressed_layers_measure_right_or_are_corrupt(
    source: str, edits: list[tuple[int, int]], cut: int | None, chunk: int
) -> None:
    original = {"gzip": _GZIP, "zstd": _ZSTD, "zstd-no-checksum": _ZSTD_NO_CHECKSUM}[source]
    blob = _mutate(original, edits, cut)
    try:
        m = measure_layer(_chunks(blob, chunk), _desc(len(blob)), limits=_LIMITS)
    except CorruptLayerError:
        return
    # layerscope accepted it: then every number must be what an independent reader gets from the same bytes.
    truth = _independent(blob)
    assert truth is not None, "layerscope measured a blob that Python's gzip/zstandard/tarfile refuse"
    assert m.diff_id == truth["diff_id"] and m.uncompressed_bytes == truth["uncompressed"]
    assert (m.files, m.dirs, m.symlinks, m.hardlinks) == (
        truth["files"],
        truth["dirs"],
        truth["symlinks"],
        truth["hardlinks"],
    )
    assert m.extracted_bytes == truth["extracted_bytes"]


def _headers_of(tar: bytes) -> list[int]:
    """Offsets of the header blocks of a tar (from tarfile's own reading)."""
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        return [m.offset for m in tf.getmembers()]


_HEADER_OFFSETS = _headers_of(_TAR)


@settings(max_examples=200, deadline=None)
@given(
    which=st.integers(0, len(_HEADER_OFFSETS) - 1),
    field=st.sampled_from([(0, 100), (100, 108), (124, 136), (156, 157), (157, 257), (257, 265), (345, 500)]),
    value=st.binary(min_size=1, max_size=160),
    fix_checksum=st.booleans(),
    chunk=st.integers(1, 4096),
)
def test_property_mutated_real_tar_headers_walk_or_raise_our_error(
    which: int, field: tuple[int, int], value: bytes, fix_checksum: bool, chunk: int
) -> None:
    """Header fields of a real tar replaced by anything (checksum recomputed, so the parse goes deeper)."""
    tar = bytearray(_TAR)
    start = _HEADER_OFFSETS[which] + field[0]
    length = field[1] - field[0]
    tar[start : start + length] = value[:length].ljust(length, b"\x00")
    if fix_checksum:
        block = bytearray(tar[_HEADER_OFFSETS[which] : _HEADER_OFFSETS[which] + 512])
        tar[_HEADER_OFFSETS[which] : _HEADER_OFFSETS[which] + 512] = _fix_checksum(block)
    walker = TarWalker(max_entries=5000, max_header_bytes=64 * 1024)
    try:
        for piece in _chunks(bytes(tar), chunk):
            walker.feed(piece)
        stats = walker.finish()
    except CorruptLayerError:
        return
    assert min(stats.files, stats.dirs, stats.extracted_bytes, stats.other_entries) >= 0
    assert stats.extracted_bytes <= (1 << 63) - 1


_MANIFEST = fixturegen.make_image([_layer("prop-manifest")], fixturegen.make_config([_sha256(b"")], [{}])).manifest.data
_CONFIG = fixturegen.make_config([_sha256(b"a"), _sha256(b"b")], [{"created_by": "a"}, {"created_by": "b"}]).data


@settings(max_examples=200, deadline=None)
@given(
    which=st.sampled_from(["manifest", "config"]),
    edits=st.lists(st.tuples(st.integers(0, 4096), st.integers(0, 255)), min_size=1, max_size=6),
)
def test_property_mutated_real_manifests_and_configs_parse_or_raise_our_error(
    which: str, edits: list[tuple[int, int]]
) -> None:
    raw = _mutate(_MANIFEST if which == "manifest" else _CONFIG, edits, None)
    try:
        if which == "manifest":
            parse_manifest_or_index(raw)
        else:
            parse_config(raw)
    except ContentError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.builds(lambda b: b.decode("latin-1"), st.binary(max_size=200)))
def test_property_www_authenticate_never_raises(header: str) -> None:
    for challenge in parse_www_authenticate(header):
        assert challenge.scheme == challenge.scheme.lower()


@settings(max_examples=300, deadline=None)
@given(
    value=st.one_of(st.none(), st.text(max_size=60), st.builds(lambda b: b.decode("latin-1"), st.binary(max_size=40))),
    status=st.sampled_from([429, 500, 502, 503, 504, 404]),
    attempt=st.integers(1, 10),
)
def test_property_retry_after_and_decide_never_raise(value: str | None, status: int, attempt: int) -> None:
    seconds = parse_retry_after(value, now=1_700_000_000.0)
    assert seconds is None or seconds >= 0
    decision = decide(attempt, status=status, error=None, retry_after=value, elapsed=0.0, policy=RetryPolicy())
    assert isinstance(decision, Retry | Fail)
    if isinstance(decision, Retry):
        assert 0 <= decision.delay <= RetryPolicy().max_delay


@pytest.mark.parametrize(
    "ref",
    [
        "127.0.0.1:99999/team/app:1",  # a port that does not exist (was: five connection attempts)
        "127.0.0.1:0/team/app:1",
        "a" * 64 + ".example.com/team/app:1",  # a DNS label over 63 characters (was: internal UnicodeError)
        "registry.example.com/team/app:é",  # a non-ASCII tag (Go's grammar is ASCII)
        "registry.example.com/Team/App:1",
        "registry.example.com/team/app@md5:" + "0" * 32,
        "registry.example.com/team/app@sha256:" + "0" * 63,
        "",
    ],
)
def test_malformed_references_are_usage_errors_before_any_network(ref: str, layerscope: Layerscope) -> None:
    start = time.monotonic()
    run = layerscope("analyze", ref, "-o", "json")
    assert_one_line_error(run, 2)
    assert time.monotonic() - start < 2
