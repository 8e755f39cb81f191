"""Credentials and tokens stay with the registry origin they belong to (issue #12, item 1).

Two real registries on 127.0.0.1 share one token service: `auth_registry` ("good") and a second
distribution registry ("evil") configured with the same realm, service and signing key, so its 401
challenge names good's realm and service and it would accept good's tokens. Each is reached through
a logging proxy (tests/support/faultproxy.py), which is its own origin (another port) and records every
`Authorization` header the registry behind it receives. Credentials come from a real docker
`config.json` read by DockerCredentialStore. Every scenario runs in both orders.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from layerscope.errors import AuthenticationError, LayerscopeError
from layerscope.oci import Manifest
from layerscope.reference import ImageReference
from layerscope.registry import DockerCredentialStore, RegistryClient, RegistryConfig, RetryPolicy
from layerscope.registry.config import is_loopback_host
from scripts import fixturegen
from tests.support.faultproxy import FaultProxy
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess, TokenIssuer, token_auth_config

FAST = RetryPolicy(max_attempts=2, base_delay=0.0, jitter=lambda d: d)
REPO = "team/private"
ORDERS = ["good-first", "evil-first"]


# -- fixtures ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evil_registry(
    registry_binary: str, token_issuer: TokenIssuer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RegistryProcess]:
    """A second real registry whose token realm and service are good's (it trusts the same issuer)."""
    workdir = tmp_path_factory.mktemp("evil-registry")
    with RegistryProcess(workdir, binary=registry_binary, auth=token_auth_config(token_issuer), name="evil") as reg:
        yield reg


def _push_private(reg: RegistryProcess, label: str, user: str, password: str) -> PushedRef:
    layer = fixturegen.make_layer(fixturegen.linux_extra_entries(f"origins-{label}"), "gzip")
    with Pusher(reg.url, username=user, password=password) as p:
        return push(p, REPO, "v1", simple_image([layer]))


@pytest.fixture(scope="module")
def token_images(
    auth_registry: RegistryProcess, evil_registry: RegistryProcess, token_issuer: TokenIssuer
) -> dict[str, PushedRef]:
    """`team/private:v1` on both token registries (different images)."""
    password = token_issuer.users["tester"].password
    return {
        "good": _push_private(auth_registry, "good", "tester", password),
        "evil": _push_private(evil_registry, "evil", "tester", password),
    }


@pytest.fixture(scope="module")
def basic_images(basic_registry: RegistryProcess) -> PushedRef:
    """`team/private:v1` on the htpasswd registry."""
    assert basic_registry.user and basic_registry.password
    return _push_private(basic_registry, "basic", basic_registry.user, basic_registry.password)


def _store(tmp_path: Path, auths: dict[str, tuple[str, str]]) -> DockerCredentialStore:
    """The credentials a user has after `docker login` to each of *auths* (a real config.json)."""
    cfg = tmp_path / "docker-config"
    cfg.mkdir(exist_ok=True)
    doc = {"auths": {host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for host, (u, p) in auths.items()}}
    (cfg / "config.json").write_text(json.dumps(doc))
    return DockerCredentialStore(environ={"DOCKER_CONFIG": str(cfg)}, home=tmp_path / "home", ecr=False)


def _client(store: DockerCredentialStore | None, **config: Any) -> RegistryClient:
    return RegistryClient(RegistryConfig(retry=FAST, **config), store, sleep=lambda s: None)


def _read(client: RegistryClient, host: str) -> Manifest:
    top = client.get_manifest(ImageReference(host, REPO, "v1"))
    assert isinstance(top, Manifest)
    return top


def _authorizations(proxy: FaultProxy) -> list[str]:
    return [c.header("authorization") or "" for c in proxy.log if c.header("authorization")]


def _subjects(proxy: FaultProxy) -> list[str]:
    """The `sub` (user) of every Bearer token the registry behind *proxy* received; Basic is an error."""
    out = []
    for header in _authorizations(proxy):
        scheme, _, token = header.partition(" ")
        assert scheme == "Bearer", f"{proxy.name} received {scheme} credentials"
        out.append(jwt.decode(token, options={"verify_signature": False})["sub"])
    return out


def _in_order(order: str, good: Callable[[], None], evil: Callable[[], None]) -> None:
    for step in (good, evil) if order == "good-first" else (evil, good):
        step()


