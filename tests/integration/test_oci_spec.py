"""What the OCI image spec allows, read as a user would: documents written into layouts (and one registry).

Each layout is built here with tests/support/ocilayout.py (hashlib + json), holding exactly the document
the spec calls valid: index entries without `platform` (OPTIONAL, image-index.md), nested indexes
(implementations SHOULD support them), Docker Hub-era config media types (moby's puller treats
`application/octet-stream` configs as images, docker/distribution#1621), and digests of unregistered
algorithms in descriptors that are never fetched (descriptor.md: they SHOULD pass validation).
Sizes are checked against tests/support/truth.py (Python's gzip/tarfile), never layerscope's own code.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.ocilayout import LayoutWriter
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess
from tests.support.truth import layer_truth

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
# From image-spec descriptor.md ("Digests"): valid, but of algorithms that are not registered.
B64U_DIGEST = "sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"
MULTIHASH_DIGEST = "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"


def _layer(seed: str) -> fixturegen.Layer:
    return fixturegen.make_layer(fixturegen.linux_app_entries(seed))


def _image(
    w: LayoutWriter,
    seed: str,
    *,
    arch: str = "amd64",
    config_type: str = OCI_CONFIG,
    manifest_type: str = OCI_MANIFEST,
    layer_type: str | None = None,
    **manifest_extra: Any,
) -> tuple[dict[str, Any], fixturegen.Layer]:
    """An image manifest (one layer) written to *w*; its descriptor and the layer."""
    layer = _layer(seed)
    config = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}}
    manifest = {
        "schemaVersion": 2,
        "mediaType": manifest_type,
        "config": w.document(config, config_type),
        "layers": [w.blob(layer.blob.data, layer_type or layer.blob.media_type)],
        **manifest_extra,
    }
    return w.document(manifest), layer


def _index(w: LayoutWriter, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return w.document({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})


def _analyze(layerscope: Callable[..., Run], *args: str) -> list[dict[str, Any]]:
    run = layerscope("analyze", *args, "-o", "json")
    assert run.exit_code == 0, run.stderr
    images: list[dict[str, Any]] = run.json()["images"]
    return images


def _assert_layer(doc: dict[str, Any], layer: fixturegen.Layer) -> None:
    truth = layer_truth(layer.blob.data)
    (got,) = doc["layers"]
    assert (got["digest"], got["diff_id"]) == (truth.digest, truth.diff_id)
    assert got["compressed_bytes"] == truth.size
    assert got["uncompressed_bytes"] == truth.uncompressed_size
    assert got["extracted_bytes"] == truth.extracted_bytes


def test_index_entries_without_platform_take_it_from_the_config(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    w = LayoutWriter(tmp_path / "layout")
    amd, amd_layer = _image(w, "noplat-amd64")
    arm, arm_layer = _image(w, "noplat-arm64", arch="arm64")
    # The spec's own "valid image index, with required fields only" shape, plus entries the spec says
    # must not cause an error: an artifact (artifactType) and a media type unknown to the reader.
    artifact = w.blob(b"{}", "application/vnd.oci.empty.v1+json")
    custom = w.blob(b"{}", "application/customized.manifest+json")
    top = _index(w, [amd, arm, {**artifact, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.x"}, custom])
    w.tag(top, "app")
    ref = f"oci:{w.path}:app"

    images = _analyze(layerscope, ref)
    assert [(i["platform"]["os"], i["platform"]["architecture"]) for i in images] == [
        ("linux", "amd64"),
        ("linux", "arm64"),
    ]
    assert [i["digest"] for i in images] == [amd["digest"], arm["digest"]]
    assert all(i["index_digest"] == top["digest"] for i in images)
    _assert_layer(images[0], amd_layer)
    _assert_layer(images[1], arm_layer)

    (only,) = _analyze(layerscope, ref, "--platform", "linux/arm64")
    assert only["digest"] == arm["digest"]
    none = layerscope("analyze", ref, "--platform", "windows/amd64")
    assert none.exit_code == 4
    assert "platforms in this index: linux/amd64, linux/arm64" in none.stderr


def test_nested_index_is_followed(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    w = LayoutWriter(tmp_path / "layout")
    amd, amd_layer = _image(w, "nested-amd64")
    arm, _ = _image(w, "nested-arm64", arch="arm64")
    inner = _index(w, [{**arm, "platform": {"os": "linux", "architecture": "arm64"}}])
    top = _index(w, [{**amd, "platform": {"os": "linux", "architecture": "amd64"}}, inner])
    w.tag(top, "app")

    images = _analyze(layerscope, f"oci:{w.path}:app")
    assert [i["digest"] for i in images] == [amd["digest"], arm["digest"]]
    assert [i["index_digest"] for i in images] == [top["digest"], top["digest"]]
    _assert_layer(images[0], amd_layer)
    (arm_only,) = _analyze(layerscope, f"oci:{w.path}:app", "--platform", "linux/arm64")
    assert arm_only["digest"] == arm["digest"]


def _nest(w: LayoutWriter, image: dict[str, Any], levels: int) -> dict[str, Any]:
    """*image* wrapped in *levels* nested indexes below a top index; the top index's descriptor."""
    desc = image
    for _ in range(levels):
        desc = _index(w, [desc])
    return _index(w, [desc])


