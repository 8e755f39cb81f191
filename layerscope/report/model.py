"""The fleet report model: one pure structure that the JSON, CSV, Markdown and HTML renderers all read.

`build_report` turns analysed images (with cached flags when a profile or baked set was given), an optional node
profile and optional launch weights into per-image and fleet figures. Every number is derived here, once, so the
four formats cannot disagree with each other or with `analyze -o json` (the per-image `totals` are the very
`Totals` object `analyze` renders).

Per image: sizes (`Totals`), the Windows base, what a node pulls with the bake (layers the baked set does not hold;
`cached: null` counts as pulled) and without it (every layer), launch seconds both ways (plan/launch.py), drift.

Fleet (the distinct-layer, disk and shared-layer figures are computed in report/fleet_figures.py; their types are
re-exported here so every renderer imports the model from one place):

- **registry**: distinct layers by compressed digest — what the images take in registry storage (foreign layers
  included, and also reported apart: they live on MCR, not in your registry);
- **node cache**: distinct layers by chain ID — what a node holding every image keeps unpacked (the same blob on
  another parent is another layer on disk, plan/chain.py);
- **node disk** per runtime (containerd, containerd with `discard_unpacked_layers`, Docker) for every image on one
  node (plan/disk.py; unknown extracted sizes estimated and flagged);
- the layers shared by the most images (by chain ID), and — with a profile — the bake recommendation
  (plan/recommend.py) and the root volume it needs.
"""

from __future__ import annotations

import statistics
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace

from layerscope.basematch import BaseDrift
from layerscope.contents import ImageContents
from layerscope.gate import GateResult
from layerscope.node_revision import GroupPull, NodeRevision
from layerscope.plan.applicable import applicability
from layerscope.plan.launch import LaunchParameters, PlanLayer, compare_launch, plan_layers, unknown_layers
from layerscope.plan.planned import PlannedImage
from layerscope.plan.profile import NodeProfile
from layerscope.plan.recommend import Candidate, recommend
from layerscope.report.fleet_figures import (
    RUNTIMES,
    Dedup,
    FleetFigures,
    RuntimeDisk,
    SharedLayer,
    distinct_layers,
    node_disk,
    shared_layers,
)
from layerscope.results import Totals

__all__ = [
    "DEFAULT_LAUNCH_PROFILE",
    "RUNTIMES",
    "SCHEMA",
    "Dedup",
    "FleetFigures",
    "Launch",
    "PullSplit",
    "Report",
    "ReportBase",
    "ReportImage",
    "ReportLayer",
    "RuntimeDisk",
    "SharedLayer",
    "build_report",
    "with_observed",
]

SCHEMA = "layerscope.report/v1"
#: Shipped profile whose network and disk figures estimate launch times when no --profile is given (the profile the
#: launch model is calibrated on, plan/launch.py).
DEFAULT_LAUNCH_PROFILE = "eks-ws2019-core"


@dataclass(frozen=True, slots=True)
class ReportLayer:
    """One layer of one image, as the report shows it."""

    index: int
    digest: str
    diff_id: str | None
    chain_id: str | None
    media_type: str
    foreign: bool
    base: bool
    cached: bool | None
    compressed_bytes: int
    uncompressed_bytes: int | None
    extracted_bytes: int | None
    files: int | None
    size_source: str
    shared_by: int  # images of the report holding this layer's chain (1: only this one)

    @property
    def pull_compressed_bytes(self) -> int:
        """Compressed bytes a node with the bake pulls for this layer (unknown cache state counts as pulled)."""
        return 0 if self.cached is True else self.compressed_bytes


@dataclass(frozen=True, slots=True)
class ReportBase:
    """The image's Windows base (the analysis JSON `base`)."""

    image: str | None
    channel: str | None
    os_version: str | None
    month: str | None
    layers: int
    match: str
    kb: str | None = None  # #14: dated from the build tables
    release_date: str | None = None
    version: str | None = None
    generation: str | None = None


@dataclass(frozen=True, slots=True)
class Launch:
    """Estimated seconds until the image is ready on a node, with the bake and on an empty node."""

    with_bake_seconds: float
    without_bake_seconds: float
    estimated: bool  # some extracted size was estimated from the compressed size
    warnings: tuple[str, ...] = ()
    # #14 item 4: with layers of unknown cache state, the launch with them held (with_bake_seconds: pulled)
    with_bake_seconds_min: float | None = None
    # `report --events` (#16): median seconds of the pulls the cluster recorded for this image, and how many.
    observed_seconds: float | None = None
    observed_pulls: int = 0

    @property
    def seconds_saved(self) -> float:
        """Seconds one launch saves thanks to the bake."""
        return self.without_bake_seconds - self.with_bake_seconds