# -- Bearer: a token obtained for one registry is never sent to another ------------------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_token_of_one_registry_never_reaches_another(
    order: str,
    auth_registry: RegistryProcess,
    evil_registry: RegistryProcess,
    token_images: dict[str, PushedRef],
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> None:
    """Alice is logged in to good only: evil (same realm and service) gets nothing, good gets alice's tokens."""
    with FaultProxy(auth_registry.host, name="good") as good, FaultProxy(evil_registry.host, name="evil") as evil:
        store = _store(tmp_path, {good.host: ("tester", token_issuer.users["tester"].password)})
        token_issuer.clear()
        with _client(store) as client:

            def read_good() -> None:
                assert _read(client, good.host).digest == token_images["good"].digest

            def read_evil() -> None:
                # The issuer refuses an anonymous token, so evil's challenge cannot be answered at all.
                with pytest.raises(AuthenticationError, match="anonymous"):
                    _read(client, evil.host)

            _in_order(order, read_good, read_evil)
            # Once more each, now that both origins have a cached challenge (the header sent up front).
            _in_order(order, read_good, read_evil)
        assert evil.calls("/manifests/") and _authorizations(evil) == []
        assert _subjects(good) and set(_subjects(good)) == {"tester"}
    # The token requests made for evil's challenges went to good's realm without alice's password.
    token_requests = [r for r in token_issuer.requests if r.path == "/token"]
    assert {r.user for r in token_requests} == {"tester", None}
    assert all(r.authenticated for r in token_requests if r.user == "tester")


