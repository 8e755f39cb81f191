"""Credentials end to end: never printed, logged, stored or put in errors; never sent where they do not belong.

The CLI runs against the real token-auth and htpasswd registries with a docker `config.json`, behind
fault proxies that log every request header. A host name that resolves to 127.0.0.1 without touching
/etc/hosts comes from patching `socket.getaddrinfo` in this process (the CLI runs in-process).
"""

from __future__ import annotations

import base64
import json
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.reliability.helpers import Pushed, assert_ok, assert_one_line_error, push_with_truth
from tests.support.faultproxy import FaultProxy
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess, TokenIssuer

Layerscope = Callable[..., Run]
FAKE_HOSTS = ("registry.test", "issuer.test", "foo.localhost")


def _docker_config(tmp_path: Path, auths: dict[str, tuple[str, str]]) -> Path:
    cfg = tmp_path / "docker-config"
    cfg.mkdir(exist_ok=True)
    doc = {"auths": {host: {"auth": base64.b64encode(f"{u}:{p}".encode()).decode()} for host, (u, p) in auths.items()}}
    (cfg / "config.json").write_text(json.dumps(doc))
    return cfg


def _everything_written(run: Run, store: Path, tmp_path: Path) -> str:
    """stdout, stderr, every output file and the store's files (database, WAL), as one text."""
    parts = [run.stdout, run.stderr]
    for path in [*store.parent.glob(store.name + "*"), *tmp_path.glob("*.json")]:
        if path.is_file() and path.name != "config.json":
            parts.append(path.read_bytes().decode("latin-1"))
    return "\n".join(parts)


