"""References are resolved several at once (a fleet's cost is manifest round trips), with the same results.

A fault proxy delays every manifest by a second: resolved one after another, each request would arrive after the
answer to the one before; resolved together, they arrive while the first is still held. The figures are checked
against the truth of the pushed blobs, and a missing tag among several still ends in its own one-line error.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.reliability.helpers import Pushed, assert_image_matches, assert_one_line_error, push_with_truth
from tests.support.faultproxy import FaultProxy
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess

Layerscope = Callable[..., Run]
DELAY = 1.0


@pytest.fixture(scope="module")
def tags(registry: RegistryProcess) -> list[Pushed]:
    """Four tags of `concurrent/app`, each its own one-layer image."""
    with Pusher(registry.url) as p:
        return [
            push_with_truth(
                p,
                "concurrent/app",
                f"t{i}",
                [fixturegen.make_layer([fixturegen.file(f"app/{i}.bin", fixturegen.random_bytes(2000, f"c{i}"))])],
            )
            for i in range(4)
        ]


def test_several_references_are_resolved_at_once(proxy: FaultProxy, tags: list[Pushed], layerscope: Layerscope) -> None:
    proxy.delay(r"/manifests/", DELAY, method=None, times=None)
    run = layerscope("analyze", *(t.at(proxy.host) for t in tags), "-o", "json", "--no-progress", "--no-store")
    assert run.exit_code == 0, run.stderr
    images = run.json()["images"]
    assert [i["reference"] for i in images] == [t.at(proxy.host) for t in tags]  # in the order given
    for doc, pushed in zip(images, tags, strict=True):
        assert_image_matches(doc, pushed)
    arrivals = sorted(call.received for call in proxy.calls("/manifests/", method=None))
    assert len(arrivals) >= len(tags)
    # One after another, the second request could not arrive before the first answer, DELAY seconds later.
    assert arrivals[1] - arrivals[0] < DELAY / 2


def test_a_missing_tag_among_several_is_its_own_error(
    proxy: FaultProxy, tags: list[Pushed], layerscope: Layerscope
) -> None:
    missing = f"{proxy.host}/concurrent/app:gone"
    refs = [tags[0].at(proxy.host), missing, *(t.at(proxy.host) for t in tags[1:])]
    run = layerscope("analyze", *refs, "-o", "json", "--no-progress", "--no-store")
    assert_one_line_error(run, 4, contains="gone")


def test_concurrency_one_resolves_one_reference_at_a_time(
    proxy: FaultProxy, tags: list[Pushed], layerscope: Layerscope
) -> None:
    """`--concurrency 1` (what the 429 hint suggests) asks a registry for one manifest at a time."""
    proxy.delay(r"/manifests/", DELAY, method=None, times=None)
    refs = [t.at(proxy.host) for t in tags[:2]]
    run = layerscope("analyze", *refs, "-o", "json", "--no-progress", "--no-store", "--concurrency", "1")
    assert run.exit_code == 0, run.stderr
    arrivals = sorted(call.received for call in proxy.calls("/manifests/", method=None))
    assert arrivals[1] - arrivals[0] >= DELAY * 0.9
