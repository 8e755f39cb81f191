"""`analyze --attach` / `--use-attached` against a real distribution 2.8 registry (no referrers API, so
the referrers tag schema is what is exercised), with oras-py as the independent second client.

Directions of interop:
- layerscope pushes, oras-py reads: oras-py has no referrers discovery, so it pulls the tag-schema index
  (`sha256-<hex>`) and then the artifact by digest, and we check subject, artifactType and the numbers
  against fixturegen's declared truth (not against layerscope).
- oras-py pushes, layerscope reads: oras-py pushes the artifact with `subject` (its pre-1.1 convention
  puts the artifact type in the config media type) but does not maintain the referrers tag index, so the
  test's raw pusher (tests/support/push.py) adds the entry the way the spec tells clients to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import oras.client
import oras.oci

from scripts import fixturegen
from tests.fleet.conftest import Run, _layer
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess

ARTIFACT_TYPE = "application/vnd.layerscope.analysis.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _tag(digest: str) -> str:
    return digest.replace(":", "-")


def _image(pusher: Pusher, repo: str, seed: int) -> tuple[PushedRef, list[fixturegen.Layer]]:
    layers = [_layer("attach-base", seed, 4000), _layer("attach-app", seed, 2000)]
    return push(pusher, repo, "v1", simple_image(layers)), layers


def _oras(registry: RegistryProcess) -> oras.client.OrasClient:
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.session.trust_env = False  # no HTTP(S)_PROXY for 127.0.0.1
    return client


def _assert_truth(layer: dict[str, Any], truth: fixturegen.Layer) -> None:
    e = truth.expected
    assert (layer["digest"], layer["diff_id"]) == (e.digest, e.diff_id)
    assert layer["uncompressed_bytes"] == e.uncompressed_size
    assert layer["extracted_bytes"] == e.extracted_bytes
    assert layer["files"] == e.files


def test_attach_then_use_attached_downloads_no_layer(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Callable[..., Run]
) -> None:
    ref, layers = _image(pusher, repo_name, 1)
    first = layerscope("analyze", ref.ref, "--attach", "-o", "json", "--no-store")
    assert first.exit_code == 0, first.stderr
    body, content_type, _ = pusher.get_manifest(repo_name, _tag(ref.digest), accept=OCI_INDEX)
    assert content_type == OCI_INDEX
    (entry,) = json.loads(body)["manifests"]
    assert entry["artifactType"] == ARTIFACT_TYPE
    assert "org.opencontainers.image.created" in entry["annotations"]
    artifact = json.loads(pusher.get_manifest(repo_name, entry["digest"])[0])
    assert artifact["subject"]["digest"] == ref.digest
    assert artifact["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"

    mark = registry.mark()
    second = layerscope("analyze", ref.ref, "--use-attached", "-o", "json", "--no-store")
    assert second.exit_code == 0, second.stderr
    got = {r.digest for r in registry.blob_gets(mark, repo=repo_name)}
    assert not got & {layer.digest for layer in layers}, "a layer was downloaded"
    before, after = first.json()["images"][0]["layers"], second.json()["images"][0]["layers"]
    assert [layer["size_source"] for layer in after] == ["attached", "attached"]
    # Contents (#15): the measuring run has each layer's file index; an attached measurement has none (null).
    changes = ("added_files", "modified_files", "deleted_files", "reclaimed_by_later_bytes")
    for b, a, truth in zip(before, after, layers, strict=True):
        _assert_truth(a, truth)
        assert b["added_files"] is not None and all(a[k] is None for k in changes)
        assert {**b, "size_source": "attached", **dict.fromkeys(changes)} == a
    assert first.json()["images"][0]["contents"] is not None and second.json()["images"][0]["contents"] is None

    # Attaching again with the same numbers pushes nothing new.
    third = layerscope("analyze", ref.ref, "--attach", "--use-attached", "-o", "json", "--no-store")
    assert third.exit_code == 0, third.stderr
    body, _, _ = pusher.get_manifest(repo_name, _tag(ref.digest), accept=OCI_INDEX)
    assert len(json.loads(body)["manifests"]) == 1


def _document(ref: PushedRef, config_digest: str, layers: list[fixturegen.Layer], **lie: Any) -> bytes:
    """A layer-measurements/v1 document written from fixturegen's declared truth (not by layerscope)."""
    records = []
    for index, layer in enumerate(layers):
        e = layer.expected
        m = {
            "digest": e.digest,
            "compressed_bytes": e.size,
            "size_source": "measured",
            "diff_id": lie.get("diff_id", e.diff_id),
            "compression": "gzip",
            "uncompressed_bytes": e.uncompressed_size,
            "extracted_bytes": e.extracted_bytes,
            "files": e.files,
            "dirs": e.dirs,
            "symlinks": e.symlinks,
            "hardlinks": e.hardlinks,
            "whiteouts": e.whiteouts,
            "other_entries": 0,
            "windows_files_bytes": e.windows_files_bytes,
            "windows_hives_bytes": e.windows_hives_bytes,
        }
        records.append({"index": index, "digest": e.digest, "diff_id": m["diff_id"], "measurement": m})
    doc = {
        "schema": "layerscope.layer-measurements/v1",
        "tool": "oras-py test",
        "created": "2026-01-01T00:00:00Z",
        "image": {"digest": ref.digest, "media_type": OCI_MANIFEST, "config_digest": config_digest},
        "layers": records,
    }
    return json.dumps(doc).encode()


