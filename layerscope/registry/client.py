"""The registry client: manifests, verified blob streams, tags, referrers — the registry ContentSource.

OCI distribution spec: https://github.com/opencontainers/distribution-spec/blob/main/spec.md. A façade
over the parts, one idea each: `transport` (one httpx.Client per run, auth, per-host slots, retries, the
one status → error mapping of `failures`), `blobs` (the resumable, Range-resumed blob reader), `pages`
(`Link` pagination), `referrers` (API, else the tag schema) and `push` (writes, used only by `attach`).
Every stream this client returns is verified against its digest (`digest.verified_stream`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Self

import httpx

from layerscope.digest import is_digest, verified_stream, verify_bytes
from layerscope.errors import InvalidManifestError, RegistryError, UsageError
from layerscope.oci import ACCEPT_MANIFESTS, MAX_MANIFEST_BYTES, Descriptor, Index, Manifest, parse_manifest_or_index
from layerscope.reference import ImageReference, Reference
from layerscope.registry import blobs
from layerscope.registry.blobs import BLOB_CHUNK_SIZE
from layerscope.registry.config import RegistryConfig
from layerscope.registry.credentials import CredentialsProvider
from layerscope.registry.failures import MAX_ERROR_BODY, Where, redact, short
from layerscope.registry.pages import string_lists
from layerscope.registry.push import Pusher
from layerscope.registry.referrers import Referrers, referrers_tag
from layerscope.registry.transport import Transport

__all__ = ["BLOB_CHUNK_SIZE", "RegistryClient", "redact", "referrers_tag"]


def _image(ref: Reference) -> ImageReference:
    if not isinstance(ref, ImageReference):
        raise UsageError(f"{ref} is an OCI layout directory, not a registry image")
    return ref


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
        self._transport = Transport(self._config, credentials_provider, transport, sleep=sleep, clock=clock)
        self._chunk_size = chunk_size
        self._referrers = Referrers(self._transport, self.get_manifest)
        self._pusher = Pusher(self._transport, self._referrers, self.get_manifest)

    # -- lifecycle -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._transport.close()

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
        where = Where.of(host, image.repository, f"manifest {short(ident)}")
        url = f"{host.base_url}/v2/{image.repository}/manifests/{ident}"
        headers = {"Accept": ", ".join(ACCEPT_MANIFESTS)}
        with self._transport.slot(host):
            reply = self._transport.request(
                where, host, url, headers, cap=MAX_MANIFEST_BYTES, too_big=InvalidManifestError
            )
        if is_digest(ident):
            verify_bytes(reply.body, ident, None, what=str(where))
        else:
            # By tag nothing pins the content, but the registry's own digest header must agree with it
            # (spec "Pulling manifests": Docker-Content-Digest). A malformed header is not evidence.
            header = (reply.headers.get("docker-content-digest") or "").strip()
            if is_digest(header):
                verify_bytes(reply.body, header, None, what=str(where))
        return parse_manifest_or_index(reply.body, reply.headers.get("content-type"))

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        """A small blob (a config), verified against its descriptor; refuses more than *max_bytes*."""
        if descriptor.size > max_bytes:
            raise InvalidManifestError(
                f"{ref}: blob {short(descriptor.digest)} is {descriptor.size} bytes, over the {max_bytes}-byte limit"
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
        where = Where.of(host, image.repository, f"blob {short(descriptor.digest)}")
        with self._transport.slot(host):
            reader = blobs.open_reader(
                self._transport, where, host, image, descriptor, chunk_size=self._chunk_size, on_bytes=on_bytes
            )
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
        where = Where.of(host, image.repository, f"blob {short(descriptor.digest)} bytes {offset}+{length}")
        url = f"{host.base_url}/v2/{image.repository}/blobs/{descriptor.digest}"
        with self._transport.slot(host):
            return blobs.read_range(self._transport, where, host, url, offset, length)

    # -- more registry API ---------------------------------------------------------------------------

    def list_tags(self, ref: Reference, *, page_size: int | None = None) -> list[str]:
        """All tags of ref's repository, following `Link: <…>; rel="next"` pages (of *page_size*, if given)."""
        image = _image(ref)
        host = self._config.resolve(image.registry)
        where = Where.of(host, image.repository, "tag list")
        url = httpx.URL(f"{host.base_url}/v2/{image.repository}/tags/list")
        if page_size is not None:
            url = url.copy_add_param("n", str(page_size))
        with self._transport.slot(host):
            return string_lists(self._transport, where, host, url, "tags")

    def list_repositories(self, registry: str, *, page_size: int | None = None) -> list[str]:
        """All repository names of *registry* (`GET /v2/_catalog`, following `Link` pages)."""
        host = self._config.resolve(registry)
        where = Where.of(host, None, "repository catalog")
        url = httpx.URL(f"{host.base_url}/v2/_catalog")
        if page_size is not None:
            url = url.copy_add_param("n", str(page_size))
        with self._transport.slot(host):
            return string_lists(self._transport, where, host, url, "repositories")

    def ping(self, registry: str) -> None:
        """Check that *registry* speaks the v2 API and accepts our credentials (`GET /v2/`); raise if not."""
        host = self._config.resolve(registry)
        where = Where.of(host, None, "API version check")
        with self._transport.slot(host):
            self._transport.request(where, host, f"{host.base_url}/v2/", cap=MAX_ERROR_BODY, too_big=RegistryError)

    def referrers(self, ref: Reference, digest: str, artifact_type: str | None = None) -> list[Descriptor]:
        """Manifests whose `subject` is *digest* (optionally of *artifact_type*), by API or tag schema."""
        return self._referrers.lookup(_image(ref), digest, artifact_type)

    # -- writes (distribution spec "Push"), used by attach -------------------------------------------

    def blob_exists(self, ref: Reference, digest: str) -> bool:
        """True when ref's repository has the blob *digest* (`HEAD /v2/<name>/blobs/<digest>`)."""
        return self._pusher.blob_exists(_image(ref), digest)

    def push_blob(self, ref: Reference, data: bytes, media_type: str = "application/octet-stream") -> Descriptor:
        """Upload *data* to ref's repository (monolithic POST + PUT) unless it is there already."""
        return self._pusher.push_blob(_image(ref), data, media_type)

    def push_manifest(self, ref: Reference, tag_or_digest: str, raw: bytes, media_type: str) -> str:
        """PUT a manifest or index as *tag_or_digest*; return its digest (a subject also updates its referrers tag)."""
        return self._pusher.push_manifest(_image(ref), tag_or_digest, raw, media_type)
