"""Credential lookup: config files, auths forms, credential helpers on PATH, Docker Hub aliases, ECR."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from layerscope.registry.credentials import (
    HUB_SERVER_URL,
    Credentials,
    DockerCredentialStore,
    normalise_host,
)
from tests.conftest import AwsEmulator
from tests.support.registry import free_port

HELPER = """#!/bin/sh
# A stand-in for docker-credential-* (https://github.com/docker/docker-credential-helpers).
[ "$1" = get ] || exit 2
read -r server
echo "$server" >> "{log}"
case "$server" in
  helper.example.com) echo '{{"ServerURL":"helper.example.com","Username":"bob","Secret":"helper-pass"}}' ;;
  https://index.docker.io/v1/) echo '{{"ServerURL":"","Username":"hubuser","Secret":"hub-pass"}}' ;;
  token.example.com) echo '{{"ServerURL":"","Username":"<token>","Secret":"refresh-1"}}' ;;
  broken.example.com) echo "keychain is locked" >&2; exit 1 ;;
  garbage.example.com) echo "not json" ;;
  slow.example.com) sleep 5 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
"""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def helper_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put docker-credential-test on PATH; return the file where it logs the server URLs it was asked."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "helper.log"
    script = bindir / "docker-credential-test"
    script.write_text(HELPER.format(log=log))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return log


def _store(tmp_path: Path, config: dict[str, Any] | None = None, **env: str) -> DockerCredentialStore:
    home = tmp_path / "home"
    if config is not None:
        (home / ".docker").mkdir(parents=True, exist_ok=True)
        (home / ".docker" / "config.json").write_text(json.dumps(config))
    return DockerCredentialStore(environ=env, home=home, ecr=False)


def test_auths_base64_auth(tmp_path: Path) -> None:
    store = _store(tmp_path, {"auths": {"reg.example.com": {"auth": _b64("alice:pa:ss")}}})
    creds = store("reg.example.com")
    assert creds == Credentials("alice", "pa:ss")
    assert "pa:ss" not in repr(creds) and "pa:ss" not in str(creds)


def test_auths_username_password_and_url_keys(tmp_path: Path) -> None:
    store = _store(tmp_path, {"auths": {"https://reg.example.com:5000/v2/": {"username": "u", "password": "p"}}})
    assert store("reg.example.com:5000") == Credentials("u", "p")
    assert store("reg.example.com") is None


def test_auths_identity_token(tmp_path: Path) -> None:
    store = _store(tmp_path, {"auths": {"reg.example.com": {"auth": _b64("u:"), "identitytoken": "rt-1"}}})
    creds = store("reg.example.com")
    assert creds is not None and creds.identity_token == "rt-1"
    assert "rt-1" not in repr(creds)


def test_docker_hub_key_aliases(tmp_path: Path) -> None:
    store = _store(tmp_path, {"auths": {HUB_SERVER_URL: {"auth": _b64("hub:pw")}}})
    for host in ("docker.io", "registry-1.docker.io", "index.docker.io"):
        assert store(host) == Credentials("hub", "pw")


def test_bad_base64_is_a_warning(tmp_path: Path) -> None:
    store = _store(tmp_path, {"auths": {"reg.example.com": {"auth": "!!!"}}})
    assert store("reg.example.com") is None
    assert any("base64" in w for w in store.warnings)


def test_empty_auths_entry_falls_through_to_creds_store(tmp_path: Path, helper_log: Path) -> None:
    # Docker Desktop writes `"auths": {"host": {}}` and keeps the secret in the credsStore.
    store = _store(tmp_path, {"auths": {"helper.example.com": {}}, "credsStore": "test"})
    assert store("helper.example.com") == Credentials("bob", "helper-pass")
    assert store.lookup("helper.example.com").source.startswith("docker-credential-test (credsStore")


def test_order_auths_before_cred_helpers(tmp_path: Path, helper_log: Path) -> None:
    config = {
        "auths": {"helper.example.com": {"auth": _b64("file:pw")}},
        "credHelpers": {"helper.example.com": "test"},
    }
    assert _store(tmp_path, config)("helper.example.com") == Credentials("file", "pw")
    assert not helper_log.exists(), "the helper is not run when auths answers"


def test_cred_helper_for_host(tmp_path: Path, helper_log: Path) -> None:
    store = _store(tmp_path, {"credHelpers": {"helper.example.com": "test"}, "credsStore": "missing"})
    assert store("helper.example.com") == Credentials("bob", "helper-pass")
    assert helper_log.read_text() == "helper.example.com\n"


def test_helper_is_asked_with_the_hub_server_url(tmp_path: Path, helper_log: Path) -> None:
    store = _store(tmp_path, {"credsStore": "test"})
    assert store("registry-1.docker.io") == Credentials("hubuser", "hub-pass")
    assert helper_log.read_text() == f"{HUB_SERVER_URL}\n"


def test_helper_identity_token(tmp_path: Path, helper_log: Path) -> None:
    creds = _store(tmp_path, {"credsStore": "test"})("token.example.com")
    assert creds is not None and creds.identity_token == "refresh-1" and creds.username == ""


def test_helper_not_found_is_silent(tmp_path: Path, helper_log: Path) -> None:
    store = _store(tmp_path, {"credsStore": "test"})
    assert store("other.example.com") is None
    assert store.warnings == ()


def test_helper_lookups_are_cached(tmp_path: Path, helper_log: Path) -> None:
    store = _store(tmp_path, {"credsStore": "test"})
    store("helper.example.com")
    store("helper.example.com")
    assert helper_log.read_text().count("helper.example.com") == 1


@pytest.mark.parametrize(
    ("host", "warning"),
    [("broken.example.com", "keychain is locked"), ("garbage.example.com", "JSON format")],
)
def test_helper_failures_are_warnings(tmp_path: Path, helper_log: Path, host: str, warning: str) -> None:
    store = _store(tmp_path, {"credsStore": "test"})
    assert store(host) is None
    assert any(warning in w for w in store.warnings)


def test_helper_timeout_is_a_warning(tmp_path: Path, helper_log: Path) -> None:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"credsStore": "test"}))
    store = DockerCredentialStore(environ={}, home=home, helper_timeout=0.2, ecr=False)
    assert store("slow.example.com") is None
    assert any("did not answer" in w for w in store.warnings)


def test_missing_helper_is_a_warning_not_an_error(tmp_path: Path) -> None:
    store = _store(tmp_path, {"credsStore": "does-not-exist-anywhere"})
    lookup = store.lookup("reg.example.com")
    assert lookup.credentials is None and lookup.source == "anonymous"
    assert any("docker-credential-does-not-exist-anywhere is not installed" in w for w in lookup.warnings)


def test_invalid_helper_name_is_not_run(tmp_path: Path) -> None:
    store = _store(tmp_path, {"credsStore": "../../bin/sh"})
    assert store("reg.example.com") is None
    assert any("invalid name" in w for w in store.warnings)


def test_registry_auth_file_comes_first(tmp_path: Path) -> None:
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {"reg.example.com": {"auth": _b64("podman:pw")}}}))
    store = _store(
        tmp_path, {"auths": {"reg.example.com": {"auth": _b64("docker:pw")}}}, REGISTRY_AUTH_FILE=str(auth_file)
    )
    assert store("reg.example.com") == Credentials("podman", "pw")
    assert str(auth_file) in store.lookup("reg.example.com").source


def test_registry_auth_file_falls_through_when_it_has_no_entry(tmp_path: Path) -> None:
    auth_file = tmp_path / "auth.json"
    auth_file.write_text(json.dumps({"auths": {}}))
    store = _store(
        tmp_path, {"auths": {"reg.example.com": {"auth": _b64("docker:pw")}}}, REGISTRY_AUTH_FILE=str(auth_file)
    )
    assert store("reg.example.com") == Credentials("docker", "pw")


def test_docker_config_env(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    (cfg / "config.json").write_text(json.dumps({"auths": {"reg.example.com": {"auth": _b64("dc:pw")}}}))
    store = DockerCredentialStore(environ={"DOCKER_CONFIG": str(cfg)}, home=tmp_path / "nohome", ecr=False)
    assert store("reg.example.com") == Credentials("dc", "pw")
    assert store.config_files()[-1] == cfg / "config.json"


def test_invalid_json_config_is_a_warning(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text("{not json")
    store = DockerCredentialStore(environ={}, home=home, ecr=False)
    assert store("reg.example.com") is None
    assert any("not valid JSON" in w for w in store.warnings)


def test_no_config_at_all(tmp_path: Path) -> None:
    store = DockerCredentialStore(environ={}, home=tmp_path, ecr=False)
    assert store.lookup("reg.example.com").credentials is None
    assert store.warnings == ()


@pytest.mark.parametrize(
    ("key", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("HTTP://Reg.Example.com:5000/v2/", "reg.example.com:5000"),
        ("reg.example.com", "reg.example.com"),
    ],
)
def test_normalise_host(key: str, host: str) -> None:
    assert normalise_host(key) == host


ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"


def _token_from_emulator(region: str, account: str) -> str:
    """The password the emulator's ECR issues, asked here with boto3 directly (independent of layerscope)."""
    import boto3

    answer = boto3.client("ecr", region_name=region).get_authorization_token(registryIds=[account])
    return base64.b64decode(answer["authorizationData"][0]["authorizationToken"]).decode().split(":", 1)[1]


