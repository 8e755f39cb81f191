"""Referrers pagination: a 404 on the first page means "no API" (tag schema), on a later page an error.

Issue 12, item 8: a 404 in the middle of the pages used to end the list silently. The real registry
(distribution 2.8) has no referrers API and cannot lose a page mid-listing, so a scripted transport plays
a registry whose second page is gone (httpx.MockTransport: a fault a real server cannot produce here).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from layerscope.errors import NotFoundError, RegistryError
from layerscope.oci import MediaType
from layerscope.reference import ImageReference
from layerscope.registry import HostConfig, RegistryClient, RegistryConfig, RetryPolicy

HOST = "reg.example.com"
REF = ImageReference(HOST, "team/app", "1.0")
SUBJECT = "sha256:" + "ab" * 32
ARTIFACT = "application/vnd.layerscope.analysis.v1+json"
TAG = "sha256-" + "ab" * 32


def _index(n: int) -> bytes:
    entry = {
        "mediaType": MediaType.OCI_MANIFEST,
        "digest": "sha256:" + f"{n:02d}" * 32,
        "size": 100,
        "artifactType": ARTIFACT,
    }
    return json.dumps({"schemaVersion": 2, "mediaType": MediaType.OCI_INDEX, "manifests": [entry]}).encode()


class Paged:
    """Referrers in pages `?page=1..pages`; `gone` pages answer *status* instead; the tag schema has page 9."""

    def __init__(self, pages: int, gone: int | None, status: int = 404) -> None:
        self.pages, self.gone, self.status = pages, gone, status
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == f"/v2/team/app/manifests/{TAG}":
            return httpx.Response(200, headers={"Content-Type": MediaType.OCI_INDEX}, content=_index(9))
        assert request.url.path == f"/v2/team/app/referrers/{SUBJECT}"
        page = int(request.url.params.get("page", "1"))
        if page == self.gone:
            error = {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]}
            return httpx.Response(self.status, json=error)
        headers = {"Content-Type": MediaType.OCI_INDEX}
        if page < self.pages:
            headers["Link"] = f'</v2/team/app/referrers/{SUBJECT}?page={page + 1}>; rel="next"'
        return httpx.Response(200, headers=headers, content=_index(page))


def _client(handler: Any) -> RegistryClient:
    config = RegistryConfig(hosts={HOST: HostConfig(plain_http=False)}, retry=RetryPolicy(max_attempts=2))
    return RegistryClient(config, transport=httpx.MockTransport(handler), sleep=lambda s: None)


def _digits(found: list[Any]) -> list[str]:
    return [d.digest[7:9] for d in found]


def test_all_pages_are_read() -> None:
    with _client(Paged(pages=3, gone=None)) as client:
        assert _digits(client.referrers(REF, SUBJECT, ARTIFACT)) == ["01", "02", "03"]


@pytest.mark.parametrize("status", [404, 405])
@pytest.mark.parametrize("gone", [2, 3])
def test_a_later_page_that_is_gone_is_an_error_not_a_shorter_list(gone: int, status: int) -> None:
    registry = Paged(pages=3, gone=gone, status=status)
    with _client(registry) as client, pytest.raises(RegistryError) as info:
        client.referrers(REF, SUBJECT, ARTIFACT)
    error = info.value
    # Not "does not exist" (exit 4): the subject is there, the registry lost part of its list.
    assert not isinstance(error, NotFoundError) and error.exit_code == 1
    assert (error.status, error.codes) == (status, ("NAME_UNKNOWN",))
    assert f"page {gone}" in error.message and "incomplete" in error.message
    # No fallback to the tag schema either: the API exists, its answer broke.
    assert all("/referrers/" in path for path in registry.paths)


@pytest.mark.parametrize("status", [404, 405])
def test_a_missing_first_page_means_no_api_and_the_tag_schema_answers(status: int) -> None:
    registry = Paged(pages=3, gone=1, status=status)
    with _client(registry) as client:
        assert _digits(client.referrers(REF, SUBJECT, ARTIFACT)) == ["09"]
        assert _digits(client.referrers(REF, SUBJECT, ARTIFACT)) == ["09"]
    assert sum("/referrers/" in path for path in registry.paths) == 1  # remembered per endpoint
