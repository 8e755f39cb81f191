"""Registry errors keep the HTTP status and the registry's error codes (RegistryError.status / .codes).

Against the real registry wherever it can produce the answer (404s with MANIFEST_UNKNOWN, NAME_UNKNOWN,
BLOB_UNKNOWN; 401 UNAUTHORIZED; a refused connection); a scripted transport only for a 503 that
outlasts the retries, which the real registry does not produce.
"""

from __future__ import annotations

import httpx
import pytest

from layerscope.errors import (
    AuthenticationError,
    NotFoundError,
    RateLimitedError,
    RegistryError,
    RegistryUnavailableError,
)
from layerscope.oci import Descriptor, MediaType
from layerscope.reference import ImageReference, parse_reference
from layerscope.registry import (
    Credentials,
    CredentialsProvider,
    HostConfig,
    RegistryClient,
    RegistryConfig,
    RetryPolicy,
)
from tests.support.push import PushedRef
from tests.support.registry import RegistryProcess, free_port

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, jitter=lambda d: d)


def _ref(pushed: PushedRef) -> ImageReference:
    ref = parse_reference(pushed.ref)
    assert isinstance(ref, ImageReference)
    return ref


def _client(provider: CredentialsProvider | None = None) -> RegistryClient:
    return RegistryClient(RegistryConfig(retry=FAST), provider, sleep=lambda s: None)


def test_not_found_errors_carry_status_and_codes(pushed_fixtures: dict[str, PushedRef]) -> None:
    ref = _ref(pushed_fixtures["linux-gzip"])
    with _client() as client:
        with pytest.raises(NotFoundError) as tag:
            client.get_manifest(ImageReference(ref.registry, ref.repository, "no-such-tag"))
        with pytest.raises(NotFoundError) as repo:
            client.list_tags(ImageReference(ref.registry, "no/such/repo", "x"))
        missing = Descriptor(MediaType.OCI_LAYER_GZIP, "sha256:" + "1" * 64, 10)
        with pytest.raises(NotFoundError) as blob, client.open_blob(ref, missing) as chunks:
            b"".join(chunks)
    assert (tag.value.status, tag.value.codes) == (404, ("MANIFEST_UNKNOWN",))
    assert (repo.value.status, repo.value.codes) == (404, ("NAME_UNKNOWN",))
    assert (blob.value.status, blob.value.codes) == (404, ("BLOB_UNKNOWN",))


@pytest.mark.parametrize("password", [None, "not-the-password"])
def test_refused_credentials_carry_401_and_unauthorized(basic_registry: RegistryProcess, password: str | None) -> None:
    user = basic_registry.user or ""
    provider: CredentialsProvider = lambda host: Credentials(user, password) if password else None  # noqa: E731
    with _client(provider) as client, pytest.raises(AuthenticationError) as info:
        client.ping(basic_registry.host)
    assert (info.value.status, info.value.codes) == (401, ("UNAUTHORIZED",))


def test_no_answer_has_no_status() -> None:
    host = f"127.0.0.1:{free_port()}"
    with _client() as client, pytest.raises(RegistryUnavailableError) as info:
        client.get_manifest(ImageReference(host, "a", "b"))
    assert info.value.status is None and info.value.codes == ()


def _scripted(status: int, code: str, headers: dict[str, str] | None = None) -> RegistryClient:
    body = {"errors": [{"code": code, "message": "try later"}, {"code": "UNKNOWN", "message": ""}]}
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body, headers=headers))
    config = RegistryConfig(hosts={"reg.example": HostConfig(plain_http=False)}, retry=FAST)
    return RegistryClient(config, transport=transport, sleep=lambda s: None)


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [(503, "UNAVAILABLE", RegistryUnavailableError), (429, "TOOMANYREQUESTS", RateLimitedError)],
)
def test_status_and_codes_survive_giving_up(status: int, code: str, error_type: type[RegistryError]) -> None:
    # The retry loop rewrites the message ("gave up: …"); the status and codes must come along.
    with _scripted(status, code) as client, pytest.raises(error_type) as info:
        client.get_manifest(ImageReference("reg.example", "team/app", "1.0"))
    assert "gave up" in info.value.message
    assert (info.value.status, info.value.codes) == (status, (code, "UNKNOWN"))


def test_same_status_maps_to_the_same_error_on_every_path() -> None:
    # One mapping: reads with a capped body (manifest, tag pages) and with an open stream (blob, range) agree.
    ref = ImageReference("reg.example", "team/app", "1.0")
    blob = Descriptor(MediaType.OCI_LAYER_GZIP, "sha256:" + "2" * 64, 10)
    with _scripted(403, "DENIED") as client:
        errors = []
        for call in (
            lambda: client.get_manifest(ref),
            lambda: client.list_tags(ref),
            lambda: client.open_blob(ref, blob).__enter__(),
            lambda: client.read_range(ref, blob, 0, 4),
        ):
            with pytest.raises(AuthenticationError) as info:
                call()
            errors.append(info.value)
    assert {(type(e), e.status, e.codes) for e in errors} == {(AuthenticationError, 403, ("DENIED", "UNKNOWN"))}
