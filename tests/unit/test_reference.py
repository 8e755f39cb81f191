"""Reference parsing: docker-style normalisation, ECR/MCR hosts, OCI layout references, and rejects."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.errors import InvalidReference, LayerscopeError
from layerscope.reference import ImageReference, LayoutReference, parse_reference

D = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", None),
        ("index.docker.io/foo/bar", "docker.io", "foo/bar", "latest", None),
        ("docker.io/nginx", "docker.io", "library/nginx", "latest", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("localhost:5000/a/b:1.0", "localhost:5000", "a/b", "1.0", None),
        ("127.0.0.1:5000/a@" + D, "127.0.0.1:5000", "a", None, D),
        ("mcr.microsoft.com/windows/servercore:ltsc2019", "mcr.microsoft.com", "windows/servercore", "ltsc2019", None),
        ("REG.Example.com/x/y:T", "reg.example.com", "x/y", "T", None),
        ("r.io/x:t@" + D, "r.io", "x", "t", D),
        ("[::1]:5000/x", "[::1]:5000", "x", "latest", None),
    ],
)
def test_normalises_like_docker(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    ref = parse_reference(text)
    assert ref == ImageReference(registry, repository, tag, digest)


def test_ecr_host_is_recognised() -> None:
    ref = parse_reference("123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/web:2.4")
    assert isinstance(ref, ImageReference)
    assert ref.ecr == ("123456789012", "us-west-2")
    assert parse_reference("mcr.microsoft.com/x").ecr is None  # type: ignore[union-attr]


def test_loopback_hosts() -> None:
    assert parse_reference("localhost:5000/x").is_loopback  # type: ignore[union-attr]
    assert parse_reference("127.0.0.1:1/x").is_loopback  # type: ignore[union-attr]
    assert not parse_reference("registry.example.com/x").is_loopback  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "path", "tag", "digest"),
    [
        ("oci:fixtures/layout", "fixtures/layout", None, None),
        ("oci:fixtures/layout:windows-app", "fixtures/layout", "windows-app", None),
        ("oci:/abs/dir@" + D, "/abs/dir", None, D),
        ("oci:./a:b/c", "./a:b/c", None, None),
    ],
)
def test_layout_references(text: str, path: str, tag: str | None, digest: str | None) -> None:
    assert parse_reference(text) == LayoutReference(path, tag, digest)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "UPPER/case",
        "a b",
        "x@sha256:short",
        "x@md5:" + "a" * 32,
        "host:5000/",
        "repo:bad tag",
        "repo:" + "t" * 200,
        "a//b",
        "-leading/x",
        "oci:",
        "oci::tag",
    ],
)
def test_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidReference) as info:
        parse_reference(text)
    assert info.value.exit_code == 2
    assert info.value.hint


def test_round_trip_string() -> None:
    for text in ["r.io/x/y:t", "r.io/x@" + D, "oci:dir:tag"]:
        assert str(parse_reference(text)) == text


@given(st.text(max_size=80))
def test_any_text_parses_or_raises_own_error(text: str) -> None:
    with contextlib.suppress(LayerscopeError):
        parse_reference(text)
