"""Finding the manifests that refer to a digest: the referrers API, else the referrers tag schema.

Distribution spec "Listing Referrers": `GET /v2/<name>/referrers/<digest>` answers an image index, in
pages linked by `Link: rel="next"`. A registry without the API answers the first request with 404 (some
proxies say 405); then the tag schema is read instead ("Referrers Tag Schema": an index tagged
`<alg>-<hex>`), and this endpoint goes straight there from then on. A 404 on a *later* page is not "no API"
but a list that broke while we read it: an error, never a silently shorter list (issue 12, item 8).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx

from layerscope.errors import InvalidManifestError, NotFoundError, RegistryError
from layerscope.oci import MAX_MANIFEST_BYTES, Descriptor, Index, Manifest, MediaType, parse_manifest_or_index
from layerscope.reference import ImageReference
from layerscope.registry.config import ResolvedHost
from layerscope.registry.failures import Where, error_codes, short
from layerscope.registry.pages import follow
from layerscope.registry.transport import Transport

__all__ = ["NO_REFERRERS_API", "GetManifest", "Referrers", "referrers_tag"]

#: Answers of a registry without the referrers API to its first request (spec: 404; some proxies: 405).
NO_REFERRERS_API = frozenset({404, 405})

#: How referrers reads a manifest by tag: `RegistryClient.get_manifest` (verified and parsed).
GetManifest = Callable[[ImageReference, str], Manifest | Index]


def referrers_tag(digest: str) -> str:
    """The referrers tag schema tag of *digest*: `<alg>-<ref>`, truncated to 128 characters (spec)."""
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm}-{encoded}"[:128]


class Referrers:
    """Referrers lookups, remembering which registry endpoints lack the API; safe to share between threads."""

    def __init__(self, transport: Transport, get_manifest: GetManifest) -> None:
        self._transport = transport
        self._get_manifest = get_manifest
        self._lock = threading.Lock()
        self._no_api: set[str] = set()
        self._has_api: set[str] = set()
        #: One lock per endpoint whose API support is not known yet: the first lookup asks, the others wait
        #: for its answer, so a batch of images asks a registry without the API once, not once per image
        #: looked up in parallel (#18 item 9).
        self._probing: dict[str, threading.Lock] = {}

    def mark_no_api(self, endpoint: str) -> None:
        """Remember that *endpoint* has no referrers API (a push without `OCI-Subject` showed it)."""
        with self._lock:
            self._no_api.add(endpoint)

    def _learn(self, endpoint: str, *, has_api: bool) -> None:
        with self._lock:
            (self._has_api if has_api else self._no_api).add(endpoint)

    def lookup(self, image: ImageReference, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose `subject` is *digest* (optionally of *artifact_type*): API first, else the tag."""
        host = self._transport.config.resolve(image.registry)
        found: list[Descriptor] | None = None
        asked = False
        with self._lock:
            known = host.endpoint in self._no_api or host.endpoint in self._has_api
            probe = None if known else self._probing.setdefault(host.endpoint, threading.Lock())
        if probe is not None:
            with probe:
                with self._lock:
                    known = host.endpoint in self._no_api or host.endpoint in self._has_api
                if not known:
                    asked = True
                    found = self._from_api(image, host, digest, artifact_type)
                    self._learn(host.endpoint, has_api=found is not None)
        with self._lock:
            no_api = host.endpoint in self._no_api
        if not asked and not no_api:
            found = self._from_api(image, host, digest, artifact_type)
            if found is None:
                self.mark_no_api(host.endpoint)
        if found is None:
            found = self.from_tag(image, digest)
        if artifact_type is not None:
            # Also when the server filtered: one that ignores the parameter says so only by omission.
            found = [d for d in found if d.artifact_type == artifact_type]
        return found

    def from_tag(self, image: ImageReference, digest: str) -> list[Descriptor]:
        """Referrers from the tag-schema index of *digest*; none when the tag does not exist."""
        tag = referrers_tag(digest)
        try:
            index = self._get_manifest(image, tag)
        except NotFoundError:
            return []
        if not isinstance(index, Index):
            raise InvalidManifestError(f"{image.registry}/{image.repository}:{tag} is not an image index")
        return list(index.manifests)

    def _from_api(
        self, image: ImageReference, host: ResolvedHost, digest: str, artifact_type: str | None
    ) -> list[Descriptor] | None:
        """Referrers from the API (all pages), or None when the registry has no referrers API."""
        where = Where.of(host, image.repository, f"referrers of {short(digest)}")
        url = httpx.URL(f"{host.base_url}/v2/{image.repository}/referrers/{digest}")
        if artifact_type is not None:
            url = url.copy_add_param("artifactType", artifact_type)
        headers = {"Accept": str(MediaType.OCI_INDEX)}
        out: list[Descriptor] = []
        with self._transport.slot(host):
            pages = follow(
                self._transport, where, host, url, headers, ok=NO_REFERRERS_API | {200}, cap=MAX_MANIFEST_BYTES
            )
            for number, reply in enumerate(pages, start=1):
                if reply.status in NO_REFERRERS_API:
                    if number == 1:
                        # Spec: a registry with the API never answers 404 here (an unknown subject has an
                        # empty list), so 404 means "no API": use the tag schema.
                        return None
                    codes = tuple(code for code, _ in error_codes(reply.body))
                    detail = f" {'; '.join(codes)}" if codes else ""
                    raise RegistryError(
                        f"{where}: page {number} of the list answered HTTP {reply.status}{detail}; "
                        f"the list is incomplete",
                        hint="the registry lost a page of the referrers list while it was read; retry",
                        status=reply.status,
                        codes=codes,
                    )
                index = parse_manifest_or_index(reply.body, reply.headers.get("content-type"))
                if not isinstance(index, Index):
                    raise InvalidManifestError(f"{where}: the answer is not an image index")
                out.extend(index.manifests)
        return out