def test_nesting_is_followed_to_the_limit_and_refused_past_it(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    w = LayoutWriter(tmp_path / "layout")
    image, _ = _image(w, "deep")
    w.tag(_nest(w, image, 4), "four")
    w.tag(_nest(w, image, 5), "five")
    (found,) = _analyze(layerscope, f"oci:{w.path}:four")
    assert found["digest"] == image["digest"]
    run = layerscope("analyze", f"oci:{w.path}:five")
    assert run.exit_code == 1
    (line,) = run.stderr.strip().splitlines()
    assert "nested more than 4 levels deep" in line and "hint:" in line


def test_docker_hub_era_octet_stream_config_is_an_image(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    w = LayoutWriter(tmp_path / "layout")
    manifest, layer = _image(
        w,
        "octet",
        config_type="application/octet-stream",
        manifest_type=DOCKER_MANIFEST,
        layer_type=DOCKER_LAYER,
    )
    w.tag(manifest, "old")
    (image,) = _analyze(layerscope, f"oci:{w.path}:old")
    assert image["media_type"] == DOCKER_MANIFEST
    _assert_layer(image, layer)


def test_an_artifact_with_a_generic_config_type_is_still_refused(
    tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    # The same generic config type over a layer that is not a layer media type: an artifact, as before.
    w = LayoutWriter(tmp_path / "layout")
    manifest, _ = _image(w, "art", config_type="application/octet-stream", layer_type="application/vnd.example+type")
    w.tag(manifest, "art")
    run = layerscope("analyze", f"oci:{w.path}:art")
    assert run.exit_code == 1
    assert "is an artifact" in run.stderr


def test_subject_of_an_unregistered_digest_algorithm_is_not_fetched(
    tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    w = LayoutWriter(tmp_path / "layout")
    subject = {"mediaType": OCI_MANIFEST, "digest": B64U_DIGEST, "size": 1234}
    manifest, layer = _image(w, "subject", subject=subject)
    w.tag(manifest, "app")
    (image,) = _analyze(layerscope, f"oci:{w.path}:app")
    _assert_layer(image, layer)


def test_a_layer_of_an_unregistered_digest_algorithm_is_refused_clearly(
    tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    # Valid per the spec, but its bytes could not be verified: refused before any read, in one line.
    w = LayoutWriter(tmp_path / "layout")
    layer = _layer("multihash")
    config = {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]}}
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": w.document(config, OCI_CONFIG),
        "layers": [{"mediaType": layer.blob.media_type, "digest": MULTIHASH_DIGEST, "size": layer.blob.size}],
    }
    w.tag(w.document(manifest), "app")
    run = layerscope("analyze", f"oci:{w.path}:app")
    assert run.exit_code == 1
    (line,) = run.stderr.strip().splitlines()
    assert "'multihash+base58'" in line and "cannot verify" in line and "hint:" in line


def test_through_the_registry(registry: RegistryProcess, repo_name: str, layerscope: Callable[..., Run]) -> None:
    """The same documents served by a real registry: an index without platforms nested in another."""
    with Pusher(registry.url) as pusher:
        layers = [_layer("reg-amd64"), _layer("reg-arm64")]
        descs = []
        for arch, layer in zip(("amd64", "arm64"), layers, strict=True):
            pusher.push_blob(repo_name, layer.blob.data)
            config = fixturegen.make_config([layer.diff_id], [{"created_by": "COPY . /"}], architecture=arch)
            pusher.push_blob(repo_name, config.data)
            manifest = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": config.descriptor(),
                "layers": [layer.descriptor()],
                "subject": {"mediaType": OCI_MANIFEST, "digest": B64U_DIGEST, "size": 1234},
            }
            digest = pusher.push_json_manifest(repo_name, "by-digest", manifest)
            descs.append({"mediaType": OCI_MANIFEST, "digest": digest, "size": len(_json(manifest))})
        inner = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descs}  # no platform on either
        inner_digest = pusher.push_json_manifest(repo_name, "inner", inner)
        top = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_INDEX, "digest": inner_digest, "size": len(_json(inner))}],
        }
        top_digest = pusher.push_json_manifest(repo_name, "app", top)
    images = _analyze(layerscope, f"{registry.host}/{repo_name}:app")
    assert [i["platform"]["architecture"] for i in images] == ["amd64", "arm64"]
    assert [i["digest"] for i in images] == [d["digest"] for d in descs]
    assert {i["index_digest"] for i in images} == {top_digest}
    for image, layer in zip(images, layers, strict=True):
        _assert_layer(image, layer)


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()  # the bytes Pusher.push_json_manifest sends


@pytest.mark.parametrize("levels", [0, 1])
def test_index_of_one_unplatformed_image_in_json_output(
    levels: int, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    """Formerly "has no image" (exit 4) or an empty success (exit 0): now the image, at either depth."""
    w = LayoutWriter(tmp_path / "layout")
    image, layer = _image(w, f"single-{levels}")
    w.tag(_nest(w, image, levels), "app")
    (found,) = _analyze(layerscope, f"oci:{w.path}:app")
    _assert_layer(found, layer)


def test_octet_stream_config_through_the_registry(
    registry: RegistryProcess, repo_name: str, layerscope: Callable[..., Run]
) -> None:
    layer = _layer("reg-octet")
    config = fixturegen.make_config([layer.diff_id], [{"created_by": "ADD . /"}], docker=True)
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {**config.descriptor(), "mediaType": "application/octet-stream"},
        "layers": [{**layer.descriptor(), "mediaType": DOCKER_LAYER}],
    }
    with Pusher(registry.url) as pusher:
        pusher.push_blob(repo_name, layer.blob.data)
        pusher.push_blob(repo_name, config.data)
        digest = pusher.push_json_manifest(repo_name, "old", manifest)
    (image,) = _analyze(layerscope, f"{registry.host}/{repo_name}:old")
    assert image["digest"] == digest and image["media_type"] == DOCKER_MANIFEST
    _assert_layer(image, layer)
