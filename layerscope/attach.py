"""Analyses attached to images in their own repository, as OCI 1.1 artifacts whose `subject` is the image.

A pipeline step measures an image once and pushes the result next to it; every later reader finds it
through the referrers API (or its tag-schema fallback) instead of downloading the layers again.

The artifact (image-spec v1.1 manifest.md "Guidelines for Artifact Usage"):

- `artifactType` `application/vnd.layerscope.analysis.v1+json`;
- `config`: the empty descriptor (`application/vnd.oci.empty.v1+json`, content `{}`, manifest.md
  "Guidance for an Empty Descriptor");
- one layer of media type `application/vnd.layerscope.analysis.v1+json` holding a
  `layerscope.layer-measurements/v1` document (below), titled `layerscope-analysis.json`;
- `subject`: the image manifest's descriptor (the platform manifest, not an index);
- annotation `org.opencontainers.image.created`.

The document keys every measurement by the image manifest digest, the layer index, its digest and its
diff_id::

    {"schema": "layerscope.layer-measurements/v1", "tool": "layerscope/0.1.0", "created": "…",
     "image": {"digest": "sha256:…", "media_type": "…", "config_digest": "sha256:…"},
     "layers": [{"index": 0, "digest": "sha256:…", "diff_id": "sha256:…",
                 "measurement": {…LayerMeasurement.to_dict()…}}]}

Reading checks the document against the image's own manifest and config: same manifest and config
digests, and per layer the same digest, diff_id and compressed size; only exact measurements are taken.
A document that fails any check is ignored as a whole (with a warning) and the layers are measured.
Trust: an attachment is as trustworthy as whoever may push to the repository — the same people who
could replace the image itself. So its measurements are used for its subject only — that image manifest,
in that repository — never for the same layer in another image or repository of the batch (issue #12),
and each image still checks each of them against its own config's diff_id. Measurements read from one
get `size_source` `attached`.
An artifact without `artifactType` whose config media type is ours (what clients before image-spec
1.1, such as oras-py, push) is accepted too: the spec derives a referrer's artifact type that way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from layerscope import __version__
from layerscope.digest import compute
from layerscope.errors import InvalidManifestError, LayerscopeError
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.observer import NullObserver, Observer
from layerscope.oci import Descriptor, Manifest, MediaType
from layerscope.reference import ImageReference
from layerscope.results import ImageResult

if TYPE_CHECKING:
    from layerscope.analysis import Analyzer
    from layerscope.registry import RegistryClient
    from layerscope.resolution import ResolvedImage

__all__ = [
    "ARTIFACT_TYPE",
    "DOCUMENT_SCHEMA",
    "EMPTY_CONFIG",
    "Attachments",
    "build_artifact",
    "build_document",
    "is_analysis_artifact",
    "measure_with_attachments",
    "verify_document",
]

ARTIFACT_TYPE = "application/vnd.layerscope.analysis.v1+json"
DOCUMENT_SCHEMA = "layerscope.layer-measurements/v1"
DOCUMENT_TITLE = "layerscope-analysis.json"
#: The empty JSON object, the content of an empty descriptor (image-spec manifest.md).
EMPTY_CONFIG = b"{}"
CREATED = "org.opencontainers.image.created"
TITLE = "org.opencontainers.image.title"
#: A document lists one small record per layer; real images have at most ~130 layers.
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
#: Attached analyses read per image before giving up (newest first): bounds requests on a noisy subject.
MAX_CANDIDATES = 5
_LOOKUP_THREADS = 8


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _timestamp(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def subject_of(image: ResolvedImage) -> Descriptor:
    """The descriptor of *image*'s manifest, as an artifact's `subject`."""
    m = image.manifest
    return Descriptor(media_type=m.media_type, digest=m.digest, size=len(m.raw))


def build_document(image: ResolvedImage, measurements: Sequence[LayerMeasurement | None], created: str) -> bytes:
    """The `layerscope.layer-measurements/v1` document of *image*; None or inexact entries are left out."""
    layers: list[dict[str, Any]] = []
    for index, (desc, diff_id, m) in enumerate(
        zip(image.manifest.layers, image.config.diff_ids, measurements, strict=True)
    ):
        if m is None or not m.exact or m.digest != desc.digest or m.diff_id != diff_id:
            continue
        record = replace(m, size_source=SizeSource.MEASURED).to_dict()
        layers.append({"index": index, "digest": desc.digest, "diff_id": diff_id, "measurement": record})
    doc = {
        "schema": DOCUMENT_SCHEMA,
        "tool": f"layerscope/{__version__}",
        "created": created,
        "image": {
            "digest": image.manifest.digest,
            "media_type": image.manifest.media_type,
            "config_digest": image.config.digest,
        },
        "layers": layers,
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def build_artifact(subject: Descriptor, config: Descriptor, document: Descriptor, created: str) -> bytes:
    """The artifact manifest: empty config, the document as its one layer, *subject* the image manifest."""

    def plain(d: Descriptor, **extra: Any) -> dict[str, Any]:
        return {"mediaType": d.media_type, "digest": d.digest, "size": d.size, **extra}

    doc = {
        "schemaVersion": 2,
        "mediaType": str(MediaType.OCI_MANIFEST),
        "artifactType": ARTIFACT_TYPE,
        # `data` inlines the two bytes (image-spec descriptor.md "Embedded content"), sparing a blob GET.
        "config": plain(config, data="e30="),
        "layers": [plain(document, annotations={TITLE: DOCUMENT_TITLE})],
        "subject": plain(subject),
        "annotations": {CREATED: created},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def is_analysis_artifact(manifest: Manifest) -> bool:
    """True for a manifest of our artifact type (its own `artifactType`, or else its config media type)."""
    kind = manifest.artifact_type or manifest.config.media_type
    return kind == ARTIFACT_TYPE


def verify_document(raw: bytes, image: ResolvedImage) -> dict[str, LayerMeasurement]:
    """The measurements of a document that describes exactly *image*, keyed by layer digest.

    Raises InvalidManifestError naming the first disagreement with the image's manifest or config.
    """
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidManifestError("the attached analysis is not JSON") from None
    if not isinstance(doc, dict) or doc.get("schema") != DOCUMENT_SCHEMA:
        schema = doc.get("schema") if isinstance(doc, dict) else None
        raise InvalidManifestError(f"the attached analysis has schema {schema!r}, not {DOCUMENT_SCHEMA}")
    described = doc.get("image")
    if not isinstance(described, dict) or described.get("digest") != image.manifest.digest:
        raise InvalidManifestError("the attached analysis describes another image manifest")
    if described.get("config_digest") != image.config.digest:
        raise InvalidManifestError("the attached analysis describes another image config")
    layers = doc.get("layers")
    if not isinstance(layers, list):
        raise InvalidManifestError("the attached analysis has no layer list")
    out: dict[str, LayerMeasurement] = {}
    for entry in layers:
        if not isinstance(entry, dict):
            raise InvalidManifestError("the attached analysis has a malformed layer entry")
        index = entry.get("index")
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(image.manifest.layers):
            raise InvalidManifestError(f"the attached analysis names layer {index!r}, which the image does not have")
        desc, diff_id = image.manifest.layers[index], image.config.diff_ids[index]
        if entry.get("digest") != desc.digest or entry.get("diff_id") != diff_id:
            raise InvalidManifestError(f"layer {index} of the attached analysis has another digest or diff_id")
        record = entry.get("measurement")
        try:
            if not isinstance(record, dict):
                raise TypeError("measurement is not an object")
            m = LayerMeasurement.from_dict(record)
        except (KeyError, ValueError, TypeError):
            raise InvalidManifestError(f"layer {index} of the attached analysis is malformed") from None
        if m.digest != desc.digest or m.diff_id != diff_id or m.compressed_bytes != desc.size:
            raise InvalidManifestError(f"layer {index} of the attached analysis disagrees with the manifest")
        if m.size_source not in (SizeSource.MEASURED, SizeSource.STORE):
            raise InvalidManifestError(f"layer {index} of the attached analysis is not an exact measurement")
        out[desc.digest] = replace(m, size_source=SizeSource.ATTACHED)
    return out


@dataclass(frozen=True, slots=True)
class Found:
    """A verified attached analysis: the artifact digest and the measurements it holds."""

    artifact: str
    measurements: Mapping[str, LayerMeasurement]


class Attachments:
    """Finds and pushes layerscope analyses attached to images in their registry (thread-safe)."""

    def __init__(
        self,
        client: RegistryClient,
        observer: Observer | None = None,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._client = client
        self.observer = observer or NullObserver()
        self._clock = clock

    def find(self, image: ResolvedImage) -> Found | None:
        """The newest attached analysis of *image* that verifies against it, or None."""
        ref = image.ref
        if not isinstance(ref, ImageReference):
            return None
        try:
            candidates = self._client.referrers(ref, image.manifest.digest, ARTIFACT_TYPE)
        except LayerscopeError as exc:
            self.observer.warning(f"{ref}: cannot list attached analyses ({exc.message}); measuring instead")
            return None
        # Newest first by the created annotation (RFC 3339 in UTC sorts as text), then by digest.
        candidates.sort(key=lambda d: (d.annotations.get(CREATED, ""), d.digest), reverse=True)
        for desc in candidates[:MAX_CANDIDATES]:
            try:
                return Found(desc.digest, self._read(ref, image, desc))
            except LayerscopeError as exc:
                self.observer.warning(f"{ref}: ignoring attached analysis {desc.digest[:19]}…: {exc.message}")
        return None

    def find_many(self, images: Sequence[ResolvedImage]) -> list[Found | None]:
        """find() for each of *images*, a few at a time (each lookup is a few small requests)."""
        if len(images) <= 1:
            return [self.find(image) for image in images]
        with ThreadPoolExecutor(max_workers=_LOOKUP_THREADS, thread_name_prefix="attached") as pool:
            return list(pool.map(self.find, images))

    def _read(self, ref: ImageReference, image: ResolvedImage, desc: Descriptor) -> dict[str, LayerMeasurement]:
        manifest = self._client.get_manifest(ref, desc.digest)
        if not isinstance(manifest, Manifest) or not is_analysis_artifact(manifest):
            raise InvalidManifestError("not a layerscope analysis artifact")
        if manifest.subject is None or manifest.subject.digest != image.manifest.digest:
            raise InvalidManifestError("its subject is another manifest")
        blobs = [layer for layer in manifest.layers if layer.media_type == ARTIFACT_TYPE]
        if len(blobs) != 1:
            raise InvalidManifestError(f"it has {len(blobs)} analysis blobs, not one")
        raw = self._client.get_blob(ref, blobs[0], MAX_DOCUMENT_BYTES)
        return verify_document(raw, image)

    def push_many(self, pairs: Sequence[tuple[ResolvedImage, ImageResult]]) -> list[str]:
        """push() for each (image, result), a few at a time (different images touch different tags)."""
        if len(pairs) <= 1:
            return [self.push(image, result) for image, result in pairs]
        with ThreadPoolExecutor(max_workers=_LOOKUP_THREADS, thread_name_prefix="attach") as pool:
            return list(pool.map(lambda pair: self.push(*pair), pairs))

    def push(self, image: ResolvedImage, result: ImageResult) -> str:
        """Attach *result*'s exact measurements to *image* in its repository; return the artifact digest."""
        ref = image.ref
        if not isinstance(ref, ImageReference):
            raise LayerscopeError(f"{ref} is not in a registry; only registry images can carry attachments")
        created = _timestamp(self._clock())
        document = build_document(image, [layer.measurement for layer in result.layers], created)
        config = self._client.push_blob(ref, EMPTY_CONFIG, MediaType.OCI_EMPTY)
        doc_desc = self._client.push_blob(ref, document, ARTIFACT_TYPE)
        raw = build_artifact(subject_of(image), config, doc_desc, created)
        return self._client.push_manifest(ref, compute(raw), raw, MediaType.OCI_MANIFEST)


