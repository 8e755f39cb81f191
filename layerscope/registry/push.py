"""Writing to a registry — blobs, manifests, the referrers tag index — for `attach` (the only writer).

Distribution spec "Pushing blobs" (monolithic POST + PUT), "Pushing Manifests" and "Pushing Manifests with
Subject": a registry that does not answer a subject-bearing manifest with `OCI-Subject` has no referrers API,
so the client maintains the subject's referrers tag index itself.
"""

from __future__ import annotations

import json

import httpx

from layerscope.digest import compute, is_digest
from layerscope.errors import NotFoundError, RegistryError, UsageError
from layerscope.oci import Descriptor, Index, MediaType
from layerscope.reference import ImageReference
from layerscope.registry.failures import Where, short
from layerscope.registry.referrers import GetManifest, Referrers, referrers_tag
from layerscope.registry.transport import Transport

__all__ = ["Pusher"]

_REFERRERS_TAG_ATTEMPTS = 3


def _referrer_entry(raw: bytes, media_type: str, digest: str) -> tuple[str | None, dict[str, object] | None]:
    """(subject digest, referrers-index descriptor) of a pushed manifest, or (None, None) without a subject.

    The descriptor carries `artifactType` (the manifest's, else its config's media type) and all the
    manifest's annotations, as the spec requires of referrers lists.
    """
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, None
    subject = doc.get("subject") if isinstance(doc, dict) else None
    if not isinstance(subject, dict) or not is_digest(subject.get("digest")):
        return None, None
    entry: dict[str, object] = {"mediaType": media_type, "digest": digest, "size": len(raw)}
    config = doc.get("config")
    artifact_type = doc.get("artifactType") or (config.get("mediaType") if isinstance(config, dict) else None)
    if isinstance(artifact_type, str) and artifact_type:
        entry["artifactType"] = artifact_type
    annotations = doc.get("annotations")
    if isinstance(annotations, dict) and annotations:
        entry["annotations"] = annotations
    return str(subject["digest"]), entry


class Pusher:
    """Uploads blobs and manifests to a registry repository; safe to share between threads."""

    def __init__(self, transport: Transport, referrers: Referrers, get_manifest: GetManifest) -> None:
        self._transport = transport
        self._referrers = referrers
        self._get_manifest = get_manifest

    def blob_exists(self, image: ImageReference, digest: str) -> bool:
        """True when the repository has the blob *digest* (`HEAD /v2/<name>/blobs/<digest>`)."""
        host = self._transport.config.resolve(image.registry)
        where = Where.of(host, image.repository, f"blob {short(digest)} check")
        url = f"{host.base_url}/v2/{image.repository}/blobs/{digest}"
        with self._transport.slot(host):
            reply = self._transport.request(where, host, url, method="HEAD", ok=frozenset({200, 404}))
        return reply.status == 200

    def push_blob(self, image: ImageReference, data: bytes, media_type: str) -> Descriptor:
        """Upload *data* (monolithic POST + PUT) unless the repository has it already."""
        digest = compute(data)
        descriptor = Descriptor(media_type=media_type, digest=digest, size=len(data))
        if self.blob_exists(image, digest):
            return descriptor
        transport = self._transport
        host = transport.config.resolve(image.registry)
        where = Where.of(host, image.repository, f"blob {short(digest)} upload")
        start = httpx.URL(f"{host.base_url}/v2/{image.repository}/blobs/uploads/")

        def attempt() -> None:
            # POST then PUT as one attempt: a failed PUT may have consumed the upload session, so a retry
            # starts a new one (spec "Pushing a blob monolithically", POST then PUT).
            posted = transport.send(where, host, str(start), method="POST", ok=frozenset({202}))
            location = posted.headers.get("location")
            if not location:
                raise RegistryError(f"{where}: the upload was accepted without a Location")
            target = start.join(location)
            if (target.scheme, target.netloc) != (start.scheme, start.netloc):
                raise RegistryError(f"{where}: the upload location points to another host")
            target = target.copy_add_param("digest", digest)
            headers = {"Content-Type": "application/octet-stream"}
            transport.send(where, host, str(target), headers, method="PUT", content=data, ok=frozenset({201}))

        with transport.slot(host):
            transport.retrying(where, attempt)
        return descriptor

    def push_manifest(self, image: ImageReference, tag_or_digest: str, raw: bytes, media_type: str) -> str:
        """PUT a manifest or index as *tag_or_digest*; return its digest (and keep the referrers tag)."""
        digest = compute(raw)
        if is_digest(tag_or_digest) and tag_or_digest != digest:
            raise UsageError(f"manifest hashes to {short(digest)}, not {short(tag_or_digest)}")
        transport = self._transport
        host = transport.config.resolve(image.registry)
        where = Where.of(host, image.repository, f"manifest {short(tag_or_digest)} upload")
        url = f"{host.base_url}/v2/{image.repository}/manifests/{tag_or_digest}"
        with transport.slot(host):
            reply = transport.request(
                where, host, url, {"Content-Type": media_type}, method="PUT", content=raw, ok=frozenset({201})
            )
        said = (reply.headers.get("docker-content-digest") or "").strip()
        if is_digest(said) and said != digest:
            raise RegistryError(f"{where}: the registry stored {short(said)} for a manifest hashing to {short(digest)}")
        subject, entry = _referrer_entry(raw, media_type, digest)
        if subject is not None and entry is not None and not reply.headers.get("oci-subject"):
            self._referrers.mark_no_api(host.endpoint)
            self._add_to_referrers_tag(image, subject, entry)
        return digest

    def _add_to_referrers_tag(self, image: ImageReference, subject: str, entry: dict[str, object]) -> None:
        """Add *entry* to the referrers tag index of *subject* (read, append, put, re-read to confirm).

        Distribution 2.8 has no conditional PUT, so two clients updating the same index at once can lose
        an entry: we re-read after writing and try again (bounded) when ours is missing.
        """
        tag = referrers_tag(subject)
        for _ in range(_REFERRERS_TAG_ATTEMPTS):
            try:
                current = self._get_manifest(image, tag)
            except NotFoundError:
                current = None
            if current is not None and (not isinstance(current, Index) or current.media_type != MediaType.OCI_INDEX):
                # Spec: "If that pull returns a manifest other than the expected image index, the client
                # SHOULD report a failure and skip the remaining steps."
                raise RegistryError(
                    f"{image.registry}/{image.repository}:{tag} is not an OCI image index; not overwriting it",
                    hint="that tag is reserved for the referrers tag schema (OCI distribution-spec v1.1)",
                )
            entries: list[object] = json.loads(current.raw)["manifests"] if current is not None else []
            if any(isinstance(e, dict) and e.get("digest") == entry["digest"] for e in entries):
                return
            doc = {"schemaVersion": 2, "mediaType": str(MediaType.OCI_INDEX), "manifests": [*entries, entry]}
            raw = json.dumps(doc, separators=(",", ":")).encode()
            self.push_manifest(image, tag, raw, MediaType.OCI_INDEX)
            if any(d.digest == entry["digest"] for d in self._referrers.from_tag(image, subject)):
                return
        raise RegistryError(
            f"{image.registry}/{image.repository}:{tag}: another client kept rewriting the referrers index"
        )
