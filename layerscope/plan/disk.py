"""Disk a set of images takes on a node, shared layers counted once, and the root volume to provision.

What each runtime keeps (aws-precached.md, "containerd / runtime storage facts"; aws-nodes.md §1.5):

- containerd keeps the compressed blob in its content store (one per blob digest) **and** the unpacked snapshot
  (one per chain ID), unless `discard_unpacked_layers` is set, which drops the blob after unpacking;
- Docker's classic windowsfilter storage keeps the unpacked layer only (one per chain ID).

A layer's unpacked size is its extracted bytes (Windows `Files/` + `Hives/`); an unknown one is estimated with the
launch model's ratio and flagged. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from layerscope.errors import UsageError
from layerscope.plan.launch import DEFAULT_EXTRACTION_RATIO, PlanLayer, extracted_or_estimate

__all__ = [
    "KUBELET_IMAGE_GC_HIGH",
    "DiskUsage",
    "disk_items",
    "disk_usage",
    "keeps_blobs",
    "root_volume_bytes",
]

#: kubelet's imageGCHighThresholdPercent default (kubernetes/kubernetes@030891d…:pkg/kubelet/apis/config/v1beta1/
#: defaults.go, aws-nodes.md §3): above 85 % disk use kubelet deletes unused images — baked ones included.
KUBELET_IMAGE_GC_HIGH = 0.85
_GIB = 2**30


def keeps_blobs(runtime: str, discard_unpacked_layers: bool) -> bool:
    """True when the runtime keeps each compressed blob beside the unpacked layer."""
    if runtime not in ("containerd", "docker"):
        raise UsageError(f"unknown container runtime {runtime!r}", hint="use containerd or docker")
    return runtime == "containerd" and not discard_unpacked_layers


@dataclass(frozen=True, slots=True)
class DiskUsage:
    """Bytes a set of images occupies on a node."""

    snapshot_bytes: int  # unpacked layers, one per chain ID
    blob_bytes: int  # compressed blobs kept in containerd's content store, one per digest (0 when discarded)
    layers: int  # distinct chain IDs
    estimated: bool  # some unpacked size is ratio × compressed bytes

    @property
    def total_bytes(self) -> int:
        """Snapshots plus blobs."""
        return self.snapshot_bytes + self.blob_bytes


def disk_items(
    layers: Iterable[PlanLayer],
    *,
    runtime: str,
    discard_unpacked_layers: bool,
    held_chains: Collection[str] = (),
    extraction_ratio: float = DEFAULT_EXTRACTION_RATIO,
) -> dict[str, tuple[int, bool]]:
    """What *layers* put on disk: key (`snapshot:CHAIN` or `blob:DIGEST`) → (bytes, estimated).

    Layers whose chain is in *held_chains* are already on the node and add nothing. The keys make shared layers
    count once when the items of several images are merged.
    """
    blobs = keeps_blobs(runtime, discard_unpacked_layers)
    out: dict[str, tuple[int, bool]] = {}
    for layer in layers:
        if layer.chain_id in held_chains:
            continue
        out["snapshot:" + layer.chain_id] = extracted_or_estimate(layer, extraction_ratio)
        if blobs:
            out["blob:" + layer.digest] = (layer.compressed_bytes, False)
    return out


def disk_usage(
    images: Iterable[Sequence[PlanLayer]],
    *,
    runtime: str,
    discard_unpacked_layers: bool,
    held_chains: Collection[str] = (),
    extraction_ratio: float = DEFAULT_EXTRACTION_RATIO,
) -> DiskUsage:
    """Disk the union of *images* takes (layers already held on the node excluded), shared layers once."""
    merged: dict[str, tuple[int, bool]] = {}
    for layers in images:
        merged.update(
            disk_items(
                layers,
                runtime=runtime,
                discard_unpacked_layers=discard_unpacked_layers,
                held_chains=held_chains,
                extraction_ratio=extraction_ratio,
            )
        )
    snapshots = [v for k, v in merged.items() if k.startswith("snapshot:")]
    return DiskUsage(
        snapshot_bytes=sum(size for size, _ in snapshots),
        blob_bytes=sum(size for k, (size, _) in merged.items() if k.startswith("blob:")),
        layers=len(snapshots),
        estimated=any(guessed for _, guessed in merged.values()),
    )


def root_volume_bytes(
    os_footprint_bytes: int | None, baked_bytes: int, pull_room_bytes: int, *, max_fill: float = KUBELET_IMAGE_GC_HIGH
) -> int:
    """Root volume to provision, rounded up to whole GiB.

    Rule: (OS footprint + baked images + room for the largest image a launch still pulls) ÷ `max_fill`. With the
    default 0.85 a node that pulls that image still stays under kubelet's image-GC threshold, so kubelet never
    deletes the baked images to make room; the other 15 % is the headroom for logs, container scratch space and
    pulls running side by side. An unknown OS footprint counts as 0 (the caller should say so).
    """
    if not 0 < max_fill <= 1:
        raise UsageError(f"max_fill must be above 0 and at most 1 (got {max_fill!r})")
    need = math.ceil(((os_footprint_bytes or 0) + baked_bytes + pull_room_bytes) / max_fill)
    return -(-need // _GIB) * _GIB
