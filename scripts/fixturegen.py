"""Deterministic fixture images for layerscope's tests (a library; `make_fixtures.py` is its CLI).

Everything here is built from explicit entry lists with fixed metadata (mtime, uid/gid, modes, sorted
members), gzip with mtime=0 and fixed levels, so the same code produces the same bytes on every run.
Each layer carries the ground truth its builder *declares* from the entries it put in (`Expected`);
`tests/support/truth.py` recomputes the same facts independently by parsing the blob, and the tests
compare the two. This module must not import layerscope.

Public API (see the docstrings):
    entries: file, directory, symlink, hardlink, whiteout, opaque, random_bytes, repeated_bytes
    layers:  make_layer(entries, compression=..., media_type=...) -> Layer, big_layer(megabytes, ...)
    images:  make_config(...), make_image(...), make_index(...), foreign_layer(...)
    sets:    build_fixture_set() -> FixtureSet, write_layout(out_dir, fixture_set)
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import itertools
import json
import os
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import zstandard

__all__ = [
    "MTIME",
    "REF_NAME",
    "TAGS",
    "Blob",
    "Entry",
    "Expected",
    "FixtureSet",
    "Image",
    "IndexImage",
    "Layer",
    "big_layer",
    "build_fixture_set",
    "compress",
    "directory",
    "file",
    "foreign_layer",
    "hardlink",
    "make_config",
    "make_image",
    "make_index",
    "make_layer",
    "opaque",
    "random_bytes",
    "repeated_bytes",
    "symlink",
    "tar_bytes",
    "whiteout",
    "write_layout",
]

#: Every tar member's mtime: 2024-01-01T00:00:00Z.
MTIME = 1704067200
CREATED = "2024-01-01T00:00:00Z"
REF_NAME = "org.opencontainers.image.ref.name"

# Media types, spelled out here so that the generator does not depend on layerscope.
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"

Compression = Literal["gzip", "gzip-multimember", "zstd", "zstd-multiframe", "none"]
_DEFAULT_MEDIA_TYPE: dict[str, str] = {
    "gzip": OCI_LAYER_GZIP,
    "gzip-multimember": OCI_LAYER_GZIP,
    "zstd": OCI_LAYER_ZSTD,
    "zstd-multiframe": OCI_LAYER_ZSTD,
    "none": OCI_LAYER,
}

#: The tags written to fixtures/layout, in index.json order.
TAGS = (
    "linux-gzip",
    "linux-gzip-multimember",
    "linux-zstd",
    "linux-uncompressed",
    "windows-style",
    "multi-platform",
    "windows-app",
    "servercore-ltsc2019-2022-05",
    "servercore-ltsc2019-2022-09",
)

# ../shared/reference beside the checkout (read-only project data); only used to re-check constants.
REFERENCE_DIR = Path(
    os.environ.get("LAYERSCOPE_REFERENCE_DIR", str(Path(__file__).resolve().parents[2] / "shared" / "reference"))
)


def sha256(data: bytes) -> str:
    """`sha256:<hex>` of *data*."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------------
# Content


def random_bytes(n: int, seed: str | int) -> bytes:
    """*n* incompressible bytes from a seeded, version-stable generator (SHAKE-256 of the seed)."""
    return hashlib.shake_256(f"layerscope-fixture:{seed}".encode()).digest(n) if n else b""


