"""Independent ground truth for layer blobs and layout images.

Computed with Python's own `hashlib`, `gzip`/`zlib`, `zstandard` and `tarfile` only — never with
layerscope's code (this module must not import layerscope), so that tests compare layerscope's
measurements with a second, independent computation.

Definitions (DESIGN.md "Words"):

- `size` / `digest`: the blob as stored (compressed bytes).
- `diff_id` / `uncompressed_size`: sha256 / length of the decompressed tar stream (all gzip members or
  zstd frames, end-of-archive padding included).
- `extracted_bytes`: sum of the sizes of regular files; hard links, whiteouts, symlinks, dirs count 0.
- `files`: regular files that are not whiteouts. `hardlinks`, `symlinks`, `dirs`, `whiteouts` (any entry
  whose base name starts with `.wh.`, opaque markers `.wh..wh..opq` included) and `other` (devices,
  fifos) are counted apart.
- `windows_files_bytes` / `windows_hives_bytes`: the part of `extracted_bytes` under the top-level
  `Files/` and `Hives/` directories (Windows layer layout); a leading `./` or `/` is ignored.
- A path that occurs several times counts once, as its *last* entry (what extraction leaves; paths
  compared after `posixpath.normpath`).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import posixpath
import tarfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import zstandard

from tests.support.ocilayout import INDEX_TYPES, OciLayout

__all__ = [
    "ForeignTruth",
    "ImageTruth",
    "LayerTruth",
    "decompress",
    "gzip_members",
    "image_truth",
    "layer_truth",
    "layout_layer_truths",
    "sniff",
    "tar_counts",
    "tar_fields",
    "zstd_frames",
]

_LAYER_PREFIXES = ("application/vnd.oci.image.layer.", "application/vnd.docker.image.rootfs.")
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sniff(blob: bytes) -> str:
    """`gzip`, `zstd` or `none`, from the blob's magic bytes."""
    if blob.startswith(_GZIP_MAGIC):
        return "gzip"
    if blob.startswith(_ZSTD_MAGIC):
        return "zstd"
    return "none"


def gzip_members(blob: bytes) -> int:
    """Number of concatenated gzip members (empty members included); raise on a truncated member."""
    count = 0
    data = blob
    while data:
        d = zlib.decompressobj(wbits=31)
        d.decompress(data)
        if not d.eof:
            raise ValueError("truncated gzip member")
        count += 1
        data = d.unused_data
    return count


def zstd_frames(blob: bytes) -> int:
    """Number of concatenated zstd frames; raise on a truncated frame."""
    count = 0
    data = blob
    while data:
        d = zstandard.ZstdDecompressor().decompressobj()
        d.decompress(data)
        if not d.eof:
            raise ValueError("truncated zstd frame")
        count += 1
        data = d.unused_data
    return count


def decompress(blob: bytes, compression: str | None = None) -> bytes:
    """The whole decompressed stream (every gzip member / zstd frame)."""
    compression = compression or sniff(blob)
    if compression == "gzip":
        return gzip.decompress(blob)
    if compression == "zstd":
        out = io.BytesIO()
        with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob), read_across_frames=True) as reader:
            while chunk := reader.read(1 << 20):
                out.write(chunk)
        return out.getvalue()
    return blob


def tar_fields(tar: bytes) -> dict[str, int | None]:
    """`tar_counts` under layerscope's field names; the Windows split is None unless the tar has top-level
    `Files` and `Hives` entries. An empty stream is an empty archive (as in Go's archive/tar)."""
    c = tar_counts(tar) if tar else dict.fromkeys(_COUNT_KEYS, 0)
    tops: set[str] = set()
    if tar:
        with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
            for member in archive:
                name = member.name
                while name.startswith(("./", "/")):
                    name = name[2:] if name.startswith("./") else name[1:]
                tops.add(name.split("/", 1)[0])
    windows = {"Files", "Hives"} <= tops
    return {
        "files": c["files"],
        "dirs": c["dirs"],
        "symlinks": c["symlinks"],
        "hardlinks": c["hardlinks"],
        "whiteouts": c["whiteouts"],
        "other_entries": c["other"],
        "extracted_bytes": c["extracted_bytes"],
        "windows_files_bytes": c["windows_files_bytes"] if windows else None,
        "windows_hives_bytes": c["windows_hives_bytes"] if windows else None,
    }


_COUNT_KEYS = (
    "extracted_bytes",
    "files",
    "dirs",
    "symlinks",
    "hardlinks",
    "whiteouts",
    "other",
    "windows_files_bytes",
    "windows_hives_bytes",
)