def _covers(found: Found | None, result: ImageResult) -> bool:
    """True when *found* already holds the same numbers for every layer *result* could attach."""
    if found is None:
        return False
    for layer in result.layers:
        m = layer.measurement
        if not m.exact:
            continue
        have = found.measurements.get(layer.digest)
        if have is None or replace(have, size_source=m.size_source) != m:
            return False
    return True


def measure_with_attachments(
    analyzer: Analyzer,
    images: Sequence[ResolvedImage],
    attachments: Attachments | None,
    *,
    use_attached: bool,
    attach: bool,
    known: Mapping[str, LayerMeasurement] | None = None,
) -> list[ImageResult]:
    """Measure *images*, reading layers from attached analyses (*use_attached*) and attaching results.

    *known* adds measurements from elsewhere (a scan's checkpoint), for any image; what an attachment
    holds is used for the image it is attached to only. With *attach*, an image whose
    attached analysis already holds the same numbers gets no new artifact, so repeated runs do not
    grow the referrers list.
    """
    found: list[Found | None] = [None] * len(images)
    registry_images = [i for i, image in enumerate(images) if isinstance(image.ref, ImageReference)]
    if attachments is not None and (use_attached or attach):
        looked = attachments.find_many([images[i] for i in registry_images])
        for i, hit in zip(registry_images, looked, strict=True):
            found[i] = hit
    attached = [dict(hit.measurements) if use_attached and hit is not None else {} for hit in found]
    results = analyzer.measure_images(images, known=known, attached=attached)
    if attach and attachments is not None:
        elsewhere = sorted({str(image.ref) for image in images if not isinstance(image.ref, ImageReference)})
        if elsewhere:
            attachments.observer.warning(f"not in a registry, nothing attached: {', '.join(elsewhere[:3])}")
        todo = [(images[i], results[i]) for i in registry_images if not _covers(found[i], results[i])]
        pushed = attachments.push_many(todo)
        # Say what was pushed where (#18 item 10): the CLI prints it, the library only reports it.
        done = {id(image): artifact for (image, _), artifact in zip(todo, pushed, strict=True)}
        for i in registry_images:
            ref = images[i].ref
            if isinstance(ref, ImageReference):
                subject = f"{ref.registry}/{ref.repository}@{images[i].manifest.digest}"
                attachments.observer.attached(subject, done.get(id(images[i])))
    return results
