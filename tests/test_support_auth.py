"""Tests of the authenticating registries (token issuer, htpasswd) and of oras-py as a second client."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx
import jwt
import oras.client
import pytest

from tests.support.ocilayout import OciLayout
from tests.support.push import PushedRef, Pusher, PushError
from tests.support.registry import RegistryProcess, TokenIssuer, libtrust_key_id


def test_token_auth_rejects_wrong_password(
    auth_registry: RegistryProcess, token_issuer: TokenIssuer, repo_name: str
) -> None:
    token_issuer.clear()
    with Pusher(auth_registry.url, username=auth_registry.user, password="wrong") as p, pytest.raises(PushError) as exc:
        p.push_blob(repo_name, b"data")
    assert "HTTP 401" in str(exc.value)
    assert [(r.user, r.authenticated, r.status) for r in token_issuer.requests] == [("tester", False, 401)]


def test_token_auth_requires_credentials(auth_registry: RegistryProcess, token_issuer: TokenIssuer) -> None:
    r = httpx.get(f"{auth_registry.url}/v2/x/tags/list", timeout=5, trust_env=False)
    assert r.status_code == 401
    challenge = r.headers["WWW-Authenticate"]
    assert challenge.startswith(f'Bearer realm="{token_issuer.realm}"')
    assert 'scope="repository:x:pull"' in challenge
    with Pusher(auth_registry.url) as p, pytest.raises(PushError):
        p.tags("x")


def test_token_auth_accepts_right_password_with_exact_scope(
    auth_registry: RegistryProcess, token_issuer: TokenIssuer, auth_pusher: Pusher, repo_name: str
) -> None:
    token_issuer.clear()
    digest = auth_pusher.push_blob(repo_name, b"authenticated blob")
    assert auth_pusher.get_blob(repo_name, digest) == b"authenticated blob"
    ok = [r for r in token_issuer.requests if r.status == 200]
    assert ok and all(r.user == "tester" and r.authenticated for r in ok)
    # (the registry's challenge lists actions in Go map order: "pull,push" or "push,pull")
    asked = {(s.rsplit(":", 1)[0], frozenset(s.rsplit(":", 1)[1].split(","))) for r in ok for s in r.scopes}
    assert asked == {
        (f"repository:{repo_name}", frozenset({"pull"})),
        (f"repository:{repo_name}", frozenset({"pull", "push"})),
    }
    for r in ok:  # exactly what was asked, nothing more
        (scope,) = r.scopes
        actions = sorted(scope.split(":")[2].split(","))
        assert r.granted == ({"type": "repository", "name": repo_name, "actions": actions},)


def test_pull_only_user_cannot_push(auth_registry: RegistryProcess, auth_pusher: Pusher, repo_name: str) -> None:
    digest = auth_pusher.push_blob(repo_name, b"readable")
    with Pusher(auth_registry.url, username="reader", password="reader-password") as reader:
        assert reader.get_blob(repo_name, digest) == b"readable"
        with pytest.raises(PushError) as exc:
            reader.push_blob(repo_name, b"not allowed")
        assert exc.value.status_code == 401


def test_token_issuer_key_id_is_libtrust_style(token_issuer: TokenIssuer) -> None:
    assert re.fullmatch(r"([A-Z2-7]{4}:){11}[A-Z2-7]{4}", token_issuer.key_id)
    token = token_issuer.mint("tester", [])
    assert jwt.get_unverified_header(token)["kid"] == token_issuer.key_id
    assert libtrust_key_id(token_issuer.cert.public_key()) == token_issuer.key_id  # type: ignore[arg-type]


def test_minted_tokens_kid_x5c_and_wrong_audience(
    auth_registry: RegistryProcess, token_issuer: TokenIssuer, auth_pusher: Pusher, repo_name: str
) -> None:
    digest = auth_pusher.push_blob(repo_name, b"x")
    url = f"{auth_registry.url}/v2/{repo_name}/blobs/{digest}"
    access = [{"type": "repository", "name": repo_name, "actions": ["pull"]}]

    def status(token: str) -> int:
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5, trust_env=False).status_code

    assert status(token_issuer.mint("tester", access)) == 200
    assert status(token_issuer.mint("tester", [])) == 401  # no access granted
    assert status(token_issuer.mint("tester", access, audience="another-service")) == 401
    assert status(token_issuer.mint("tester", access, ttl=-3600)) == 401  # expired beyond the leeway
    token_issuer.header = "x5c"
    try:
        x5c_token = token_issuer.mint("tester", access)
    finally:
        token_issuer.header = "kid"
    assert "x5c" in jwt.get_unverified_header(x5c_token)
    assert status(x5c_token) == 200


def test_token_issuer_password_grant_and_faults(token_issuer: TokenIssuer) -> None:
    form = {
        "grant_type": "password",
        "username": "tester",
        "password": "tester-password",
        "service": token_issuer.service,
        "scope": "repository:a:pull",
        "client_id": "tests",
    }
    r = httpx.post(token_issuer.realm, data=form, timeout=5, trust_env=False)
    assert r.status_code == 200
    body = r.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "a", "actions": ["pull"]}]
    assert claims["aud"] == token_issuer.service
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "service": token_issuer.service,
        "scope": "repository:b:pull",
    }
    assert httpx.post(token_issuer.realm, data=refresh, timeout=5, trust_env=False).status_code == 200
    token_issuer.fail_next(503)
    params = {"service": token_issuer.service, "scope": "repository:a:pull"}
    auth = ("tester", "tester-password")
    assert httpx.get(token_issuer.realm, params=params, auth=auth, timeout=5, trust_env=False).status_code == 503
    assert httpx.get(token_issuer.realm, params=params, auth=auth, timeout=5, trust_env=False).status_code == 200


def test_basic_auth_registry(basic_registry: RegistryProcess, basic_pusher: Pusher, repo_name: str) -> None:
    assert httpx.get(f"{basic_registry.url}/v2/", timeout=5, trust_env=False).status_code == 401
    assert basic_registry.user and basic_registry.password
    creds = (basic_registry.user, basic_registry.password)
    assert httpx.get(f"{basic_registry.url}/v2/", auth=creds, timeout=5, trust_env=False).status_code == 200
    assert (
        httpx.get(
            f"{basic_registry.url}/v2/", auth=(basic_registry.user, "nope"), timeout=5, trust_env=False
        ).status_code
        == 401
    )
    digest = basic_pusher.push_blob(repo_name, b"basic")
    assert basic_pusher.get_blob(repo_name, digest) == b"basic"


def test_auth_pushed_fixtures(
    auth_pushed_fixtures: dict[str, PushedRef], auth_pusher: Pusher, fixture_layout: Path
) -> None:
    layout = OciLayout(fixture_layout)
    ref = auth_pushed_fixtures["windows-app"]
    body, _, digest = auth_pusher.get_manifest(ref.repo, ref.tag)
    assert digest == ref.digest == layout.resolve("windows-app")["digest"]
    assert body == layout.blob(ref.digest)


# ---------------------------------------------------------------------------------------------- oras


def test_oras_pushes_artifact_read_back_by_our_pusher(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, tmp_path: Path
) -> None:
    artifact = tmp_path / "report.json"
    artifact.write_bytes(b'{"pushed by": "oras-py"}')
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.session.trust_env = False  # no HTTP(S)_PROXY for 127.0.0.1
    response = client.push(
        target=f"{registry.host}/{repo_name}:artifact",
        files=[f"{artifact}:application/vnd.layerscope.test+json"],
        disable_path_validation=True,
        quiet=True,
    )
    assert response.status_code == 201
    body, content_type, _ = pusher.get_manifest(repo_name, "artifact")
    manifest = json.loads(body)
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.layerscope.test+json"
    assert pusher.get_blob(repo_name, layer["digest"]) == artifact.read_bytes()
    assert content_type == "application/vnd.oci.image.manifest.v1+json"


def test_oras_pulls_fixture_image_pushed_by_our_pusher(
    registry: RegistryProcess, pushed_fixtures: dict[str, PushedRef], fixture_layout: Path, tmp_path: Path
) -> None:
    ref = pushed_fixtures["linux-zstd"]
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.session.trust_env = False  # no HTTP(S)_PROXY for 127.0.0.1
    manifest = client.get_manifest(ref.ref)
    assert manifest["layers"] == OciLayout(fixture_layout).json_blob(ref.digest)["layers"]
    files = client.pull(target=ref.ref, outdir=str(tmp_path))
    assert len(files) == len(manifest["layers"])
    for layer, path in zip(manifest["layers"], files, strict=True):
        assert "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest() == layer["digest"]


def test_oras_pushes_through_token_auth(
    auth_registry: RegistryProcess, token_issuer: TokenIssuer, auth_pusher: Pusher, repo_name: str, tmp_path: Path
) -> None:
    # oras-py keeps a single bearer token and re-sends it when a later request needs a wider scope (its
    # HEAD gets a pull token, the upload POST then needs pull,push), so it cannot push through a strict
    # per-scope issuer on its own. Give it a pull,push token from the issuer up front.
    artifact = tmp_path / "notes.txt"
    artifact.write_bytes(b"oras with a bearer token")
    params = {"service": token_issuer.service, "scope": f"repository:{repo_name}:pull,push"}
    assert auth_registry.user and auth_registry.password
    creds = (auth_registry.user, auth_registry.password)
    r = httpx.get(token_issuer.realm, params=params, auth=creds, timeout=5, trust_env=False)
    client = oras.client.OrasClient(hostname=auth_registry.host, insecure=True)
    client.session.trust_env = False  # no HTTP(S)_PROXY for 127.0.0.1
    client.auth.set_token_auth(r.json()["token"])
    response = client.push(
        target=f"{auth_registry.host}/{repo_name}:v1", files=[str(artifact)], disable_path_validation=True, quiet=True
    )
    assert response.status_code == 201
    body, _, _ = auth_pusher.get_manifest(repo_name, "v1")
    (layer,) = json.loads(body)["layers"]
    assert auth_pusher.get_blob(repo_name, layer["digest"]) == artifact.read_bytes()
