"""RegistryClient against scripted faults only a mock can produce (httpx.MockTransport).

Everything else (real manifests, blobs, token auth) is covered against a real registry in
test_client_integration.py.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import pkgutil
import socket
import threading
import time
import typing
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import httpx
import pytest

from layerscope.content_source import ContentSource
from layerscope.errors import (
    AuthenticationError,
    DigestMismatchError,
    InvalidManifestError,
    NotFoundError,
    RateLimitedError,
    RegistryError,
    RegistryUnavailableError,
    SizeMismatchError,
    UsageError,
)
from layerscope.oci import ACCEPT_MANIFESTS, MAX_MANIFEST_BYTES, Descriptor, Index, Manifest, MediaType
from layerscope.reference import ImageReference, LayoutReference
from layerscope.registry import HostConfig, RegistryClient, RegistryConfig, RetryPolicy, redact
from layerscope.registry.credentials import Credentials

HOST = "reg.example.com"
REF = ImageReference(HOST, "team/app", "1.0")
BLOB = bytes(range(256)) * 40  # 10 KiB of varied bytes
BLOB_DIGEST = "sha256:" + hashlib.sha256(BLOB).hexdigest()
BLOB_DESC = Descriptor(MediaType.OCI_LAYER_GZIP, BLOB_DIGEST, len(BLOB))
CONFIG = json.dumps({"rootfs": {"type": "layers", "diff_ids": []}, "os": "linux"}).encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": MediaType.OCI_MANIFEST,
        "config": {"mediaType": MediaType.OCI_CONFIG, "digest": CONFIG_DIGEST, "size": len(CONFIG)},
        "layers": [{"mediaType": MediaType.OCI_LAYER_GZIP, "digest": BLOB_DIGEST, "size": len(BLOB)}],
    }
).encode()
MANIFEST_DIGEST = "sha256:" + hashlib.sha256(MANIFEST).hexdigest()

Handler = Callable[[httpx.Request], httpx.Response]


class CutStream(httpx.SyncByteStream):
    """A body that stops after *cut* bytes: with an error (a dropped connection) or cleanly (short)."""

    def __init__(self, data: bytes, cut: int, error: Exception | None = None, piece: int = 1000) -> None:
        self.data, self.cut, self.error, self.piece = data, cut, error, piece
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for i in range(0, self.cut, self.piece):
            yield self.data[i : min(self.cut, i + self.piece)]
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True


def _body(data: bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    """A streamed response, like a real transport's (`content=` would be pre-read, and decoded)."""
    headers = {"Content-Length": str(len(data)), **(headers or {})}
    return httpx.Response(status, stream=CutStream(data, len(data)), headers=headers)


def _error(status: int, code: str, message: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"errors": [{"code": code, "message": message or code.lower(), "detail": None}]}
    return httpx.Response(status, json=body, headers=headers)


