"""Disk accounting: containerd (blob + snapshot), containerd with discard, Docker; shared layers once by chain."""

from __future__ import annotations

import pytest

from layerscope.errors import UsageError
from layerscope.plan.disk import DiskUsage, disk_items, disk_usage, keeps_blobs, root_volume_bytes
from layerscope.plan.launch import DEFAULT_EXTRACTION_RATIO, PlanLayer

GIB = 2**30


def _d(n: int) -> str:
    return f"sha256:{n:064x}"


BASE = [PlanLayer(_d(1), "base0", 1_000, 3_000), PlanLayer(_d(2), "base1", 200, 500)]
WEB = [*BASE, PlanLayer(_d(3), "web", 50, 120)]
API = [*BASE, PlanLayer(_d(4), "api", 70, 150)]
# The web layer's blob again, but on another parent: another snapshot (chain), the same blob (digest).
ELSEWHERE = [PlanLayer(_d(9), "other0", 10, 30), PlanLayer(_d(3), "other0+web", 50, 120)]


@pytest.mark.parametrize(
    ("runtime", "discard", "snapshots", "blobs"),
    [
        ("containerd", False, 3_000 + 500 + 120 + 150, 1_000 + 200 + 50 + 70),
        ("containerd", True, 3_000 + 500 + 120 + 150, 0),
        ("docker", False, 3_000 + 500 + 120 + 150, 0),
        ("docker", True, 3_000 + 500 + 120 + 150, 0),
    ],
)
def test_shared_base_counted_once_per_runtime(runtime: str, discard: bool, snapshots: int, blobs: int) -> None:
    usage = disk_usage([WEB, API], runtime=runtime, discard_unpacked_layers=discard)
    assert usage == DiskUsage(snapshot_bytes=snapshots, blob_bytes=blobs, layers=4, estimated=False)
    assert usage.total_bytes == snapshots + blobs
    # The same image twice adds nothing.
    assert disk_usage([WEB, API, WEB], runtime=runtime, discard_unpacked_layers=discard) == usage


def test_snapshots_by_chain_blobs_by_digest() -> None:
    usage = disk_usage([WEB, ELSEWHERE], runtime="containerd", discard_unpacked_layers=False)
    assert usage.layers == 5  # base0, base1, web, other0, other0+web
    assert usage.snapshot_bytes == 3_000 + 500 + 120 + 30 + 120
    assert usage.blob_bytes == 1_000 + 200 + 50 + 10  # the web blob is stored once


def test_held_chains_add_nothing_and_unknown_sizes_are_estimated() -> None:
    usage = disk_usage([WEB], runtime="containerd", discard_unpacked_layers=False, held_chains={"base0", "base1"})
    assert (usage.snapshot_bytes, usage.blob_bytes, usage.layers) == (120, 50, 1)
    unknown = [PlanLayer(_d(5), "u", 1_000, None)]
    est = disk_usage([unknown], runtime="docker", discard_unpacked_layers=True)
    assert est.estimated and est.snapshot_bytes == round(1_000 * DEFAULT_EXTRACTION_RATIO)
    items = disk_items(unknown, runtime="containerd", discard_unpacked_layers=False, extraction_ratio=2.0)
    assert items == {"snapshot:u": (2_000, True), "blob:" + _d(5): (1_000, False)}


def test_keeps_blobs() -> None:
    assert keeps_blobs("containerd", False) and not keeps_blobs("containerd", True)
    assert not keeps_blobs("docker", False)
    with pytest.raises(UsageError, match="unknown container runtime 'podman'"):
        keeps_blobs("podman", False)


def test_root_volume_rule() -> None:
    # (OS + baked + largest pull) / 0.85, up to whole GiB.
    assert root_volume_bytes(6 * 10**9, 20 * 10**9, 4 * 10**9) == 33 * GIB  # 35.29e9 B = 32.87 GiB
    assert root_volume_bytes(None, 0, 0) == 0
    assert root_volume_bytes(0, 1, 0) == GIB
    assert root_volume_bytes(0, 17 * GIB, 0, max_fill=0.5) == 34 * GIB  # exact multiples stay put
    with pytest.raises(UsageError, match="max_fill"):
        root_volume_bytes(0, 0, 0, max_fill=0)
