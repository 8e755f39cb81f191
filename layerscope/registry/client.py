"""A registry client over httpx: manifests, verified blob streams, tags — the registry ContentSource.

OCI distribution spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md. One
`httpx.Client` per run (connection reuse, thread-safe); `RegistryAuth` answers challenges; every failure
goes through `retry.decide`; errors name the registry and repository and never carry credentials, tokens
or query strings (pre-signed S3/CDN URLs carry their signature there).

Blob streams are resumed when cut: the next request asks for `Range: bytes=N-` (spec "Fetch Blob Part").
A 206 must start at or before N (we drop the overlap); a server that ignores Range and answers 200 is read
from the start again and its first N bytes are dropped — wasteful but correct, because the digest is
computed over the bytes we yield and checked at the end (`digest.verified_stream`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Self, TypeVar

import httpx

from layerscope.digest import compute, is_digest, verified_stream, verify_bytes
from layerscope.errors import (
    AuthenticationError,
    InvalidManifestError,
    LayerscopeError,
    NotFoundError,
    RateLimitedError,
    RegistryError,
    RegistryUnavailableError,
    SizeMismatchError,
    UsageError,
)
from layerscope.oci import (
    ACCEPT_MANIFESTS,
    MAX_MANIFEST_BYTES,
    Descriptor,
    Index,
    Manifest,
    MediaType,
    parse_manifest_or_index,
)
from layerscope.reference import ImageReference, Reference
from layerscope.registry.auth import RegistryAuth, TokenEndpointError
from layerscope.registry.bodies import ACCEPT_ENCODING, guard_response, read_body
from layerscope.registry.config import RegistryConfig, ResolvedHost, Timeouts
from layerscope.registry.credentials import CredentialsProvider
from layerscope.registry.retry import Fail, TruncatedBody, decide

__all__ = ["BLOB_CHUNK_SIZE", "RegistryClient", "redact", "referrers_tag"]

T = TypeVar("T")

#: Least size of the chunks open_blob yields (the last may be smaller): big enough that per-chunk Python
#: overhead is noise next to hashing and decompression, small enough to keep memory flat with a thread pool.
BLOB_CHUNK_SIZE = 1 << 20
#: A cut download that made this much progress since the last fresh retry budget gets a new one.
RESUME_PROGRESS_BYTES = BLOB_CHUNK_SIZE
#: Error bodies are read only this far: enough for `{"errors":[…]}`, not for a hostile 1 GB page.
MAX_ERROR_BODY = 4096
MAX_TAGS_PAGE = 16 << 20
MAX_TAG_PAGES = 10_000
# Codes from the distribution spec's error table ("Error Codes").
_NOT_FOUND_CODES = frozenset({"MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "NAME_UNKNOWN"})
_AUTH_CODES = frozenset({"UNAUTHORIZED", "DENIED"})
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_LINK = re.compile(r"<([^>]*)>([^,<]*)")
# Answers of a registry without the referrers API (spec "Listing Referrers": 404; some proxies say 405).
_NO_REFERRERS_API = frozenset({404, 405})
_REFERRERS_TAG_ATTEMPTS = 3
_REDACTIONS = (
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(?:(?:bearer|basic)\s+)?[^\s,;]+"), r"\1***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 ***"),
    (re.compile(r"(https?://[^\s?#\"'<>]+)\?[^\s\"'<>]*"), r"\1?***"),
)


def redact(text: str) -> str:
    """*text* without Authorization values, Bearer/Basic credentials or URL query strings."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True, slots=True)
class _Where:
    """What a request was for, as shown in error messages."""

    registry: str
    repository: str | None
    what: str
    endpoint: str

    def __str__(self) -> str:
        place = self.registry if self.repository is None else f"{self.registry}/{self.repository}"
        via = f" (via {self.endpoint})" if self.endpoint != self.registry else ""
        return f"{place}{via}: {self.what}"


class _Failure(Exception):
    """One failed attempt: what retry.decide needs, and the error to raise if it says Fail."""

    def __init__(
        self,
        final: LayerscopeError,
        *,
        status: int | None = None,
        error: BaseException | None = None,
        retry_after: str | None = None,
    ) -> None:
        super().__init__(final.message)
        self.final = final
        self.status = status
        self.error = error
        self.retry_after = retry_after


def _image(ref: Reference) -> ImageReference:
    if not isinstance(ref, ImageReference):
        raise UsageError(f"{ref} is an OCI layout directory, not a registry image")
    return ref


def _timeout(t: Timeouts) -> httpx.Timeout:
    return httpx.Timeout(connect=t.connect, read=t.read, write=t.write, pool=t.pool)


def _short(digest: str) -> str:
    return digest[:19] + "…" if len(digest) > 19 else digest


