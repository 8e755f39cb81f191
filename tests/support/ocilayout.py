"""A minimal reader and writer of OCI image layout directories, for tests (independent of layerscope).

`LayoutWriter` builds layouts from documents written out in the tests (so a test can hold exactly the
index, manifest or config the spec allows: entries without `platform`, nested indexes, other config
media types, unregistered digest algorithms) with hashlib and json only.

Spec: https://github.com/opencontainers/image-spec/blob/main/image-layout.md
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["INDEX_TYPES", "MANIFEST_TYPES", "REF_NAME", "LayoutWriter", "OciLayout", "walk_descriptors"]

REF_NAME = "org.opencontainers.image.ref.name"
INDEX_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
MANIFEST_TYPES = frozenset(
    {"application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"}
)


@dataclass(frozen=True)
class OciLayout:
    """An OCI image layout directory: `oci-layout`, `index.json`, `blobs/<alg>/<hex>`."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    def index(self) -> dict[str, Any]:
        """The parsed top-level `index.json`."""
        doc: dict[str, Any] = json.loads((self.path / "index.json").read_bytes())
        return doc

    def tags(self) -> dict[str, dict[str, Any]]:
        """`org.opencontainers.image.ref.name` → descriptor, for every tagged entry of index.json."""
        return {
            d["annotations"][REF_NAME]: d for d in self.index()["manifests"] if REF_NAME in d.get("annotations", {})
        }

    def resolve(self, tag: str) -> dict[str, Any]:
        """The index.json descriptor tagged *tag* (KeyError when there is none)."""
        return self.tags()[tag]

    def blob_path(self, digest: str) -> Path:
        algorithm, _, encoded = digest.partition(":")
        return self.path / "blobs" / algorithm / encoded

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def blob(self, digest: str) -> bytes:
        """The bytes of blob *digest*, verified against the digest."""
        data = self.blob_path(digest).read_bytes()
        algorithm, _, encoded = digest.partition(":")
        if hashlib.new(algorithm, data).hexdigest() != encoded:
            raise ValueError(f"layout blob {digest} does not match its digest")
        return data

    def json_blob(self, digest: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.blob(digest))
        return doc

    def walk(self, descriptor: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every descriptor reachable from *descriptor*, children before parents (push order).

        Foreign layers and other blobs absent from the layout are skipped.
        """
        return walk_descriptors(descriptor, self.blob, self.has_blob)


def walk_descriptors(
    descriptor: dict[str, Any], get: Callable[[str], bytes], has: Callable[[str], bool]
) -> Iterator[dict[str, Any]]:
    """Descriptors reachable from *descriptor* through *get* (digest → bytes), children first.

    Layers for which *has* is false (foreign layers) are skipped; each digest is yielded once.
    """
    seen: set[str] = set()

    def visit(desc: dict[str, Any]) -> Iterator[dict[str, Any]]:
        if desc["digest"] in seen:
            return
        media_type = desc["mediaType"]
        if media_type in INDEX_TYPES:
            for child in json.loads(get(desc["digest"]))["manifests"]:
                yield from visit(child)
        elif media_type in MANIFEST_TYPES:
            doc = json.loads(get(desc["digest"]))
            yield from visit(doc["config"])
            for layer in doc["layers"]:
                if has(layer["digest"]):
                    yield from visit(layer)
        seen.add(desc["digest"])
        yield desc

    return visit(descriptor)


class LayoutWriter:
    """Write an OCI image layout: blobs under `blobs/sha256/`, `oci-layout`, and `index.json` on `tag`/`finish`."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        (self.path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.path / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}', encoding="utf-8")
        self.entries: list[dict[str, Any]] = []

    def blob(self, data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
        """Store *data*; return its descriptor (with *extra* keys such as `platform`)."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        (self.path / "blobs" / "sha256" / digest[7:]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}

    def document(self, doc: dict[str, Any], media_type: str | None = None, **extra: Any) -> dict[str, Any]:
        """Store a JSON document (a manifest, index or config); its descriptor's mediaType is *media_type*
        or the document's own."""
        return self.blob(json.dumps(doc, indent=2).encode(), media_type or doc["mediaType"], **extra)

    def tag(self, descriptor: dict[str, Any], name: str | None = None) -> None:
        """List *descriptor* in index.json (tagged *name*, if given) and rewrite index.json."""
        entry = dict(descriptor)
        if name is not None:
            entry["annotations"] = {**entry.get("annotations", {}), REF_NAME: name}
        self.entries.append(entry)
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": self.entries}
        (self.path / "index.json").write_text(json.dumps(index, indent=2), encoding="utf-8")
