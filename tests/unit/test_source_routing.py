"""RoutingSource makes one registry client per run, even when several threads ask for it first."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import layerscope.registry as registry_package
from layerscope.registry import RegistryConfig
from layerscope.source_routing import RoutingSource


def test_one_registry_client_however_many_threads_ask_first(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[object] = []
    real = registry_package.RegistryClient

    class SlowToMake(real):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(self)
            time.sleep(0.05)  # a window in which the other threads also find no client yet
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(registry_package, "RegistryClient", SlowToMake)
    source = RoutingSource(RegistryConfig())
    start = threading.Barrier(8)
    got: list[object] = []

    def first_request() -> None:
        start.wait()
        got.append(source.registry())

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    source.close()
    assert len(made) == 1
    assert len(got) == 8 and all(client is made[0] for client in got)
