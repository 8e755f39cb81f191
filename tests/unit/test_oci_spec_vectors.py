"""The image spec's own test vectors: every document it calls valid parses; the shapes it rejects still fail.

Documents transcribed from opencontainers/image-spec `schema/manifest_test.go` and
`schema/imageindex_test.go` (the `fail: false` cases, and the invalid ones whose defect layerscope checks).
A lenient reader may accept more than the schema (it loses nothing), but never rejects a valid document.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from layerscope.errors import InvalidManifestError, UnsupportedDigestError
from layerscope.oci import (
    Descriptor,
    EntryKind,
    Index,
    Manifest,
    entry_kind,
    parse_manifest_or_index,
    require_verifiable,
)

C86 = "sha256:c86f7763873b6c0aae22d963bab59b4f5debbed6685761b5951584f6efb0633b"
E69 = "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"
B5B = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def _m(
    layers: list[dict[str, Any]], config_type: str = "application/vnd.oci.image.config.v1+json", **extra: Any
) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": config_type, "size": 1470, "digest": C86},
        "layers": layers,
        **extra,
    }


VALID_MANIFESTS = {
    "optional fields": _m(
        [{"mediaType": GZ, "size": 675598, "digest": C86}], annotations={"key1": "value1", "key2": "value2"}
    ),
    "bounds of the algorithm field": _m(
        [
            {"mediaType": GZ, "size": 1470, "digest": "sha256+foo-bar:" + C86[7:]},
            {"mediaType": GZ, "size": 1470, "digest": "sha256.foo-bar:" + C86[7:]},
            {
                "mediaType": GZ,
                "size": 1470,
                "digest": "multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
            },
        ]
    ),
    "subject": _m(
        [{"mediaType": GZ, "size": 1470, "digest": C86}],
        subject={"mediaType": OCI_MANIFEST, "size": 1234, "digest": "sha256:" + "2" * 64},
    ),
    "artifact with a dedicated config": _m(
        [{"mediaType": "application/vnd.example.data+type", "size": 675598, "digest": C86}],
        config_type="application/vnd.example.config+json",
    ),
    "artifact with the empty config": _m(
        [{"mediaType": "application/vnd.example+type", "size": 675598, "digest": C86}],
        config_type="application/vnd.oci.empty.v1+json",
        artifactType="application/vnd.example+type",
    ),
}

VALID_INDEXES = {
    "optional fields": {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "size": 7143,
                "digest": E69,
                "platform": {"architecture": "ppc64le", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "size": 7682,
                "digest": B5B,
                "platform": {"architecture": "amd64", "os": "linux"},
            },
        ],
        "annotations": {"com.example.key1": "value1", "com.example.key2": "value2"},
    },
    "required fields only": {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "size": 7143, "digest": E69}],
    },
    "customized manifest media type": {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": "application/customized.manifest+json",
                "size": 7143,
                "digest": E69,
                "platform": {"architecture": "ppc64le", "os": "linux"},
            }
        ],
    },
    "artifactType and manifests": {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "artifactType": "application/vnd.example+type",
        "manifests": [
            {"mediaType": OCI_MANIFEST, "size": 7143, "digest": B5B},
            {"mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example1+type", "size": 506, "digest": E69},
        ],
    },
    "subject": {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "size": 7682,
                "digest": B5B,
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
        "subject": {"mediaType": OCI_MANIFEST, "size": 1234, "digest": "sha256:" + "3" * 64},
    },
}


@pytest.mark.parametrize("name", sorted(VALID_MANIFESTS))
def test_valid_manifests_parse(name: str) -> None:
    doc = VALID_MANIFESTS[name]
    parsed = parse_manifest_or_index(json.dumps(doc).encode())
    assert isinstance(parsed, Manifest)
    assert [d.digest for d in parsed.layers] == [x["digest"] for x in doc["layers"]]
    assert parsed.is_image is (name in ("optional fields", "bounds of the algorithm field", "subject"))


@pytest.mark.parametrize("name", sorted(VALID_INDEXES))
def test_valid_indexes_parse(name: str) -> None:
    doc = VALID_INDEXES[name]
    parsed = parse_manifest_or_index(json.dumps(doc).encode())
    assert isinstance(parsed, Index)
    assert len(parsed.manifests) == len(doc["manifests"])


def test_index_entries_are_classified_without_error() -> None:
    kinds = [
        entry_kind(d)
        for name in ("required fields only", "customized manifest media type", "artifactType and manifests")
        for d in parse_manifest_or_index(json.dumps(VALID_INDEXES[name]).encode()).manifests  # type: ignore[union-attr]
    ]
    # An entry without platform is an image to resolve; an unknown media type or an artifact is skipped.
    assert kinds == [EntryKind.IMAGE, EntryKind.OTHER, EntryKind.IMAGE, EntryKind.OTHER]


def test_unregistered_algorithms_parse_but_are_never_read() -> None:
    parsed = parse_manifest_or_index(json.dumps(VALID_MANIFESTS["bounds of the algorithm field"]).encode())
    assert isinstance(parsed, Manifest)
    assert [d.verifiable for d in parsed.layers] == [False, False, False]
    with pytest.raises(UnsupportedDigestError, match="'multihash\\+base58'"):
        require_verifiable(parsed.layers[2], "layer 2")
    require_verifiable(Descriptor(GZ, C86, 1), "a sha256 layer")  # no error


@pytest.mark.parametrize(
    "digest",
    [
        "sha256+foo+-b:" + C86[7:],  # the spec's "push bounds of algorithm field in digest too far"
        "sha256:" + C86[7:].upper(),  # sha256 MUST be lower-case hex
        "sha256:" + C86[8:],  # 63 hex digits
        "sha512:abc",
        "blake3:xyz",
    ],
)
def test_invalid_digests_are_still_rejected(digest: str) -> None:
    with pytest.raises(InvalidManifestError):
        parse_manifest_or_index(json.dumps(_m([{"mediaType": GZ, "size": 1, "digest": digest}])).encode())


@pytest.mark.parametrize("config_type", ["application/octet-stream", "application/json", "text/html", ""])
def test_docker_hub_era_config_types_are_images(config_type: str) -> None:
    doc = _m(
        [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": C86}], config_type
    )
    doc["mediaType"] = "application/vnd.docker.distribution.manifest.v2+json"
    parsed = parse_manifest_or_index(json.dumps(doc).encode())
    assert isinstance(parsed, Manifest) and parsed.is_image