def _error_codes(body: bytes) -> list[tuple[str, str]]:
    """(code, message) pairs of an OCI error body `{"errors":[{"code","message","detail"}]}`, if any."""
    try:
        doc = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errors, list):
        return []
    out = []
    for e in errors[:5]:
        if isinstance(e, dict) and isinstance(e.get("code"), str):
            message = e.get("message")
            out.append((e["code"], message if isinstance(message, str) else ""))
    return out


def _read_limited(response: httpx.Response, cap: int) -> bytes:
    """Up to *cap* bytes of the (decoded) body; stops reading there (decoding is bounded, see bodies.py)."""
    return read_body(response, cap)


def _next_link(values: list[str]) -> str | None:
    """The `rel="next"` target of Link headers (RFC 8288; distribution spec "Listing Tags")."""
    for value in values:
        for m in _LINK.finditer(value):
            rels = re.findall(r"""rel\s*=\s*"?([^";]+)"?""", m[2], re.IGNORECASE)
            if any("next" in str(rel).lower().split() for rel in rels):
                return m[1]
    return None


def referrers_tag(digest: str) -> str:
    """The referrers tag schema tag of *digest*: `<alg>-<ref>`, truncated to 128 characters (spec)."""
    algorithm, _, encoded = digest.partition(":")
    return f"{algorithm}-{encoded}"[:128]


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


