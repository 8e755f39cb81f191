"""A minimal reader of OCI image layout directories, for tests (independent of layerscope).

Spec: https://github.com/opencontainers/image-spec/blob/main/image-layout.md
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["INDEX_TYPES", "MANIFEST_TYPES", "REF_NAME", "OciLayout", "walk_descriptors"]

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
