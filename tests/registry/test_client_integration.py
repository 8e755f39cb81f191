"""RegistryClient against a real CNCF distribution registry (tests/conftest.py fixtures).

What layerscope reads here was written by an independent pusher (tests/support/push.py) from images
built by scripts/fixturegen.py, so the expected bytes do not come from layerscope's own code.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from layerscope.errors import AuthenticationError, NotFoundError, RegistryUnavailableError
from layerscope.oci import MAX_CONFIG_BYTES, Descriptor, Index, Manifest, MediaType
from layerscope.reference import ImageReference, parse_reference
from layerscope.registry import Credentials, HostConfig, RegistryClient, RegistryConfig, RetryPolicy
from scripts import fixturegen
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess, TokenIssuer, free_port

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, jitter=lambda d: d)
Provider = Callable[[str], Credentials | None]


def _ref(pushed: PushedRef) -> ImageReference:
    ref = parse_reference(pushed.ref)
    assert isinstance(ref, ImageReference)
    return ref


@pytest.fixture
def client() -> Iterator[RegistryClient]:
    with RegistryClient(RegistryConfig(retry=FAST), sleep=lambda s: None) as c:
        yield c


def _authed(user: str | None, password: str = "", **kw: object) -> RegistryClient:
    provider: Provider = (lambda host: Credentials(user, password)) if user is not None else (lambda host: None)
    return RegistryClient(RegistryConfig(retry=FAST), provider, sleep=lambda s: None)


def _images(client: RegistryClient, ref: ImageReference) -> list[Manifest]:
    """The image manifests of *ref* (itself, or every entry of its index)."""
    top = client.get_manifest(ref)
    if isinstance(top, Manifest):
        return [top]
    assert isinstance(top, Index)
    out = []
    for entry in top.manifests:
        sub = client.get_manifest(ref, entry.digest)
        assert sub.digest == entry.digest
        assert isinstance(sub, Manifest)
        out.append(sub)
    return out


def _stream(client: RegistryClient, ref: ImageReference, desc: Descriptor) -> bytes:
    with client.open_blob(ref, desc) as chunks:
        return b"".join(chunks)


# -- an open registry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", fixturegen.TAGS)
def test_pull_every_fixture(
    client: RegistryClient,
    pushed_fixtures: dict[str, PushedRef],
    fixture_set: fixturegen.FixtureSet,
    tag: str,
) -> None:
    pushed = pushed_fixtures[tag]
    ref = _ref(pushed)
    top = client.get_manifest(ref)
    assert top.digest == pushed.digest == fixture_set.tags[tag].digest
    assert top.raw == fixture_set.blobs[pushed.digest].data
    for manifest in _images(client, ref):
        config = client.get_blob(ref, manifest.config, MAX_CONFIG_BYTES)
        assert config == fixture_set.blobs[manifest.config.digest].data
        for layer in manifest.layers:
            if layer.foreign:
                continue
            data = _stream(client, ref, layer)
            assert data == fixture_set.blobs[layer.digest].data
            assert "sha256:" + hashlib.sha256(data).hexdigest() == layer.digest


def test_manifest_by_digest(client: RegistryClient, pushed_fixtures: dict[str, PushedRef]) -> None:
    pushed = pushed_fixtures["linux-gzip"]
    ref = _ref(pushed).with_digest(pushed.digest)
    assert client.get_manifest(ref).digest == pushed.digest


def test_blob_is_fetched_once_and_streamed_in_chunks(
    registry: RegistryProcess, pushed_fixtures: dict[str, PushedRef], fixture_set: fixturegen.FixtureSet
) -> None:
    pushed = pushed_fixtures["linux-zstd"]
    ref = _ref(pushed)
    seen: list[int] = []
    with RegistryClient(RegistryConfig(retry=FAST), chunk_size=1024) as client:
        manifest = client.get_manifest(ref)
        assert isinstance(manifest, Manifest)
        layer = max(manifest.layers, key=lambda d: d.size)
        mark = registry.mark()
        with client.open_blob(ref, layer, on_bytes=seen.append) as chunks:
            sizes = [len(c) for c in chunks]
    assert sum(seen) == layer.size == sum(sizes)
    assert len(sizes) > 1 and all(s >= 1024 for s in sizes[:-1]), "chunks of at least chunk_size"
    gets = registry.blob_gets(mark, digest=layer.digest)
    assert [g.status for g in gets] == [200]
    assert gets[0].user_agent.startswith("layerscope/")


def test_read_range_against_the_registry(client: RegistryClient, pushed_fixtures: dict[str, PushedRef]) -> None:
    ref = _ref(pushed_fixtures["linux-gzip"])
    manifest = client.get_manifest(ref)
    assert isinstance(manifest, Manifest)
    layer = manifest.layers[0]
    whole = _stream(client, ref, layer)
    assert client.read_range(ref, layer, 0, 10) == whole[:10]
    assert client.read_range(ref, layer, layer.size - 8, 8) == whole[-8:]


def test_list_tags_with_real_link_pagination(client: RegistryClient, pushed_fixtures: dict[str, PushedRef]) -> None:
    ref = _ref(pushed_fixtures["linux-gzip"])
    assert sorted(client.list_tags(ref)) == sorted(fixturegen.TAGS)
    assert sorted(client.list_tags(ref, page_size=2)) == sorted(fixturegen.TAGS)


def test_not_found(client: RegistryClient, pushed_fixtures: dict[str, PushedRef], registry: RegistryProcess) -> None:
    ref = _ref(pushed_fixtures["linux-gzip"])
    with pytest.raises(NotFoundError, match="MANIFEST_UNKNOWN") as info:
        client.get_manifest(ImageReference(ref.registry, ref.repository, "no-such-tag"))
    assert registry.host in str(info.value) and ref.repository in str(info.value)
    with pytest.raises(NotFoundError):
        client.get_manifest(ImageReference(ref.registry, "no/such/repo", "x"))
    missing = Descriptor(MediaType.OCI_LAYER_GZIP, "sha256:" + "1" * 64, 10)
    with pytest.raises(NotFoundError, match="BLOB_UNKNOWN"), client.open_blob(ref, missing) as chunks:
        b"".join(chunks)


def test_ping(client: RegistryClient, registry: RegistryProcess) -> None:
    client.ping(registry.host)


def test_mirror_remap_points_a_public_name_at_the_local_registry(
    registry: RegistryProcess, pushed_fixtures: dict[str, PushedRef]
) -> None:
    pushed = pushed_fixtures["windows-style"]
    config = RegistryConfig(retry=FAST, hosts={"mcr.microsoft.com": HostConfig(endpoint=registry.host)})
    with RegistryClient(config) as client:
        got = client.get_manifest(ImageReference("mcr.microsoft.com", pushed.repo, pushed.tag))
    assert got.digest == pushed.digest


def test_foreign_layer_is_read_from_its_remapped_url(registry: RegistryProcess, pusher: Pusher, repo_name: str) -> None:
    data = fixturegen.random_bytes(3000, "foreign-layer")
    digest = pusher.push_blob("windows/servercore", data)
    desc = Descriptor(
        MediaType.DOCKER_FOREIGN,
        digest,
        len(data),
        urls=(f"https://mcr.microsoft.com/v2/windows/servercore/blobs/{digest}",),
    )
    config = RegistryConfig(retry=FAST, hosts={"mcr.microsoft.com": HostConfig(endpoint=registry.host)})
    mark = registry.mark()
    with RegistryClient(config) as client:
        assert _stream(client, ImageReference(registry.host, repo_name, "x"), desc) == data
    assert [(g.repo, g.status) for g in registry.blob_gets(mark, digest=digest)] == [
        (repo_name, 404),
        ("windows/servercore", 200),
    ]


def test_connection_refused_is_unavailable() -> None:
    host = f"127.0.0.1:{free_port()}"
    client = RegistryClient(RegistryConfig(retry=FAST), sleep=lambda s: None)
    with client, pytest.raises(RegistryUnavailableError, match=host):
        client.get_manifest(ImageReference(host, "a", "b"))


def test_https_to_a_plain_http_registry_has_a_hint(registry: RegistryProcess) -> None:
    config = RegistryConfig(retry=FAST, hosts={registry.host: HostConfig(plain_http=False)})
    with RegistryClient(config, sleep=lambda s: None) as client, pytest.raises(RegistryUnavailableError) as info:
        client.get_manifest(ImageReference(registry.host, "a", "b"))
    assert info.value.hint and "plain-http" in info.value.hint


# -- token auth ---------------------------------------------------------------------------------------


def test_token_auth_pull_with_right_password(
    auth_registry: RegistryProcess,
    auth_pushed_fixtures: dict[str, PushedRef],
    fixture_set: fixturegen.FixtureSet,
    token_issuer: TokenIssuer,
) -> None:
    pushed = auth_pushed_fixtures["linux-gzip"]
    ref = _ref(pushed)
    assert auth_registry.user is not None and auth_registry.password is not None
    token_issuer.clear()
    with _authed(auth_registry.user, auth_registry.password) as client:
        manifest = client.get_manifest(ref)
        assert isinstance(manifest, Manifest) and manifest.digest == pushed.digest
        for layer in manifest.layers:
            assert _stream(client, ref, layer) == fixture_set.blobs[layer.digest].data
    token_requests = [r for r in token_issuer.requests if r.path == "/token"]
    assert len(token_requests) == 1, "one token per scope, cached for the following requests"
    assert token_requests[0].scopes == (f"repository:{pushed.repo}:pull",)
    assert token_requests[0].authenticated and token_requests[0].user == auth_registry.user


def test_pull_only_user(auth_pushed_fixtures: dict[str, PushedRef]) -> None:
    pushed = auth_pushed_fixtures["linux-zstd"]
    with _authed("reader", "reader-password") as client:
        assert client.get_manifest(_ref(pushed)).digest == pushed.digest


def test_token_auth_with_wrong_password(
    auth_pushed_fixtures: dict[str, PushedRef], auth_registry: RegistryProcess
) -> None:
    assert auth_registry.user is not None
    with _authed(auth_registry.user, "not-the-password") as client, pytest.raises(AuthenticationError) as info:
        client.get_manifest(_ref(auth_pushed_fixtures["linux-gzip"]))
    assert "not-the-password" not in str(info.value) and info.value.exit_code == 3


def test_token_auth_anonymous_is_refused(auth_pushed_fixtures: dict[str, PushedRef]) -> None:
    with _authed(None) as client, pytest.raises(AuthenticationError):
        client.get_manifest(_ref(auth_pushed_fixtures["linux-gzip"]))


def test_identity_token_is_exchanged(
    auth_registry: RegistryProcess, auth_pushed_fixtures: dict[str, PushedRef], token_issuer: TokenIssuer
) -> None:
    # Get a refresh token the way `docker login` does for OAuth-capable token servers (password grant).
    answer = httpx.post(
        token_issuer.realm,
        data={
            "grant_type": "password",
            "username": auth_registry.user,
            "password": auth_registry.password,
            "service": token_issuer.service,
            "client_id": "test",
        },
    )
    refresh = answer.json()["refresh_token"]
    pushed = auth_pushed_fixtures["linux-gzip"]
    token_issuer.clear()
    provider: Provider = lambda host: Credentials("", identity_token=refresh)  # noqa: E731
    with RegistryClient(RegistryConfig(retry=FAST), provider) as client:
        assert client.get_manifest(_ref(pushed)).digest == pushed.digest
    assert [r.grant_type for r in token_issuer.requests] == ["refresh_token"]


def test_token_service_fault_is_retried(
    auth_registry: RegistryProcess, auth_pushed_fixtures: dict[str, PushedRef], token_issuer: TokenIssuer
) -> None:
    assert auth_registry.user is not None and auth_registry.password is not None
    token_issuer.fail_next(503)
    with _authed(auth_registry.user, auth_registry.password) as client:
        assert client.get_manifest(_ref(auth_pushed_fixtures["linux-gzip"])).digest


def test_ping_checks_credentials(auth_registry: RegistryProcess) -> None:
    assert auth_registry.user is not None and auth_registry.password is not None
    with _authed(auth_registry.user, auth_registry.password) as client:
        client.ping(auth_registry.host)
    with _authed(None) as client, pytest.raises(AuthenticationError):
        client.ping(auth_registry.host)


def test_thread_pool_shares_one_client(
    auth_registry: RegistryProcess,
    auth_pushed_fixtures: dict[str, PushedRef],
    fixture_set: fixturegen.FixtureSet,
    token_issuer: TokenIssuer,
) -> None:
    assert auth_registry.user is not None and auth_registry.password is not None
    jobs: list[tuple[ImageReference, Descriptor]] = []
    with _authed(auth_registry.user, auth_registry.password) as client:
        for tag in ("linux-gzip", "linux-zstd", "linux-uncompressed", "multi-platform"):
            ref = _ref(auth_pushed_fixtures[tag])
            for manifest in _images(client, ref):
                jobs.extend((ref, layer) for layer in manifest.layers if not layer.foreign)
        token_issuer.clear()
        lock = threading.Lock()
        done: list[str] = []

        def pull(job: tuple[ImageReference, Descriptor]) -> None:
            data = _stream(client, *job)
            assert data == fixture_set.blobs[job[1].digest].data
            with lock:
                done.append(job[1].digest)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(pull, jobs))
    assert len(done) == len(jobs)
    assert token_issuer.requests == [], "every scope's token was already cached"


# -- basic auth ---------------------------------------------------------------------------------------


def test_basic_auth(basic_registry: RegistryProcess, basic_pusher: Pusher, fixture_set: fixturegen.FixtureSet) -> None:
    image = fixture_set.tags["linux-gzip"]
    assert isinstance(image, fixturegen.Image)
    pushed = basic_pusher.push_image("basic/app", "v1", image.manifest, fixture_set.blobs)
    assert basic_registry.user is not None and basic_registry.password is not None
    with _authed(basic_registry.user, basic_registry.password) as client:
        manifest = client.get_manifest(_ref(pushed))
        assert isinstance(manifest, Manifest)
        layer = manifest.layers[0]
        assert _stream(client, _ref(pushed), layer) == fixture_set.blobs[layer.digest].data
    with _authed(basic_registry.user, "wrong") as client, pytest.raises(AuthenticationError):
        client.get_manifest(_ref(pushed))