class _DeferredTLSTransport(httpx.BaseTransport):
    """httpx's default transport, except that its TLS half is made on the first https request.

    Making an `httpx.HTTPTransport` loads the CA bundle (about 30 ms on a 2-core machine, as much as a
    warm re-analysis spends on everything else); plain-http hosts (loopback registries, in-cluster
    mirrors) and runs that make no request at all never need it. Proxies from the environment are
    mounted by httpx.Client itself, in front of this transport, as before.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        self._limits = limits
        self._plain = httpx.HTTPTransport(limits=limits, verify=False)  # http:// only: never does TLS
        self._tls: httpx.HTTPTransport | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return self._plain.handle_request(request)
        tls = self._tls
        if tls is None:
            with self._lock:
                if self._tls is None:
                    self._tls = httpx.HTTPTransport(limits=self._limits)
                tls = self._tls
        return tls.handle_request(request)

    def close(self) -> None:
        self._plain.close()
        if self._tls is not None:
            self._tls.close()


class RegistryClient:
    """Reads manifests, blobs and tags from OCI registries; a ContentSource, safe to share between threads."""

    def __init__(
        self,
        config: RegistryConfig | None = None,
        credentials_provider: CredentialsProvider | None = None,
        transport: httpx.BaseTransport | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        chunk_size: int = BLOB_CHUNK_SIZE,
    ) -> None:
        self._config = config or RegistryConfig()
        self._auth = RegistryAuth(credentials_provider, clock=clock)
        self._sleep = sleep
        self._clock = clock
        self._chunk_size = chunk_size
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
        self._http = httpx.Client(
            transport=transport or _DeferredTLSTransport(limits=limits),
            follow_redirects=True,  # blobs redirect to S3 / a CDN; httpx drops Authorization cross-origin
            max_redirects=10,
            headers={"User-Agent": self._config.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            # httpx would decode Content-Encoding and read redirect/401 bodies without a bound (bodies.py).
            event_hooks={"response": [guard_response]},
            # Connections are bounded per host by our semaphores, not by the pool.
            limits=limits,
            timeout=_timeout(self._config.timeouts),
            # Proxy variables apply to real networks; an injected transport (tests) must not be bypassed.
            trust_env=transport is None,
        )
        self._lock = threading.Lock()
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._local = threading.local()
        # Registry endpoints seen to lack the referrers API: later lookups go straight to the tag schema.
        self._no_referrers_api: set[str] = set()

    # -- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- ContentSource -------------------------------------------------------------------------------

    def get_manifest(self, ref: Reference, identifier: str | None = None) -> Manifest | Index:
        """The manifest or index for *identifier* (default: ref's digest or tag), verified and parsed."""
        image = _image(ref)
        ident = identifier or image.identifier
        host = self._config.resolve(image.registry)
        where = self._where(host, image.repository, f"manifest {_short(ident)}")
        url = f"{host.base_url}/v2/{image.repository}/manifests/{ident}"
        headers = {"Accept": ", ".join(ACCEPT_MANIFESTS)}
        with self._slot(host):
            body, response = self._fetch(
                where, host, url, headers, cap=MAX_MANIFEST_BYTES, too_big=InvalidManifestError
            )
        if is_digest(ident):
            verify_bytes(body, ident, None, what=str(where))
        else:
            # By tag nothing pins the content, but the registry's own digest header must agree with it
            # (spec "Pulling manifests": Docker-Content-Digest). A malformed header is not evidence.
            header = (response.headers.get("docker-content-digest") or "").strip()
            if is_digest(header):
                verify_bytes(body, header, None, what=str(where))
        return parse_manifest_or_index(body, response.headers.get("content-type"))

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        """A small blob (a config), verified against its descriptor; refuses more than *max_bytes*."""
        if descriptor.size > max_bytes:
            raise InvalidManifestError(
                f"{ref}: blob {_short(descriptor.digest)} is {descriptor.size} bytes, over the {max_bytes}-byte limit"
            )
        with self.open_blob(ref, descriptor) as chunks:
            return b"".join(chunks)

    @contextmanager
    def open_blob(
        self, ref: Reference, descriptor: Descriptor, *, on_bytes: Callable[[int], None] | None = None
    ) -> Iterator[Iterator[bytes]]:
        """A verified, resumable stream of a blob's raw bytes; *on_bytes(n)* is called per chunk received."""
        image = _image(ref)
        host = self._config.resolve(image.registry)
        where = self._where(host, image.repository, f"blob {_short(descriptor.digest)}")
        with self._slot(host):
            reader = self._open_reader(where, host, image, descriptor, on_bytes)
            chunks = reader.chunks()
            stream = verified_stream(chunks, descriptor.digest, descriptor.size, what=str(where))
            try:
                yield stream
            finally:
                # Closing the raw generator closes the response even when the consumer stopped early.
                chunks.close()
                reader.close()

    def read_range(self, ref: Reference, descriptor: Descriptor, offset: int, length: int) -> bytes | None:
        """Bytes [offset, offset+length) of a blob by a Range request (unverified: estimates only), or None."""
        if offset < 0 or length < 0 or offset + length > descriptor.size:
            return None
        if length == 0:
            return b""
        image = _image(ref)
        host = self._config.resolve(image.registry)
        where = self._where(host, image.repository, f"blob {_short(descriptor.digest)} bytes {offset}+{length}")
        url = f"{host.base_url}/v2/{image.repository}/blobs/{descriptor.digest}"
        headers = {"Accept-Encoding": "identity", "Range": f"bytes={offset}-{offset + length - 1}"}

        def attempt() -> bytes | None:
            response = self._open(where, host, url, headers, ok=frozenset({200, 206, 416}))
            try:
                if response.status_code == 416:
                    return None
                if response.status_code == 200 and offset != 0:
                    # Range ignored: an estimate is not worth downloading the whole blob for.
                    return None
                if response.status_code == 206:
                    m = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", "").strip())
                    if m is None or int(m[1]) != offset:
                        return None
                data = bytearray()
                for piece in response.iter_raw():
                    data += piece
                    if len(data) >= length:
                        break
            except httpx.TransportError as exc:
                raise _Failure(self._transport_error(where, exc), error=exc) from None
            finally:
                response.close()
            return bytes(data[:length]) if len(data) >= length else None

        with self._slot(host):
            return self._retrying(where, attempt)

    # -- more registry API ---------------------------------------------------------------------------

    def list_tags(self, ref: Reference, *, page_size: int | None = None) -> list[str]:
        """All tags of ref's repository, following `Link: <…>; rel="next"` pages (of *page_size*, if given)."""
        image = _image(ref)
        host = self._config.resolve(image.registry)
        where = self._where(host, image.repository, "tag list")
        url = httpx.URL(f"{host.base_url}/v2/{image.repository}/tags/list")
        if page_size is not None:
            url = url.copy_add_param("n", str(page_size))
        with self._slot(host):
            return self._json_pages(where, host, url, "tags")

    def ping(self, registry: str) -> None:
        """Check that *registry* speaks the v2 API and accepts our credentials (`GET /v2/`); raise if not."""
        host = self._config.resolve(registry)
        where = self._where(host, None, "API version check")
        with self._slot(host):
            self._fetch(where, host, f"{host.base_url}/v2/", {}, cap=MAX_ERROR_BODY, too_big=RegistryError)

    # -- writes and discovery (distribution spec "Push", "Listing Referrers", "Content Discovery") ----

    def blob_exists(self, ref: Reference, digest: str) -> bool:
        """True when ref's repository has the blob *digest* (`HEAD /v2/<name>/blobs/<digest>`)."""
        image = _image(ref)
        host = self._config.resolve(image.registry)
        where = self._where(host, image.repository, f"blob {_short(digest)} check")
        url = f"{host.base_url}/v2/{image.repository}/blobs/{digest}"
        with self._slot(host):
            status, _, _ = self._request(where, host, "HEAD", url, ok=frozenset({200, 404}))
        return status == 200

    def push_blob(self, ref: Reference, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        """Upload *data* to ref's repository (monolithic POST + PUT) unless it is there already."""
        image = _image(ref)
        digest = compute(data)
        descriptor = Descriptor(media_type=media_type, digest=digest, size=len(data))
        if self.blob_exists(ref, digest):
            return descriptor
        host = self._config.resolve(image.registry)
        where = self._where(host, image.repository, f"blob {_short(digest)} upload")
        start = f"{host.base_url}/v2/{image.repository}/blobs/uploads/"

        def attempt() -> None:
            # POST then PUT as one attempt: a failed PUT may have consumed the upload session, so a retry
            # starts a new one (spec "Pushing a blob monolithically", POST then PUT).
            _, headers, _ = self._send(where, host, "POST", start, ok=frozenset({202}))
            location = headers.get("location")
            if not location:
                raise RegistryError(f"{where}: the upload was accepted without a Location")
            target = httpx.URL(start).join(location)
            if (target.scheme, target.netloc) != (httpx.URL(start).scheme, httpx.URL(start).netloc):
                raise RegistryError(f"{where}: the upload location points to another host")
            target = target.copy_add_param("digest", digest)
            headers_put = {"Content-Type": "application/octet-stream"}
            self._send(where, host, "PUT", str(target), headers=headers_put, content=data, ok=frozenset({201}))

        with self._slot(host):
            self._retrying(where, attempt)
        return descriptor

    def push_manifest(self, ref: Reference, tag_or_digest: str, raw: bytes, media_type: str) -> str:
        """PUT a manifest or index as *tag_or_digest*; return its digest.

        A manifest with a `subject` pushed to a registry that does not answer with `OCI-Subject` (it has
        no referrers API) is also added to the subject's referrers tag index, as the spec asks of clients
        ("Pushing Manifests with Subject").
        """
        image = _image(ref)
        digest = compute(raw)
        if is_digest(tag_or_digest) and tag_or_digest != digest:
            raise UsageError(f"manifest hashes to {_short(digest)}, not {_short(tag_or_digest)}")
        host = self._config.resolve(image.registry)
        where = self._where(host, image.repository, f"manifest {_short(tag_or_digest)} upload")
        url = f"{host.base_url}/v2/{image.repository}/manifests/{tag_or_digest}"
        with self._slot(host):
            _, headers, _ = self._request(
                where, host, "PUT", url, headers={"Content-Type": media_type}, content=raw, ok=frozenset({201})
            )
        said = (headers.get("docker-content-digest") or "").strip()
        if is_digest(said) and said != digest:
            raise RegistryError(
                f"{where}: the registry stored {_short(said)} for a manifest hashing to {_short(digest)}"
            )
        subject, entry = _referrer_entry(raw, media_type, digest)
        if subject is not None and entry is not None and not headers.get("oci-subject"):
            with self._lock:
                self._no_referrers_api.add(host.endpoint)
            self._add_to_referrers_tag(ref, subject, entry)
        return digest

    def referrers(self, ref: Reference, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose `subject` is *digest* (optionally of *artifact_type*), newest API first.

        Uses `GET /v2/<name>/referrers/<digest>`; a registry without it answers 404, and then the
        referrers tag schema (`<alg>-<hex>` tag holding an image index) is read instead (spec
        "Listing Referrers" and "Referrers Tag Schema").
        """
        image = _image(ref)
        host = self._config.resolve(image.registry)
        with self._lock:
            known_missing = host.endpoint in self._no_referrers_api
        found: list[Descriptor] | None = None
        if not known_missing:
            found = self._referrers_api(image, host, digest, artifact_type)
            if found is None:
                with self._lock:
                    self._no_referrers_api.add(host.endpoint)
        if found is None:
            found = self._referrers_from_tag(ref, digest)
        if artifact_type is not None:
            found = [d for d in found if d.artifact_type == artifact_type]
        return found

    def list_repositories(self, registry: str, *, page_size: int | None = None) -> list[str]:
        """All repository names of *registry* (`GET /v2/_catalog`, following `Link` pages)."""
        host = self._config.resolve(registry)
        where = self._where(host, None, "repository catalog")
        url = httpx.URL(f"{host.base_url}/v2/_catalog")
        if page_size is not None:
            url = url.copy_add_param("n", str(page_size))
        with self._slot(host):
            return self._json_pages(where, host, url, "repositories")

    # -- internals of writes and discovery -----------------------------------------------------------

    def _send(
        self,
        where: _Where,
        host: ResolvedHost,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        ok: frozenset[int],
        cap: int = MAX_ERROR_BODY,
    ) -> tuple[int, httpx.Headers, bytes]:
        """One request of any method: (status, headers, body up to *cap*) when the status is in *ok*."""
        request = self._http.build_request(
            method, url, headers=headers, content=content, timeout=_timeout(host.timeouts)
        )
        try:
            response = self._http.send(request, stream=True, auth=self._auth)
        except TokenEndpointError as exc:
            final = self._status_error(where, exc.status, b"", None, prefix=f"{where}: {exc.message}")
            raise _Failure(final, status=exc.status, retry_after=exc.retry_after) from None
        except (httpx.RequestError, UnicodeError) as exc:
            # UnicodeError: a host name that does not IDNA-encode (a label over 63 characters), which
            # httpx passes through unwrapped; a redirect or a foreign layer URL may name one.
            raise _Failure(self._transport_error(where, exc), error=exc) from None
        try:
            try:
                body = b"" if method == "HEAD" else _read_limited(response, cap + 1)
            except httpx.TransportError as exc:
                raise _Failure(self._transport_error(where, exc), error=exc) from None
            except httpx.DecodingError as exc:
                raise RegistryError(f"{where}: the body does not decode ({type(exc).__name__})") from None
        finally:
            response.close()
        status = response.status_code
        if status not in ok:
            retry_after = response.headers.get("retry-after")
            final = self._status_error(where, status, body[:MAX_ERROR_BODY], retry_after)
            if isinstance(final, AuthenticationError) and method not in ("GET", "HEAD"):
                final = AuthenticationError(
                    final.message, hint="writing needs push rights on the repository: log in as a user who has them"
                )
            raise _Failure(final, status=status, retry_after=retry_after)
        if len(body) > cap:
            raise RegistryError(f"{where}: more than the {cap}-byte limit")
        return status, response.headers, body

    def _request(
        self,
        where: _Where,
        host: ResolvedHost,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        ok: frozenset[int],
        cap: int = MAX_ERROR_BODY,
    ) -> tuple[int, httpx.Headers, bytes]:
        """`_send` retried per the policy (PUT of a manifest and HEAD/GET are idempotent)."""
        return self._retrying(
            where, lambda: self._send(where, host, method, url, headers=headers, content=content, ok=ok, cap=cap)
        )

    def _json_pages(self, where: _Where, host: ResolvedHost, url: httpx.URL, key: str) -> list[str]:
        """The string lists under *key* of every page from *url* on, following `Link: rel="next"`."""
        origin = (url.scheme, url.netloc)
        names: list[str] = []
        seen: set[str] = set()
        for _ in range(MAX_TAG_PAGES):
            seen.add(str(url))
            body, response = self._fetch(
                where, host, str(url), {"Accept": "application/json"}, cap=MAX_TAGS_PAGE, too_big=RegistryError
            )
            try:
                doc = json.loads(body)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise RegistryError(f"{where}: the answer is not JSON") from None
            page = doc.get(key) if isinstance(doc, dict) else None
            if page is not None and (not isinstance(page, list) or not all(isinstance(n, str) for n in page)):
                raise RegistryError(f"{where}: {key!r} is not a list of strings")
            names.extend(page or ())
            link = _next_link(response.headers.get_list("link"))
            if link is None:
                return names
            url = response.url.join(link)
            if (url.scheme, url.netloc) != origin:
                raise RegistryError(f"{where}: the next page link points to another host")
            if str(url) in seen:
                raise RegistryError(f"{where}: the next page link loops")
        raise RegistryError(f"{where}: more than {MAX_TAG_PAGES} pages")

    def _referrers_api(
        self, image: ImageReference, host: ResolvedHost, digest: str, artifact_type: str | None
    ) -> list[Descriptor] | None:
        """Referrers from the API (all pages), or None when the registry has no referrers API (404)."""
        where = self._where(host, image.repository, f"referrers of {_short(digest)}")
        url = httpx.URL(f"{host.base_url}/v2/{image.repository}/referrers/{digest}")
        if artifact_type is not None:
            url = url.copy_add_param("artifactType", artifact_type)
        origin = (url.scheme, url.netloc)
        out: list[Descriptor] = []
        seen: set[str] = set()
        with self._slot(host):
            for _ in range(MAX_TAG_PAGES):
                seen.add(str(url))
                status, headers, body = self._request(
                    where,
                    host,
                    "GET",
                    str(url),
                    headers={"Accept": MediaType.OCI_INDEX},
                    ok=_NO_REFERRERS_API | {200},
                    cap=MAX_MANIFEST_BYTES,
                )
                if status in _NO_REFERRERS_API:
                    # Spec: a registry with the API never answers 404 here (an unknown subject has an
                    # empty list), so 404 means "no API": use the tag schema.
                    return out or None
                index = parse_manifest_or_index(body, headers.get("content-type"))
                if not isinstance(index, Index):
                    raise InvalidManifestError(f"{where}: the answer is not an image index")
                out.extend(index.manifests)
                link = _next_link(headers.get_list("link"))
                if link is None:
                    return out
                url = url.join(link)
                if (url.scheme, url.netloc) != origin:
                    raise RegistryError(f"{where}: the next page link points to another host")
                if str(url) in seen:
                    raise RegistryError(f"{where}: the next page link loops")
        raise RegistryError(f"{where}: more than {MAX_TAG_PAGES} pages")

    def _referrers_from_tag(self, ref: Reference, digest: str) -> list[Descriptor]:
        """Referrers from the tag-schema index of *digest*; none when the tag does not exist."""
        tag = referrers_tag(digest)
        try:
            index = self.get_manifest(ref, tag)
        except NotFoundError:
            return []
        if not isinstance(index, Index):
            raise InvalidManifestError(f"{_image(ref).registry}/{_image(ref).repository}:{tag} is not an image index")
        return list(index.manifests)

    def _add_to_referrers_tag(self, ref: Reference, subject: str, entry: dict[str, object]) -> None:
        """Add *entry* to the referrers tag index of *subject* (read, append, put, re-read to confirm).

        Distribution 2.8 has no conditional PUT, so two clients updating the same index at once can lose
        an entry: we re-read after writing and try again (bounded) when ours is missing.
        """
        image = _image(ref)
        tag = referrers_tag(subject)
        for _ in range(_REFERRERS_TAG_ATTEMPTS):
            try:
                current = self.get_manifest(ref, tag)
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
            self.push_manifest(ref, tag, raw, MediaType.OCI_INDEX)
            if any(d.digest == entry["digest"] for d in self._referrers_from_tag(ref, subject)):
                return
        raise RegistryError(
            f"{image.registry}/{image.repository}:{tag}: another client kept rewriting the referrers index"
        )

    # -- internals -----------------------------------------------------------------------------------

    def _where(self, host: ResolvedHost, repository: str | None, what: str) -> _Where:
        return _Where(host.name, repository, what, host.endpoint)

    @contextmanager
    def _slot(self, host: ResolvedHost) -> Iterator[None]:
        """Hold one of the host's `max_concurrency` slots (re-entrant within a thread, so never self-deadlocks)."""
        held: dict[str, int] = self._local.__dict__.setdefault("held", {})
        if held.get(host.endpoint):
            held[host.endpoint] += 1
            try:
                yield
            finally:
                held[host.endpoint] -= 1
            return
        with self._lock:
            semaphore = self._slots.setdefault(host.endpoint, threading.BoundedSemaphore(host.max_concurrency))
        with semaphore:
            held[host.endpoint] = 1
            try:
                yield
            finally:
                held[host.endpoint] = 0

    def _retrying(self, where: _Where, attempt: Callable[[], T]) -> T:
        """Run *attempt* until it succeeds or retry.decide says stop."""
        number, start = 1, self._clock()
        while True:
            try:
                return attempt()
            except _Failure as failure:
                decision = decide(
                    number,
                    status=failure.status,
                    error=failure.error,
                    retry_after=failure.retry_after,
                    elapsed=self._clock() - start,
                    policy=self._config.retry,
                )
                if isinstance(decision, Fail):
                    final = failure.final
                    if number > 1 or "asks to wait" in decision.reason:
                        final = type(final)(f"{final.message} (gave up: {decision.reason})", hint=final.hint)
                    raise final from failure.error
                self._sleep(decision.delay)
                number += 1

    def _open(
        self,
        where: _Where,
        host: ResolvedHost,
        url: str,
        headers: dict[str, str],
        *,
        use_auth: bool = True,
        ok: frozenset[int] = frozenset({200}),
    ) -> httpx.Response:
        """Send one GET and return the open response if its status is in *ok*; else raise _Failure."""
        request = self._http.build_request("GET", url, headers=headers, timeout=_timeout(host.timeouts))
        try:
            response = self._http.send(request, stream=True, auth=self._auth if use_auth else None)
        except TokenEndpointError as exc:
            final = self._status_error(where, exc.status, b"", None, prefix=f"{where}: {exc.message}")
            raise _Failure(final, status=exc.status, retry_after=exc.retry_after) from None
        except (httpx.RequestError, UnicodeError) as exc:
            # UnicodeError: a host name that does not IDNA-encode (a label over 63 characters), which
            # httpx passes through unwrapped; a redirect or a foreign layer URL may name one.
            raise _Failure(self._transport_error(where, exc), error=exc) from None
        if response.status_code in ok:
            return response
        try:
            try:
                body = _read_limited(response, MAX_ERROR_BODY)
            except httpx.HTTPError:
                body = b""
            retry_after = response.headers.get("retry-after")
            final = self._status_error(where, response.status_code, body, retry_after)
            raise _Failure(final, status=response.status_code, retry_after=retry_after)
        finally:
            response.close()

    def _fetch(
        self,
        where: _Where,
        host: ResolvedHost,
        url: str,
        headers: dict[str, str],
        *,
        cap: int,
        too_big: type[LayerscopeError],
    ) -> tuple[bytes, httpx.Response]:
        """GET a small body (at most *cap* bytes), retrying failures of the request and of the read."""

        def attempt() -> tuple[bytes, httpx.Response]:
            response = self._open(where, host, url, headers)
            try:
                length = response.headers.get("content-length", "")
                if length.isdigit() and int(length) > cap:
                    raise too_big(f"{where}: {length} bytes, over the {cap}-byte limit")
                body = _read_limited(response, cap + 1)
            except httpx.TransportError as exc:
                raise _Failure(self._transport_error(where, exc), error=exc) from None
            except httpx.DecodingError as exc:
                raise RegistryError(f"{where}: the body does not decode ({type(exc).__name__})") from None
            finally:
                response.close()
            if len(body) > cap:
                raise too_big(f"{where}: more than the {cap}-byte limit")
            return body, response

        return self._retrying(where, attempt)

    def _status_error(
        self, where: _Where, status: int, body: bytes, retry_after: str | None, *, prefix: str | None = None
    ) -> RegistryError:
        """The error for an HTTP error status, with the OCI error codes of its body in the message."""
        codes = _error_codes(body)
        detail = "; ".join(f"{code}: {message}" if message else code for code, message in codes)[:300]
        text = prefix or f"{where}: HTTP {status}"
        if detail:
            text += f" {detail}"
        text = redact(text)
        names = {code for code, _ in codes}
        if status in (401, 403) or (status < 500 and names & _AUTH_CODES):
            hint = None
            if status == 401 and where.registry == "docker.io":
                hint = "Docker Hub answers 401 for repositories that do not exist, too; check the name, or log in"
            return AuthenticationError(text, hint=hint)
        if status == 404 or names & _NOT_FOUND_CODES:
            return NotFoundError(text)
        if status == 429 or "TOOMANYREQUESTS" in names:
            return RateLimitedError(text + (f" (Retry-After: {retry_after})" if retry_after else ""))
        if status >= 500:
            return RegistryUnavailableError(text)
        return RegistryError(text)

    def _transport_error(self, where: _Where, exc: Exception) -> RegistryError:
        """The error for a request that got no HTTP answer."""
        if isinstance(exc, httpx.TooManyRedirects):
            return RegistryError(f"{where}: too many redirects")
        if isinstance(exc, httpx.ConnectTimeout):
            reason = "connection timed out"
        elif isinstance(exc, httpx.ReadTimeout):
            reason = "the registry stopped sending data (read timeout)"
        elif isinstance(exc, httpx.TimeoutException):
            reason = f"timed out ({type(exc).__name__})"
        elif isinstance(exc, UnicodeError):
            reason = "a host name that is not a valid DNS name"
        else:
            reason = str(exc) or type(exc).__name__
        hint = None
        if "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason:
            hint = "the registry does not speak TLS here: use --plain-http (or HostConfig(plain_http=True))"
        elif "CERTIFICATE_VERIFY_FAILED" in reason:
            hint = "the registry's TLS certificate does not verify; set SSL_CERT_FILE to your CA bundle"
        error_type = RegistryUnavailableError if isinstance(exc, httpx.TransportError) else RegistryError
        return error_type(redact(f"{where}: {reason[:200]}"), hint=hint)

    def _open_reader(
        self,
        where: _Where,
        host: ResolvedHost,
        image: ImageReference,
        descriptor: Descriptor,
        on_bytes: Callable[[int], None] | None,
    ) -> _BlobReader:
        """A reader whose first response is open: the registry's blob, or one of a foreign layer's `urls`."""
        url = f"{host.base_url}/v2/{image.repository}/blobs/{descriptor.digest}"
        reader = _BlobReader(self, where, host, url, True, descriptor.size, on_bytes)
        try:
            reader.open()
            return reader
        except NotFoundError as not_found:
            if not descriptor.urls:
                raise
            missing = not_found
        # Foreign (non-distributable) layers may live only at their `urls` (image-spec descriptor.md);
        # those hosts are not the registry, so they get no credentials; the digest still guards the bytes.
        for raw_url in descriptor.urls:
            try:
                target = self._remap(httpx.URL(raw_url))
            except httpx.InvalidURL:
                continue
            if target.scheme not in ("http", "https"):
                continue
            foreign_host = self._config.resolve(target.netloc.decode("ascii"))
            foreign_where = _Where(target.host, None, where.what, target.host)
            reader = _BlobReader(self, foreign_where, foreign_host, str(target), False, descriptor.size, on_bytes)
            try:
                reader.open()
                return reader
            except RegistryError:
                continue
        raise NotFoundError(f"{missing.message}; its {len(descriptor.urls)} foreign URL(s) failed too")

    def _remap(self, url: httpx.URL) -> httpx.URL:
        """*url* with its host replaced by the configured endpoint, if the host has one."""
        netloc = url.netloc.decode("ascii").lower()
        if netloc not in self._config.hosts:
            return url
        host = self._config.resolve(netloc)
        return url.copy_with(scheme=host.scheme, netloc=host.endpoint.encode("ascii"))


class _BlobReader:
    """One blob download: the open response, the bytes received, and resumption with Range."""

    def __init__(
        self,
        client: RegistryClient,
        where: _Where,
        host: ResolvedHost,
        url: str,
        use_auth: bool,
        size: int,
        on_bytes: Callable[[int], None] | None,
    ) -> None:
        self._client = client
        self._where = where
        self._host = host
        self._url = url
        self._use_auth = use_auth
        self._size = size
        self._on_bytes = on_bytes
        self._received = 0
        self._response: httpx.Response | None = None

    def open(self) -> None:
        """(Re)open the response from the current offset, retrying per the policy."""
        # Raw bytes only: a CDN must not re-encode a blob, and Range offsets count raw bytes.
        headers = {"Accept-Encoding": "identity"}
        if self._received:
            headers["Range"] = f"bytes={self._received}-"
        ok = frozenset({200, 206, 416})

        def attempt() -> httpx.Response:
            return self._client._open(self._where, self._host, self._url, headers, use_auth=self._use_auth, ok=ok)

        self._response = self._client._retrying(self._where, attempt)

    def close(self) -> None:
        """Close the open response, if any."""
        if self._response is not None:
            self._response.close()

    def _skip(self, response: httpx.Response) -> int:
        """How many leading bytes of *response* we already have."""
        status = response.status_code
        if status == 416:
            # Nothing at or after our offset: the registry's blob is shorter than the descriptor says.
            raise SizeMismatchError(
                f"{self._where}: got {self._received} bytes, descriptor says {self._size}",
            )
        if status == 200:
            return self._received  # Range ignored (or not sent): the body starts at byte 0
        header = response.headers.get("content-range", "")
        m = _CONTENT_RANGE.fullmatch(header.strip())
        start = int(m[1]) if m else None
        if start is None or start > self._received:
            raise RegistryError(
                f"{self._where}: unusable Content-Range {header[:60]!r} resuming at byte {self._received}"
            )
        return self._received - start

    def chunks(self) -> Generator[bytes, None, None]:
        """Raw chunks of the blob from byte 0, resuming cut transfers; not verified (open_blob does that)."""
        # We re-chunk ourselves rather than with iter_raw(chunk_size): httpx's chunker would drop what it
        # buffered when the connection breaks, and a resume should start exactly where the bytes stopped.
        # The pieces are joined once (a bytearray that is then copied to bytes would copy every byte twice).
        size = self._client._chunk_size
        parts: list[bytes] = []
        held = 0
        for piece in self._pieces():
            parts.append(piece)
            held += len(piece)
            if held >= size:
                yield parts[0] if len(parts) == 1 else b"".join(parts)
                parts, held = [], 0
        if parts:
            yield b"".join(parts)

    def _pieces(self) -> Generator[bytes, None, None]:
        """The blob's bytes as they arrive, from byte 0, across as many resumed responses as it takes."""
        client, policy = self._client, self._client._config.retry
        number, streak_start, mark = 1, client._clock(), self._received
        # Progress that earns a fresh retry budget: a MiB, or a 16th of a small blob. So a blob gets at most
        # max(16, size in MiB) budgets, and a server that cuts every few bytes runs out of attempts instead
        # of being resumed byte by byte (retries are bounded in count and time, not only per streak).
        fresh_budget_bytes = max(1, min(RESUME_PROGRESS_BYTES, -(-self._size // 16)))
        try:
            while True:
                response = self._response
                assert response is not None
                skip = 0
                try:
                    skip = self._skip(response)
                    for chunk in response.iter_raw():
                        if skip:
                            if len(chunk) <= skip:
                                skip -= len(chunk)
                                continue
                            chunk, skip = chunk[skip:], 0
                        self._received += len(chunk)
                        if self._on_bytes is not None:
                            self._on_bytes(len(chunk))
                        yield chunk
                    if skip or self._received < self._size:
                        raise TruncatedBody(f"body ended after {self._received} of {self._size} bytes")
                    return
                except (httpx.TransportError, TruncatedBody) as exc:
                    response.close()
                    if not skip and self._received >= self._size:
                        # Every byte the descriptor promised is here and the connection died after them (a
                        # Content-Length that lied, a reset at the very end): nothing to resume; the digest
                        # check at the end of the stream says whether the bytes are right.
                        return
                    if self._received - mark >= fresh_budget_bytes:
                        number, streak_start, mark = 1, client._clock(), self._received
                    decision = decide(
                        number,
                        status=None,
                        error=exc,
                        retry_after=None,
                        elapsed=client._clock() - streak_start,
                        policy=policy,
                    )
                    if isinstance(decision, Fail):
                        raise RegistryUnavailableError(
                            redact(
                                f"{self._where}: download cut after {self._received} of {self._size} bytes "
                                f"({decision.reason})"
                            )
                        ) from exc
                    client._sleep(decision.delay)
                    number += 1
                    self.open()
        finally:
            self.close()
