"""Fixtures for the fleet tests: the CLI in-process, and a registry holding 60 small images with shared layers.

The images are generated here with scripts/fixturegen.py (real tar + gzip content, deterministic) and
pushed by the independent pusher (tests/support/push.py), so layerscope reads what it did not write.
Layout: 12 repositories `fleet/{web,batch}/svc-NN`, 5 tags each (`1.0.0` … `1.0.4`); every image is
one of 3 shared base layers + one of 6 shared runtime layers + its own app layer: 69 unique layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from scripts import fixturegen
from tests.integration.conftest import Run, isolated_store, layerscope  # noqa: F401  (shared CLI fixtures)
from tests.support.images import push, simple_image
from tests.support.push import PushedRef, Pusher
from tests.support.registry import RegistryProcess

GROUPS = ("web", "batch")
SERVICES = 6
TAGS = tuple(f"1.0.{n}" for n in range(5))


@dataclass(frozen=True)
class FleetImages:
    """The pushed fleet: references, the layers of each, and each layer's declared truth."""

    host: str
    pushed: tuple[PushedRef, ...]
    layers: dict[str, fixturegen.Layer]  # digest -> layer (with .expected)
    image_layers: dict[str, tuple[str, ...]]  # "host/repo:tag" -> layer digests

    def refs(self, group: str | None = None) -> list[str]:
        return sorted(p.ref for p in self.pushed if group is None or p.repo.startswith(f"fleet/{group}/"))

    def layer_digests(self, refs: list[str]) -> set[str]:
        return {d for r in refs for d in self.image_layers[r]}


def _layer(kind: str, n: int, size: int) -> fixturegen.Layer:
    entries = [
        fixturegen.file(f"{kind}/{n}/data.bin", fixturegen.random_bytes(size, f"fleet-{kind}-{n}")),
        fixturegen.file(f"{kind}/{n}/README", fixturegen.repeated_bytes(size // 2, f"{kind} {n}\n".encode())),
        fixturegen.symlink(f"{kind}/{n}/current", "data.bin"),
    ]
    return fixturegen.make_layer(entries, "gzip")


@pytest.fixture(scope="session")
def fleet_images(registry: RegistryProcess) -> FleetImages:
    """60 images in 12 repositories pushed to `registry` under `fleet/` (once per session)."""
    bases = [_layer("base", n, 6000) for n in range(3)]
    runtimes = [_layer("runtime", n, 3000) for n in range(6)]
    pushed: list[PushedRef] = []
    layers: dict[str, fixturegen.Layer] = {}
    image_layers: dict[str, tuple[str, ...]] = {}
    with Pusher(registry.url) as pusher:
        i = 0
        for group in GROUPS:
            for svc in range(SERVICES):
                for tag in TAGS:
                    chosen = [bases[i % 3], runtimes[i % 6], _layer("app", i, 1500)]
                    ref = push(pusher, f"fleet/{group}/svc-{svc:02d}", tag, simple_image(chosen))
                    pushed.append(ref)
                    image_layers[ref.ref] = tuple(layer.digest for layer in chosen)
                    layers.update((layer.digest, layer) for layer in chosen)
                    i += 1
    return FleetImages(registry.host, tuple(pushed), layers, image_layers)
