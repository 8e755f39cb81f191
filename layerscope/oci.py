"""OCI image-spec and Docker v2 data model: media types, descriptors, manifests, indexes, configs.

Parsing validates shape and digests, keeps the raw bytes (their digest is the content's address), and
raises InvalidManifestError / UnsupportedMediaTypeError for anything else. Pure: no I/O.
Specs: https://github.com/opencontainers/image-spec (manifest.md, image-index.md, config.md) and
https://distribution.github.io/distribution/spec/manifest-v2-2/ for Docker schema 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from layerscope.digest import compute, is_digest, parse_digest
from layerscope.errors import InvalidManifestError, UnsupportedDigestError, UnsupportedMediaTypeError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_MANIFEST_BYTES",
    "Compression",
    "Descriptor",
    "EntryKind",
    "HistoryEntry",
    "ImageConfig",
    "Index",
    "Manifest",
    "MediaType",
    "Platform",
    "layer_compression",
    "parse_config",
    "parse_manifest_or_index",
    "require_verifiable",
]

# Caps on what we parse into memory: the distribution spec suggests registries accept manifests of at
# least 4 MiB; configs of real Windows images are a few KiB (history can grow to ~100 KiB).
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
MAX_CONFIG_BYTES = 8 * 1024 * 1024


class MediaType(StrEnum):
    """Media types layerscope recognises."""

    OCI_INDEX = "application/vnd.oci.image.index.v1+json"
    OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
    OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
    OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
    OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
    OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
    OCI_LAYER_ND = "application/vnd.oci.image.layer.nondistributable.v1.tar"
    OCI_LAYER_ND_GZIP = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
    OCI_LAYER_ND_ZSTD = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
    OCI_EMPTY = "application/vnd.oci.empty.v1+json"
    DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
    DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
    DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
    DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
    DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
    DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"


INDEX_TYPES = frozenset({MediaType.OCI_INDEX, MediaType.DOCKER_LIST})
MANIFEST_TYPES = frozenset({MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({MediaType.OCI_CONFIG, MediaType.DOCKER_CONFIG})
SCHEMA1_TYPES = frozenset({MediaType.DOCKER_SCHEMA1, MediaType.DOCKER_SCHEMA1_SIGNED})
#: Config media types that Docker Hub-era registries and clients wrote for image configs: moby's puller
#: treats them as images (docker/distribution#1621, moby/moby#22378 and #30083), so layerscope does too
#: when every layer is a layer media type (an artifact with such a config has other layers).
LEGACY_CONFIG_TYPES = frozenset({"application/octet-stream", "application/json", "text/html", ""})
#: What we send in Accept when fetching a manifest by tag or digest.
ACCEPT_MANIFESTS = (
    MediaType.OCI_INDEX,
    MediaType.DOCKER_LIST,
    MediaType.OCI_MANIFEST,
    MediaType.DOCKER_MANIFEST,
)


class Compression(StrEnum):
    """How a layer blob is compressed."""

    GZIP = "gzip"
    ZSTD = "zstd"
    NONE = "none"


_LAYER_COMPRESSION: dict[str, Compression] = {
    MediaType.OCI_LAYER: Compression.NONE,
    MediaType.OCI_LAYER_GZIP: Compression.GZIP,
    MediaType.OCI_LAYER_ZSTD: Compression.ZSTD,
    MediaType.OCI_LAYER_ND: Compression.NONE,
    MediaType.OCI_LAYER_ND_GZIP: Compression.GZIP,
    MediaType.OCI_LAYER_ND_ZSTD: Compression.ZSTD,
    MediaType.DOCKER_LAYER: Compression.GZIP,
    MediaType.DOCKER_FOREIGN: Compression.GZIP,
    # Docker's uncompressed layer type, seen from `docker save` style sources.
    "application/vnd.docker.image.rootfs.diff.tar": Compression.NONE,
}
_FOREIGN = frozenset(
    {
        MediaType.DOCKER_FOREIGN,
        MediaType.OCI_LAYER_ND,
        MediaType.OCI_LAYER_ND_GZIP,
        MediaType.OCI_LAYER_ND_ZSTD,
    }
)


def layer_compression(media_type: str) -> Compression:
    """The compression a layer media type declares; raise for a type that is not a layer."""
    try:
        return _LAYER_COMPRESSION[media_type]
    except KeyError:
        raise UnsupportedMediaTypeError(
            f"unsupported layer media type {media_type!r}",
            hint="layerscope measures OCI and Docker v2 image layers (tar, gzip, zstd)",
        ) from None


def is_foreign(media_type: str) -> bool:
    """True for foreign / non-distributable layers (not pushed to the registry; fetched from `urls`)."""
    return media_type in _FOREIGN


@dataclass(frozen=True, slots=True)
class Platform:
    """An image platform; `os_version` is the Windows build (e.g. 10.0.17763.2928)."""

    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None
    os_features: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        if self.variant:
            text += f"/{self.variant}"
        if self.os_version:
            text += f":{self.os_version}"
        return text

    def to_json(self) -> dict[str, Any]:
        """The `platform` object of the analysis JSON."""
        return {
            "os": self.os,
            "architecture": self.architecture,
            "variant": self.variant,
            "os_version": self.os_version,
        }


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A content descriptor: what a manifest says about a blob or another manifest."""

    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None
    artifact_type: str | None = None

    @property
    def foreign(self) -> bool:
        """True for a foreign / non-distributable layer."""
        return is_foreign(self.media_type)

    @property
    def verifiable(self) -> bool:
        """True when the digest's algorithm is one layerscope can verify (sha256, sha512)."""
        return is_digest(self.digest)