def _last_entries(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The entry extraction leaves at each path: the last one (paths compared after cleaning)."""
    last: dict[str, tarfile.TarInfo] = {}
    for member in archive:
        last[posixpath.normpath("/" + member.name).lstrip("/")] = member
    return list(last.values())


def tar_counts(tar: bytes) -> dict[str, int]:
    """Counts and byte sums of a tar stream (see the module docstring)."""
    c = dict.fromkeys(_COUNT_KEYS, 0)
    with tarfile.open(fileobj=io.BytesIO(tar), mode="r:") as archive:
        for member in _last_entries(archive):
            name = member.name
            while name.startswith(("./", "/")):
                name = name[2:] if name.startswith("./") else name[1:]
            base = name.rstrip("/").rsplit("/", 1)[-1]
            if base.startswith(".wh."):
                c["whiteouts"] += 1
            elif member.islnk():
                c["hardlinks"] += 1
            elif member.issym():
                c["symlinks"] += 1
            elif member.isdir():
                c["dirs"] += 1
            elif member.isreg():
                c["files"] += 1
                c["extracted_bytes"] += member.size
                top = name.split("/", 1)[0]
                if top == "Files":
                    c["windows_files_bytes"] += member.size
                elif top == "Hives":
                    c["windows_hives_bytes"] += member.size
            else:
                c["other"] += 1
    return c


@dataclass(frozen=True)
class LayerTruth:
    """Ground truth of one layer blob (field names match scripts/fixturegen.py's `Expected`)."""

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
    compression: str
    gzip_members: int | None = None
    zstd_frames: int | None = None
    other: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def layer_truth(blob: bytes, compression: str | None = None) -> LayerTruth:
    """Ground truth for a layer *blob*; *compression* (gzip/zstd/none) is sniffed when not given."""
    compression = compression or sniff(blob)
    tar = decompress(blob, compression)
    return LayerTruth(
        digest=_sha256(blob),
        size=len(blob),
        diff_id=_sha256(tar),
        uncompressed_size=len(tar),
        compression=compression,
        gzip_members=gzip_members(blob) if compression == "gzip" else None,
        zstd_frames=zstd_frames(blob) if compression == "zstd" else None,
        **tar_counts(tar),
    )


@dataclass(frozen=True)
class ForeignTruth:
    """A foreign layer not present in the layout: only its descriptor is known."""

    digest: str
    size: int
    media_type: str
    urls: tuple[str, ...]
    diff_id: str


@dataclass(frozen=True)
class ImageTruth:
    """Ground truth of one image of a layout: manifest, config and every layer."""

    manifest_digest: str
    manifest_media_type: str
    index_digest: str | None
    config_digest: str
    config: dict[str, Any]
    layers: tuple[LayerTruth | ForeignTruth, ...]

    @property
    def compressed_bytes(self) -> int:
        """Sum of descriptor sizes (foreign layers included)."""
        return sum(layer.size for layer in self.layers)

    @property
    def uncompressed_bytes(self) -> int | None:
        """Sum of uncompressed sizes, or None when a layer (foreign) is not in the layout."""
        if any(isinstance(layer, ForeignTruth) for layer in self.layers):
            return None
        return sum(layer.uncompressed_size for layer in self.layers if isinstance(layer, LayerTruth))

    @property
    def extracted_bytes(self) -> int | None:
        """Sum of extracted bytes, or None when a layer (foreign) is not in the layout."""
        if any(isinstance(layer, ForeignTruth) for layer in self.layers):
            return None
        return sum(layer.extracted_bytes for layer in self.layers if isinstance(layer, LayerTruth))


def _platform_matches(entry: dict[str, Any], platform: str) -> bool:
    p = entry.get("platform") or {}
    want = platform.split("/")
    have = [p.get("os", ""), p.get("architecture", ""), p.get("variant", "")][: len(want)]
    return have == want


def image_truth(layout_dir: Path | str, tag: str, platform: str | None = None) -> ImageTruth:
    """Ground truth of image *tag* of an OCI layout; for an index pick *platform* (`os/arch[/variant]`)."""
    layout = OciLayout(Path(layout_dir))
    desc = layout.resolve(tag)
    index_digest = None
    if desc["mediaType"] in INDEX_TYPES:
        index_digest = desc["digest"]
        entries = [
            e
            for e in layout.json_blob(desc["digest"])["manifests"]
            if (e.get("platform") or {}).get("os") not in (None, "unknown")
        ]
        if platform is not None:
            entries = [e for e in entries if _platform_matches(e, platform)]
        if len(entries) != 1:
            raise ValueError(f"{tag}: {len(entries)} images match platform {platform!r}")
        desc = entries[0]
    manifest = layout.json_blob(desc["digest"])
    config = layout.json_blob(manifest["config"]["digest"])
    diff_ids = config["rootfs"]["diff_ids"]
    layers: list[LayerTruth | ForeignTruth] = []
    for i, layer in enumerate(manifest["layers"]):
        if layout.has_blob(layer["digest"]):
            layers.append(layer_truth(layout.blob(layer["digest"])))
        else:
            layers.append(
                ForeignTruth(
                    digest=layer["digest"],
                    size=layer["size"],
                    media_type=layer["mediaType"],
                    urls=tuple(layer.get("urls", ())),
                    diff_id=diff_ids[i],
                )
            )
    return ImageTruth(
        manifest_digest=desc["digest"],
        manifest_media_type=manifest.get("mediaType", desc["mediaType"]),
        index_digest=index_digest,
        config_digest=manifest["config"]["digest"],
        config=config,
        layers=tuple(layers),
    )


def layout_layer_truths(layout_dir: Path | str) -> dict[str, LayerTruth]:
    """Ground truth of every image layer blob in a layout (attestation layers excluded), by digest."""
    layout = OciLayout(Path(layout_dir))
    out: dict[str, LayerTruth] = {}
    for desc in layout.tags().values():
        for d in layout.walk(desc):
            is_layer = d["mediaType"].startswith(_LAYER_PREFIXES)
            if is_layer and d["digest"] not in out:
                out[d["digest"]] = layer_truth(layout.blob(d["digest"]))
    return out
