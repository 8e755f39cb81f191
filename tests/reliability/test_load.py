"""Load: one `layerscope analyze` of hundreds of images with shared layers from the local registry.

Every result equals the truth (computed from the blobs by tests/support/truth.py), each unique blob is
fetched exactly once (the registry's access log), and the process stays small: peak RSS from
`getrusage(RUSAGE_CHILDREN)` in a wrapper process, open file descriptors sampled from /proc/PID/fd
while it runs. The default variant (200 images) runs in `make test`; `-m stress` runs 1000 images with
bigger layers (`make stress`).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from scripts import fixturegen
from tests.reliability.helpers import Pushed, assert_image_matches, cli_command, cli_env, run_measured
from tests.support.images import push, simple_image
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess
from tests.support.schemas import validate_document
from tests.support.truth import layer_truth

_COMPRESSIONS: tuple[fixturegen.Compression, ...] = ("gzip", "zstd", "none", "gzip-multimember")


@dataclass(frozen=True)
class Fleet:
    images: list[Pushed]
    layers: set[str]
    configs: set[str]


@dataclass(frozen=True)
class Measured:
    seconds: float
    maxrss_kib: int
    max_fds: int
    docs: list[dict[str, object]]
    stderr: str


def _own_layer(i: int, kib: int) -> fixturegen.Layer:
    entries = fixturegen.linux_extra_entries(f"load-own-{i}")
    if kib:
        entries.append(fixturegen.file(f"app/blob{i}.bin", fixturegen.random_bytes(kib * 1024, f"load-{i}")))
    return fixturegen.make_layer(entries, _COMPRESSIONS[i % len(_COMPRESSIONS)])


def build_fleet(registry: RegistryProcess, repo: str, count: int, *, own_kib: int = 0, base_mib: float = 0.25) -> Fleet:
    """*count* images of [one of 4 bases, one of 20 runtimes, an own layer], pushed by 4 threads."""
    bases = [fixturegen.big_layer(base_mib, seed=f"{repo}-base-{i}", file_size=64 * 1024) for i in range(4)]
    runtimes = [fixturegen.make_layer(fixturegen.linux_base_entries(f"{repo}-rt-{i}"), "zstd") for i in range(20)]
    truths = {layer.digest: layer_truth(layer.blob.data) for layer in bases + runtimes}
    plans = []
    for i in range(count):
        own = _own_layer(i, own_kib)
        truths[own.digest] = layer_truth(own.blob.data)
        plans.append((i, [bases[i % 4], runtimes[i % 20], own]))

    def push_some(chunk: list[tuple[int, list[fixturegen.Layer]]]) -> list[Pushed]:
        out = []
        with Pusher(registry.url) as p:
            for i, layers in chunk:
                image = simple_image(layers)
                ref = push(p, repo, f"v{i}", image)
                out.append(Pushed(ref, image, tuple(truths[layer.digest] for layer in layers)))
        return out

    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(push_some, [plans[k::4] for k in range(4)]))
    images = sorted((p for part in parts for p in part), key=lambda p: int(p.ref.tag[1:]))
    return Fleet(images, set(truths), {p.image.config.digest for p in images})


def analyze_fleet(
    registry: RegistryProcess, fleet: Fleet, tmp_path: Path, store: Path, concurrency: int
) -> tuple[Measured, list[str]]:
    out = tmp_path / "fleet.json"
    mark = registry.mark()
    start = time.monotonic()
    rc, _, err, rss, fds = run_measured(
        [
            *cli_command(),
            "analyze",
            *[p.at(registry.host) for p in fleet.images],
            "-o",
            "json",
            "--no-progress",
            "--concurrency",
            str(concurrency),
            "--output",
            str(out),
        ],
        cli_env(tmp_path, store),
    )
    seconds = time.monotonic() - start
    assert rc == 0, err
    gets = [r.digest or "" for r in registry.blob_gets(mark, repo=fleet.images[0].ref.repo)]
    whole = json.loads(out.read_text())
    validate_document(whole)  # written by a child process: the in-process schema check does not see it
    docs = whole["images"]
    return Measured(seconds, rss, fds, docs, err), gets


def check_fleet(fleet: Fleet, measured: Measured, gets: list[str]) -> None:
    assert measured.stderr == ""
    assert len(measured.docs) == len(fleet.images)
    for doc, image in zip(measured.docs, fleet.images, strict=True):
        assert_image_matches(doc, image)  # type: ignore[arg-type]
    counts = Counter(gets)
    assert set(counts) == fleet.layers | fleet.configs
    assert set(counts.values()) == {1}, [d for d, n in counts.items() if n > 1]


@pytest.fixture(scope="module")
def fleet(registry: RegistryProcess) -> Fleet:
    return build_fleet(registry, "load/app", 200)


def test_200_images_with_shared_layers(registry: RegistryProcess, fleet: Fleet, tmp_path: Path) -> None:
    measured, gets = analyze_fleet(registry, fleet, tmp_path, tmp_path / "store" / "m.sqlite3", concurrency=8)
    check_fleet(fleet, measured, gets)
    print(
        f"\nload: {len(fleet.images)} images, {len(fleet.layers)} layers, {measured.seconds:.1f} s, "
        f"peak RSS {measured.maxrss_kib // 1024} MiB, max fds {measured.max_fds}"
    )
    assert measured.maxrss_kib < 200 * 1024, measured.maxrss_kib
    assert measured.max_fds < 64, measured.max_fds


@pytest.mark.stress
def test_1000_images_with_bigger_layers(registry: RegistryProcess, tmp_path: Path) -> None:
    big = build_fleet(registry, "load/stress", 1000, own_kib=256, base_mib=16)
    measured, gets = analyze_fleet(registry, big, tmp_path, tmp_path / "store" / "m.sqlite3", concurrency=16)
    check_fleet(big, measured, gets)
    print(
        f"\nstress: {len(big.images)} images, {len(big.layers)} layers, {measured.seconds:.1f} s, "
        f"peak RSS {measured.maxrss_kib // 1024} MiB, max fds {measured.max_fds}"
    )
    assert measured.maxrss_kib < 300 * 1024, measured.maxrss_kib
    assert measured.max_fds < 96, measured.max_fds