@dataclass(frozen=True, slots=True)
class Manifest:
    """An image manifest (OCI or Docker schema 2)."""

    media_type: str
    digest: str
    config: Descriptor
    layers: tuple[Descriptor, ...]
    raw: bytes
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_image(self) -> bool:
        """True when the config is an image config (not an artifact such as an attestation or signature).

        A Docker Hub-era config type (LEGACY_CONFIG_TYPES) counts when every layer is a layer media type.
        """
        if self.artifact_type is not None:
            return False
        if self.config.media_type in CONFIG_TYPES:
            return True
        return self.config.media_type in LEGACY_CONFIG_TYPES and all(
            layer.media_type in _LAYER_COMPRESSION for layer in self.layers
        )


@dataclass(frozen=True, slots=True)
class Index:
    """An image index (OCI) or manifest list (Docker)."""

    media_type: str
    digest: str
    manifests: tuple[Descriptor, ...]
    raw: bytes
    annotations: Mapping[str, str] = field(default_factory=dict)

    def images(self) -> tuple[Descriptor, ...]:
        """Entries that are images for a declared platform: attestations and `unknown/unknown` are skipped.

        Entries without `platform` (OPTIONAL in image-index.md) and nested indexes are not listed here:
        resolution.py follows them.
        """
        return tuple(d for d in self.manifests if entry_kind(d) is EntryKind.IMAGE and d.platform is not None)


class EntryKind(StrEnum):
    """What an index entry is, from its descriptor alone."""

    IMAGE = "image"  # an image manifest (its platform may be absent: read it from the config)
    INDEX = "index"  # a nested index (image-index.md: implementations SHOULD support it)
    OTHER = "other"  # an attestation, an artifact or an unknown media type: skipped, never an error


