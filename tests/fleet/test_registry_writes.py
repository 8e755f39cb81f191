"""RegistryClient writes and referrers discovery against scripted registries (httpx.MockTransport).

The real registry (distribution 2.8) has no referrers API, so the API path — pagination, server-side and
client-side `artifactType` filtering, `OCI-Subject` on push — is exercised here; the tag-schema fallback
is covered against the real registry in test_attach.py.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from layerscope.errors import AuthenticationError, RegistryError
from layerscope.oci import MediaType
from layerscope.reference import ImageReference
from layerscope.registry import HostConfig, RegistryClient, RegistryConfig, RetryPolicy
from layerscope.registry.auth import scope_for_path
from layerscope.registry.client import referrers_tag
from layerscope.registry.credentials import Credentials

HOST = "reg.example.com"
REF = ImageReference(HOST, "team/app", "1.0")
SUBJECT = "sha256:" + "ab" * 32
ARTIFACT = "application/vnd.layerscope.analysis.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _client(handler: Callable[[httpx.Request], httpx.Response], creds: Credentials | None = None) -> RegistryClient:
    config = RegistryConfig(
        hosts={HOST: HostConfig(plain_http=False)}, retry=RetryPolicy(max_attempts=2, jitter=lambda d: 0.0)
    )
    return RegistryClient(
        config, (lambda host: creds) if creds else None, httpx.MockTransport(handler), sleep=lambda s: None
    )


def _entry(n: int, artifact_type: str) -> dict[str, Any]:
    return {
        "mediaType": MediaType.OCI_MANIFEST,
        "digest": "sha256:" + f"{n:02d}" * 32,
        "size": 100 + n,
        "artifactType": artifact_type,
        "annotations": {"n": str(n)},
    }


def _index(entries: list[dict[str, Any]]) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": entries}).encode()


@pytest.mark.parametrize("server_filters", [True, False])
def test_referrers_api_pages_and_filters(server_filters: bool) -> None:
    seen: list[httpx.URL] = []
    pages = {
        None: ([_entry(1, ARTIFACT), _entry(2, "application/other")], "/v2/team/app/referrers/{d}?last=2"),
        "2": ([_entry(3, ARTIFACT)], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        assert request.url.path == f"/v2/team/app/referrers/{SUBJECT}"
        entries, link = pages[request.url.params.get("last")]
        headers = {"Content-Type": MediaType.OCI_INDEX}
        if server_filters and request.url.params.get("artifactType"):
            entries = [e for e in entries if e["artifactType"] == request.url.params["artifactType"]]
            headers["OCI-Filters-Applied"] = "artifactType"
        if link:
            headers["Link"] = f'<{link.format(d=SUBJECT)}>; rel="next"'
        return httpx.Response(200, headers=headers, content=_index(entries))

    with _client(handler) as client:
        found = client.referrers(REF, SUBJECT, ARTIFACT)
        everything = client.referrers(REF, SUBJECT)
    assert [d.annotations["n"] for d in found] == ["1", "3"]
    assert all(d.artifact_type == ARTIFACT for d in found)
    assert len(everything) == 3
    assert seen[0].params["artifactType"] == ARTIFACT
    # No tag-schema request when the API answered.
    assert all("referrers" in url.path for url in seen)


def test_referrers_fall_back_to_tag_schema_once_per_host() -> None:
    paths: list[str] = []
    tag = referrers_tag(SUBJECT)
    index = _index([_entry(1, ARTIFACT), _entry(2, "application/other")])

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if "/referrers/" in request.url.path:
            return httpx.Response(404, text="404 page not found")
        if request.url.path == f"/v2/team/app/manifests/{tag}":
            return httpx.Response(200, headers={"Content-Type": MediaType.OCI_INDEX}, content=index)
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]})

    with _client(handler) as client:
        first = client.referrers(REF, SUBJECT, ARTIFACT)
        second = client.referrers(REF, "sha256:" + "cd" * 32, ARTIFACT)
    assert [d.digest for d in first] == [_entry(1, ARTIFACT)["digest"]]
    assert second == []
    assert tag == "sha256-" + "ab" * 32
    # The API is asked once; afterwards this host goes straight to the tag schema.
    assert sum("/referrers/" in p for p in paths) == 1


def _artifact_manifest(subject: str = SUBJECT) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MediaType.OCI_MANIFEST,
            "artifactType": ARTIFACT,
            "config": {"mediaType": MediaType.OCI_EMPTY, "digest": _digest(b"{}"), "size": 2},
            "layers": [],
            "subject": {"mediaType": MediaType.OCI_MANIFEST, "digest": subject, "size": 10},
            "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        }
    ).encode()


class FakeRegistry:
    """Manifests in a dict; `oci_subject` says whether PUT answers with the OCI-Subject header."""

    def __init__(self, oci_subject: bool) -> None:
        self.oci_subject = oci_subject
        self.manifests: dict[str, tuple[bytes, str]] = {}
        self.requests: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        ref = request.url.path.rsplit("/", 1)[1]
        if request.method == "PUT":
            body = request.read()
            self.manifests[ref] = (body, request.headers["content-type"])
            self.manifests[_digest(body)] = self.manifests[ref]
            headers = {"Docker-Content-Digest": _digest(body)}
            if self.oci_subject and b'"subject"' in body:
                headers["OCI-Subject"] = SUBJECT
            return httpx.Response(201, headers=headers)
        if ref in self.manifests:
            body, media_type = self.manifests[ref]
            return httpx.Response(200, headers={"Content-Type": media_type}, content=body)
        return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN", "message": "unknown"}]})


def test_push_manifest_with_subject_maintains_the_referrers_tag() -> None:
    fake = FakeRegistry(oci_subject=False)
    raw = _artifact_manifest()
    with _client(fake) as client:
        digest = client.push_manifest(REF, _digest(raw), raw, MediaType.OCI_MANIFEST)
        again = client.push_manifest(REF, _digest(raw), raw, MediaType.OCI_MANIFEST)
        found = client.referrers(REF, SUBJECT, ARTIFACT)
    assert digest == again == _digest(raw)
    body, media_type = fake.manifests[referrers_tag(SUBJECT)]
    assert media_type == MediaType.OCI_INDEX
    (entry,) = json.loads(body)["manifests"]  # pushed twice, listed once
    assert entry == {
        "mediaType": MediaType.OCI_MANIFEST,
        "digest": digest,
        "size": len(raw),
        "artifactType": ARTIFACT,
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    }
    assert [d.digest for d in found] == [digest]


def test_push_manifest_to_a_registry_with_the_api_leaves_tags_alone() -> None:
    fake = FakeRegistry(oci_subject=True)
    raw = _artifact_manifest()
    with _client(fake) as client:
        client.push_manifest(REF, _digest(raw), raw, MediaType.OCI_MANIFEST)
    assert [m for m, _ in fake.requests] == ["PUT"]
    assert referrers_tag(SUBJECT) not in fake.manifests


def test_referrers_tag_holding_something_else_is_not_overwritten() -> None:
    fake = FakeRegistry(oci_subject=False)
    image = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MediaType.OCI_MANIFEST,
            "config": {"mediaType": MediaType.OCI_CONFIG, "digest": _digest(b"{}"), "size": 2},
            "layers": [],
        }
    ).encode()
    fake.manifests[referrers_tag(SUBJECT)] = (image, MediaType.OCI_MANIFEST)
    raw = _artifact_manifest()
    with _client(fake) as client, pytest.raises(RegistryError, match="not an OCI image index"):
        client.push_manifest(REF, _digest(raw), raw, MediaType.OCI_MANIFEST)


def test_push_blob_skips_existing_and_uploads_monolithically() -> None:
    data = b"layerscope blob"
    calls: list[tuple[str, str]] = []
    stored: dict[str, bytes] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append((request.method, str(request.url.copy_with(query=None))))
        path = request.url.path
        if request.method == "HEAD":
            return httpx.Response(200 if path.rsplit("/", 1)[1] in stored else 404)
        if request.method == "POST":
            return httpx.Response(202, headers={"Location": "/v2/team/app/blobs/uploads/u1?state=x"})
        if request.method == "PUT":
            assert request.url.params["state"] == "x"
            stored[request.url.params["digest"]] = request.read()
            return httpx.Response(201)
        raise AssertionError(request)

    with _client(handler) as client:
        desc = client.push_blob(REF, data, "application/json")
        client.push_blob(REF, data, "application/json")
    assert desc.digest == _digest(data) and desc.size == len(data) and desc.media_type == "application/json"
    assert stored == {desc.digest: data}
    assert [m for m, _ in calls] == ["HEAD", "POST", "PUT", "HEAD"]
    assert calls[2][1] == f"https://{HOST}/v2/team/app/blobs/uploads/u1"


def test_writes_ask_for_push_scope_and_say_so_when_refused() -> None:
    scopes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            scopes.append(request.url.params["scope"])
            return httpx.Response(200, json={"token": "t-" + request.url.params["scope"]})
        auth = request.headers.get("authorization", "")
        if not auth:
            return httpx.Response(
                401, headers={"WWW-Authenticate": 'Bearer realm="https://auth.example.com/token",service="reg"'}
            )
        if request.method == "PUT":
            return httpx.Response(403, json={"errors": [{"code": "DENIED", "message": "requested access denied"}]})
        return httpx.Response(404)

    raw = b'{"schemaVersion":2}'
    with _client(handler, Credentials("u", "p")) as client:
        assert not client.blob_exists(REF, _digest(raw))
        with pytest.raises(AuthenticationError) as info:
            client.push_manifest(REF, "v1", raw, MediaType.OCI_MANIFEST)
    assert scopes == ["repository:team/app:pull", "repository:team/app:pull,push"]
    assert info.value.hint is not None and "push" in info.value.hint


@pytest.mark.parametrize(
    ("path", "method", "scope"),
    [
        ("/v2/a/b/manifests/v1", "PUT", "repository:a/b:pull,push"),
        ("/v2/a/b/blobs/uploads/", "POST", "repository:a/b:pull,push"),
        ("/v2/a/b/blobs/uploads/uuid", "PUT", "repository:a/b:pull,push"),
        ("/v2/a/b/blobs/sha256:00", "HEAD", "repository:a/b:pull"),
        ("/v2/a/b/referrers/sha256:00", "GET", "repository:a/b:pull"),
        ("/v2/_catalog", "GET", "registry:catalog:*"),
    ],
)
def test_scope_for_writes_and_discovery(path: str, method: str, scope: str) -> None:
    assert scope_for_path(path, method) == scope


def test_list_repositories_follows_link_pages() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v2/_catalog"
        if request.url.params.get("last") is None:
            return httpx.Response(
                200, headers={"Link": '</v2/_catalog?last=b&n=2>; rel="next"'}, json={"repositories": ["a", "b"]}
            )
        return httpx.Response(200, json={"repositories": ["c"]})

    with _client(handler) as client:
        assert client.list_repositories(HOST, page_size=2) == ["a", "b", "c"]