@dataclass(frozen=True, slots=True)
class PullSplit:
    """The image's compressed bytes in three parts that add up to its compressed size (the stacked bar)."""

    cached_bytes: int  # layers the baked set holds
    base_pull_bytes: int  # base layers the node still pulls
    app_pull_bytes: int  # other layers the node pulls


@dataclass(frozen=True, slots=True)
class ReportImage:
    """One image of the report."""

    reference: str
    name: str  # reference, with the platform added when the report holds several images of one reference
    digest: str
    platform: str
    weight: float  # launches per day (1 unless a workload says otherwise)
    totals: Totals
    base: ReportBase | None
    drift: BaseDrift | None
    launch: Launch | None
    split: PullSplit
    layers: tuple[ReportLayer, ...]
    warnings: tuple[str, ...] = ()
    not_applicable: str | None = None  # why the profile's node never launches it (plan/applicable.py)
    contents: ImageContents | None = None  # where the bytes are (issue #15), as in `analyze`

    @property
    def applicable(self) -> bool:
        """Whether the node launches this image (its figures count in the fleet's pulls, disk and launch time)."""
        return self.not_applicable is None

    @property
    def pull_with_bake_bytes(self) -> int:
        """Compressed bytes a node with the bake pulls (= `totals.pull_compressed_bytes`)."""
        return self.totals.pull_compressed_bytes

    @property
    def pull_without_bake_bytes(self) -> int:
        """Compressed bytes an empty node pulls (= `totals.compressed_bytes`)."""
        return self.totals.compressed_bytes


@dataclass(frozen=True, slots=True)
class Report:
    """The whole report (the `layerscope.report/v1` document, fleet_json.py)."""

    profile: str | None
    launch_profile: str | None  # the profile whose throughput the launch estimates use
    baked: tuple[str, ...]
    images: tuple[ReportImage, ...]
    fleet: FleetFigures
    gate: GateResult | None = None
    warnings: tuple[str, ...] = ()
    schema: str = SCHEMA
    # Entries of `baked` not resolved, and why (cache states less known there; the analysis JSON's field, #18).
    baked_unresolved: tuple[tuple[str, str], ...] = ()
    # The node's cached base revision and how it is known (the analysis JSON's `node`, #14 item 2), and with
    # --nodes on several revisions what the images pull on each group's nodes.
    node: NodeRevision | None = None
    node_groups: tuple[GroupPull, ...] = ()


def _layer(image: PlannedImage, plan: Sequence[PlanLayer], holders: Mapping[str, int]) -> tuple[ReportLayer, ...]:
    out = []
    for layer, cached, planned in zip(image.layers, image.cached, plan, strict=True):
        m = layer.measurement
        out.append(
            ReportLayer(
                index=layer.index,
                digest=layer.digest,
                diff_id=layer.diff_id,
                chain_id=layer.chain_id,
                media_type=layer.media_type,
                foreign=layer.foreign,
                base=layer.base,
                cached=cached,
                compressed_bytes=m.compressed_bytes,
                uncompressed_bytes=m.uncompressed_bytes,
                extracted_bytes=m.extracted_bytes,
                files=m.files,
                size_source=str(m.size_source),
                shared_by=holders[planned.chain_id],
            )
        )
    return tuple(out)


def _split(image: PlannedImage) -> PullSplit:
    cached = base = app = 0
    for layer, held in zip(image.layers, image.cached, strict=True):
        n = layer.measurement.compressed_bytes
        if held is True:
            cached += n
        elif layer.base:
            base += n
        else:
            app += n
    return PullSplit(cached, base, app)


def _names(images: Sequence[PlannedImage]) -> list[str]:
    """Display names: the reference, plus the platform where one reference gave several images."""
    counts: dict[str, int] = {}
    for image in images:
        counts[image.reference] = counts.get(image.reference, 0) + 1
    return [f"{i.reference} [{i.platform}]" if counts[i.reference] > 1 else i.reference for i in images]


def _image_warnings(image: PlannedImage, drift: BaseDrift | None, launch: Launch | None) -> tuple[str, ...]:
    out: list[str] = []
    if drift is not None:
        out.append("drift: " + drift.message)
    out.extend(image.warnings)
    if launch is not None:
        out.extend(w for w in launch.warnings if w not in out)
    return tuple(out)