def repeated_bytes(n: int, pattern: bytes = b"layerscope repeated data\n") -> bytes:
    """*n* highly compressible bytes: *pattern* repeated."""
    return (pattern * (n // len(pattern) + 1))[:n]


EntryKind = Literal["file", "dir", "symlink", "hardlink", "whiteout"]


@dataclass(frozen=True)
class Entry:
    """One tar member. `whiteout` entries are empty regular files named `.wh.*`."""

    path: str
    kind: EntryKind
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644
    pax: Mapping[str, str] = field(default_factory=dict)


def file(path: str, data: bytes = b"", mode: int = 0o644, pax: Mapping[str, str] | None = None) -> Entry:
    """A regular file (empty when *data* is empty)."""
    return Entry(path, "file", data, mode=mode, pax=dict(pax or {}))


def directory(path: str, mode: int = 0o755, pax: Mapping[str, str] | None = None) -> Entry:
    """A directory."""
    return Entry(path.rstrip("/"), "dir", mode=mode, pax=dict(pax or {}))


def symlink(path: str, target: str) -> Entry:
    """A symbolic link to *target*."""
    return Entry(path, "symlink", linkname=target, mode=0o777)


def hardlink(path: str, target: str) -> Entry:
    """A hard link to the earlier member *target* (it must sort before *path*)."""
    return Entry(path, "hardlink", linkname=target)


def whiteout(removed_path: str) -> Entry:
    """The whiteout that deletes *removed_path* of a lower layer: `dir/.wh.name`."""
    head, _, name = removed_path.rpartition("/")
    return Entry(f"{head}/.wh.{name}" if head else f".wh.{name}", "whiteout")


def opaque(dir_path: str) -> Entry:
    """The opaque-directory marker `dir/.wh..wh..opq` (hides the lower layers' content of *dir_path*)."""
    return Entry(f"{dir_path.rstrip('/')}/.wh..wh..opq", "whiteout")


def _with_parents(entries: Iterable[Entry]) -> list[Entry]:
    """Entries plus any missing parent directories, sorted by path (parents before children)."""
    by_path: dict[str, Entry] = {}
    for e in entries:
        if e.path in by_path:
            raise ValueError(f"duplicate tar member {e.path!r}")
        by_path[e.path] = e
    for path in list(by_path):
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            by_path.setdefault(parent, directory(parent))
    return [by_path[p] for p in sorted(by_path, key=lambda p: p.split("/"))]


def tar_bytes(entries: Iterable[Entry]) -> bytes:
    """A PAX tar of *entries* with fixed metadata, parents added, members sorted."""
    buf = io.BytesIO()
    written: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in _with_parents(entries):
            if e.kind == "hardlink" and e.linkname not in written:
                raise ValueError(f"hard link {e.path!r} precedes its target {e.linkname!r}")
            written.add(e.path)
            info = tarfile.TarInfo(e.path + ("/" if e.kind == "dir" else ""))
            info.mtime = MTIME
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mode = e.mode
            if e.pax:
                info.pax_headers = dict(e.pax)
            if e.kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif e.kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = e.linkname
                tar.addfile(info)
            elif e.kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = e.linkname
                tar.addfile(info)
            else:
                info.type = tarfile.REGTYPE
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
    return buf.getvalue()


def _split(data: bytes, parts: int) -> list[bytes]:
    """*data* cut into *parts* pieces at arbitrary (not tar-aligned) offsets."""
    if parts <= 1 or len(data) < parts:
        return [data]
    step = len(data) // parts
    cuts = [0] + [i * step + 7 * i for i in range(1, parts)] + [len(data)]
    return [data[a:b] for a, b in itertools.pairwise(cuts)]


def compress(data: bytes, compression: Compression, *, parts: int = 3) -> bytes:
    """Deterministically compress *data*.

    `gzip`: one member, level 6, mtime 0. `gzip-multimember`: *parts* members concatenated plus an empty
    member in the middle (valid gzip that naive readers stop at). `zstd`: one frame with content size and
    checksum. `zstd-multiframe`: *parts* frames concatenated. `none`: the data itself.
    """
    if compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if compression == "gzip-multimember":
        pieces = _split(data, parts)
        members = [gzip.compress(p, compresslevel=6, mtime=0) for p in pieces]
        members.insert(1, gzip.compress(b"", compresslevel=6, mtime=0))
        return b"".join(members)
    cctx = zstandard.ZstdCompressor(level=3, write_checksum=True, write_content_size=True)
    if compression == "zstd":
        return cctx.compress(data)
    if compression == "zstd-multiframe":
        return b"".join(cctx.compress(p) for p in _split(data, parts))
    raise ValueError(f"unknown compression {compression!r}")


# --------------------------------------------------------------------------------------------------
# Layers and their declared ground truth


@dataclass(frozen=True)
class Expected:
    """What a layer's builder declares about it (computed from the entries, not from the blob).

    `files` counts regular files that are not whiteouts; hard links, whiteouts, symlinks and dirs are
    counted apart and contribute 0 to `extracted_bytes`. `windows_files_bytes` / `windows_hives_bytes`
    split `extracted_bytes` by the top-level `Files/` and `Hives/` directories of Windows layers.
    """

    digest: str
    size: int
    diff_id: str
    uncompressed_size: int
    extracted_bytes: int
    files: int
    dirs: int
    symlinks: int
    hardlinks: int
    whiteouts: int
    windows_files_bytes: int
    windows_hives_bytes: int
    compression: str  # gzip | zstd | none
    gzip_members: int | None = None
    zstd_frames: int | None = None
    other: int = 0  # devices, fifos: never generated


@dataclass(frozen=True)
class Blob:
    """Some bytes with the media type they are stored under."""

    media_type: str
    data: bytes

    @property
    def digest(self) -> str:
        return sha256(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        """The OCI descriptor of this blob (extra keys such as `platform`/`annotations` appended)."""
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size, **extra}


@dataclass(frozen=True)
class Layer:
    """A layer blob plus its diff_id and declared ground truth."""

    blob: Blob
    diff_id: str
    expected: Expected

    @property
    def digest(self) -> str:
        return self.blob.digest

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return self.blob.descriptor(**extra)


@dataclass(frozen=True)
class ForeignLayer:
    """A foreign layer known only by its descriptor (the blob is not in any fixture)."""

    media_type: str
    digest: str
    size: int
    diff_id: str
    urls: tuple[str, ...]

    def descriptor(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "size": self.size, "digest": self.digest, "urls": list(self.urls)}


def _declared(entries: Sequence[Entry]) -> dict[str, int]:
    full = _with_parents(entries)
    counts = dict.fromkeys(
        ("files", "dirs", "symlinks", "hardlinks", "whiteouts", "extracted", "win_files", "win_hives"), 0
    )
    key = {"file": "files", "dir": "dirs", "symlink": "symlinks", "hardlink": "hardlinks", "whiteout": "whiteouts"}
    for e in full:
        counts[key[e.kind]] += 1
        if e.kind == "file":
            counts["extracted"] += len(e.data)
            top = e.path.split("/", 1)[0]
            if top == "Files":
                counts["win_files"] += len(e.data)
            elif top == "Hives":
                counts["win_hives"] += len(e.data)
    return counts


def make_layer(
    entries: Sequence[Entry], compression: Compression = "gzip", *, media_type: str | None = None, parts: int = 3
) -> Layer:
    """Build a layer blob from *entries*; *media_type* defaults to the OCI type of *compression*."""
    tar = tar_bytes(entries)
    data = compress(tar, compression, parts=parts)
    blob = Blob(media_type or _DEFAULT_MEDIA_TYPE[compression], data)
    c = _declared(entries)
    algo = compression.split("-")[0]
    members = (len(_split(tar, parts)) + 1) if compression == "gzip-multimember" else 1 if algo == "gzip" else None
    frames = len(_split(tar, parts)) if compression == "zstd-multiframe" else 1 if algo == "zstd" else None
    expected = Expected(
        digest=blob.digest,
        size=blob.size,
        diff_id=sha256(tar),
        uncompressed_size=len(tar),
        extracted_bytes=c["extracted"],
        files=c["files"],
        dirs=c["dirs"],
        symlinks=c["symlinks"],
        hardlinks=c["hardlinks"],
        whiteouts=c["whiteouts"],
        windows_files_bytes=c["win_files"],
        windows_hives_bytes=c["win_hives"],
        compression=algo,
        gzip_members=members,
        zstd_frames=frames,
    )
    return Layer(blob, sha256(tar), expected)


def big_layer(
    megabytes: float,
    *,
    compression: Compression = "gzip",
    seed: str | int = "big",
    compressible_fraction: float = 0.5,
    windows: bool = False,
    file_size: int = 4 * 1024 * 1024,
) -> Layer:
    """A layer of about *megabytes* MiB of file content, split into files of *file_size* bytes.

    *compressible_fraction* of the bytes are repeated text, the rest seeded random bytes. With
    *windows* the files go under `Files/` (plus a small `Hives/` delta) like a Windows layer.
    """
    total = int(megabytes * 1024 * 1024)
    prefix = "Files/big" if windows else "data/big"
    entries: list[Entry] = []
    n = 0
    remaining = total
    while remaining > 0:
        size = min(file_size, remaining)
        cut = int(size * compressible_fraction)
        data = repeated_bytes(cut, f"{seed}-{n} ".encode()) + random_bytes(size - cut, f"{seed}-{n}")
        entries.append(file(f"{prefix}/part{n:05d}.bin", data))
        remaining -= size
        n += 1
    if windows:
        entries.append(file("Hives/Software_Delta", random_bytes(8192, f"{seed}-hive")))
    media_type = DOCKER_LAYER if windows and compression == "gzip" else None
    return make_layer(entries, compression, media_type=media_type)


# --------------------------------------------------------------------------------------------------
# Configs, manifests, indexes


def _json(doc: Any) -> bytes:
    """Canonical-ish JSON bytes: sorted keys, compact separators (what gets hashed)."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def make_config(
    diff_ids: Sequence[str],
    history: Sequence[Mapping[str, Any]],
    *,
    os_name: str = "linux",
    architecture: str = "amd64",
    variant: str | None = None,
    os_version: str | None = None,
    docker: bool = False,
    config: Mapping[str, Any] | None = None,
) -> Blob:
    """An image config blob (OCI, or Docker's when *docker*)."""
    doc: dict[str, Any] = {
        "architecture": architecture,
        "created": history[-1].get("created", CREATED) if history else CREATED,
        "os": os_name,
        "rootfs": {"type": "layers", "diff_ids": list(diff_ids)},
        "history": [dict(h) for h in history],
        "config": dict(config or {}),
    }
    if variant:
        doc["variant"] = variant
    if os_version:
        doc["os.version"] = os_version
    non_empty = sum(1 for h in history if not h.get("empty_layer"))
    if non_empty != len(diff_ids):
        raise ValueError(f"history has {non_empty} layer entries for {len(diff_ids)} diff_ids")
    return Blob(DOCKER_CONFIG if docker else OCI_CONFIG, _json(doc))


@dataclass(frozen=True)
class Image:
    """One image: manifest, config and layers (foreign layers have no blob)."""

    manifest: Blob
    config: Blob
    layers: tuple[Layer | ForeignLayer, ...]
    platform: Mapping[str, Any]

    @property
    def digest(self) -> str:
        return self.manifest.digest

    def blobs(self) -> list[Blob]:
        """Config and layer blobs that exist (not foreign), in manifest order."""
        return [self.config] + [layer.blob for layer in self.layers if isinstance(layer, Layer)]


@dataclass(frozen=True)
class IndexImage:
    """An image index and what it lists (images and attestation manifests)."""

    index: Blob
    images: tuple[Image, ...]
    attestations: tuple[Image, ...]

    @property
    def digest(self) -> str:
        return self.index.digest


def make_image(
    layers: Sequence[Layer | ForeignLayer],
    config: Blob,
    *,
    docker: bool = False,
    annotations: Mapping[str, str] | None = None,
) -> Image:
    """An image manifest (OCI, or Docker schema 2 when *docker*) over *config* and *layers*."""
    cfg = json.loads(config.data)
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor() for layer in layers],
    }
    if annotations:
        doc["annotations"] = dict(annotations)
    platform = {"architecture": cfg.get("architecture"), "os": cfg.get("os")}
    if cfg.get("variant"):
        platform["variant"] = cfg["variant"]
    if cfg.get("os.version"):
        platform["os.version"] = cfg["os.version"]
    # Docker writes schema 2 manifests with 3-space indentation; buildkit writes compact OCI JSON.
    raw = json.dumps(doc, indent=3) if docker else json.dumps(doc, separators=(",", ":"))
    manifest = Blob(doc["mediaType"], raw.encode())
    return Image(manifest, config, tuple(layers), platform)


def _attestation(subject: Image, seed: str) -> Image:
    """A buildkit-style attestation manifest (in-toto SPDX + provenance) for *subject*."""
    statements = []
    for kind, predicate in (("sbom", "https://spdx.dev/Document"), ("provenance", "https://slsa.dev/provenance/v0.2")):
        body = {
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": predicate,
            "subject": [{"name": f"pkg:docker/layerscope/fixture@{seed}", "digest": {"sha256": subject.digest[7:]}}],
            "predicate": {"fixture": kind},
        }
        statements.append((Blob(IN_TOTO, _json(body)), predicate))
    config = Blob(
        OCI_CONFIG,
        _json(
            {
                "architecture": "unknown",
                "os": "unknown",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [b.digest for b, _ in statements]},
            }
        ),
    )
    doc = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [b.descriptor(annotations={"in-toto.io/predicate-type": p}) for b, p in statements],
    }
    fake_layers = tuple(
        Layer(b, b.digest, Expected(b.digest, b.size, b.digest, b.size, 0, 0, 0, 0, 0, 0, 0, 0, "none"))
        for b, _ in statements
    )
    return Image(Blob(OCI_MANIFEST, json.dumps(doc, indent=2).encode()), config, fake_layers, {})