def test_ecr_token_via_boto3(tmp_path: Path, aws_emulator: AwsEmulator) -> None:
    # moto's server mode answers ECR GetAuthorizationToken (#14 item 6: no hand-made boto3 module).
    store = DockerCredentialStore(environ={}, home=tmp_path)
    got = store(ECR)
    assert got is not None and got.username == "AWS"
    assert got.password == _token_from_emulator("eu-west-1", "123456789012")
    assert "boto3" in store.lookup(ECR).source


def test_ecr_config_entry_wins_over_boto3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # any use of boto3 would now fail loudly
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    (home / ".docker" / "config.json").write_text(json.dumps({"auths": {ECR: {"auth": _b64("AWS:from-file")}}}))
    assert DockerCredentialStore(environ={}, home=home)(ECR) == Credentials("AWS", "from-file")


def test_ecr_boto3_error_is_a_warning(
    tmp_path: Path, aws_emulator: AwsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    store = DockerCredentialStore(environ={}, home=tmp_path)
    assert store(ECR) is None
    assert any("no ECR token" in w for w in store.warnings)


def test_ecr_without_boto3_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # makes `import boto3` raise ImportError
    store = DockerCredentialStore(environ={}, home=tmp_path)
    assert store(ECR) is None
    assert any("layerscope[ecr]" in w for w in store.warnings)


def test_non_ecr_host_never_imports_boto3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # importing it would raise: the lookup must not try
    store = DockerCredentialStore(environ={}, home=tmp_path)
    assert store("reg.example.com") is None
    assert not any("layerscope[ecr]" in w for w in store.warnings)


# -- keyed by host:port (issue #12): a login for one registry is never found for another --------------------


@pytest.mark.parametrize(
    ("key", "host", "found"),
    [
        ("127.0.0.1:5000", "127.0.0.1:5000", True),
        ("127.0.0.1:5000", "127.0.0.1:5001", False),
        ("127.0.0.1:5000", "127.0.0.1", False),
        ("127.0.0.1", "127.0.0.1:5000", False),
        ("http://reg.example.com:5000/v2/", "reg.example.com:5000", True),
        ("https://reg.example.com:5000", "reg.example.com:5001", False),
        ("reg.example.com", "reg.example.com:443", False),
        ("reg.example.com", "reg.example.com.evil.example", False),
        ("reg.example.com", "evil.example", False),
        ("[::1]:5000", "[::1]:5000", True),
        ("[::1]:5000", "[::1]:5001", False),
    ],
)
def test_auths_are_keyed_by_host_and_port(tmp_path: Path, key: str, host: str, found: bool) -> None:
    store = _store(tmp_path, {"auths": {key: {"auth": _b64("alice:alice-pass")}}})
    assert (store(host) == Credentials("alice", "alice-pass")) is found
    if not found:
        assert store(host) is None


def test_cred_helper_is_keyed_by_host_and_port(tmp_path: Path, helper_log: Path) -> None:
    """credHelpers[host:port] runs for that host:port only; another port falls to credsStore, asked exactly."""
    config = {"credHelpers": {"helper.example.com:5000": "test"}, "credsStore": "test"}
    store = _store(tmp_path, config)
    assert store("helper.example.com:5001") is None
    assert store("helper.example.com") == Credentials("bob", "helper-pass")
    # The helper (here also the credsStore) was asked about each exact host, never a neighbour's.
    assert helper_log.read_text().splitlines() == ["helper.example.com:5001", "helper.example.com"]


def test_ecr_token_goes_with_its_own_account_and_region(tmp_path: Path, aws_emulator: AwsEmulator) -> None:
    """Two ECR registries: each host's token is asked for its own account (the emulator's token names it)."""
    other = "210987654321.dkr.ecr.us-east-2.amazonaws.com"
    store = DockerCredentialStore(environ={}, home=tmp_path)
    mine, theirs = store(ECR), store(other)
    assert mine is not None and theirs is not None
    assert mine.password == _token_from_emulator("eu-west-1", "123456789012")
    assert theirs.password == _token_from_emulator("us-east-2", "210987654321")
    assert mine.password != theirs.password
    assert store(ECR) == mine  # cached per host, not shared


@pytest.mark.parametrize(
    "host",
    [
        f"{ECR}.evil.example",
        f"evil.example/{ECR}",
        f"{ECR}:8443",
        f"x{ECR}",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com.cn.evil.example",
    ],
)
def test_an_ecr_lookalike_host_gets_no_ecr_token(tmp_path: Path, aws_emulator: AwsEmulator, host: str) -> None:
    # The emulator hands a token to anyone who asks: None proves nobody asked for this host.
    assert DockerCredentialStore(environ={}, home=tmp_path)(host) is None
