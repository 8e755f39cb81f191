"""Fixtures for the reliability tests: a fault proxy in front of the real registry, pushed images with truth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scripts import fixturegen
from tests.integration.conftest import isolated_store, layerscope  # noqa: F401  (fixtures, re-exported)
from tests.reliability.helpers import Pushed, push_with_truth
from tests.support.faultproxy import FaultProxy
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess


@pytest.fixture
def proxy(registry: RegistryProcess) -> Iterator[FaultProxy]:
    """A fault proxy in front of `registry`, stopped (and its sockets closed) after the test."""
    with FaultProxy(registry.host, name="faultproxy") as p:
        yield p


@pytest.fixture(scope="session")
def fault_image(registry: RegistryProcess) -> Pushed:
    """`faults/app:v1` on `registry`: three layers (gzip ~300 kB, zstd, uncompressed) and their truth."""
    layers = [
        fixturegen.make_layer(
            [fixturegen.file(f"data/blob{i}.bin", fixturegen.random_bytes(100_000, f"fault-{i}")) for i in range(3)],
            "gzip",
        ),
        fixturegen.make_layer(fixturegen.linux_extra_entries("fault-zstd"), "zstd"),
        fixturegen.make_layer(fixturegen.linux_extra_entries("fault-none"), "none"),
    ]
    with Pusher(registry.url) as p:
        return push_with_truth(p, "faults/app", "v1", layers)