def make_index(images: Sequence[Image], *, attest: Sequence[Image] = ()) -> IndexImage:
    """An OCI index over *images*, plus a buildkit-style attestation entry for each image in *attest*."""
    entries = [img.manifest.descriptor(platform=dict(img.platform)) for img in images]
    attestations = []
    for img in attest:
        att = _attestation(img, seed=img.digest[7:19])
        attestations.append(att)
        entries.append(
            att.manifest.descriptor(
                annotations={
                    "vnd.docker.reference.digest": img.digest,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
                platform={"architecture": "unknown", "os": "unknown"},
            )
        )
    doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    return IndexImage(Blob(OCI_INDEX, json.dumps(doc, indent=2).encode()), tuple(images), tuple(attestations))


def foreign_layer(digest: str, size: int, diff_id: str, *, repository: str = "windows/servercore") -> ForeignLayer:
    """A foreign layer descriptor as MCR published them (blob at mcr.microsoft.com, not in the registry)."""
    return ForeignLayer(
        DOCKER_FOREIGN, digest, size, diff_id, (f"https://mcr.microsoft.com/v2/{repository}/blobs/{digest}",)
    )


# --------------------------------------------------------------------------------------------------
# The fixture images


def _history(created_by: str, *, empty: bool = False, day: int = 1) -> dict[str, Any]:
    h: dict[str, Any] = {"created": f"2024-01-{day:02d}T00:00:00Z", "created_by": created_by}
    if empty:
        h["empty_layer"] = True
    return h


def linux_base_entries(seed: str = "linux-base") -> list[Entry]:
    """A small Linux-style root filesystem: text, random and repeated data, links, an empty file."""
    return [
        file("etc/hostname", b"layerscope\n"),
        file("etc/os-release", b'NAME="Layerscope Fixture Linux"\nID=lsfixture\nVERSION_ID="1.0"\n'),
        file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/sbin/nologin\n"),
        file("etc/empty.conf", b""),
        file("bin/busybox", random_bytes(96 * 1024, f"{seed}-busybox"), mode=0o755),
        symlink("bin/sh", "busybox"),
        symlink("bin/ls", "/bin/busybox"),
        file("usr/lib/libfixture.so.1", random_bytes(48 * 1024, f"{seed}-lib"), mode=0o755),
        symlink("usr/lib/libfixture.so", "libfixture.so.1"),
        file("usr/share/doc/fixture/README", repeated_bytes(64 * 1024, b"Repeated documentation line.\n")),
        file("usr/share/doc/fixture/ünïcode-nämé.txt", b"non-ASCII name, PAX path header\n"),
        file(
            "usr/share/deep/" + "/".join(f"level{i:02d}" for i in range(12)) + "/a-file-with-a-long-path.txt",
            b"a path longer than 100 characters needs a PAX header\n",
        ),
        directory("tmp", mode=0o1777),
        directory("var/empty"),
        file("var/lib/data.bin", random_bytes(40 * 1024, f"{seed}-data")),
        hardlink("var/lib/data.bin.hardlink", "var/lib/data.bin"),
    ]


def linux_app_entries(seed: str = "linux-app") -> list[Entry]:
    """An application layer over linux_base_entries: new files, a whiteout and an opaque directory."""
    return [
        file("app/server", random_bytes(64 * 1024, f"{seed}-server"), mode=0o755),
        file("app/config.yaml", b"listen: 0.0.0.0:8080\nlog: info\n"),
        file("app/static/index.html", repeated_bytes(24 * 1024, b"<p>layerscope</p>\n")),
        file("app/static/empty.css", b""),
        hardlink("app/server-hardlink", "app/server"),
        symlink("app/current", "/app/server"),
        whiteout("etc/empty.conf"),
        opaque("var/lib"),
        file("var/lib/state.json", b'{"fresh": true}\n'),
    ]


def linux_extra_entries(seed: str) -> list[Entry]:
    """A small third layer (for images with 3 layers)."""
    return [
        file("app/plugins/plugin.so", random_bytes(32 * 1024, f"{seed}-plugin"), mode=0o755),
        file("app/plugins/README", repeated_bytes(8 * 1024, b"plugins\n")),
        whiteout("app/static/empty.css"),
    ]


_WIN_DIR = {"MSWINDOWS.fileattr": "16"}
_WIN_FILE = {"MSWINDOWS.fileattr": "32"}
HIVES = ("DefaultUser_Delta", "Sam_Delta", "Security_Delta", "Software_Delta", "System_Delta")


def _win_file(path: str, data: bytes) -> Entry:
    return file(path, data, pax=_WIN_FILE)


def windows_layer_entries(files: Mapping[str, bytes], seed: str, *, hive_size: int = 8192) -> list[Entry]:
    """A Windows-style layer as in `docker save`: `Files/<path>` content plus `Hives/*_Delta`."""
    entries = [directory("Files", pax=_WIN_DIR), directory("Hives", pax=_WIN_DIR)]
    dirs: set[str] = set()
    for path, data in files.items():
        parts = f"Files/{path}".split("/")[:-1]
        dirs.update("/".join(parts[:i]) for i in range(2, len(parts) + 1))
        entries.append(_win_file(f"Files/{path}", data))
    entries += [directory(d, pax=_WIN_DIR) for d in sorted(dirs)]
    entries += [_win_file(f"Hives/{h}", random_bytes(hive_size, f"{seed}-{h}")) for h in HIVES]
    return entries


def windows_base_entries(seed: str = "windows-base") -> list[Entry]:
    """A tiny stand-in for a Server Core base layer (Windows tar layout)."""
    return windows_layer_entries(
        {
            "License.txt": repeated_bytes(12 * 1024, b"Windows fixture license text.\r\n"),
            "Windows/System32/kernel32.dll": random_bytes(80 * 1024, f"{seed}-kernel32"),
            "Windows/System32/ntdll.dll": random_bytes(64 * 1024, f"{seed}-ntdll"),
            "Windows/System32/drivers/etc/hosts": b"127.0.0.1 localhost\r\n",
            "Windows/System32/config/empty.log": b"",
            "Windows/Logs/CBS/CBS.log": repeated_bytes(32 * 1024, b"Info CBS Fixture log line\r\n"),
            "Program Files/WindowsPowerShell/Modules/readme.txt": b"PowerShell modules\r\n",
        },
        seed,
        hive_size=16 * 1024,
    )


def windows_app_entries(seed: str, size_kib: int = 96) -> list[Entry]:
    """A Windows application layer: files under `Files/app` and the registry hive deltas."""
    return windows_layer_entries(
        {
            "app/App.dll": random_bytes(size_kib * 1024, f"{seed}-app"),
            "app/App.exe": random_bytes(16 * 1024, f"{seed}-exe"),
            "app/appsettings.json": b'{"Logging": {"LogLevel": {"Default": "Information"}}}\r\n',
            "app/wwwroot/index.html": repeated_bytes(16 * 1024, b"<p>layerscope windows fixture</p>\r\n"),
        },
        seed,
    )


@dataclass(frozen=True)
class WindowsBase:
    """The Server Core LTSC 2019 base + update pair the `windows-app` fixture sits on."""

    base_digest: str
    base_size: int
    base_label: str
    update_digest: str
    update_size: int
    update_label: str
    os_version: str
    month: str


# May 2022 Server Core 1809/LTSC 2019 (10.0.17763.2928), both foreign MCR layers, from
# /work/shared/reference/windows-base-layers.csv (rows b111c332… "Apply image 10.0.17763.2803" and
# 8b534d64… "Install update 10.0.17763.2928"). Hard-coded so the fixture does not depend on that
# directory; `load_windows_base()` re-reads and checks it when it is there.
SERVERCORE_2019_05 = WindowsBase(
    base_digest="sha256:b111c3320c949bea81612bf4554f1b6592c2f504920b5bf57ba340a1d4d52c93",
    base_size=1877166088,
    base_label="Apply image 10.0.17763.2803",
    update_digest="sha256:8b534d64a7c337eb8a23b425e4f598cd3e7407ddf8c7b2f714d1e7f7ed6a04be",
    update_size=626889777,
    update_label="Install update 10.0.17763.2928",
    os_version="10.0.17763.2928",
    month="2022-05",
)


def load_windows_base(reference_dir: Path = REFERENCE_DIR) -> WindowsBase:
    """SERVERCORE_2019_05, checked against the reference CSV when it is present."""
    path = reference_dir / "windows-base-layers.csv"
    if not path.exists():
        return SERVERCORE_2019_05
    rows = {r["digest"]: r for r in csv.DictReader(path.open(encoding="utf-8"))}
    b = SERVERCORE_2019_05
    for digest, size, label, role in (
        (b.base_digest, b.base_size, b.base_label, "base"),
        (b.update_digest, b.update_size, b.update_label, "update"),
    ):
        row = rows.get(digest)
        if row is None or int(row["compressed_bytes"]) != size or row["history_label"] != label:
            raise ValueError(f"reference CSV disagrees with the fixture's Windows base layer {digest}")
        if row["layer_role"] != role or row["os_version"] != b.os_version or row["media_type_kind"] != "foreign":
            raise ValueError(f"reference CSV row {digest} is not a foreign {role} layer of {b.os_version}")
    return b


def placeholder_diff_id(digest: str) -> str:
    """A deterministic stand-in diff_id for a foreign layer whose real diff_id is not known."""
    return sha256(f"layerscope-fixture-placeholder-diff-id:{digest}".encode())


def known_diff_ids(reference_dir: Path = REFERENCE_DIR) -> dict[str, str]:
    """Compressed digest → diff_id pairs from windows-base-diffids.csv (empty when it is absent)."""
    path = reference_dir / "windows-base-diffids.csv"
    if not path.exists():
        return {}
    rows = csv.DictReader(path.open(encoding="utf-8"))
    return {r["digest"]: r["diff_id"] for r in rows if r["digest"] and r["diff_id"]}


@dataclass
class FixtureSet:
    """All fixture images by tag, and every blob (manifests, configs, layers) by digest."""

    tags: dict[str, Image | IndexImage] = field(default_factory=dict)
    blobs: dict[str, Blob] = field(default_factory=dict)

    def add(self, tag: str, item: Image | IndexImage) -> None:
        self.tags[tag] = item
        self._collect(item)

    def _collect(self, item: Image | IndexImage) -> None:
        if isinstance(item, IndexImage):
            self.blobs[item.index.digest] = item.index
            for sub in (*item.images, *item.attestations):
                self._collect(sub)
            return
        self.blobs[item.manifest.digest] = item.manifest
        for blob in item.blobs():
            self.blobs[blob.digest] = blob

    def layers(self) -> dict[str, Layer]:
        """Every real (non-foreign, non-attestation) layer by digest."""
        out: dict[str, Layer] = {}

        def walk(item: Image | IndexImage) -> None:
            if isinstance(item, IndexImage):
                for img in item.images:
                    walk(img)
                return
            for layer in item.layers:
                if isinstance(layer, Layer) and layer.blob.media_type != IN_TOTO:
                    out[layer.digest] = layer

        for item in self.tags.values():
            walk(item)
        return out


def build_fixture_set() -> FixtureSet:
    """Every image of fixtures/layout (see TAGS), deterministically."""
    fs = FixtureSet()
    base = make_layer(linux_base_entries(), "gzip")
    app = make_layer(linux_app_entries(), "gzip")
    linux_history = [
        _history("/bin/sh -c #(nop) ADD file:fixture-rootfs in / "),
        _history('/bin/sh -c #(nop)  CMD ["/bin/sh"]', empty=True),
        _history("COPY app /app # buildkit", day=2),
        _history("RUN /bin/sh -c install-plugins # buildkit", day=3),
    ]
    extra = make_layer(linux_extra_entries("linux-gzip"), "gzip")
    cfg = make_config([base.diff_id, app.diff_id, extra.diff_id], linux_history, config={"Cmd": ["/app/server"]})
    fs.add("linux-gzip", make_image([base, app, extra], cfg))

    multi = make_layer(linux_app_entries("linux-multimember"), "gzip-multimember", parts=3)
    cfg = make_config([base.diff_id, multi.diff_id], linux_history[:3])
    fs.add("linux-gzip-multimember", make_image([base, multi], cfg))

    zbase = make_layer(linux_base_entries(), "zstd")
    zmulti = make_layer(linux_app_entries("linux-zstd"), "zstd-multiframe", parts=4)
    cfg = make_config([zbase.diff_id, zmulti.diff_id], linux_history[:3])
    fs.add("linux-zstd", make_image([zbase, zmulti], cfg))

    tbase = make_layer(linux_base_entries("linux-uncompressed"), "none")
    tapp = make_layer(linux_extra_entries("linux-uncompressed"), "none")
    cfg = make_config([tbase.diff_id, tapp.diff_id], [linux_history[0], linux_history[3]])
    fs.add("linux-uncompressed", make_image([tbase, tapp], cfg))

    # windows-style: a small, non-foreign Windows image whose history looks like a Jan 2023 Server Core
    # 1809 single-layer base (10.0.17763.3887) — its digests match nothing known, only its history does.
    wbase = make_layer(windows_base_entries(), "gzip")
    wapp1 = make_layer(windows_app_entries("windows-style-run", size_kib=48), "gzip")
    wapp2 = make_layer(windows_app_entries("windows-style-copy", size_kib=32), "gzip")
    win_history = [
        _history("Apply image 10.0.17763.3887"),
        _history('cmd /S /C #(nop)  SHELL [powershell -Command $ErrorActionPreference = "Stop";]', empty=True),
        _history("powershell -Command $ErrorActionPreference = 'Stop'; Install-WindowsFeature Web-Server", day=2),
        _history("cmd /S /C #(nop)  ENV ASPNETCORE_URLS=http://+:80", empty=True, day=2),
        _history("powershell -Command $ErrorActionPreference = 'Stop'; #(nop) COPY dir:fixture in C:\\app ", day=3),
    ]
    cfg = make_config(
        [wbase.diff_id, wapp1.diff_id, wapp2.diff_id],
        win_history,
        os_name="windows",
        os_version="10.0.17763.3887",
        config={"Cmd": ["C:\\app\\App.exe"], "WorkingDir": "C:\\app"},
    )
    windows_style = make_image([wbase, wapp1, wapp2], cfg)
    fs.add("windows-style", windows_style)

    # multi-platform: linux/amd64 (the linux-gzip layers), linux/arm64/v8, windows/amd64 (windows-style),
    # plus buildkit attestation manifests for the two Linux images.
    amd64 = fs.tags["linux-gzip"]
    assert isinstance(amd64, Image)
    arm_app = make_layer(linux_app_entries("linux-arm64"), "gzip")
    cfg = make_config([base.diff_id, arm_app.diff_id], linux_history[:3], architecture="arm64", variant="v8")
    arm64 = make_image([base, arm_app], cfg)
    fs.add("multi-platform", make_index([amd64, arm64, windows_style], attest=[amd64, arm64]))

    fs.add("windows-app", build_windows_app())
    # Stand-ins for mcr.microsoft.com/windows/servercore as a node would have baked them (foreign layers
    # only): the app's own May 2022 revision, and September 2022 (same base layer, another update) for
    # the drift demo (`make demo`, fixtures/demo-node.yaml).
    fs.add(
        "servercore-ltsc2019-2022-05",
        build_servercore(
            SERVERCORE_2019_05.update_digest,
            SERVERCORE_2019_05.update_size,
            SERVERCORE_2019_05.update_label,
            "10.0.17763.2928",
            "2022-05-05T16:02:26Z",
        ),
    )
    fs.add(
        "servercore-ltsc2019-2022-09",
        build_servercore(*SERVERCORE_2019_09_UPDATE, "10.0.17763.3406", "2022-09-08T12:00:00Z"),
    )
    return fs


# Sep 2022 Server Core LTSC 2019 update layer (row cee64bf2… of windows-base-layers.csv), on base b111c332….
SERVERCORE_2019_09_UPDATE = (
    "sha256:cee64bf279e2ca8e924884a10ecb98bfa79c7f0cc8d25e73039b9aeb940815b6",
    826398623,
    "Install update 10.0.17763.3406",
)


def build_servercore(update_digest: str, update_size: int, update_label: str, os_version: str, created: str) -> Image:
    """A Server Core LTSC 2019 image of two foreign layers (base b111c332… + *update*), as MCR serves it."""
    wb = SERVERCORE_2019_05
    layers = [
        foreign_layer(wb.base_digest, wb.base_size, placeholder_diff_id(wb.base_digest)),
        foreign_layer(update_digest, update_size, placeholder_diff_id(update_digest)),
    ]
    history = [
        {"created": "2022-04-08T09:46:40.4372578Z", "created_by": wb.base_label},
        {"created": created, "created_by": update_label},
    ]
    cfg = make_config(
        [layer.diff_id for layer in layers], history, os_name="windows", os_version=os_version, docker=True
    )
    return make_image(layers, cfg, docker=True)


def build_windows_app() -> Image:
    """Docker schema 2 image: 2 foreign Server Core LTSC 2019 layers (May 2022) + 3 small app layers."""
    wb = load_windows_base()
    known = known_diff_ids()
    # Neither b111c332… nor 8b534d64… is in windows-base-diffids.csv, so both diff_ids are
    # deterministic placeholders (placeholder_diff_id); a real one would be used if the CSV knew it.
    base_diff = known.get(wb.base_digest) or placeholder_diff_id(wb.base_digest)
    update_diff = known.get(wb.update_digest) or placeholder_diff_id(wb.update_digest)
    foreign = [
        foreign_layer(wb.base_digest, wb.base_size, base_diff),
        foreign_layer(wb.update_digest, wb.update_size, update_diff),
    ]
    apps = [
        make_layer(windows_app_entries("windows-app-run", size_kib=64), "gzip", media_type=DOCKER_LAYER),
        make_layer(windows_app_entries("windows-app-copy", size_kib=96), "gzip", media_type=DOCKER_LAYER),
        make_layer(windows_app_entries("windows-app-cfg", size_kib=8), "gzip", media_type=DOCKER_LAYER),
    ]
    history: list[dict[str, Any]] = [
        {"created": "2022-04-08T09:46:40.4372578Z", "created_by": wb.base_label},
        {"created": "2022-05-05T16:02:26.4010934Z", "created_by": wb.update_label},
        {
            "created": "2022-05-20T10:00:00Z",
            "created_by": 'cmd /S /C #(nop)  SHELL [powershell -Command $ErrorActionPreference = "Stop";]',
            "empty_layer": True,
        },
        {
            "created": "2022-05-20T10:01:00Z",
            "created_by": "powershell -Command $ErrorActionPreference = 'Stop'; "
            "Install-WindowsFeature NET-Framework-45-ASPNET; New-Item -ItemType Directory C:\\app",
        },
        {"created": "2022-05-20T10:02:00Z", "created_by": "cmd /S /C #(nop) COPY dir:0f5c3a in C:\\app "},
        {"created": "2022-05-20T10:02:30Z", "created_by": "cmd /S /C #(nop) COPY file:9a1d2e in C:\\app\\web.config "},
        {
            "created": "2022-05-20T10:03:00Z",
            "created_by": 'cmd /S /C #(nop)  ENTRYPOINT ["C:\\\\app\\\\App.exe"]',
            "empty_layer": True,
        },
    ]
    cfg = make_config(
        [base_diff, update_diff] + [a.diff_id for a in apps],
        history,
        os_name="windows",
        os_version=wb.os_version,
        docker=True,
        config={"Entrypoint": ["C:\\app\\App.exe"], "WorkingDir": "C:\\app"},
    )
    return make_image([*foreign, *apps], cfg, docker=True)


# --------------------------------------------------------------------------------------------------
# OCI image layout


def write_layout(out_dir: Path | str, fixture_set: FixtureSet | None = None) -> dict[str, dict[str, Any]]:
    """Write *fixture_set* (default: build_fixture_set()) as an OCI image layout; return tag → descriptor.

    Blobs no longer referenced are removed, so the directory holds exactly this fixture set.
    """
    fs = fixture_set or build_fixture_set()
    out = Path(out_dir)
    blob_dir = out / "blobs" / "sha256"
    blob_dir.mkdir(parents=True, exist_ok=True)
    for digest, blob in sorted(fs.blobs.items()):
        path = blob_dir / digest.removeprefix("sha256:")
        if not path.exists() or path.read_bytes() != blob.data:
            path.write_bytes(blob.data)
    wanted = {d.removeprefix("sha256:") for d in fs.blobs}
    for stale in blob_dir.iterdir():
        if stale.name not in wanted:
            stale.unlink()
    refs: dict[str, dict[str, Any]] = {}
    for tag, item in fs.tags.items():
        blob = item.index if isinstance(item, IndexImage) else item.manifest
        refs[tag] = blob.descriptor(annotations={REF_NAME: tag})
    (out / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}', encoding="utf-8")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(refs.values())}
    (out / "index.json").write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return refs