def build_report(
    images: Sequence[PlannedImage],
    *,
    profile: NodeProfile | None = None,
    launch: LaunchParameters | None = None,
    launch_profile: str | None = None,
    weights: Mapping[str, float] | None = None,
    baked: Sequence[str] = (),
    baked_unresolved: Sequence[tuple[str, str]] = (),
    prebaked_chains: Collection[str] = (),
    budget_bytes: int | None = None,
    top_shared: int = 10,
    gate: GateResult | None = None,
    warnings: Sequence[str] = (),
    node: NodeRevision | None = None,
    node_groups: Sequence[GroupPull] = (),
) -> Report:
    """The report over *images* (see the module docstring).

    *launch* gives the launch model's node figures (None: no launch estimates); *weights* maps an image's
    `reference` to launches per day (default 1); with a *profile* the recommender runs over the images with
    *prebaked_chains* (the resolved baked set) already on the node and *budget_bytes* (None: the profile's).
    """
    weights = weights or {}
    applies = applicability(images, weights, profile)
    plans = [plan_layers(image) for image in images]
    names = _names(images)
    holders: dict[str, list[int]] = {}
    for i, plan in enumerate(plans):
        for layer in plan:
            owners = holders.setdefault(layer.chain_id, [])
            if not owners or owners[-1] != i:
                owners.append(i)
    counts = {chain: len(owners) for chain, owners in holders.items()}

    out: list[ReportImage] = []
    for image, plan, name, applies_to in zip(images, plans, names, applies, strict=True):
        est: Launch | None = None
        if launch is not None:
            cmp = compare_launch(plan, launch, unknown_layers(image))
            est = Launch(
                with_bake_seconds=cmp.with_baking.total_seconds,
                without_bake_seconds=cmp.without_baking.total_seconds,
                estimated=cmp.without_baking.estimated,
                warnings=cmp.with_baking.warnings,
                with_bake_seconds_min=cmp.if_unknown_cached.total_seconds if cmp.if_unknown_cached else None,
            )
        drift = image.drift
        b = image.base
        base = (
            None
            if b is None
            else ReportBase(
                b.image,
                b.channel,
                b.os_version,
                b.month,
                b.layer_count,
                b.match,
                b.kb,
                b.release_date,
                b.version,
                b.generation,
            )
        )
        out.append(
            ReportImage(
                reference=image.reference,
                name=name,
                digest=image.digest,
                platform=str(image.platform),
                weight=applies_to.weight,
                totals=image.totals,
                base=base,
                drift=drift,
                launch=est,
                split=_split(image),
                layers=_layer(image, plan, counts),
                warnings=_image_warnings(image, drift, est),
                not_applicable=applies_to.not_applicable,
                contents=image.contents,
            )
        )

    # The registry stores every platform; a node holds and pulls only what it launches (issue #17).
    on_node = [i for i, a in enumerate(applies) if a.not_applicable is None]
    registry, _ = distinct_layers(images, plans)
    _, node_cache = distinct_layers([images[i] for i in on_node], [plans[i] for i in on_node])
    disks = node_disk([plans[i] for i in on_node], launch.extraction_ratio if launch is not None else None)
    shared = shared_layers(images, plans, names, holders, top_shared)

    recommendation = None
    if profile is not None and images:
        # Display names, so two platforms of one reference stay apart in the answer.
        candidates = [
            Candidate(name, image.digest, a.weight, plan, image.platform)
            for image, name, plan, a in zip(images, names, plans, applies, strict=True)
        ]
        recommendation = recommend(
            candidates, profile, budget_bytes=budget_bytes, params=launch, prebaked_chains=prebaked_chains
        )

    with_day = without_day = None
    if launch is not None:
        launched = [r for r in out if r.launch is not None and r.applicable]
        with_day = sum(r.weight * r.launch.with_bake_seconds for r in launched if r.launch is not None)
        without_day = sum(r.weight * r.launch.without_bake_seconds for r in launched if r.launch is not None)

    fleet = FleetFigures(
        images=len(out),
        compressed_bytes=sum(r.totals.compressed_bytes for r in out),
        registry=registry,
        node_cache=node_cache,
        pull_with_bake_bytes=sum(r.pull_with_bake_bytes for r in out if r.applicable),
        pull_without_bake_bytes=sum(r.pull_without_bake_bytes for r in out if r.applicable),
        node_disk=disks,
        shared_layers=shared,
        launch_seconds_per_day_with_bake=with_day,
        launch_seconds_per_day_without_bake=without_day,
        recommendation=recommendation,
    )
    report_warnings = list(warnings)
    if recommendation is not None:
        report_warnings.extend(w for w in recommendation.warnings if w not in report_warnings)
    return Report(
        profile=profile.name if profile is not None else None,
        launch_profile=launch_profile if launch is not None else None,
        baked=tuple(baked),
        images=tuple(out),
        fleet=fleet,
        gate=gate,
        warnings=tuple(report_warnings),
        baked_unresolved=tuple(baked_unresolved),
        node=node,
        node_groups=tuple(node_groups),
    )


def with_observed(report: Report, observed: Mapping[str, Sequence[float]]) -> Report:
    """*report* with each image's recorded pull seconds (by reference, `report --events`) beside its launch."""
    images = []
    for image in report.images:
        seconds = observed.get(image.reference) or ()
        if image.launch is not None and seconds:
            launch = replace(image.launch, observed_seconds=statistics.median(seconds), observed_pulls=len(seconds))
            image = replace(image, launch=launch)
        images.append(image)
    return replace(report, images=tuple(images))
