"""OCI/Docker manifest, index and config parsing: valid shapes, digests kept, and clear rejects."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.digest import compute
from layerscope.errors import InvalidManifestError, LayerscopeError, UnsupportedMediaTypeError
from layerscope.oci import (
    MAX_MANIFEST_BYTES,
    Compression,
    Index,
    Manifest,
    MediaType,
    layer_compression,
    parse_config,
    parse_manifest_or_index,
)

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def _manifest(**over: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": MediaType.DOCKER_MANIFEST,
        "config": {"mediaType": MediaType.DOCKER_CONFIG, "digest": D1, "size": 10},
        "layers": [
            {
                "mediaType": MediaType.DOCKER_FOREIGN,
                "digest": D2,
                "size": 1_700_000_000,
                "urls": ["https://mcr.microsoft.com/v2/windows/servercore/blobs/" + D2],
            }
        ],
    }
    doc.update(over)
    return doc


def test_docker_manifest_with_foreign_layer() -> None:
    raw = json.dumps(_manifest()).encode()
    m = parse_manifest_or_index(raw)
    assert isinstance(m, Manifest)
    assert m.digest == compute(raw) and m.raw == raw
    assert m.is_image
    assert m.layers[0].foreign and m.layers[0].urls
    assert layer_compression(m.layers[0].media_type) is Compression.GZIP


def test_oci_manifest_without_media_type_is_inferred() -> None:
    doc = _manifest(mediaType=None)
    del doc["mediaType"]
    doc["config"]["mediaType"] = MediaType.OCI_CONFIG
    m = parse_manifest_or_index(json.dumps(doc).encode())
    assert isinstance(m, Manifest) and m.media_type == MediaType.OCI_MANIFEST


def test_index_skips_attestations_and_unknown_platforms() -> None:
    doc = {
        "schemaVersion": 2,
        "mediaType": MediaType.OCI_INDEX,
        "manifests": [
            {
                "mediaType": MediaType.OCI_MANIFEST,
                "digest": D1,
                "size": 1,
                "platform": {"os": "windows", "architecture": "amd64", "os.version": "10.0.17763.1"},
            },
            {
                "mediaType": MediaType.OCI_MANIFEST,
                "digest": D2,
                "size": 1,
                "platform": {"os": "unknown", "architecture": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
        ],
    }
    idx = parse_manifest_or_index(json.dumps(doc).encode())
    assert isinstance(idx, Index)
    assert [d.digest for d in idx.images()] == [D1]
    assert idx.images()[0].platform is not None
    assert idx.images()[0].platform.os_version == "10.0.17763.1"


def test_artifact_manifest_is_not_an_image() -> None:
    doc = _manifest(mediaType=MediaType.OCI_MANIFEST, artifactType="application/vnd.example+json")
    doc["config"]["mediaType"] = MediaType.OCI_EMPTY
    m = parse_manifest_or_index(json.dumps(doc).encode())
    assert isinstance(m, Manifest) and not m.is_image


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"not json", InvalidManifestError),
        (b"[]", InvalidManifestError),
        (json.dumps({"schemaVersion": 1, "name": "x"}).encode(), UnsupportedMediaTypeError),
        (json.dumps({"schemaVersion": 3}).encode(), InvalidManifestError),
        (json.dumps(_manifest(mediaType="application/x-nope")).encode(), UnsupportedMediaTypeError),
        (json.dumps(_manifest(layers="nope")).encode(), InvalidManifestError),
        (
            json.dumps(_manifest(config={"mediaType": "x", "digest": "sha256:zz", "size": 1})).encode(),
            InvalidManifestError,
        ),
        (
            # outside the spec's digest grammar (upper-case algorithm), and sha256 with upper-case hex
            json.dumps(_manifest(config={"mediaType": "x", "digest": "MD5:" + "0" * 32, "size": 1})).encode(),
            InvalidManifestError,
        ),
        (
            json.dumps(_manifest(config={"mediaType": "x", "digest": "sha256:" + "A" * 64, "size": 1})).encode(),
            InvalidManifestError,
        ),
        (json.dumps(_manifest(config={"mediaType": "x", "digest": D1, "size": -1})).encode(), InvalidManifestError),
        (json.dumps(_manifest(config={"mediaType": "x", "digest": D1, "size": True})).encode(), InvalidManifestError),
        (b" " * (MAX_MANIFEST_BYTES + 1), InvalidManifestError),
        (b"[" * 100_000, InvalidManifestError),
    ],
)
def test_rejects(raw: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_manifest_or_index(raw)


def test_unknown_layer_media_type() -> None:
    with pytest.raises(UnsupportedMediaTypeError):
        layer_compression("application/vnd.cncf.helm.chart.content.v1.tar+gzip")


def test_config_parsing() -> None:
    doc = {
        "os": "windows",
        "architecture": "amd64",
        "os.version": "10.0.17763.2928",
        "rootfs": {"type": "layers", "diff_ids": [D1, D2]},
        "history": [
            {"created_by": "Apply image 10.0.17763.1"},
            {"created_by": "ENV X=1", "empty_layer": True},
            {"created_by": "Install update 10.0.17763.2928"},
        ],
    }
    raw = json.dumps(doc).encode()
    cfg = parse_config(raw)
    assert cfg.digest == compute(raw)
    assert cfg.platform.os_version == "10.0.17763.2928"
    assert [h.created_by for h in cfg.layer_history()] == ["Apply image 10.0.17763.1", "Install update 10.0.17763.2928"]
    with pytest.raises(InvalidManifestError):
        parse_config(json.dumps({"rootfs": {"diff_ids": ["nope"]}}).encode())
    with pytest.raises(InvalidManifestError):
        parse_config(b"{}")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c, max_size=4),
    max_leaves=20,
)


@given(st.one_of(st.binary(max_size=200), _json.map(lambda v: json.dumps(v).encode())))
def test_arbitrary_input_parses_or_raises_own_error(raw: bytes) -> None:
    for parse in (parse_manifest_or_index, parse_config):
        with contextlib.suppress(LayerscopeError):
            parse(raw)


@given(
    st.fixed_dictionaries(
        {"schemaVersion": st.just(2), "mediaType": st.sampled_from(list(MediaType))},
        optional={"config": _json, "layers": _json, "manifests": _json},
    )
)
def test_shaped_manifests_parse_or_raise_own_error(doc: dict[str, Any]) -> None:
    with contextlib.suppress(LayerscopeError):
        parse_manifest_or_index(json.dumps(doc).encode())
