"""Small helpers to build and push ad-hoc test images with scripts/fixturegen.py."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scripts import fixturegen
from tests.support.push import PushedRef, Pusher


def simple_image(
    layers: Sequence[fixturegen.Layer | fixturegen.ForeignLayer],
    *,
    os_name: str = "linux",
    os_version: str | None = None,
    history: Sequence[str] | None = None,
    docker: bool = False,
) -> fixturegen.Image:
    """An image of *layers* with a matching config (history defaults to one `COPY` entry per layer)."""
    labels = list(history) if history is not None else [f"COPY layer{i} /" for i in range(len(layers))]
    config = fixturegen.make_config(
        [layer.diff_id for layer in layers],
        [{"created_by": label, "created": fixturegen.CREATED} for label in labels],
        os_name=os_name,
        os_version=os_version,
        docker=docker,
    )
    return fixturegen.make_image(layers, config, docker=docker)


def push(pusher: Pusher, repo: str, tag: str, image: fixturegen.Image) -> PushedRef:
    """Push *image* (config and non-foreign layers) as repo:tag."""
    return pusher.push_image(repo, tag, image.manifest, {b.digest: b for b in image.blobs()})


def raw_layer(data: bytes, media_type: str, diff_id: str) -> fixturegen.Layer:
    """A layer of arbitrary bytes under *media_type* (for content that contradicts its type); its
    declared ground truth is meaningless and must not be used."""
    placeholder = fixturegen.make_layer([fixturegen.file("x", b"x")], "none")
    return fixturegen.Layer(fixturegen.Blob(media_type, data), diff_id, placeholder.expected)


def write_image_layout(path: Path, tag: str, image: fixturegen.Image) -> str:
    """Write *image* as an OCI image layout at *path* with one tag; return `oci:PATH:TAG`."""
    fs = fixturegen.FixtureSet()
    fs.add(tag, image)
    fixturegen.write_layout(path, fs)
    return f"oci:{path}:{tag}"