def _oras_attach(
    registry: RegistryProcess, pusher: Pusher, ref: PushedRef, document: bytes, tmp_path: Path, created: str
) -> str:
    """oras-py pushes the artifact with a subject; our raw pusher adds it to the referrers tag index."""
    path = tmp_path / "layerscope-analysis.json"
    path.write_bytes(document)
    manifest_body, _, _ = pusher.get_manifest(ref.repo, ref.digest)
    subject = oras.oci.Subject(OCI_MANIFEST, ref.digest, len(manifest_body))
    response = _oras(registry).push(
        target=f"{ref.host}/{ref.repo}:attached-by-oras",
        files=[f"{path}:{ARTIFACT_TYPE}"],
        manifest_config=f"{tmp_path / 'absent'}:{ARTIFACT_TYPE}",  # absent file: oras-py uses `{}`
        manifest_annotations={"org.opencontainers.image.created": created},
        subject=subject,
        disable_path_validation=True,
        quiet=True,
    )
    assert response.status_code == 201
    body, _, digest = pusher.get_manifest(ref.repo, "attached-by-oras")
    assert digest is not None
    manifest = json.loads(body)
    assert manifest["subject"]["digest"] == ref.digest
    entry = {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": len(body),
        "artifactType": manifest.get("artifactType") or manifest["config"]["mediaType"],
        "annotations": manifest.get("annotations", {}),
    }
    try:
        current = json.loads(pusher.get_manifest(ref.repo, _tag(ref.digest), accept=OCI_INDEX)[0])["manifests"]
    except Exception:
        current = []
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [*current, entry]}
    pusher.push_json_manifest(ref.repo, _tag(ref.digest), index)
    return digest


