"""Tests of the test infrastructure: the registry process, the pusher, request counting."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from scripts import fixturegen
from tests.support.ocilayout import OciLayout
from tests.support.push import PushedRef, Pusher, PushError
from tests.support.registry import RegistryProcess, free_port, require_registry_binary


def test_registry_answers_v2(registry: RegistryProcess) -> None:
    assert registry.host.startswith("127.0.0.1:")
    assert registry.url == f"http://{registry.host}"
    r = httpx.get(f"{registry.url}/v2/", timeout=5, trust_env=False)
    assert r.status_code == 200
    assert r.headers["Docker-Distribution-Api-Version"] == "registry/2.0"


def test_push_roundtrip_manifest_and_blobs(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, fixture_layout: Path
) -> None:
    layout = OciLayout(fixture_layout)
    pushed = pusher.push_layout(fixture_layout, "linux-gzip", repo_name)
    desc = layout.resolve("linux-gzip")
    assert pushed.digest == desc["digest"]
    assert pushed.ref == f"{registry.host}/{repo_name}:linux-gzip"
    body, content_type, digest = pusher.get_manifest(repo_name, "linux-gzip")
    assert body == layout.blob(desc["digest"])
    assert content_type == desc["mediaType"]
    assert digest == desc["digest"]
    manifest = json.loads(body)
    for blob in [manifest["config"], *manifest["layers"]]:
        assert pusher.get_blob(repo_name, blob["digest"]) == layout.blob(blob["digest"])
    assert pusher.tags(repo_name) == ["linux-gzip"]


def test_all_fixtures_push_and_read_back(
    pushed_fixtures: dict[str, PushedRef], fixture_layout: Path, pusher: Pusher
) -> None:
    layout = OciLayout(fixture_layout)
    assert set(pushed_fixtures) == set(fixturegen.TAGS)
    for tag, ref in pushed_fixtures.items():
        desc = layout.resolve(tag)
        body, content_type, digest = pusher.get_manifest(ref.repo, ref.tag)
        assert (body, content_type, digest) == (layout.blob(desc["digest"]), desc["mediaType"], desc["digest"])
    # The foreign Windows base layers were accepted without their blobs being in the registry.
    body, _, _ = pusher.get_manifest(pushed_fixtures["windows-app"].repo, "windows-app")
    foreign = json.loads(body)["layers"][0]
    assert foreign["mediaType"] == fixturegen.DOCKER_FOREIGN
    assert not pusher.blob_exists(pushed_fixtures["windows-app"].repo, foreign["digest"])


def test_push_in_memory_index(pusher: Pusher, repo_name: str, fixture_set: fixturegen.FixtureSet) -> None:
    index = fixture_set.tags["multi-platform"]
    assert isinstance(index, fixturegen.IndexImage)
    pushed = pusher.push_image(repo_name, "v1", index.index, fixture_set.blobs)
    assert pushed.digest == index.digest
    for img in (*index.images, *index.attestations):
        body, _, _ = pusher.get_manifest(repo_name, img.digest)
        assert body == img.manifest.data


def test_blob_get_counting(registry: RegistryProcess, pusher: Pusher, repo_name: str) -> None:
    a = pusher.push_blob(repo_name, b"blob a")
    b = pusher.push_blob(repo_name, b"blob b")
    mark = registry.mark()
    assert registry.blob_gets(mark) == []
    pusher.get_blob(repo_name, a)
    pusher.get_blob(repo_name, a)
    pusher.get_blob(repo_name, b)
    assert pusher.blob_exists(repo_name, a)  # HEAD: not a GET
    with pytest.raises(PushError):
        pusher.get_blob(repo_name, "sha256:" + "0" * 64)
    gets = registry.blob_gets(mark, repo=repo_name)
    assert [(g.digest, g.status) for g in gets] == [(a, 200), (a, 200), (b, 200), ("sha256:" + "0" * 64, 404)]
    assert len(registry.blob_gets(mark, digest=a)) == 2
    assert len(registry.blob_gets(mark, repo=repo_name, status=200)) == 3
    assert registry.blob_gets(mark, repo="some/other-repo") == []
    assert gets[0].bytes_written == len(b"blob a")
    heads = [r for r in registry.requests(mark) if r.method == "HEAD"]
    assert [h.path for h in heads] == [f"/v2/{repo_name}/blobs/{a}"]
    # The sync markers never show up, and a later mark sees nothing new.
    assert all("layerscope-log-sync" not in r.query for r in registry.requests(0))
    assert registry.blob_gets(registry.mark()) == []


def test_manifest_put_rejects_missing_blob(pusher: Pusher, repo_name: str) -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": fixturegen.OCI_MANIFEST,
        "config": {"mediaType": fixturegen.OCI_CONFIG, "digest": "sha256:" + "1" * 64, "size": 2},
        "layers": [],
    }
    with pytest.raises(PushError) as exc:
        pusher.push_json_manifest(repo_name, "broken", doc)
    assert exc.value.status_code == 400


def test_registry_process_lifecycle(registry_binary: str, tmp_path: Path) -> None:
    reg = RegistryProcess(tmp_path / "r", binary=registry_binary, name="lifecycle")
    with reg:
        proc = reg.process
        assert proc is not None and proc.poll() is None
        assert httpx.get(f"{reg.url}/v2/", timeout=5, trust_env=False).status_code == 200
    assert reg.process is None
    assert proc.poll() is not None
    reg.stop()  # idempotent
    assert "listening on" in reg.log_path.read_text()


def test_free_port_is_bindable() -> None:
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_missing_binary_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAYERSCOPE_REGISTRY_BIN", str(tmp_path / "no-such-registry"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="docker-registry"):
        require_registry_binary()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="not installed"):
        require_registry_binary()