@pytest.mark.parametrize("order", ORDERS)
def test_each_registry_gets_tokens_minted_with_its_own_credentials(
    order: str,
    auth_registry: RegistryProcess,
    evil_registry: RegistryProcess,
    token_images: dict[str, PushedRef],
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> None:
    """Logged in to both (alice at good, bob at evil), same realm: each registry sees only its own user's tokens."""
    with FaultProxy(auth_registry.host, name="good") as good, FaultProxy(evil_registry.host, name="evil") as evil:
        store = _store(
            tmp_path,
            {
                good.host: ("tester", token_issuer.users["tester"].password),
                evil.host: ("reader", token_issuer.users["reader"].password),
            },
        )
        with _client(store) as client:

            def read_good() -> None:
                assert _read(client, good.host).digest == token_images["good"].digest

            def read_evil() -> None:
                assert _read(client, evil.host).digest == token_images["evil"].digest

            _in_order(order, read_good, read_evil)
            _in_order(order, read_good, read_evil)
        good_tokens, evil_tokens = set(_authorizations(good)), set(_authorizations(evil))
        assert set(_subjects(good)) == {"tester"}
        assert set(_subjects(evil)) == {"reader"}
        assert good_tokens.isdisjoint(evil_tokens)


def test_redirect_from_a_token_registry_drops_the_token_and_ignores_the_challenge(
    auth_registry: RegistryProcess,
    evil_registry: RegistryProcess,
    token_images: dict[str, PushedRef],
    token_issuer: TokenIssuer,
    tmp_path: Path,
) -> None:
    """Good redirects a blob to evil: evil sees no token and its 401 is not answered, even with bob's login."""
    with FaultProxy(auth_registry.host, name="good") as good, FaultProxy(evil_registry.host, name="evil") as evil:
        good.redirect("/blobs/", lambda path: f"{evil.url}{path}", times=None)
        store = _store(
            tmp_path,
            {
                good.host: ("tester", token_issuer.users["tester"].password),
                evil.host: ("reader", token_issuer.users["reader"].password),
            },
        )
        with _client(store) as client:
            manifest = _read(client, good.host)
            ref = ImageReference(good.host, REPO, "v1")
            token_issuer.clear()
            with pytest.raises(AuthenticationError):
                client.get_blob(ref, manifest.config, 1 << 20)
        assert evil.calls("/blobs/") and _authorizations(evil) == []
        # Evil's challenge was not answered: no token was asked for on its behalf (nor with good's login).
        assert token_issuer.requests == []


# -- Basic: credentials go to their own host:port only ------------------------------------------------------


@pytest.mark.parametrize("order", ORDERS)
def test_basic_credentials_never_reach_another_port(
    order: str, basic_registry: RegistryProcess, basic_images: PushedRef, tmp_path: Path
) -> None:
    """Two origins on 127.0.0.1 (different ports) before the same htpasswd registry; a login for one only."""
    assert basic_registry.user and basic_registry.password
    with FaultProxy(basic_registry.host, name="good") as good, FaultProxy(basic_registry.host, name="evil") as evil:
        store = _store(tmp_path, {good.host: (basic_registry.user, basic_registry.password)})
        with _client(store) as client:

            def read_good() -> None:
                assert _read(client, good.host).digest == basic_images.digest

            def read_evil() -> None:
                with pytest.raises(AuthenticationError):
                    _read(client, evil.host)

            _in_order(order, read_good, read_evil)
            _in_order(order, read_good, read_evil)
        expected = "Basic " + base64.b64encode(f"{basic_registry.user}:{basic_registry.password}".encode()).decode()
        assert evil.calls("/manifests/") and _authorizations(evil) == []
        assert _authorizations(good) and set(_authorizations(good)) == {expected}


@pytest.mark.parametrize("order", ORDERS)
def test_basic_credentials_of_each_host_go_to_that_host(
    order: str, basic_registry: RegistryProcess, basic_images: PushedRef, tmp_path: Path
) -> None:
    """A login for each origin: each receives its own Basic header and never the other's."""
    assert basic_registry.user and basic_registry.password
    with FaultProxy(basic_registry.host, name="good") as good, FaultProxy(basic_registry.host, name="evil") as evil:
        store = _store(
            tmp_path,
            {good.host: (basic_registry.user, basic_registry.password), evil.host: ("mallory", "mallory-pass")},
        )
        with _client(store) as client:

            def read_good() -> None:
                assert _read(client, good.host).digest == basic_images.digest

            def read_evil() -> None:
                with pytest.raises(AuthenticationError):
                    _read(client, evil.host)  # mallory's password is wrong there: the 401 stands

            _in_order(order, read_good, read_evil)
        mallory = "Basic " + base64.b64encode(b"mallory:mallory-pass").decode()
        assert set(_authorizations(evil)) == {mallory}
        assert mallory not in _authorizations(good) and _authorizations(good)


# -- loopback: only real loopback addresses get plain http (and credentials over it) silently ---------------


@pytest.mark.parametrize(
    ("netloc", "loopback"),
    [
        ("localhost", True),
        ("LocalHost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.8.9.10", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("[::ffff:127.0.0.1]:5000", True),
        ("foo.localhost:5000", False),
        ("localhost.evil.example:5000", False),
        ("127.evil.example", False),
        ("localhost.", False),
        ("0.0.0.0:5000", False),
        ("[::]:5000", False),
        ("registry.example.com", False),
    ],
)
def test_only_real_loopback_addresses_are_loopback(netloc: str, loopback: bool) -> None:
    assert is_loopback_host(netloc) is loopback
    assert (RegistryConfig().resolve(netloc).scheme == "http") is loopback
    assert RegistryConfig(plain_http=True).resolve(netloc).scheme == "http"
    assert ImageReference(netloc.lower(), "team/app", "1").is_loopback is loopback


@pytest.fixture
def foo_localhost(monkeypatch: pytest.MonkeyPatch) -> None:
    """`foo.localhost` resolves to 127.0.0.1 in this process, as RFC 6761 resolvers would answer."""
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        return original("127.0.0.1" if name == "foo.localhost" else host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("foo_localhost")
def test_a_localhost_subdomain_needs_plain_http_and_gets_no_credentials_over_it(
    basic_registry: RegistryProcess, basic_images: PushedRef, tmp_path: Path
) -> None:
    assert basic_registry.user and basic_registry.password
    with FaultProxy(basic_registry.host, name="sub") as front:
        host = f"foo.localhost:{front.port}"
        direct = f"foo.localhost:{basic_registry.port}"
        login = (basic_registry.user, basic_registry.password)
        store = _store(tmp_path, {host: login, direct: login})
        # https by default: the plain-http registry (asked directly: it answers a TLS hello at once, the
        # proxy would wait for a request line) cannot answer, and the error says what to do.
        with _client(store) as client:
            with pytest.raises(LayerscopeError) as tls:
                _read(client, direct)
            assert tls.value.hint and "--plain-http" in tls.value.hint
        refused = pytest.raises(AuthenticationError, match="refusing to send credentials over plain http")
        with _client(store, plain_http=True) as client, refused:
            _read(client, host)
        assert _authorizations(front) == []
        # Anonymous and asked for: allowed (the registry's 401 stands, no credentials were offered).
        with _client(None, plain_http=True) as client, pytest.raises(AuthenticationError, match="HTTP 401"):
            _read(client, host)


class _Forwarder(socketserver.ThreadingTCPServer):
    """A TCP relay from [::1]:PORT to a registry on 127.0.0.1 (the test registries listen on IPv4 only)."""

    address_family = socket.AF_INET6
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        super().__init__(("::1", 0), _Relay)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> _Forwarder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


class _Relay(socketserver.BaseRequestHandler):
    server: _Forwarder

    def handle(self) -> None:
        with socket.create_connection(self.server.upstream, timeout=30) as up:
            down: socket.socket = self.request
            down.settimeout(30)

            def pump(src: socket.socket, dst: socket.socket) -> None:
                try:
                    while data := src.recv(65536):
                        dst.sendall(data)
                except OSError:
                    pass
                finally:
                    with contextlib.suppress(OSError):
                        dst.shutdown(socket.SHUT_WR)

            back = threading.Thread(target=pump, args=(up, down), daemon=True)
            back.start()
            pump(down, up)
            back.join(30)


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "[::1]"])
def test_real_loopback_keeps_plain_http_and_its_credentials(
    name: str, basic_registry: RegistryProcess, basic_images: PushedRef, tmp_path: Path
) -> None:
    """127.0.0.1, localhost and [::1] are this machine: plain http without asking, and the login is sent."""
    assert basic_registry.user and basic_registry.password
    with FaultProxy(basic_registry.host, name="loopback") as front, _Forwarder(("127.0.0.1", front.port)) as v6:
        port = v6.server_address[1] if name == "[::1]" else front.port
        host = f"{name}:{port}"
        store = _store(tmp_path, {host: (basic_registry.user, basic_registry.password)})
        with _client(store) as client:
            assert _read(client, host).digest == basic_images.digest
        assert any(a.startswith("Basic ") for a in _authorizations(front))