def test_layerscope_reads_an_analysis_pushed_by_oras(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    ref, layers = _image(pusher, repo_name, 2)
    config_digest = json.loads(pusher.get_manifest(repo_name, ref.digest)[0])["config"]["digest"]
    _oras_attach(registry, pusher, ref, _document(ref, config_digest, layers), tmp_path, "2026-01-01T00:00:00Z")
    mark = registry.mark()
    run = layerscope("analyze", ref.ref, "--use-attached", "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    assert not {r.digest for r in registry.blob_gets(mark, repo=repo_name)} & {layer.digest for layer in layers}
    doc_layers = run.json()["images"][0]["layers"]
    assert [layer["size_source"] for layer in doc_layers] == ["attached", "attached"]
    for layer, truth in zip(doc_layers, layers, strict=True):
        _assert_truth(layer, truth)


def test_a_lying_attachment_is_ignored_with_a_warning(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    ref, layers = _image(pusher, repo_name, 3)
    config_digest = json.loads(pusher.get_manifest(repo_name, ref.digest)[0])["config"]["digest"]
    wrong = "sha256:" + hashlib.sha256(b"another layer").hexdigest()
    _oras_attach(registry, pusher, ref, _document(ref, config_digest, layers, diff_id=wrong), tmp_path, "2026-02-01")
    mark = registry.mark()
    run = layerscope("analyze", ref.ref, "--use-attached", "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    assert "ignoring attached analysis" in run.stderr and "diff_id" in run.stderr
    assert {r.digest for r in registry.blob_gets(mark, repo=repo_name)} >= {layer.digest for layer in layers}
    doc_layers = run.json()["images"][0]["layers"]
    assert [layer["size_source"] for layer in doc_layers] == ["measured", "measured"]
    for layer, truth in zip(doc_layers, layers, strict=True):
        _assert_truth(layer, truth)


def test_oras_discovers_and_pulls_what_layerscope_attached(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    ref, layers = _image(pusher, repo_name, 4)
    run = layerscope("analyze", ref.ref, "--attach", "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    client = _oras(registry)
    index = client.get_manifest(f"{ref.host}/{ref.repo}:{_tag(ref.digest)}", allowed_media_type=[OCI_INDEX])
    (entry,) = [m for m in index["manifests"] if m.get("artifactType") == ARTIFACT_TYPE]
    target = f"{ref.host}/{ref.repo}@{entry['digest']}"
    artifact = client.get_manifest(target)
    assert artifact["artifactType"] == ARTIFACT_TYPE
    assert artifact["subject"] == {
        "mediaType": ref.media_type,
        "digest": ref.digest,
        "size": artifact["subject"]["size"],
    }
    (path,) = client.pull(target=target, outdir=str(tmp_path))
    assert Path(path).name == "layerscope-analysis.json"
    doc = json.loads(Path(path).read_bytes())
    assert doc["schema"] == "layerscope.layer-measurements/v1"
    assert doc["image"]["digest"] == ref.digest
    for record, truth in zip(doc["layers"], layers, strict=True):
        m = record["measurement"]
        assert (record["digest"], record["diff_id"]) == (truth.expected.digest, truth.expected.diff_id)
        assert m["uncompressed_bytes"] == truth.expected.uncompressed_size
        assert m["extracted_bytes"] == truth.expected.extracted_bytes
        assert m["files"] == truth.expected.files


def test_attach_through_token_auth_asks_for_push(
    auth_registry: RegistryProcess, auth_pusher: Pusher, repo_name: str, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    import base64

    assert auth_registry.issuer is not None and auth_registry.user and auth_registry.password
    ref, _ = _image(auth_pusher, repo_name, 5)
    config = tmp_path / "docker-config"
    config.mkdir(exist_ok=True)
    token = base64.b64encode(f"{auth_registry.user}:{auth_registry.password}".encode()).decode()
    (config / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": token}}}))
    auth_registry.issuer.clear()
    run = layerscope("analyze", ref.ref, "--attach", "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    scopes = {s for r in auth_registry.issuer.requests for s in r.scopes}
    assert f"repository:{repo_name}:pull,push" in scopes
    body, _, _ = auth_pusher.get_manifest(repo_name, _tag(ref.digest), accept=OCI_INDEX)
    assert json.loads(body)["manifests"][0]["artifactType"] == ARTIFACT_TYPE


def test_each_platform_of_an_index_gets_its_own_attachment(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    ref = pusher.push_layout(fixture_layout, "multi-platform", repo_name)
    first = layerscope("analyze", ref.ref, "--attach", "-o", "json", "--no-store")
    assert first.exit_code == 0, first.stderr
    images = first.json()["images"]
    assert len(images) >= 2
    for image in images:
        body, _, _ = pusher.get_manifest(repo_name, _tag(image["digest"]), accept=OCI_INDEX)
        assert json.loads(body)["manifests"][0]["artifactType"] == ARTIFACT_TYPE
    mark = registry.mark()
    second = layerscope("analyze", ref.ref, "--use-attached", "-o", "json", "--no-store")
    assert second.exit_code == 0, second.stderr
    layer_digests = {layer["digest"] for image in images for layer in image["layers"]}
    assert not {r.digest for r in registry.blob_gets(mark, repo=repo_name)} & layer_digests
    assert second.json()["images"][0]["index_digest"] == ref.digest


def test_attach_on_a_layout_reference_says_nothing_was_attached(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    run = layerscope("analyze", f"oci:{fixture_layout}:linux-gzip", "--attach", "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    assert "not in a registry, nothing attached" in run.stderr


def test_an_attachment_is_used_for_its_own_image_and_repository_only(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    # Issue #12 item 3: an analysis attached to image X in repo X must not supply numbers for the same
    # layer in image Y of repo Y analysed in the same batch. X's attachment claims 1000 bytes more for
    # the shared layer than it has (within the rules verify_document can check), so a leak shows.
    shared = _layer("attach-shared", 90, 4000)
    own_x, own_y = _layer("attach-x", 90, 2000), _layer("attach-y", 90, 2000)
    x = push(pusher, f"{repo_name}-x", "v1", simple_image([shared, own_x]))
    y = push(pusher, f"{repo_name}-y", "v1", simple_image([shared, own_y]))
    config_digest = json.loads(pusher.get_manifest(x.repo, x.digest)[0])["config"]["digest"]
    doc = json.loads(_document(x, config_digest, [shared, own_x]))
    doc["layers"][0]["measurement"]["uncompressed_bytes"] += 1000
    _oras_attach(registry, pusher, x, json.dumps(doc).encode(), tmp_path, "2026-03-01T00:00:00Z")
    for refs in ([x.ref, y.ref], [y.ref, x.ref]):
        mark = registry.mark()
        run = layerscope("analyze", *refs, "--use-attached", "-o", "json", "--no-store")
        assert run.exit_code == 0, run.stderr
        images = {image["reference"]: image["layers"] for image in run.json()["images"]}
        assert [layer["size_source"] for layer in images[x.ref]] == ["attached", "attached"]
        assert images[x.ref][0]["uncompressed_bytes"] == shared.expected.uncompressed_size + 1000
        assert [layer["size_source"] for layer in images[y.ref]] == ["measured", "measured"]
        for layer, truth in zip(images[y.ref], [shared, own_y], strict=True):
            _assert_truth(layer, truth)
        assert shared.digest in {r.digest for r in registry.blob_gets(mark, repo=y.repo, status=200)}
        assert not {r.digest for r in registry.blob_gets(mark, repo=x.repo)} & {shared.digest, own_x.digest}
