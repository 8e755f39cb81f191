"""WWW-Authenticate parsing and the Bearer/Basic challenge flow of RegistryAuth (over MockTransport)."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Callable

import httpx
import pytest

from layerscope.errors import AuthenticationError
from layerscope.registry.auth import (
    Challenge,
    RegistryAuth,
    TokenEndpointError,
    parse_www_authenticate,
    scope_for_path,
)
from layerscope.registry.credentials import Credentials

REG = "https://reg.example.com"
REALM = "https://auth.example.com/token"
CHALLENGE = f'Bearer realm="{REALM}",service="reg.example.com"'


# -- parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
            'scope="repository:library/ubuntu:pull"',
            [
                Challenge(
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:library/ubuntu:pull",
                    },
                )
            ],
        ),
        (
            'Basic realm="https://123456789012.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
            [
                Challenge(
                    "basic",
                    {"realm": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/", "service": "ecr.amazonaws.com"},
                )
            ],
        ),
        # A quoted comma (several scopes) must not split the challenge.
        (
            'Bearer realm="https://a/token",scope="repository:a:pull,push repository:b:pull"',
            [Challenge("bearer", {"realm": "https://a/token", "scope": "repository:a:pull,push repository:b:pull"})],
        ),
        # Two challenges in one header, RFC 7235 §4.1's own example shape, with escapes and spaces.
        (
            'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple"',
            [
                Challenge("newauth", {"realm": "apps", "type": "1", "title": 'Login to "apps"'}),
                Challenge("basic", {"realm": "simple"}),
            ],
        ),
        ('BEARER Realm = "x" , Service=y', [Challenge("bearer", {"realm": "x", "service": "y"})]),
        ("Negotiate, Basic realm=r", [Challenge("negotiate"), Challenge("basic", {"realm": "r"})]),
        ("Negotiate abc123==", [Challenge("negotiate", {}, "abc123==")]),
        ("", []),
        (",,  ,", []),
        ('Bearer realm="unterminated', [Challenge("bearer", {"realm": "unterminated"})]),
    ],
)
def test_parse_www_authenticate(header: str, expected: list[Challenge]) -> None:
    assert list(parse_www_authenticate(header)) == expected


def test_parse_several_header_fields() -> None:
    got = parse_www_authenticate(['Basic realm="r"', f"{CHALLENGE}"])
    assert [c.scheme for c in got] == ["basic", "bearer"]
    assert got[1].realm == REALM


@pytest.mark.parametrize(
    ("path", "scope"),
    [
        ("/v2/library/ubuntu/manifests/latest", "repository:library/ubuntu:pull"),
        ("/v2/a/b/c/blobs/sha256:00", "repository:a/b/c:pull"),
        ("/v2/windows/servercore/tags/list", "repository:windows/servercore:pull"),
        ("/v2/", None),
        ("/token", None),
    ],
)
def test_scope_for_path(path: str, scope: str | None) -> None:
    assert scope_for_path(path) == scope


# -- the flow ------------------------------------------------------------------------------------------


class FakeRegistry:
    """A token-auth registry + token service in one MockTransport handler, recording what it saw."""

    def __init__(self, *, password: str = "s3cret", challenge: str = CHALLENGE, expires_in: int | None = 300) -> None:
        self.password = password
        self.challenge = challenge
        self.expires_in = expires_in
        self.requests: list[httpx.Request] = []
        self.token_requests: list[httpx.Request] = []
        self.issued = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            # A snapshot: the auth flow re-sends the same Request object with new headers.
            self.requests.append(httpx.Request(request.method, request.url, headers=request.headers.copy()))
        if request.url.host == "auth.example.com":
            return self.token(request)
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer tok-"):
            return httpx.Response(200, json={"ok": True})
        if header == "Basic " + base64.b64encode(f"alice:{self.password}".encode()).decode():
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(401, headers={"WWW-Authenticate": self.challenge}, json={"errors": []})

    def token(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.token_requests.append(request)
            self.issued += 1
            n = self.issued
        header = request.headers.get("authorization")
        if header is not None and header != "Basic " + base64.b64encode(f"alice:{self.password}".encode()).decode():
            return httpx.Response(401, json={"details": "bad credentials"})
        body: dict[str, object] = {"token": f"tok-{n}"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return httpx.Response(200, json=body)


def _client(handler: Callable[[httpx.Request], httpx.Response], auth: RegistryAuth) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler), auth=auth)


def _creds(password: str = "s3cret") -> Callable[[str], Credentials | None]:
    return lambda host: Credentials("alice", password)


def test_anonymous_token_flow_and_cache() -> None:
    reg = FakeRegistry()
    with _client(reg, RegistryAuth(None)) as http:
        assert http.get(f"{REG}/v2/library/app/manifests/1").status_code == 200
        assert http.get(f"{REG}/v2/library/app/blobs/sha256:00").status_code == 200
    assert len(reg.token_requests) == 1, "the second request reuses the cached token for the same scope"
    token_url = reg.token_requests[0].url
    assert token_url.params["service"] == "reg.example.com"
    assert token_url.params["scope"] == "repository:library/app:pull"
    assert "authorization" not in reg.token_requests[0].headers, "anonymous: no credentials to the realm"
    # request 1: 401, token, retry; request 2: sent with the cached token up front.
    assert [r.headers.get("authorization") for r in reg.requests if r.url.host == "reg.example.com"] == [
        None,
        "Bearer tok-1",
        "Bearer tok-1",
    ]


def test_token_with_basic_credentials_and_access_token_field() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            assert request.headers["authorization"] == "Basic " + base64.b64encode(b"alice:s3cret").decode()
            assert request.url.params["account"] == "alice"
            return httpx.Response(200, json={"access_token": "tok-oauth"})
        if request.headers.get("authorization") == "Bearer tok-oauth":
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})

    with _client(handler, RegistryAuth(_creds())) as http:
        assert http.get(f"{REG}/v2/team/app/manifests/1").status_code == 200


def test_wrong_password_raises_authentication_error_without_secrets() -> None:
    reg = FakeRegistry(password="right")
    with _client(reg, RegistryAuth(_creds("wrong"))) as http, pytest.raises(AuthenticationError) as info:
        http.get(f"{REG}/v2/team/app/manifests/1")
    assert "alice" in str(info.value) and "wrong" not in str(info.value)
    assert "auth.example.com" in str(info.value)


def test_different_scopes_get_different_tokens() -> None:
    reg = FakeRegistry()
    with _client(reg, RegistryAuth(None)) as http:
        http.get(f"{REG}/v2/a/manifests/1")
        http.get(f"{REG}/v2/b/manifests/1")
        http.get(f"{REG}/v2/a/manifests/2")
    assert [r.url.params["scope"] for r in reg.token_requests] == ["repository:a:pull", "repository:b:pull"]


def test_expired_token_is_refetched() -> None:
    now = [0.0]
    reg = FakeRegistry(expires_in=None)  # spec default: 60 s
    with _client(reg, RegistryAuth(None, clock=lambda: now[0])) as http:
        http.get(f"{REG}/v2/a/manifests/1")
        now[0] = 30.0
        http.get(f"{REG}/v2/a/manifests/1")
        now[0] = 61.0
        http.get(f"{REG}/v2/a/manifests/1")
    assert len(reg.token_requests) == 2


def test_rejected_cached_token_is_replaced_once() -> None:
    state = {"valid": "tok-1"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(200, json={"token": state["valid"], "expires_in": 300})
        if request.headers.get("authorization") == f"Bearer {state['valid']}":
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})

    with _client(handler, RegistryAuth(None)) as http:
        assert http.get(f"{REG}/v2/a/manifests/1").status_code == 200
        state["valid"] = "tok-2"  # the registry revoked tok-1
        assert http.get(f"{REG}/v2/a/manifests/1").status_code == 200


def test_basic_challenge_sends_credentials_and_remembers_the_host() -> None:
    reg = FakeRegistry(challenge='Basic realm="ecr"')
    with _client(reg, RegistryAuth(_creds())) as http:
        assert http.get(f"{REG}/v2/a/manifests/1").status_code == 200
        assert http.get(f"{REG}/v2/b/manifests/1").status_code == 200
    assert [r.headers.get("authorization") is not None for r in reg.requests] == [False, True, True]


def test_basic_challenge_without_credentials_leaves_the_401() -> None:
    reg = FakeRegistry(challenge='Basic realm="ecr"')
    with _client(reg, RegistryAuth(None)) as http:
        assert http.get(f"{REG}/v2/a/manifests/1").status_code == 401
    assert len(reg.requests) == 1


def test_wrong_basic_password_is_not_retried_forever() -> None:
    reg = FakeRegistry(challenge='Basic realm="ecr"', password="right")
    with _client(reg, RegistryAuth(_creds("wrong"))) as http:
        assert http.get(f"{REG}/v2/a/manifests/1").status_code == 401
        assert http.get(f"{REG}/v2/a/manifests/1").status_code == 401
    assert len(reg.requests) == 3  # 401 + one retry, then the remembered (wrong) header once


def test_no_credentials_are_sent_without_a_challenge() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with _client(handler, RegistryAuth(_creds())) as http:
        http.get(f"{REG}/v2/a/manifests/1")
    assert len(seen) == 1 and "authorization" not in seen[0].headers


def test_plain_http_to_remote_host_with_credentials_is_refused() -> None:
    reg = FakeRegistry(challenge='Basic realm="x"')
    with _client(reg, RegistryAuth(_creds())) as http, pytest.raises(AuthenticationError) as info:
        http.get("http://reg.example.com/v2/a/manifests/1")
    assert "plain http" in str(info.value) and info.value.hint
    assert all("authorization" not in r.headers for r in reg.requests)


def test_plain_http_token_realm_with_credentials_is_refused() -> None:
    challenge = 'Bearer realm="http://auth.example.com/token",service="s"'
    reg = FakeRegistry(challenge=challenge)
    with _client(reg, RegistryAuth(_creds())) as http, pytest.raises(AuthenticationError):
        http.get(f"{REG}/v2/a/manifests/1")
    assert reg.token_requests == []


def test_plain_http_anonymous_is_fine() -> None:
    reg = FakeRegistry(challenge='Bearer realm="http://auth.example.com/token",service="s"')
    with _client(reg, RegistryAuth(None)) as http:
        assert http.get("http://reg.example.com/v2/a/manifests/1").status_code == 200


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000"])
def test_plain_http_loopback_with_credentials_is_allowed(host: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization"):
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'})

    with _client(handler, RegistryAuth(_creds())) as http:
        assert http.get(f"http://{host}/v2/a/manifests/1").status_code == 200


def test_challenge_from_a_redirect_target_is_not_answered() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "reg.example.com":
            return httpx.Response(307, headers={"Location": "https://cdn.example.net/blob?sig=1"})
        return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="cdn"'})

    calls: list[str] = []

    def provider(host: str) -> Credentials:
        calls.append(host)
        return Credentials("alice", "s3cret")

    with httpx.Client(transport=httpx.MockTransport(handler), auth=RegistryAuth(provider), follow_redirects=True) as h:
        assert h.get(f"{REG}/v2/a/blobs/sha256:00").status_code == 401
    assert calls == [] and len(seen) == 2


def test_identity_token_is_exchanged_with_oauth_post() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            assert request.method == "POST"
            form = urllib.parse.parse_qs(request.content.decode())
            assert form["grant_type"] == ["refresh_token"]
            assert form["refresh_token"] == ["refresh-xyz"]
            assert form["scope"] == ["repository:a:pull"]
            assert form["service"] == ["reg.example.com"]
            return httpx.Response(200, json={"access_token": "tok-9"})
        if request.headers.get("authorization") == "Bearer tok-9":
            return httpx.Response(200)
        return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})

    auth = RegistryAuth(lambda host: Credentials("", identity_token="refresh-xyz"))
    with _client(handler, auth) as http:
        assert http.get(f"{REG}/v2/a/manifests/1").status_code == 200


def test_token_service_5xx_is_a_token_endpoint_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(503, headers={"Retry-After": "2"})
        return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})

    with _client(handler, RegistryAuth(None)) as http, pytest.raises(TokenEndpointError) as info:
        http.get(f"{REG}/v2/a/manifests/1")
    assert info.value.status == 503 and info.value.retry_after == "2"


def test_token_answer_without_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.example.com":
            return httpx.Response(200, content=json.dumps({"nope": 1}).encode())
        return httpx.Response(401, headers={"WWW-Authenticate": CHALLENGE})

    with _client(handler, RegistryAuth(None)) as http, pytest.raises(AuthenticationError, match="without a token"):
        http.get(f"{REG}/v2/a/manifests/1")


def test_concurrent_first_requests_fetch_one_token() -> None:
    reg = FakeRegistry()
    gate = threading.Barrier(8)
    auth = RegistryAuth(None)
    with _client(reg, auth) as http:

        def work() -> None:
            gate.wait()
            assert http.get(f"{REG}/v2/a/blobs/sha256:00").status_code == 200

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(reg.token_requests) == 1