def _blob_response(request: httpx.Request, data: bytes = BLOB) -> httpx.Response:
    """Serve *data* honouring a `Range: bytes=N-` header the way distribution does."""
    header = request.headers.get("range")
    if header:
        start = int(header.removeprefix("bytes=").rstrip("-"))
        if start >= len(data):
            return httpx.Response(416)
        part = data[start:]
        return _body(part, 206, {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
    return _body(data)


class Script:
    """A MockTransport handler: scripted responses first (in order), then a well-behaved registry."""

    def __init__(self, *steps: Handler | httpx.Response) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(httpx.Request(request.method, request.url, headers=request.headers.copy()))
            step = self.steps.pop(0) if self.steps else None
        if isinstance(step, httpx.Response):
            return step
        if step is not None:
            return step(request)
        return self.ok(request)

    @staticmethod
    def ok(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith(f"/manifests/{REF.tag}") or path.endswith(f"/manifests/{MANIFEST_DIGEST}"):
            return httpx.Response(
                200,
                content=MANIFEST,
                headers={"Content-Type": MediaType.OCI_MANIFEST, "Docker-Content-Digest": MANIFEST_DIGEST},
            )
        if path.endswith(f"/blobs/{BLOB_DIGEST}"):
            return _blob_response(request)
        if path.endswith(f"/blobs/{CONFIG_DIGEST}"):
            return _body(CONFIG)
        if path == "/v2/":
            return httpx.Response(200, json={})
        return _error(404, "NAME_UNKNOWN", "repository name not known to registry")


class Sleeps(list[float]):
    """An injected sleep that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


POLICY = RetryPolicy(max_attempts=4, base_delay=0.1, max_delay=10.0, jitter=lambda d: d)


def _client(
    handler: Handler,
    *,
    config: RegistryConfig | None = None,
    creds: Callable[[str], Credentials | None] | None = None,
    sleeps: Sleeps | None = None,
    chunk_size: int = 4096,
) -> RegistryClient:
    return RegistryClient(
        config or RegistryConfig(retry=POLICY),
        creds,
        httpx.MockTransport(handler),
        sleep=sleeps if sleeps is not None else Sleeps(),
        chunk_size=chunk_size,
    )


def _read(client: RegistryClient, desc: Descriptor = BLOB_DESC) -> bytes:
    with client.open_blob(REF, desc) as chunks:
        return b"".join(chunks)


# -- manifests -----------------------------------------------------------------------------------------


def test_manifest_by_tag_sends_accept_and_parses() -> None:
    script = Script()
    with _client(script) as client:
        manifest = client.get_manifest(REF)
    assert isinstance(manifest, Manifest) and manifest.digest == MANIFEST_DIGEST
    request = script.requests[0]
    assert str(request.url) == f"https://{HOST}/v2/team/app/manifests/1.0"
    accept = request.headers["accept"]
    assert all(media_type in accept for media_type in ACCEPT_MANIFESTS)


def test_manifest_by_digest_verifies_body() -> None:
    other = MANIFEST.replace(b'"schemaVersion": 2', b'"schemaVersion":  2')
    script = Script(httpx.Response(200, content=other, headers={"Content-Type": MediaType.OCI_MANIFEST}))
    with _client(script) as client, pytest.raises(DigestMismatchError):
        client.get_manifest(REF, MANIFEST_DIGEST)


def test_manifest_by_digest_ok() -> None:
    with _client(Script()) as client:
        assert client.get_manifest(REF.with_digest(MANIFEST_DIGEST)).digest == MANIFEST_DIGEST


def test_manifest_with_wrong_docker_content_digest() -> None:
    wrong = "sha256:" + "0" * 64
    script = Script(httpx.Response(200, content=MANIFEST, headers={"Docker-Content-Digest": wrong}))
    with _client(script) as client, pytest.raises(DigestMismatchError):
        client.get_manifest(REF)


def test_manifest_with_malformed_docker_content_digest_is_ignored() -> None:
    script = Script(httpx.Response(200, content=MANIFEST, headers={"Docker-Content-Digest": "md5:abc"}))
    with _client(script) as client:
        assert client.get_manifest(REF).digest == MANIFEST_DIGEST


def test_index_is_returned_as_index() -> None:
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MediaType.OCI_INDEX,
            "manifests": [{"mediaType": MediaType.OCI_MANIFEST, "digest": MANIFEST_DIGEST, "size": len(MANIFEST)}],
        }
    ).encode()
    with _client(Script(httpx.Response(200, content=index))) as client:
        assert isinstance(client.get_manifest(REF), Index)


def test_oversized_manifest_by_content_length() -> None:
    big = httpx.Response(200, headers={"Content-Length": str(MAX_MANIFEST_BYTES + 1)}, content=b"")
    with _client(Script(big)) as client, pytest.raises(InvalidManifestError, match="limit"):
        client.get_manifest(REF)


def test_oversized_manifest_while_streaming_stops_reading() -> None:
    stream = CutStream(b"{" * (MAX_MANIFEST_BYTES * 4), MAX_MANIFEST_BYTES * 4, piece=1 << 20)
    served = Script(httpx.Response(200, stream=stream))
    with _client(served) as client, pytest.raises(InvalidManifestError, match="limit"):
        client.get_manifest(REF)
    assert stream.closed


def test_manifest_404_is_not_found_with_code_and_names() -> None:
    script = Script(_error(404, "MANIFEST_UNKNOWN", "manifest unknown"))
    with _client(script) as client, pytest.raises(NotFoundError) as info:
        client.get_manifest(REF)
    message = str(info.value)
    assert "MANIFEST_UNKNOWN" in message and HOST in message and "team/app" in message
    assert len(script.requests) == 1, "a 404 is not retried"


def test_name_unknown_with_other_status_is_not_found() -> None:
    with _client(Script(_error(400, "NAME_UNKNOWN"))) as client, pytest.raises(NotFoundError):
        client.get_manifest(REF)


def test_401_without_credentials_is_authentication_error() -> None:
    challenge = httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}, json={"errors": []})
    with _client(Script(challenge)) as client, pytest.raises(AuthenticationError) as info:
        client.get_manifest(REF)
    assert info.value.exit_code == 3


def test_error_body_is_read_only_a_few_kib() -> None:
    stream = CutStream(b"x" * (50 << 20), 50 << 20, piece=1024)
    reads: list[int] = []

    class Counting(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            for piece in stream:
                reads.append(len(piece))
                yield piece

    with _client(Script(httpx.Response(400, stream=Counting()))) as client, pytest.raises(RegistryError):
        client.get_manifest(REF)
    assert sum(reads) <= 8192


# -- retries -------------------------------------------------------------------------------------------


def test_429_with_retry_after_then_success() -> None:
    sleeps = Sleeps()
    script = Script(_error(429, "TOOMANYREQUESTS", headers={"Retry-After": "3"}))
    with _client(script, sleeps=sleeps) as client:
        assert client.get_manifest(REF).digest == MANIFEST_DIGEST
    assert sleeps == [3.0]


def test_503_flapping_then_success() -> None:
    sleeps = Sleeps()
    script = Script(httpx.Response(503), httpx.Response(502), httpx.Response(504))
    with _client(script, sleeps=sleeps) as client:
        assert client.get_manifest(REF).digest == MANIFEST_DIGEST
    assert sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_5xx_retries_are_bounded() -> None:
    sleeps = Sleeps()
    script = Script(*[_error(503, "UNAVAILABLE") for _ in range(10)])
    with _client(script, sleeps=sleeps) as client, pytest.raises(RegistryUnavailableError) as info:
        client.get_manifest(REF)
    assert len(script.requests) == POLICY.max_attempts and len(sleeps) == POLICY.max_attempts - 1
    assert "gave up" in str(info.value) and "UNAVAILABLE" in str(info.value)


def test_429_forever_is_rate_limited() -> None:
    script = Script(*[_error(429, "TOOMANYREQUESTS", "slow down") for _ in range(10)])
    with _client(script) as client, pytest.raises(RateLimitedError) as info:
        client.get_manifest(REF)
    assert info.value.exit_code == 5 and "TOOMANYREQUESTS" in str(info.value)


def test_429_asking_for_an_hour_fails_at_once() -> None:
    script = Script(_error(429, "TOOMANYREQUESTS", headers={"Retry-After": "3600"}))
    with _client(script) as client, pytest.raises(RateLimitedError, match="3600"):
        client.get_manifest(REF)
    assert len(script.requests) == 1


def test_max_total_time_bounds_retries() -> None:
    clock = [0.0]

    def slow_503(request: httpx.Request) -> httpx.Response:
        clock[0] += 50.0
        return httpx.Response(503)

    policy = RetryPolicy(max_attempts=100, max_total=120.0, base_delay=1.0, jitter=lambda d: d)
    client = RegistryClient(
        RegistryConfig(retry=policy), None, httpx.MockTransport(slow_503), sleep=Sleeps(), clock=lambda: clock[0]
    )
    with client, pytest.raises(RegistryUnavailableError, match="exceed"):
        client.get_manifest(REF)
    assert clock[0] == 150.0  # three attempts, the fourth would pass 120 s


def test_connection_errors_are_retried_then_unavailable() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    sleeps = Sleeps()
    with _client(refuse, sleeps=sleeps) as client, pytest.raises(RegistryUnavailableError) as info:
        client.get_manifest(REF)
    assert len(sleeps) == POLICY.max_attempts - 1
    assert HOST in str(info.value) and "refused" in str(info.value)


def test_unknown_host_fails_fast() -> None:
    def no_dns(request: httpx.Request) -> httpx.Response:
        # What httpx raises for a name that does not resolve (httpcore wraps socket.gaierror).
        raise httpx.ConnectError("[Errno -2] Name or service not known") from socket.gaierror(
            socket.EAI_NONAME, "Name or service not known"
        )

    sleeps = Sleeps()
    with _client(no_dns, sleeps=sleeps) as client, pytest.raises(RegistryUnavailableError) as info:
        client.get_manifest(REF)
    assert sleeps == [] and info.value.exit_code == 5


def test_read_error_during_manifest_body_is_retried() -> None:
    cut = httpx.Response(200, stream=CutStream(MANIFEST, 10, httpx.ReadError("reset")))
    with _client(Script(cut)) as client:
        assert client.get_manifest(REF).digest == MANIFEST_DIGEST


def test_token_endpoint_503_is_retried() -> None:
    challenge = 'Bearer realm="https://auth.example.com/token",service="reg"'
    state = {"token_calls": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            state["token_calls"] += 1
            if state["token_calls"] == 1:
                return httpx.Response(503)
            return httpx.Response(200, json={"token": "t"})
        if request.headers.get("authorization") != "Bearer t":
            return httpx.Response(401, headers={"WWW-Authenticate": challenge})
        return Script.ok(request)

    sleeps = Sleeps()
    with _client(handler, sleeps=sleeps) as client:
        assert client.get_manifest(REF).digest == MANIFEST_DIGEST
    assert state["token_calls"] == 2 and len(sleeps) == 1


# -- blobs ---------------------------------------------------------------------------------------------


def test_blob_stream_is_verified_and_reports_progress() -> None:
    seen: list[int] = []
    with _client(Script()) as client, client.open_blob(REF, BLOB_DESC, on_bytes=seen.append) as chunks:
        assert b"".join(chunks) == BLOB
    assert sum(seen) == len(BLOB)


def test_get_blob() -> None:
    desc = Descriptor(MediaType.OCI_CONFIG, CONFIG_DIGEST, len(CONFIG))
    with _client(Script()) as client:
        assert client.get_blob(REF, desc, 1 << 20) == CONFIG


def test_get_blob_over_the_limit_is_refused_without_a_request() -> None:
    script = Script()
    with _client(script) as client, pytest.raises(InvalidManifestError, match="limit"):
        client.get_blob(REF, BLOB_DESC, 100)
    assert script.requests == []


def test_blob_requests_raw_bytes() -> None:
    script = Script()
    with _client(script) as client:
        _read(client)
    assert script.requests[0].headers["accept-encoding"] == "identity"


def test_blob_served_with_content_encoding_is_not_decoded() -> None:
    # A CDN that labels a gzip layer `Content-Encoding: gzip`: the blob is the gzip bytes themselves.
    import gzip

    data = gzip.compress(b"layer tar bytes" * 100, mtime=0)
    desc = Descriptor(MediaType.OCI_LAYER_GZIP, "sha256:" + hashlib.sha256(data).hexdigest(), len(data))
    script = Script(_body(data, headers={"Content-Encoding": "gzip"}))
    with _client(script) as client:
        assert _read(client, desc) == data


def test_cut_stream_is_resumed_with_range() -> None:
    sleeps = Sleeps()
    cut = httpx.Response(
        200,
        stream=CutStream(BLOB, 3000, httpx.RemoteProtocolError("peer closed connection")),
        headers={"Content-Length": str(len(BLOB))},
    )
    script = Script(cut)
    with _client(script, sleeps=sleeps) as client:
        assert _read(client) == BLOB
    assert [r.headers.get("range") for r in script.requests] == [None, "bytes=3000-"]
    assert len(sleeps) == 1


def test_clean_short_body_is_resumed() -> None:
    script = Script(httpx.Response(200, stream=CutStream(BLOB, 5000)))
    with _client(script) as client:
        assert _read(client) == BLOB
    assert script.requests[1].headers["range"] == "bytes=5000-"


def test_cut_several_times_with_progress_keeps_going() -> None:
    cuts = [
        lambda r, n=n: httpx.Response(
            206,
            stream=CutStream(BLOB[n:], 1000, httpx.ReadError("reset")),
            headers={"Content-Range": f"bytes {n}-{len(BLOB) - 1}/{len(BLOB)}"},
        )
        for n in range(1000, 9000, 1000)
    ]
    first = httpx.Response(200, stream=CutStream(BLOB, 1000, httpx.ReadError("reset")))
    script = Script(first, *cuts)
    with _client(script) as client:
        assert _read(client) == BLOB
    assert len(script.requests) == 10  # more cuts than max_attempts, each one made progress


def test_cut_without_progress_gives_up() -> None:
    def always_cut(request: httpx.Request) -> httpx.Response:
        start = int(request.headers.get("range", "bytes=0-")[6:-1])
        data = BLOB[start:]
        cut = 2000 if start == 0 else 0
        return httpx.Response(
            206 if start else 200,
            stream=CutStream(data, cut, httpx.ReadError("reset")),
            headers={"Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"},
        )

    with _client(always_cut) as client, pytest.raises(RegistryUnavailableError, match="cut after 2000"):
        _read(client)


def test_server_ignoring_range_is_read_again_and_skipped() -> None:
    def ignore_range(request: httpx.Request) -> httpx.Response:
        return _body(BLOB)  # no 206, whole body

    cut = httpx.Response(200, stream=CutStream(BLOB, 4500, httpx.ReadError("reset")))
    script = Script(cut, ignore_range)
    seen: list[int] = []
    with _client(script) as client, client.open_blob(REF, BLOB_DESC, on_bytes=seen.append) as chunks:
        assert b"".join(chunks) == BLOB
    assert script.requests[1].headers["range"] == "bytes=4500-"
    assert sum(seen) == len(BLOB), "skipped bytes are not counted twice"


def test_partial_content_overlapping_our_offset_is_trimmed() -> None:
    def overlap(request: httpx.Request) -> httpx.Response:
        return _body(BLOB[4000:], 206, {"Content-Range": f"bytes 4000-10239/{len(BLOB)}"})

    cut = httpx.Response(200, stream=CutStream(BLOB, 4500, httpx.ReadError("reset")))
    with _client(Script(cut, overlap)) as client:
        assert _read(client) == BLOB


def test_partial_content_after_our_offset_is_an_error() -> None:
    def gap(request: httpx.Request) -> httpx.Response:
        return _body(BLOB[6000:], 206, {"Content-Range": f"bytes 6000-10239/{len(BLOB)}"})

    cut = httpx.Response(200, stream=CutStream(BLOB, 4500, httpx.ReadError("reset")))
    with _client(Script(cut, gap)) as client, pytest.raises(RegistryError, match="Content-Range"):
        _read(client)


def test_blob_shorter_than_descriptor_is_size_mismatch() -> None:
    short = BLOB[:-10]
    with _client(lambda r: _blob_response(r, short)) as client, pytest.raises(SizeMismatchError):
        _read(client)


def test_blob_longer_than_descriptor_is_size_mismatch() -> None:
    with _client(lambda r: _blob_response(r, BLOB + b"!")) as client, pytest.raises(SizeMismatchError):
        _read(client)


def test_blob_with_wrong_content_is_digest_mismatch() -> None:
    evil = bytes(reversed(BLOB))
    with _client(lambda r: _blob_response(r, evil)) as client, pytest.raises(DigestMismatchError):
        _read(client)


def test_blob_404_is_not_found() -> None:
    script = Script(_error(404, "BLOB_UNKNOWN", "blob unknown to registry"))
    with _client(script) as client, pytest.raises(NotFoundError, match="BLOB_UNKNOWN"):
        client.open_blob(REF, BLOB_DESC).__enter__()


def test_stopping_early_closes_the_response() -> None:
    stream = CutStream(BLOB, len(BLOB))
    with _client(Script(httpx.Response(200, stream=stream))) as client:
        with client.open_blob(REF, BLOB_DESC) as chunks:
            next(iter(chunks))
        assert stream.closed


def test_cross_host_redirect_drops_authorization_and_hides_the_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(httpx.Request(request.method, request.url, headers=request.headers.copy()))
        if request.url.host == "cdn.example.net":
            if request.url.params.get("sig") == "expired":
                return httpx.Response(403, text="<Error>AccessDenied</Error>")
            return _blob_response(request)
        if "authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        sig = "expired" if "eeee" in request.url.path else "abc123"
        return httpx.Response(
            307, headers={"Location": f"https://cdn.example.net/blobs/x?sig={sig}&X-Amz-Credential=K"}
        )

    creds = lambda host: Credentials("alice", "s3cret")  # noqa: E731
    with _client(handler, creds=creds) as client:
        assert _read(client) == BLOB
        registry_requests = [r for r in seen if r.url.host == HOST]
        cdn_requests = [r for r in seen if r.url.host == "cdn.example.net"]
        assert registry_requests[-1].headers["authorization"].startswith("Basic ")
        assert cdn_requests and all("authorization" not in r.headers for r in cdn_requests)

        expired = Descriptor(MediaType.OCI_LAYER_GZIP, "sha256:" + "e" * 64, 1)
        with pytest.raises(AuthenticationError) as info:
            client.open_blob(REF, expired).__enter__()
        assert "expired" not in str(info.value) and "X-Amz" not in str(info.value)


def test_plain_http_to_remote_host_with_credentials_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "authorization" not in request.headers
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    config = RegistryConfig(plain_http=True, retry=POLICY)
    client = _client(handler, config=config, creds=lambda h: Credentials("alice", "pw"))
    with client, pytest.raises(AuthenticationError, match="plain http"):
        client.get_manifest(REF)


def test_foreign_layer_falls_back_to_its_urls_without_credentials() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "foreign.example.com":
            return _blob_response(request)
        return _error(404, "BLOB_UNKNOWN")

    desc = Descriptor(
        MediaType.DOCKER_FOREIGN, BLOB_DIGEST, len(BLOB), urls=("ftp://x/y", "https://foreign.example.com/b")
    )
    with _client(handler) as client:
        assert _read(client, desc) == BLOB
    assert seen[-1].url.host == "foreign.example.com" and "authorization" not in seen[-1].headers


def test_foreign_layer_with_no_working_url_is_not_found() -> None:
    desc = Descriptor(MediaType.DOCKER_FOREIGN, BLOB_DIGEST, len(BLOB), urls=("https://foreign.example.com/b",))
    with _client(lambda r: _error(404, "BLOB_UNKNOWN")) as client, pytest.raises(NotFoundError, match="foreign"):
        _read(client, desc)


def test_concurrency_per_host_is_bounded() -> None:
    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.02)
        with lock:
            state["now"] -= 1
        return Script.ok(request)

    config = RegistryConfig(retry=POLICY, hosts={HOST: HostConfig(max_concurrency=2)})
    with _client(handler, config=config) as client:
        threads = [threading.Thread(target=client.get_manifest, args=(REF,)) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert state["max"] == 2


def test_nested_use_in_one_thread_does_not_deadlock() -> None:
    config = RegistryConfig(retry=POLICY, hosts={HOST: HostConfig(max_concurrency=1)})
    with _client(Script(), config=config) as client, client.open_blob(REF, BLOB_DESC) as chunks:
        client.get_manifest(REF)
        assert b"".join(chunks) == BLOB


# -- endpoints, tags, ping -----------------------------------------------------------------------------


def test_mirror_remap_and_loopback_plain_http() -> None:
    script = Script()
    config = RegistryConfig(retry=POLICY, hosts={"mcr.microsoft.com": HostConfig(endpoint="127.0.0.1:5999")})
    with _client(script, config=config) as client, pytest.raises(NotFoundError) as info:
        client.get_manifest(ImageReference("mcr.microsoft.com", "windows/servercore", "ltsc2022"))
    assert str(script.requests[0].url) == "http://127.0.0.1:5999/v2/windows/servercore/manifests/ltsc2022"
    assert "mcr.microsoft.com/windows/servercore (via 127.0.0.1:5999)" in str(info.value)


def test_docker_hub_endpoint() -> None:
    script = Script()
    with _client(script) as client, pytest.raises(NotFoundError):
        client.get_manifest(ImageReference("docker.io", "library/busybox", "1"))
    assert script.requests[0].url.host == "registry-1.docker.io"


def test_list_tags_follows_link_pages() -> None:
    pages = {
        None: (["a", "b"], '</v2/team/app/tags/list?n=2&last=b>; rel="next"'),
        "b": (["c", "d"], "<https://reg.example.com/v2/team/app/tags/list?n=2&last=d>; rel=next"),
        "d": (["e"], None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        tags, link = pages[request.url.params.get("last")]
        return httpx.Response(200, json={"name": "team/app", "tags": tags}, headers={"Link": link} if link else {})

    with _client(handler) as client:
        assert client.list_tags(REF) == ["a", "b", "c", "d", "e"]


def test_list_tags_empty_repository() -> None:
    with _client(lambda r: httpx.Response(200, json={"name": "team/app", "tags": None})) as client:
        assert client.list_tags(REF) == []


def test_list_tags_refuses_a_link_to_another_host() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"tags": ["a"]}, headers={"Link": '<https://evil.example/v2/x/tags/list>; rel="next"'}
        )

    with _client(handler) as client, pytest.raises(RegistryError, match="another host"):
        client.list_tags(REF)


def test_list_tags_refuses_a_loop() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"tags": ["a"]}, headers={"Link": '</v2/team/app/tags/list>; rel="next"'})

    with _client(handler) as client, pytest.raises(RegistryError, match="loops"):
        client.list_tags(REF)


def test_ping() -> None:
    with _client(Script()) as client:
        client.ping(HOST)
    with _client(Script(httpx.Response(401, json={}))) as client, pytest.raises(AuthenticationError):
        client.ping(HOST)


def test_layout_reference_is_refused() -> None:
    with _client(Script()) as client, pytest.raises(UsageError):
        client.get_manifest(LayoutReference("some/dir", "t"))


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET https://s3.amazonaws.com/b/k?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA", "deadbeef"),
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
        ("authorization=Basic YWxpY2U6czNjcmV0", "YWxpY2U6czNjcmV0"),
        ("sent bearer abc.def-ghi", "abc.def-ghi"),
    ],
)
def test_redact(text: str, secret: str) -> None:
    assert secret not in redact(text)


# -- read_range (estimates) ----------------------------------------------------------------------------


def _ranged(request: httpx.Request) -> httpx.Response:
    first, _, last = request.headers["range"].removeprefix("bytes=").partition("-")
    start, end = int(first), int(last)
    return _body(BLOB[start : end + 1], 206, {"Content-Range": f"bytes {start}-{end}/{len(BLOB)}"})


def test_read_range_head_and_tail() -> None:
    script = Script(_ranged, _ranged)
    with _client(script) as client:
        assert client.read_range(REF, BLOB_DESC, 0, 16) == BLOB[:16]
        assert client.read_range(REF, BLOB_DESC, len(BLOB) - 8, 8) == BLOB[-8:]
    assert [r.headers["range"] for r in script.requests] == ["bytes=0-15", f"bytes={len(BLOB) - 8}-{len(BLOB) - 1}"]


def test_read_range_out_of_bounds_makes_no_request() -> None:
    script = Script()
    with _client(script) as client:
        assert client.read_range(REF, BLOB_DESC, len(BLOB) - 2, 4) is None
        assert client.read_range(REF, BLOB_DESC, -1, 4) is None
        assert client.read_range(REF, BLOB_DESC, 5, 0) == b""
    assert script.requests == []


def test_read_range_when_range_is_ignored() -> None:
    stream = CutStream(BLOB, len(BLOB))
    with _client(Script(httpx.Response(200, stream=stream), _body(BLOB))) as client:
        assert client.read_range(REF, BLOB_DESC, 100, 4) is None, "no full download for a tail estimate"
        assert stream.closed
        assert client.read_range(REF, BLOB_DESC, 0, 4) == BLOB[:4], "a head is the start of a 200 body"


def test_read_range_with_a_wrong_content_range() -> None:
    wrong = _body(BLOB[:4], 206, {"Content-Range": f"bytes 0-3/{len(BLOB)}"})
    with _client(Script(wrong)) as client:
        assert client.read_range(REF, BLOB_DESC, 100, 4) is None


def test_read_range_retries_and_maps_errors() -> None:
    sleeps = Sleeps()
    with _client(Script(httpx.Response(503), _ranged), sleeps=sleeps) as client:
        assert client.read_range(REF, BLOB_DESC, 0, 4) == BLOB[:4]
    assert len(sleeps) == 1
    with _client(Script(_error(404, "BLOB_UNKNOWN"))) as client, pytest.raises(NotFoundError):
        client.read_range(REF, BLOB_DESC, 0, 4)


def _protocol_methods(protocol: type) -> list[str]:
    return sorted(name for name, value in vars(protocol).items() if callable(value) and not name.startswith("_"))


def test_registry_client_is_a_content_source() -> None:
    # Checked at run time (tests are not type-checked): every method of the protocol, with the same
    # parameters (names, kinds, defaults) and the same resolved annotations.
    methods = _protocol_methods(ContentSource)
    assert {"get_manifest", "get_blob", "open_blob", "read_range", "close"} <= set(methods)
    mismatched = []
    for name in methods:
        impl = getattr(RegistryClient, name, None)
        if not callable(impl):
            mismatched.append(f"{name}: missing")
            continue
        want, got = inspect.signature(getattr(ContentSource, name)), inspect.signature(impl)
        shape = [(p.name, p.kind, p.default) for p in want.parameters.values()]
        have = [(p.name, p.kind, p.default) for p in got.parameters.values()]
        extra = list(got.parameters.values())[len(shape) :]
        # A compatible implementation may add parameters, but only optional ones after the protocol's.
        if have[: len(shape)] != shape or any(p.default is inspect.Parameter.empty for p in extra):
            mismatched.append(f"{name}: parameters {got} do not accept calls made as {want}")
        want_hints = typing.get_type_hints(getattr(ContentSource, name))
        got_hints = typing.get_type_hints(impl)
        if hasattr(impl, "__wrapped__") and typing.get_origin(got_hints.get("return")) is Iterator:
            # @contextmanager: a generator of T is called as an AbstractContextManager[T].
            got_hints["return"] = AbstractContextManager[typing.get_args(got_hints["return"])[0]]  # type: ignore[misc]
        if any(got_hints.get(key) != hint for key, hint in want_hints.items()):
            mismatched.append(f"{name}: annotations {got_hints} differ from {want_hints}")
    assert mismatched == []
    source = RegistryClient()
    source.close()


def test_package_exports_match_all() -> None:
    import layerscope.registry as package

    # Exports resolve lazily (PEP 562): every name in __all__ must resolve, and dir() lists them all.
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    public = {name for name in dir(package) if not name.startswith("_")}
    # Submodules become attributes once imported; they are not exports.
    helpers = {info.name for info in pkgutil.iter_modules(package.__path__)}
    helpers |= {"annotations", "importlib", "sys", "TYPE_CHECKING", "Any"}
    assert set(package.__all__) == public - helpers
