"""`layerscope analyze` against a real CNCF distribution registry, images pushed by an independent client."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.integration.test_analyze_layout import SINGLE, assert_matches_truth
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess
from tests.support.truth import image_truth


@pytest.mark.parametrize("tag", SINGLE)
def test_pushed_images_match_truth(
    tag: str, pushed_fixtures: dict[str, PushedRef], fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    run = layerscope("analyze", pushed_fixtures[tag].ref, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()["images"][0]
    assert doc["reference"] == pushed_fixtures[tag].ref
    assert_matches_truth(doc, image_truth(fixture_layout, tag))


def test_pushed_index_matches_truth(
    pushed_fixtures: dict[str, PushedRef], fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    run = layerscope("analyze", pushed_fixtures["multi-platform"].pinned, "-o", "json")
    assert run.exit_code == 0, run.stderr
    images = run.json()["images"]
    assert len(images) >= 2
    for image in images:
        p = image["platform"]
        spec = f"{p['os']}/{p['architecture']}" + (f"/{p['variant']}" if p["variant"] else "")
        assert_matches_truth(image, image_truth(fixture_layout, "multi-platform", spec))


def test_reanalysis_fetches_no_blob(
    registry: RegistryProcess, pushed_fixtures: dict[str, PushedRef], layerscope: Callable[..., Run]
) -> None:
    ref = pushed_fixtures["linux-gzip-multimember"]
    first_mark = registry.mark()
    first = layerscope("analyze", ref.ref, "-o", "json")
    assert first.exit_code == 0, first.stderr
    layers = first.json()["images"][0]["layers"]
    gets = registry.blob_gets(first_mark, repo=ref.repo)
    # Each layer blob once, plus the config.
    assert sorted(r.path.rsplit("/", 1)[1] for r in gets if r.status == 200) == sorted(
        [layer["digest"] for layer in layers] + [first.json()["images"][0]["config_digest"]]
    )
    second_mark = registry.mark()
    second = layerscope("analyze", ref.ref, "-o", "json")
    assert second.exit_code == 0
    layer_digests = {layer["digest"] for layer in layers}
    assert [
        r for r in registry.blob_gets(second_mark, repo=ref.repo) if r.path.rsplit("/", 1)[1] in layer_digests
    ] == []
    assert {layer["size_source"] for layer in second.json()["images"][0]["layers"]} == {"store"}


def test_shared_layers_are_fetched_once_per_run(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Callable[..., Run]
) -> None:
    base = fixturegen.make_layer(fixturegen.linux_base_entries("shared-base"), "gzip")
    images = []
    for i in range(3):
        app = fixturegen.make_layer(fixturegen.linux_extra_entries(f"app-{i}"), "gzip")
        images.append(push(pusher, repo_name, f"v{i}", simple_image([base, app])))
    mark = registry.mark()
    run = layerscope("analyze", *[r.ref for r in images], "-o", "json")
    assert run.exit_code == 0, run.stderr
    assert len(run.json()["images"]) == 3
    assert len(registry.blob_gets(mark, repo=repo_name, digest=base.digest)) == 1


def _docker_config(tmp_path: Path, host: str, user: str, password: str) -> Path:
    cfg = tmp_path / "docker-config"
    cfg.mkdir(exist_ok=True)
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    (cfg / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return cfg


def test_token_auth_with_docker_config(
    auth_registry: RegistryProcess,
    auth_pushed_fixtures: dict[str, PushedRef],
    fixture_layout: Path,
    tmp_path: Path,
    layerscope: Callable[..., Run],
) -> None:
    ref = auth_pushed_fixtures["linux-zstd"]
    anonymous = layerscope("analyze", ref.ref)
    assert anonymous.exit_code == 3, anonymous.stderr
    cfg = _docker_config(tmp_path, auth_registry.host, "reader", "reader-password")
    run = layerscope("analyze", ref.ref, "-o", "json", env={"DOCKER_CONFIG": str(cfg)})
    assert run.exit_code == 0, run.stderr
    assert_matches_truth(run.json()["images"][0], image_truth(fixture_layout, "linux-zstd"))


def test_wrong_password_is_exit_3_without_leaking_it(
    auth_registry: RegistryProcess,
    auth_pushed_fixtures: dict[str, PushedRef],
    tmp_path: Path,
    isolated_store: Path,
    layerscope: Callable[..., Run],
) -> None:
    cfg = _docker_config(tmp_path, auth_registry.host, "reader", "not-the-password-s3cret")
    run = layerscope("analyze", auth_pushed_fixtures["linux-gzip"].ref, env={"DOCKER_CONFIG": str(cfg)})
    assert run.exit_code == 3
    assert len(run.stderr.strip().splitlines()) == 1
    assert "s3cret" not in run.stderr + run.stdout
    assert "Traceback" not in run.stderr


def test_missing_tag_and_repository_are_exit_4(
    registry: RegistryProcess, pushed_fixtures: dict[str, PushedRef], layerscope: Callable[..., Run]
) -> None:
    assert layerscope("analyze", f"{registry.host}/layerscope/fixtures:no-such-tag").exit_code == 4
    assert layerscope("analyze", f"{registry.host}/no/such-repo:x").exit_code == 4


def test_unknown_host_is_exit_5(layerscope: Callable[..., Run]) -> None:
    run = layerscope("analyze", "registry.does-not-exist.invalid/x/y:1")
    assert run.exit_code == 5
    assert len(run.stderr.strip().splitlines()) == 1 and "hint:" in run.stderr


def test_refused_port_is_exit_5(layerscope: Callable[..., Run]) -> None:
    from tests.support.registry import free_port

    run = layerscope("analyze", f"127.0.0.1:{free_port()}/x/y:1")
    assert run.exit_code == 5


def test_registry_serving_wrong_bytes_is_caught_and_nothing_stored(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, isolated_store: Path, layerscope: Callable[..., Run]
) -> None:
    layer = fixturegen.make_layer(fixturegen.linux_extra_entries("tamper"), "gzip")
    ref = push(pusher, repo_name, "v1", simple_image([layer]))
    encoded = layer.digest.split(":", 1)[1]
    data_file = registry.storage / "docker/registry/v2/blobs/sha256" / encoded[:2] / encoded / "data"
    blob = bytearray(data_file.read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # same length, different content: the registry now lies
    data_file.write_bytes(bytes(blob))
    run = layerscope("analyze", ref.ref, "-o", "json")
    assert run.exit_code == 1
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "content hashes to" in run.stderr  # the registry's fault, not a corrupt image
    assert run.stdout == ""
    stats = layerscope("store", "stats")
    assert "entries: 0" in stats.stdout


def test_output_file_is_not_written_on_failure(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    out = tmp_path / "report.json"
    run = layerscope("analyze", "registry.does-not-exist.invalid/x:1", "-o", "json", "--output", str(out))
    assert run.exit_code == 5
    assert not out.exists()
    assert list(tmp_path.glob(".report.json*")) == []


def test_warm_digest_pinned_reanalysis_makes_no_request_at_all(
    registry: RegistryProcess, pushed_fixtures: dict[str, PushedRef], layerscope: Callable[..., Run]
) -> None:
    ref = pushed_fixtures["multi-platform"]
    first = layerscope("analyze", ref.pinned, "-o", "json")
    assert first.exit_code == 0, first.stderr
    mark = registry.mark()
    second = layerscope("analyze", ref.pinned, "-o", "json")
    assert second.exit_code == 0, second.stderr
    assert [r for r in registry.requests(mark) if r.path.startswith(f"/v2/{ref.repo}/")] == []
    strip = ("size_source",)
    for a, b in zip(first.json()["images"], second.json()["images"], strict=True):
        assert a["digest"] == b["digest"] and a["totals"] == b["totals"]
        for la, lb in zip(a["layers"], b["layers"], strict=True):
            assert {k: v for k, v in la.items() if k not in strip} == {k: v for k, v in lb.items() if k not in strip}
    # A tag may move, so a tag reference still asks for its manifest (and nothing else).
    mark = registry.mark()
    assert layerscope("analyze", ref.ref, "-o", "json").exit_code == 0
    paths = [r.path for r in registry.requests(mark) if r.path.startswith(f"/v2/{ref.repo}/")]
    assert paths == [f"/v2/{ref.repo}/manifests/{ref.tag}"]
