"""Launch-time model: how long a node needs to have an image ready, with and without baking.

The model, step by step (a small simulation rather than a plain sum; pure, no I/O):

1. **Setup round trips**, serial, before any layer: token, index, manifest, config (4 × registry latency; the
   same count as `profile.simple_pull_seconds`). They happen even when every layer is cached: the runtime still
   resolves the reference (ECS's default pull behaviour pulls anyway, aws-nodes.md §2.1; kubelet's IfNotPresent
   skips even this for a present tag — a fraction of a second).
2. **Downloads** of the layers not cached, in image order, at most `max_concurrent_downloads` at a time
   (containerd and Docker both default to 3, aws-nodes.md §1.5 and §4.2). Each layer's own round trips (blob
   request + redirect to storage) run once the setup is done, overlapped with the transfers before it; its bytes
   move when a slot is free. The node's bandwidth is **one shared pipe**: the transfers in flight split it
   equally, so parallelism does not multiply throughput — it lets small layers finish while the big base layer
   is still arriving.

   Why round trips do not hold a slot (issue #12): with a slot held during them the schedule is not monotone —
   a small layer cached in front lets the next big layer's round trips start sooner, its transfer then shares
   the pipe with the layer before it for longer, and that layer's extraction starts later (up to 0.15 s slower
   with *more* cached on `eks-ws2019-core`). Baking more must never make a launch slower, or the recommender's
   savings are not the model's. The difference from slot-held round trips is at most `layer_round_trips` ×
   latency per layer beyond the first `max_concurrent_downloads`, hidden under extraction on every profile.
3. **Extraction**, one layer at a time in image order (a layer is applied on its parent; "the extraction
   operation occurs in a sequential process", aws-eks-best-practices `latest/bpg/windows/ami.adoc`): layer i
   starts when it is downloaded *and* layer i-1 is extracted, and takes extracted bytes / extraction throughput.
4. **Total** = when the last extraction ends. The parts reported beside it (download, extraction and round-trip
   seconds) are the busy time of each resource; they overlap, so their sum is an upper bound on the total.

Unknown extracted sizes: the estimate uses `extraction_ratio` × compressed bytes and says so — `estimated` is
True, `extraction_ratio` holds the ratio used and a warning names the number of layers. The default ratio is the
catalog's Server Core figure (2.2059, layerscope/catalog/data/extracted-estimate.json, group `servercore`).

Timeouts (aws-nodes.md §3, §2.1): containerd's `image_pull_progress_timeout` (5 min since 1.7.10) counts only
while HTTP requests are active and no bytes arrive, so extraction alone does not trip it; the ECS agent's
pull-inactivity timeout (3 min on Windows) watches Docker's progress stream, which goes quiet while a Windows
layer is applied, and its total pull timeout is 2 h. The profile's `timeout_covers_extraction` says which kind a
node has. A warning is raised when the longest stretch without progress, or the total, comes within
`timeout_margin` × of the limit (the throughputs are calibrated to the slow end, but real nodes vary about 2×).

Calibration (tests/plan/test_launch.py): an uncached Server Core ltsc2019 of 2022-05 (catalog rows b111c332… =
1,877,166,088 B + 8b534d64… = 626,889,777 B compressed) on `eks-ws2019-core` comes out at about 386 s — DESIGN.md
"~6 minutes", AWS blog "4-8 min" scale-out without caching
(https://aws.amazon.com/blogs/containers/speeding-up-windows-container-launch-times-with-ec2-image-builder-and-image-cache-strategy/),
`ctr image pull servercore:ltsc2019` 259 s (microsoft/Windows-Containers#92); with the base cached, 300 MB of app
layers (800 MB extracted) take about 55 s.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from typing import Protocol

from layerscope.errors import UsageError
from layerscope.plan.profile import NodeProfile
from layerscope.results import LayerResult
from layerscope.units import format_duration, format_size

__all__ = [
    "DEFAULT_EXTRACTION_RATIO",
    "LaunchComparison",
    "LaunchEstimate",
    "LaunchParameters",
    "PlanLayer",
    "compare_launch",
    "estimate_launch",
    "extracted_or_estimate",
    "plan_layers",
]

#: extracted ÷ compressed bytes of Server Core layers (catalog data/extracted-estimate.json, group "servercore").
DEFAULT_EXTRACTION_RATIO = 2.2059
_STAND_IN_PREFIX = "layerscope-chain:"


@dataclass(frozen=True, slots=True)
class PlanLayer:
    """One layer as the planner sees it: its identity on a node (chain ID), its sizes, whether it is cached."""

    digest: str
    chain_id: str  # the OCI chain ID, or a stand-in key when the diff_ids are unknown (see plan_layers)
    compressed_bytes: int
    extracted_bytes: int | None  # None: not known
    cached: bool = False


class LayersOnANode(Protocol):
    """An image's layers with the node's cache state of each (plan/planned.py's PlannedImage is one)."""

    @property
    def layers(self) -> tuple[LayerResult, ...]: ...

    @property
    def cached(self) -> tuple[bool | None, ...]: ...


def plan_layers(image: LayersOnANode) -> tuple[PlanLayer, ...]:
    """The planner's view of an analysed image's layers (cached None counts as not cached).

    A layer without a chain ID (diff_ids unknown) gets a stand-in key hashed from the compressed digests of it and
    every layer below it: never equal to a real chain ID, so it is never a cache hit on someone else's chain, yet
    two images with the same blobs in the same order share it, as they would share the real chain.
    """
    out: list[PlanLayer] = []
    running = hashlib.sha256()
    for layer, cached in zip(image.layers, image.cached, strict=True):
        running.update(layer.digest.encode("ascii", "replace") + b"\n")
        chain = layer.chain_id or _STAND_IN_PREFIX + running.copy().hexdigest()
        m = layer.measurement
        out.append(PlanLayer(layer.digest, chain, m.compressed_bytes, m.extracted_bytes, cached is True))
    return tuple(out)


def extracted_or_estimate(layer: PlanLayer, ratio: float) -> tuple[int, bool]:
    """The layer's extracted bytes, or ratio × compressed bytes; the flag says it is an estimate."""
    if layer.extracted_bytes is not None:
        return layer.extracted_bytes, False
    return round(layer.compressed_bytes * ratio), True


@dataclass(frozen=True, slots=True)
class LaunchParameters:
    """What the launch model needs from a node; built from a profile, any value can be overridden."""

    network_bytes_per_second: float
    extraction_bytes_per_second: float  # extracted (on-disk) bytes written per second
    max_concurrent_downloads: int
    registry_latency_seconds: float
    inactivity_timeout_seconds: float | None  # None: no such limit
    total_timeout_seconds: float | None
    timeout_covers_extraction: bool  # True: a silent extraction counts against the inactivity timeout
    extraction_ratio: float = DEFAULT_EXTRACTION_RATIO  # for layers whose extracted bytes are unknown
    timeout_margin: float = 2.0  # warn when an estimate × margin reaches a limit
    setup_round_trips: int = 4  # token, index, manifest, config
    layer_round_trips: int = 2  # blob request, redirect to storage

    def __post_init__(self) -> None:
        positive = ("network_bytes_per_second", "extraction_bytes_per_second", "extraction_ratio")
        for name in positive:
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise UsageError(f"launch parameter {name} must be a number above 0 (got {value!r})")
        if not (isinstance(self.timeout_margin, int | float) and self.timeout_margin >= 1):
            raise UsageError(f"launch parameter timeout_margin must be 1 or more (got {self.timeout_margin!r})")
        if not (isinstance(self.max_concurrent_downloads, int) and self.max_concurrent_downloads >= 1):
            raise UsageError("launch parameter max_concurrent_downloads must be a whole number of at least 1")
        if self.registry_latency_seconds < 0 or self.setup_round_trips < 0 or self.layer_round_trips < 0:
            raise UsageError("launch parameters for latency and round trips must not be negative")
        for name in ("inactivity_timeout_seconds", "total_timeout_seconds"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise UsageError(f"launch parameter {name} must be above 0 seconds, or None for no limit")

    @classmethod
    def from_profile(cls, profile: NodeProfile, **overrides: float | int | bool | None) -> LaunchParameters:
        """The profile's values, with *overrides* (field names of this class) on top."""
        params = cls(
            network_bytes_per_second=profile.network_bytes_per_second,
            extraction_bytes_per_second=profile.extraction_bytes_per_second,
            max_concurrent_downloads=profile.max_concurrent_downloads,
            registry_latency_seconds=profile.registry_latency_seconds,
            inactivity_timeout_seconds=profile.pull_inactivity_timeout_seconds,
            total_timeout_seconds=profile.pull_total_timeout_seconds,
            timeout_covers_extraction=profile.timeout_covers_extraction,
        )
        unknown = sorted(set(overrides) - {f.name for f in fields(cls)})
        if unknown:
            raise UsageError(
                f"unknown launch parameters {', '.join(unknown)}",
                hint=f"choose from {', '.join(f.name for f in fields(cls))}",
            )
        return replace(params, **overrides) if overrides else params  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class LaunchEstimate:
    """Estimated time for a node to have one image ready (see the module docstring for the model)."""

    total_seconds: float  # simulated wall time: round trips, downloads and extraction overlapped
    download_seconds: float  # pulled compressed bytes ÷ bandwidth (the network's busy time)
    extraction_seconds: float  # extracted bytes ÷ extraction throughput (the disk's busy time)
    round_trip_seconds: float  # every registry round trip × latency, as if serial
    pulled_bytes: int  # compressed bytes downloaded
    extracted_bytes: int  # bytes written by extraction (estimates included when `estimated`)
    pulled_layers: int
    longest_silence_seconds: float  # longest stretch the runtime's inactivity timer sees without progress
    estimated: bool  # some extracted size was estimated from the compressed size
    extraction_ratio: float | None  # the ratio used when estimated
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LaunchComparison:
    """The same image on a node with its cached layers (`with_baking`) and on an empty node (`without_baking`)."""

    with_baking: LaunchEstimate
    without_baking: LaunchEstimate
    # #14 item 4: when some layers' cache state is unknown, `with_baking` counts them pulled (the slow end) and
    # this estimate counts them held (the fast end); None when every state is known.
    if_unknown_cached: LaunchEstimate | None = None

    @property
    def seconds_saved(self) -> float:
        """Seconds one launch saves thanks to the cached layers."""
        return self.without_baking.total_seconds - self.with_baking.total_seconds


def _download_schedule(sizes: Sequence[int], start: float, params: LaunchParameters) -> tuple[list[float], float]:
    """When each download finishes, and the longest gap with requests open but no bytes moving.

    Processor sharing: the transfers past their round trips split the bandwidth equally; a FIFO queue admits the
    next layer when one of `max_concurrent_downloads` slots frees up (containerd's fetch limiter, Docker's).
    Every layer's round trips end at *start* + their latency, whenever it is admitted (the module docstring
    says why: a schedule monotone in what is cached).
    """
    bandwidth = float(params.network_bytes_per_second)
    wait = params.layer_round_trips * params.registry_latency_seconds
    finish = [start] * len(sizes)
    queue = deque(range(len(sizes)))
    active: dict[int, list[float]] = {}  # layer -> [time its bytes start to flow, bytes left]
    t = start
    silent_since: float | None = None
    longest_gap = 0.0

    def admit() -> None:
        while queue and len(active) < params.max_concurrent_downloads:
            i = queue.popleft()
            active[i] = [max(t, start + wait), float(sizes[i])]

    admit()
    while active:
        flowing = [i for i, (ready, _) in active.items() if ready <= t]
        if flowing and silent_since is not None:
            longest_gap = max(longest_gap, t - silent_since)
            silent_since = None
        elif not flowing and silent_since is None:
            silent_since = t
        next_ready = min((ready for ready, _ in active.values() if ready > t), default=math.inf)
        if flowing:
            rate = bandwidth / len(flowing)
            least = min(active[i][1] for i in flowing)
            step = min(least / rate, next_ready - t)
        else:
            rate, step = 0.0, next_ready - t
        for i in flowing:
            active[i][1] -= rate * step
        t += step
        # Bytes are whole numbers: a thousandth of a byte left is float noise, not a transfer.
        for i in [i for i in flowing if active[i][1] <= 1e-3]:
            finish[i] = t
            del active[i]
        admit()
    return finish, longest_gap


def _warnings(estimate: LaunchEstimate, params: LaunchParameters, estimated_layers: int) -> tuple[str, ...]:
    out: list[str] = []
    margin = params.timeout_margin
    limit = params.inactivity_timeout_seconds
    silence = estimate.longest_silence_seconds
    if limit is not None and silence * margin >= limit:
        how = "exceeds" if silence >= limit else f"is within {margin:g}x of"
        what = "extraction without download progress" if params.timeout_covers_extraction else "no bytes arriving"
        out.append(
            f"the pull has {format_duration(silence)} of {what}, which {how} the runtime's pull inactivity "
            f"timeout of {format_duration(limit)}; raise the timeout (ECS_IMAGE_PULL_INACTIVITY_TIMEOUT, "
            "image_pull_progress_timeout) or bake the image"
        )
    total_limit = params.total_timeout_seconds
    if total_limit is not None and estimate.total_seconds * margin >= total_limit:
        how = "exceeds" if estimate.total_seconds >= total_limit else f"is within {margin:g}x of"
        out.append(
            f"the pull takes about {format_duration(estimate.total_seconds)}, which {how} the total pull timeout "
            f"of {format_duration(total_limit)} (ECS_IMAGE_PULL_TIMEOUT); bake the image"
        )
    if estimated_layers:
        out.append(
            f"{estimated_layers} layer(s) have no known extracted size; their extraction time uses "
            f"{params.extraction_ratio:g} x the compressed size ({format_size(estimate.extracted_bytes)} in all)"
        )
    return tuple(out)


def estimate_launch(layers: Sequence[PlanLayer], params: LaunchParameters) -> LaunchEstimate:
    """Time until the image is ready on a node holding the layers marked cached (see the module docstring)."""
    pulled = [layer for layer in layers if not layer.cached]
    latency = params.registry_latency_seconds
    setup = params.setup_round_trips * latency
    extracted: list[int] = []
    estimated_layers = 0
    for layer in pulled:
        size, guessed = extracted_or_estimate(layer, params.extraction_ratio)
        extracted.append(size)
        estimated_layers += guessed
    finish, request_gap = _download_schedule([layer.compressed_bytes for layer in pulled], setup, params)
    end = setup
    extraction_ends: list[float] = []
    for done, size in zip(finish, extracted, strict=True):
        end = max(done, end) + size / params.extraction_bytes_per_second
        extraction_ends.append(end)
    silence = request_gap
    if params.timeout_covers_extraction and pulled:
        # After the last byte arrives only a finished layer ("Pull complete") counts as progress.
        last_byte = max(finish)
        marks = [last_byte, *(e for e in extraction_ends if e > last_byte)]
        silence = max(silence, *(b - a for a, b in itertools.pairwise(marks)), 0.0)
    pulled_bytes = sum(layer.compressed_bytes for layer in pulled)
    estimate = LaunchEstimate(
        total_seconds=end,
        download_seconds=pulled_bytes / params.network_bytes_per_second,
        extraction_seconds=sum(extracted) / params.extraction_bytes_per_second,
        round_trip_seconds=(params.setup_round_trips + params.layer_round_trips * len(pulled)) * latency,
        pulled_bytes=pulled_bytes,
        extracted_bytes=sum(extracted),
        pulled_layers=len(pulled),
        longest_silence_seconds=silence,
        estimated=estimated_layers > 0,
        extraction_ratio=params.extraction_ratio if estimated_layers else None,
    )
    return replace(estimate, warnings=_warnings(estimate, params, estimated_layers))


def compare_launch(
    layers: Sequence[PlanLayer], params: LaunchParameters, unknown: Sequence[bool] = ()
) -> LaunchComparison:
    """The launch with the cached layers skipped, and the same launch on an empty node.

    *unknown* flags layers whose cache state is not known (counted as pulled); with any, the comparison also
    carries the launch with them held, so the answer is a range and never silently the worst case.
    """
    cold = [replace(layer, cached=False) for layer in layers]
    best = None
    if any(unknown):
        held = [replace(layer, cached=True) if u else layer for layer, u in zip(layers, unknown, strict=True)]
        best = estimate_launch(held, params)
    return LaunchComparison(
        with_baking=estimate_launch(layers, params),
        without_baking=estimate_launch(cold, params),
        if_unknown_cached=best,
    )


def unknown_layers(image: LayersOnANode) -> tuple[bool, ...]:
    """Per layer: its cache state is unknown (`cached: null`) on a node that has a baked set."""
    return tuple(c is None for c in image.cached)