def entry_kind(d: Descriptor) -> EntryKind:
    """Classify an index entry (image-index.md: an unknown mediaType MUST NOT generate an error)."""
    if d.media_type in INDEX_TYPES:
        return EntryKind.INDEX
    if d.media_type not in MANIFEST_TYPES or d.artifact_type is not None:
        return EntryKind.OTHER
    if "vnd.docker.reference.type" in d.annotations:  # buildkit attestation manifests
        return EntryKind.OTHER
    if d.platform is not None and (d.platform.os == "unknown" or d.platform.architecture == "unknown"):
        return EntryKind.OTHER
    return EntryKind.IMAGE


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One `history` entry of an image config."""

    created_by: str = ""
    created: str | None = None
    comment: str | None = None
    empty_layer: bool = False


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """The parts of an image config layerscope uses."""

    digest: str
    os: str
    architecture: str
    variant: str | None
    os_version: str | None
    diff_ids: tuple[str, ...]
    history: tuple[HistoryEntry, ...]
    raw: bytes

    def layer_history(self) -> tuple[HistoryEntry, ...]:
        """History entries that created a layer, in layer order (empty_layer ones dropped)."""
        return tuple(h for h in self.history if not h.empty_layer)

    @property
    def platform(self) -> Platform:
        """The platform the config declares."""
        return Platform(self.os, self.architecture, self.variant, self.os_version)


def _load_json(raw: bytes, what: str, cap: int) -> dict[str, Any]:
    if len(raw) > cap:
        raise InvalidManifestError(f"{what} is {len(raw)} bytes, over the {cap}-byte limit")
    try:
        doc = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise InvalidManifestError(f"{what} is not valid JSON: {str(exc)[:80]}") from None
    if not isinstance(doc, dict):
        raise InvalidManifestError(f"{what} is not a JSON object")
    return doc


def _str(doc: Mapping[str, Any], key: str, what: str, *, required: bool = True) -> str | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise InvalidManifestError(f"{what}: field {key!r} must be a string")
    return value


def _annotations(doc: Mapping[str, Any], what: str) -> dict[str, str]:
    value = doc.get("annotations")
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidManifestError(f"{what}: annotations must map strings to strings")
    return dict(value)


def _platform(doc: Any, what: str) -> Platform | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise InvalidManifestError(f"{what}: platform must be an object")
    features = doc.get("os.features") or ()
    if not isinstance(features, list | tuple) or not all(isinstance(f, str) for f in features):
        raise InvalidManifestError(f"{what}: os.features must be a list of strings")
    return Platform(
        os=_str(doc, "os", what) or "",
        architecture=_str(doc, "architecture", what) or "",
        variant=_str(doc, "variant", what, required=False),
        os_version=_str(doc, "os.version", what, required=False),
        os_features=tuple(features),
    )


# The digest grammar of image-spec descriptor.md#digests. A digest of an unregistered algorithm is valid
# ("Implementations SHOULD allow digests with unrecognized algorithms to pass validation"): it is kept,
# and refused only when layerscope would have to fetch and verify that content (require_verifiable).
_DIGEST_GRAMMAR = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
# Registered algorithms impose their encoding (sha256: 64 lowercase hex, sha512: 128, blake3: 64).
_REGISTERED = {
    "sha256": re.compile(r"[a-f0-9]{64}"),
    "sha512": re.compile(r"[a-f0-9]{128}"),
    "blake3": re.compile(r"[a-f0-9]{64}"),
}


def _descriptor_digest(value: object, what: str) -> str:
    if isinstance(value, str) and _DIGEST_GRAMMAR.fullmatch(value):
        algorithm, _, encoded = value.partition(":")
        strict = _REGISTERED.get(algorithm)
        if strict is None or strict.fullmatch(encoded):
            return value
    return parse_digest(value, what=what)  # raises with the usual message and hint


def require_verifiable(descriptor: Descriptor, what: str) -> None:
    """Raise UnsupportedDigestError unless layerscope can verify content addressed by *descriptor*."""
    if not descriptor.verifiable:
        algorithm = descriptor.digest.partition(":")[0]
        raise UnsupportedDigestError(
            f"{what} is addressed by {descriptor.digest[:40]}…, a digest algorithm ({algorithm!r}) layerscope"
            " cannot verify, so it is not read"
        )


def parse_descriptor(doc: Any, what: str) -> Descriptor:
    """Parse and validate one descriptor object (the digest may use any algorithm the spec's grammar allows)."""
    if not isinstance(doc, dict):
        raise InvalidManifestError(f"{what} is not an object")
    media_type = _str(doc, "mediaType", what) or ""
    digest = _descriptor_digest(doc.get("digest"), f"{what} digest")
    size = doc.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise InvalidManifestError(f"{what}: size must be a non-negative integer")
    urls = doc.get("urls") or ()
    if not isinstance(urls, list | tuple) or not all(isinstance(u, str) for u in urls):
        raise InvalidManifestError(f"{what}: urls must be a list of strings")
    return Descriptor(
        media_type=media_type,
        digest=digest,
        size=size,
        urls=tuple(urls),
        annotations=_annotations(doc, what),
        platform=_platform(doc.get("platform"), what),
        artifact_type=_str(doc, "artifactType", what, required=False),
    )


def parse_manifest_or_index(raw: bytes, content_type: str | None = None) -> Manifest | Index:
    """Parse a manifest or index; *content_type* is the registry's header, used when the body has none."""
    doc = _load_json(raw, "manifest", MAX_MANIFEST_BYTES)
    digest = compute(raw)
    media_type = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    schema = doc.get("schemaVersion")
    if schema == 1 or media_type in SCHEMA1_TYPES:
        raise UnsupportedMediaTypeError(
            "Docker schema 1 manifests are not supported",
            hint="re-push the image with a current client to get a schema 2 / OCI manifest",
        )
    if schema != 2:
        raise InvalidManifestError("manifest: schemaVersion must be 2")
    if not media_type:
        # OCI allows mediaType to be absent; infer from shape (image-spec manifest.md, image-index.md).
        media_type = MediaType.OCI_INDEX if "manifests" in doc else MediaType.OCI_MANIFEST
    if media_type in INDEX_TYPES:
        entries = doc.get("manifests")
        if not isinstance(entries, list):
            raise InvalidManifestError("index: manifests must be a list")
        return Index(
            media_type=media_type,
            digest=digest,
            manifests=tuple(parse_descriptor(e, f"index entry {i}") for i, e in enumerate(entries)),
            raw=raw,
            annotations=_annotations(doc, "index"),
        )
    if media_type in MANIFEST_TYPES:
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise InvalidManifestError("manifest: layers must be a list")
        subject = doc.get("subject")
        # `subject` is never fetched here: any digest the spec's grammar allows is kept (image-spec
        # manifest.md; the referrers API is what reads it).
        return Manifest(
            media_type=media_type,
            digest=digest,
            config=parse_descriptor(doc.get("config"), "manifest config"),
            layers=tuple(parse_descriptor(e, f"layer {i}") for i, e in enumerate(layers)),
            raw=raw,
            subject=parse_descriptor(subject, "manifest subject") if subject is not None else None,
            artifact_type=_str(doc, "artifactType", "manifest", required=False),
            annotations=_annotations(doc, "manifest"),
        )
    raise UnsupportedMediaTypeError(
        f"unsupported manifest media type {media_type!r}",
        hint="layerscope reads OCI image manifests/indexes and Docker schema 2 manifests/lists",
    )


def parse_config(raw: bytes, digest: str | None = None) -> ImageConfig:
    """Parse an image config (OCI image-spec config.md); *digest* defaults to the sha256 of *raw*."""
    doc = _load_json(raw, "image config", MAX_CONFIG_BYTES)
    rootfs = doc.get("rootfs")
    if not isinstance(rootfs, dict) or not isinstance(rootfs.get("diff_ids"), list):
        raise InvalidManifestError("image config: rootfs.diff_ids is missing")
    diff_ids = tuple(parse_digest(d, what="diff_id") for d in rootfs["diff_ids"])
    history_doc = doc.get("history") or []
    if not isinstance(history_doc, list):
        raise InvalidManifestError("image config: history must be a list")
    history = []
    for h in history_doc:
        if not isinstance(h, dict):
            raise InvalidManifestError("image config: history entries must be objects")
        created_by = h.get("created_by", "")
        history.append(
            HistoryEntry(
                created_by=created_by if isinstance(created_by, str) else "",
                created=h["created"] if isinstance(h.get("created"), str) else None,
                comment=h["comment"] if isinstance(h.get("comment"), str) else None,
                empty_layer=h.get("empty_layer") is True,
            )
        )
    return ImageConfig(
        digest=digest or compute(raw),
        os=_str(doc, "os", "image config", required=False) or "",
        architecture=_str(doc, "architecture", "image config", required=False) or "",
        variant=_str(doc, "variant", "image config", required=False),
        os_version=_str(doc, "os.version", "image config", required=False),
        diff_ids=diff_ids,
        history=tuple(history),
        raw=raw,
    )
