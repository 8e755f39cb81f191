"""The report's fleet-wide figures: distinct layers by digest and by chain ID, node disk per runtime, shared layers.

Read by report/model.py's `build_report` (which sums the per-image figures itself); every renderer reads the result
through `Report.fleet`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerscope.plan.disk import disk_usage
from layerscope.plan.launch import PlanLayer
from layerscope.plan.recommend import Recommendation

if TYPE_CHECKING:
    from layerscope.plan.planned import PlannedImage

__all__ = [
    "RUNTIMES",
    "Dedup",
    "FleetFigures",
    "RuntimeDisk",
    "SharedLayer",
    "distinct_layers",
    "node_disk",
    "shared_layers",
]

#: (label, runtime, discard_unpacked_layers) of the node-disk figures, in report order.
RUNTIMES: tuple[tuple[str, str, bool], ...] = (
    ("containerd", "containerd", False),
    ("containerd+discard", "containerd", True),
    ("docker", "docker", False),
)


@dataclass(frozen=True, slots=True)
class Dedup:
    """Distinct layers of the fleet under one identity (digest or chain ID), shared ones counted once."""

    layers: int
    compressed_bytes: int
    extracted_bytes: int | None  # None when a layer's extracted size is unknown
    foreign_compressed_bytes: int  # of compressed_bytes: foreign layers (stored by MCR, not your registry)
    exact: bool  # False when a known extracted size is an estimate or catalog figure


@dataclass(frozen=True, slots=True)
class RuntimeDisk:
    """Disk every image of the report takes on one node with a given runtime (plan/disk.py)."""

    label: str  # containerd | containerd+discard | docker
    runtime: str
    discard_unpacked_layers: bool
    snapshot_bytes: int
    blob_bytes: int
    layers: int
    estimated: bool

    @property
    def total_bytes(self) -> int:
        """Snapshots plus kept blobs."""
        return self.snapshot_bytes + self.blob_bytes


@dataclass(frozen=True, slots=True)
class SharedLayer:
    """A layer chain held by several images of the report."""

    chain_id: str
    digest: str
    base: bool
    compressed_bytes: int
    extracted_bytes: int | None
    references: tuple[str, ...]  # image names holding it, report order

    @property
    def images(self) -> int:
        """How many images hold it."""
        return len(self.references)


@dataclass(frozen=True, slots=True)
class FleetFigures:
    """Figures over every image of the report."""

    images: int
    compressed_bytes: int  # sum over images, shared layers counted every time
    registry: Dedup  # distinct by digest
    node_cache: Dedup  # distinct by chain ID
    pull_with_bake_bytes: int  # sum over images
    pull_without_bake_bytes: int
    node_disk: tuple[RuntimeDisk, ...]
    shared_layers: tuple[SharedLayer, ...]
    launch_seconds_per_day_with_bake: float | None  # Σ weight × launch seconds; None without launch estimates
    launch_seconds_per_day_without_bake: float | None
    recommendation: Recommendation | None


def _dedup(entries: Mapping[str, tuple[int, int | None, bool, bool]]) -> Dedup:
    """Dedup over key → (compressed, extracted, foreign, exact)."""
    values = list(entries.values())
    extracted = [e for _, e, _, _ in values]
    return Dedup(
        layers=len(values),
        compressed_bytes=sum(c for c, _, _, _ in values),
        extracted_bytes=None if any(e is None for e in extracted) else sum(e for e in extracted if e is not None),
        foreign_compressed_bytes=sum(c for c, _, f, _ in values if f),
        exact=all(x for _, e, _, x in values if e is not None),
    )


def distinct_layers(images: Sequence[PlannedImage], plans: Sequence[Sequence[PlanLayer]]) -> tuple[Dedup, Dedup]:
    """(registry, node cache): the images' layers counted once by compressed digest, and once by chain ID."""
    by_digest: dict[str, tuple[int, int | None, bool, bool]] = {}
    by_chain: dict[str, tuple[int, int | None, bool, bool]] = {}
    for image, plan in zip(images, plans, strict=True):
        for result, planned in zip(image.layers, plan, strict=True):
            m = result.measurement
            entry = (m.compressed_bytes, m.extracted_bytes, result.foreign, m.exact)
            by_digest.setdefault(result.digest, entry)
            by_chain.setdefault(planned.chain_id, entry)
    return _dedup(by_digest), _dedup(by_chain)


def node_disk(plans: Sequence[Sequence[PlanLayer]], ratio: float | None) -> tuple[RuntimeDisk, ...]:
    """Disk every image takes on one node, per runtime of `RUNTIMES` (plan/disk.py; *ratio* estimates unknowns)."""
    disks = []
    for label, runtime, discard in RUNTIMES:
        usage = (
            disk_usage(plans, runtime=runtime, discard_unpacked_layers=discard, extraction_ratio=ratio)
            if ratio is not None
            else disk_usage(plans, runtime=runtime, discard_unpacked_layers=discard)
        )
        disks.append(
            RuntimeDisk(label, runtime, discard, usage.snapshot_bytes, usage.blob_bytes, usage.layers, usage.estimated)
        )
    return tuple(disks)


def shared_layers(
    images: Sequence[PlannedImage],
    plans: Sequence[Sequence[PlanLayer]],
    names: Sequence[str],
    holders: Mapping[str, Sequence[int]],
    top: int,
) -> tuple[SharedLayer, ...]:
    """The *top* layer chains held by the most images (*holders*: chain → indexes of the images holding it)."""
    shared = []
    first_layer: dict[str, tuple[int, int]] = {}  # chain → (image, layer index) where it first appears
    for i, plan in enumerate(plans):
        for j, layer in enumerate(plan):
            first_layer.setdefault(layer.chain_id, (i, j))
    for chain, owners in holders.items():
        if len(owners) < 2:
            continue
        i, j = first_layer[chain]
        held = images[i].layers[j]
        shared.append(
            SharedLayer(
                chain_id=chain,
                digest=held.digest,
                base=held.base,
                compressed_bytes=held.measurement.compressed_bytes,
                extracted_bytes=held.measurement.extracted_bytes,
                references=tuple(names[k] for k in owners),
            )
        )
    shared.sort(key=lambda s: (-s.images, -s.compressed_bytes, s.chain_id))
    return tuple(shared[: max(0, top)])