@pytest.fixture
def minted(token_issuer: TokenIssuer, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the issuer signs during the test."""
    tokens: list[str] = []
    original = token_issuer.mint

    def mint(*args: Any, **kwargs: Any) -> str:
        token = original(*args, **kwargs)
        tokens.append(token)
        return token

    monkeypatch.setattr(token_issuer, "mint", mint)
    return tokens


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """`registry.test`, `issuer.test` and `foo.localhost` resolve to 127.0.0.1 (in this process only)."""
    original = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, bytes):
            host = host.decode()
        if host in FAKE_HOSTS:
            host = "127.0.0.1"
        return original(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(scope="module")
def basic_image(basic_registry: RegistryProcess, registry: RegistryProcess) -> Pushed:
    """One image on the htpasswd registry — and the same blobs on the open `registry` (a "CDN")."""
    layers = [fixturegen.make_layer(fixturegen.linux_extra_entries("creds-basic"), "gzip")]
    with Pusher(basic_registry.url, username=basic_registry.user, password=basic_registry.password) as p:
        pushed = push_with_truth(p, "creds/basic", "v1", layers)
    with Pusher(registry.url) as p:
        push_with_truth(p, "creds/basic", "v1", layers)
    return pushed


def _authorizations(proxy: FaultProxy) -> list[str]:
    return [c.header("authorization") or "" for c in proxy.log if c.header("authorization")]


# -- token auth: what goes where ----------------------------------------------------------------------------


def test_token_auth_leaks_neither_password_nor_token(
    auth_registry: RegistryProcess,
    auth_pushed_fixtures: dict[str, PushedRef],
    token_issuer: TokenIssuer,
    minted: list[str],
    isolated_store: Path,
    tmp_path: Path,
    layerscope: Layerscope,
) -> None:
    ref = auth_pushed_fixtures["linux-gzip"]
    with FaultProxy(auth_registry.host) as front:
        cfg = _docker_config(tmp_path, {front.host: ("reader", "reader-password")})
        token_issuer.clear()
        out = tmp_path / "out.json"
        run = layerscope(
            "analyze",
            f"{front.host}/{ref.repo}:{ref.tag}",
            "-o",
            "json",
            "--output",
            str(out),
            env={"DOCKER_CONFIG": str(cfg)},
        )
        assert run.exit_code == 0, run.stderr
        assert json.loads(out.read_text())["images"][0]["digest"] == ref.digest
        # The registry saw only Bearer tokens, never the password (Basic goes to the token realm only).
        auths = _authorizations(front)
        assert auths and all(a.startswith("Bearer ") for a in auths)
    assert minted
    written = _everything_written(run, isolated_store, tmp_path)
    for secret in ["reader-password", base64.b64encode(b"reader:reader-password").decode(), *minted]:
        assert secret not in written
    # The realm (another origin) got what the challenge asked for: the service, and pull on this repository.
    requests = [r for r in token_issuer.requests if r.path == "/token"]
    assert requests and all(r.user == "reader" and r.authenticated for r in requests)
    assert {r.service for r in requests} == {token_issuer.service}
    assert {s for r in requests for s in r.scopes} == {f"repository:{ref.repo}:pull"}


def test_wrong_password_is_exit_3_and_never_echoed(
    auth_registry: RegistryProcess,
    auth_pushed_fixtures: dict[str, PushedRef],
    basic_registry: RegistryProcess,
    basic_image: Pushed,
    isolated_store: Path,
    tmp_path: Path,
    layerscope: Layerscope,
) -> None:
    secret = "Wr0ng-but-s3cret-passw0rd"
    ref = auth_pushed_fixtures["linux-gzip"]
    cfg = _docker_config(
        tmp_path, {auth_registry.host: ("reader", secret), basic_registry.host: ("basic-user", secret)}
    )
    for target in (ref.ref, basic_image.at(basic_registry.host)):
        run = layerscope("analyze", target, "-o", "json", env={"DOCKER_CONFIG": str(cfg)})
        assert_one_line_error(run, 3)
        written = _everything_written(run, isolated_store, tmp_path)
        assert secret not in written and base64.b64encode(f"basic-user:{secret}".encode()).decode() not in written


# -- basic auth and redirects to other hosts ---------------------------------------------------------------


def test_basic_auth_goes_to_the_registry_only(
    basic_registry: RegistryProcess, basic_image: Pushed, isolated_store: Path, tmp_path: Path, layerscope: Layerscope
) -> None:
    with FaultProxy(basic_registry.host) as front:
        cfg = _docker_config(tmp_path, {front.host: (basic_registry.user or "", basic_registry.password or "")})
        run = layerscope("analyze", basic_image.at(front.host), "-o", "json", env={"DOCKER_CONFIG": str(cfg)})
        assert_ok(run, basic_image)
        assert any(a.startswith("Basic ") for a in _authorizations(front))
    written = _everything_written(run, isolated_store, tmp_path)
    assert basic_registry.password and basic_registry.password not in written


def test_redirect_to_another_host_drops_the_credentials(
    basic_registry: RegistryProcess,
    registry: RegistryProcess,
    basic_image: Pushed,
    tmp_path: Path,
    layerscope: Layerscope,
) -> None:
    """Blob GETs redirect to another origin (like S3/CDN): it serves the bytes but never sees Authorization."""
    with FaultProxy(basic_registry.host) as front, FaultProxy(registry.host, name="cdn") as cdn:
        front.redirect("/blobs/", lambda path: f"{cdn.url}{path}?X-Amz-Signature=cdn-s3cret", times=None)
        cfg = _docker_config(tmp_path, {front.host: (basic_registry.user or "", basic_registry.password or "")})
        run = layerscope("analyze", basic_image.at(front.host), "-o", "json", env={"DOCKER_CONFIG": str(cfg)})
        assert_ok(run, basic_image)
        assert len(cdn.calls("/blobs/")) == 2  # config and layer, from the "CDN"
        assert _authorizations(cdn) == []
        assert "cdn-s3cret" not in run.stdout + run.stderr


def test_challenge_from_a_redirect_target_is_not_answered(
    basic_registry: RegistryProcess, basic_image: Pushed, tmp_path: Path, layerscope: Layerscope
) -> None:
    """The other host asks for Basic credentials: it gets none, and the run fails cleanly (exit 3)."""
    with FaultProxy(basic_registry.host) as front, FaultProxy(basic_registry.host, name="evil") as evil:
        front.redirect("/blobs/", lambda path: f"{evil.url}{path}?sig=evil-s3cret", times=None)
        cfg = _docker_config(tmp_path, {front.host: (basic_registry.user or "", basic_registry.password or "")})
        run = layerscope("analyze", basic_image.at(front.host), "-o", "json", env={"DOCKER_CONFIG": str(cfg)})
        assert_one_line_error(run, 3)
        assert evil.calls("/blobs/") and _authorizations(evil) == []
        assert "evil-s3cret" not in run.stderr


def test_failed_presigned_url_is_redacted_in_the_error(
    registry: RegistryProcess, basic_image: Pushed, layerscope: Layerscope
) -> None:
    with FaultProxy(registry.host) as front, FaultProxy(registry.host, name="cdn") as cdn:
        cdn.status("/blobs/", 403, times=None)
        front.redirect(
            "/blobs/", lambda p: f"{cdn.url}{p}?X-Amz-Credential=AKIA-s3cret&X-Amz-Signature=s3cret", times=None
        )
        run = layerscope("analyze", basic_image.at(front.host), "-o", "json")
        assert_one_line_error(run, 3)
        assert "s3cret" not in run.stderr and "AKIA" not in run.stderr


# -- plain http to a host that is not this machine ------------------------------------------------------------


@pytest.mark.usefixtures("fake_dns")
def test_credentials_are_not_sent_over_plain_http_to_another_machine(
    basic_registry: RegistryProcess, basic_image: Pushed, tmp_path: Path, layerscope: Layerscope
) -> None:
    with FaultProxy(basic_registry.host) as front:
        host = f"registry.test:{front.port}"  # resolves to 127.0.0.1, but by name it is another machine
        cfg = _docker_config(tmp_path, {host: (basic_registry.user or "", basic_registry.password or "")})
        run = layerscope(
            "analyze",
            f"{host}/{basic_image.ref.repo}:v1",
            "--plain-http",
            "-o",
            "json",
            env={"DOCKER_CONFIG": str(cfg)},
        )
        assert_one_line_error(run, 3, contains="refusing to send credentials over plain http")
        assert front.log and _authorizations(front) == []


@pytest.mark.usefixtures("fake_dns")
def test_anonymous_plain_http_to_another_machine_works(
    registry: RegistryProcess, basic_image: Pushed, layerscope: Layerscope
) -> None:
    with FaultProxy(registry.host) as front:
        run = layerscope(
            "analyze", f"registry.test:{front.port}/{basic_image.ref.repo}:v1", "--plain-http", "-o", "json"
        )
        assert_ok(run, basic_image)


@pytest.mark.usefixtures("fake_dns")
def test_plain_http_token_realm_on_another_machine_gets_no_credentials(
    auth_registry: RegistryProcess,
    auth_pushed_fixtures: dict[str, PushedRef],
    token_issuer: TokenIssuer,
    tmp_path: Path,
    layerscope: Layerscope,
) -> None:
    ref = auth_pushed_fixtures["linux-gzip"]
    issuer_host = f"127.0.0.1:{token_issuer.port}"
    with FaultProxy(auth_registry.host) as front, FaultProxy(issuer_host, name="realm") as realm:
        remote_realm = f"issuer.test:{realm.port}"
        front.set_header("", "WWW-Authenticate", lambda v: v and v.replace(issuer_host, remote_realm), method=None)
        cfg = _docker_config(tmp_path, {front.host: ("reader", "reader-password")})
        run = layerscope("analyze", f"{front.host}/{ref.repo}:{ref.tag}", "-o", "json", env={"DOCKER_CONFIG": str(cfg)})
        assert_one_line_error(run, 3, contains="refusing to send credentials over plain http to the token service")
        assert realm.log == []  # not even asked


@pytest.mark.usefixtures("fake_dns")
def test_a_localhost_subdomain_needs_plain_http(
    registry: RegistryProcess, basic_image: Pushed, layerscope: Layerscope
) -> None:
    """`foo.localhost` is a DNS name, not this machine (issue #12): https unless --plain-http is given."""
    target = f"foo.localhost:{registry.port}/{basic_image.ref.repo}:v1"
    assert_one_line_error(layerscope("analyze", target, "-o", "json"), 5, contains="--plain-http")
    assert_ok(layerscope("analyze", target, "--plain-http", "-o", "json"), basic_image)


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_loopback_registries_need_no_plain_http(
    name: str, registry: RegistryProcess, basic_image: Pushed, layerscope: Layerscope
) -> None:
    assert_ok(layerscope("analyze", f"{name}:{registry.port}/{basic_image.ref.repo}:v1", "-o", "json"), basic_image)


# -- what the user types ------------------------------------------------------------------------------------


def test_password_typed_into_a_reference_is_not_echoed(layerscope: Layerscope) -> None:
    run = layerscope("analyze", "https://user:hunter2-s3cret@registry.example.com/team/app:1")
    assert_one_line_error(run, 2, contains="***@")
    assert "hunter2" not in run.stderr


def test_failing_credential_helper_costs_one_warning_line_and_no_secret(
    basic_registry: RegistryProcess, basic_image: Pushed, tmp_path: Path, layerscope: Layerscope
) -> None:
    """A helper that fails and prints more than it should: one warning line with its first line only."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    helper = bin_dir / "docker-credential-leaky"
    helper.write_text("#!/bin/sh\necho 'helper exploded'\necho 'Secret: helper-s3cret'\nexit 1\n")
    helper.chmod(0o755)
    cfg = tmp_path / "docker-config"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"credHelpers": {basic_registry.host: "leaky"}}))
    env = {"DOCKER_CONFIG": str(cfg), "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}"}
    run = layerscope("analyze", basic_image.at(basic_registry.host), "-o", "json", env=env)
    assert run.exit_code == 3, run.stderr  # no credentials, so the registry's 401 stands
    warnings = [line for line in run.stderr.splitlines() if line.startswith("layerscope: warning:")]
    errors = [line for line in run.stderr.splitlines() if line.startswith("layerscope: error:")]
    assert len(warnings) == 1 and "credential helper docker-credential-leaky" in warnings[0]
    assert "exploded" in warnings[0] and len(errors) == 1
    assert len(run.stderr.strip().splitlines()) == 2
    assert "helper-s3cret" not in run.stderr + run.stdout
