"""The recommender's problem in numbers: candidates, the node-compatibility filter, savings and disk as bitmasks."""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from layerscope.digest import is_digest
from layerscope.errors import UsageError
from layerscope.oci import Platform
from layerscope.plan.compat import cannot_run
from layerscope.plan.disk import KUBELET_IMAGE_GC_HIGH, disk_items
from layerscope.plan.launch import LaunchParameters, PlanLayer, estimate_launch, plan_layers
from layerscope.plan.profile import NodeProfile
from layerscope.plan.recommend_tree import TreeProblem, build_tree

if TYPE_CHECKING:
    from layerscope.plan.planned import PlannedImage

__all__ = ["Candidate", "Instance", "Problem", "build_instance"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """An image that could be baked: its digest-pinned identity, launches per day, layers and platform."""

    reference: str
    digest: str  # the platform manifest digest the node would pull
    weight: float  # launches per day
    layers: tuple[PlanLayer, ...]
    platform: Platform | None = None  # None: not known, taken as one the node runs (plan/compat.py)

    def __post_init__(self) -> None:
        if not is_digest(self.digest):
            raise UsageError(f"candidate {self.reference}: {self.digest!r} is not a digest")
        w = self.weight
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            raise UsageError(f"candidate {self.reference}: weight must be 0 or more launches per day (got {w!r})")

    @classmethod
    def from_image(cls, image: PlannedImage, weight: float = 1.0) -> Candidate:
        """A candidate from an analysed image; layers marked cached count as pre-baked."""
        return cls(image.reference, image.digest, float(weight), plan_layers(image), image.platform)


@dataclass(frozen=True, slots=True)
class Problem:
    """The instance in numbers: gains[s][j] (seconds/day j saves when s is baked) and disk items as bitmasks."""

    gains: tuple[tuple[float, ...], ...]
    disk_items: tuple[tuple[int, int], ...]  # (bytes, mask of the candidates that hold the item)
    items: tuple[tuple[tuple[int, int], ...], ...]  # per candidate: its entries of disk_items
    budget: int
    eps: float  # values closer than this are equal (float noise)

    @property
    def n(self) -> int:
        """Number of candidates."""
        return len(self.gains)

    def value(self, mask: int) -> float:
        """Seconds saved per day when the candidates in *mask* are baked."""
        return sum(self.cover(mask))

    def disk(self, mask: int) -> int:
        """Bytes the candidates in *mask* add to the node, shared items once."""
        return sum(size for size, owners in self.disk_items if owners & mask)

    def marginal_disk(self, mask: int, s: int) -> int:
        """Bytes candidate *s* adds to the set *mask*."""
        return sum(size for size, owners in self.items[s] if not owners & mask)

    def cover(self, mask: int) -> list[float]:
        """Per image, the best saving the baked set gives it."""
        best = [0.0] * self.n
        for s in range(self.n):
            if mask >> s & 1:
                best = [max(a, b) for a, b in zip(best, self.gains[s], strict=True)]
        return best

    def gain(self, s: int, cover: Sequence[float]) -> float:
        """What baking *s* adds to a set whose per-image savings are *cover*."""
        return sum(g - c for g, c in zip(self.gains[s], cover, strict=True) if g > c)


@dataclass(frozen=True, slots=True)
class Instance:
    """A built problem and what the bounds and the answer need besides it."""

    problem: Problem | None  # the dense matrix, built only for the exact search (up to its limit of groups)
    tree: TreeProblem  # the same problem over the chain tree (every size)
    candidates: tuple[Candidate, ...]  # one per group, weights summed (bit s of a mask = candidates[s])
    members: tuple[tuple[Candidate, ...], ...]  # per group: the runnable candidates in it, in input order
    left_out: tuple[tuple[Candidate, str], ...]  # the ones it cannot run, and why
    base: tuple[int, ...]  # per candidate: layers cached by the pre-baked set alone
    savings: tuple[tuple[float, ...], ...]  # per candidate: seconds one launch saves with base + k layers cached
    per_candidate: tuple[dict[str, tuple[int, bool]], ...]  # per candidate: its disk items (bytes, estimated)
    prebaked_disk: int  # bytes the pre-baked layers the candidates share take on the node


def _disk_items(
    per_candidate: Sequence[dict[str, tuple[int, bool]]],
) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[tuple[int, int], ...], ...]]:
    """Disk items as (bytes, owner mask), merged when they have the same owners; and each candidate's items."""
    owners: dict[str, int] = {}
    sizes: dict[str, int] = {}
    for s, items in enumerate(per_candidate):
        for key, (size, _) in items.items():
            owners[key] = owners.get(key, 0) | 1 << s
            sizes[key] = size
    merged: dict[int, int] = {}
    for key, mask in owners.items():
        merged[mask] = merged.get(mask, 0) + sizes[key]
    flat = tuple((size, mask) for mask, size in merged.items())
    per = tuple(tuple(item for item in flat if item[1] >> s & 1) for s in range(len(per_candidate)))
    return flat, per


def _launch_seconds(layers: Sequence[PlanLayer], cached_prefix: int, params: LaunchParameters) -> float:
    view = [replace(layer, cached=i < cached_prefix) for i, layer in enumerate(layers)]
    return estimate_launch(view, params).total_seconds


def _common_prefix(a: Sequence[str], b: Sequence[str]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _group(candidates: Sequence[Candidate]) -> list[tuple[Candidate, ...]]:
    """Candidates with identical layers together, in order of first appearance."""
    groups: dict[tuple[PlanLayer, ...], list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.layers, []).append(c)
    return [tuple(g) for g in groups.values()]


def build_instance(
    candidates: Sequence[Candidate],
    profile: NodeProfile,
    budget_bytes: int | None,
    params: LaunchParameters,
    prebaked_chains: Collection[str],
    dense_limit: int = 0,
) -> Instance:
    """The problem for *candidates* on *profile* (see plan/recommend.py for the model and the default budget).

    Candidates with the same layers (digests, chains and sizes) are one group: baking any of them holds the same
    layers, so the search counts groups, not references (issue #17). The dense matrix is built for at most
    *dense_limit* groups.
    """
    held = set(prebaked_chains) | {layer.chain_id for c in candidates for layer in c.layers if layer.cached}
    left_out: list[tuple[Candidate, str]] = []
    runnable: list[Candidate] = []
    for c in candidates:
        reason = cannot_run(c.platform, profile) if c.platform is not None else None
        if reason is None:
            runnable.append(c)
        else:
            left_out.append((c, reason))

    def items_of(layers: Sequence[PlanLayer], on_node: Collection[str]) -> dict[str, tuple[int, bool]]:
        return disk_items(
            layers,
            runtime=profile.runtime,
            discard_unpacked_layers=profile.discard_unpacked_layers,
            held_chains=on_node,
            extraction_ratio=params.extraction_ratio,
        )

    prebaked_items: dict[str, tuple[int, bool]] = {}
    for c in candidates:  # all of them: what the node already holds takes disk whoever would use it
        prebaked_items.update(items_of([layer for layer in c.layers if layer.chain_id in held], ()))
    prebaked_disk = sum(size for size, _ in prebaked_items.values())
    if budget_bytes is None:
        usable = math.floor(profile.root_volume_bytes * KUBELET_IMAGE_GC_HIGH)
        budget_bytes = max(0, usable - (profile.os_footprint_bytes or 0) - prebaked_disk)
    if budget_bytes < 0:
        raise UsageError("the disk budget must not be negative")
    members = _group(runnable)
    groups = [replace(g[0], weight=math.fsum(c.weight for c in g)) for g in members]
    chains = [[layer.chain_id for layer in c.layers] for c in groups]
    base = [sum(1 for _ in itertools.takewhile(held.__contains__, ch)) for ch in chains]  # cached by P alone

    n = len(groups)
    savings: list[tuple[float, ...]] = []
    node_inc: list[list[float]] = []
    for j, c in enumerate(groups):
        times = [_launch_seconds(c.layers, k, params) for k in range(base[j], len(c.layers) + 1)]
        saving = [0.0]
        for t in times[1:]:
            # The model is monotone (a longer cached prefix never costs time); max() only irons out float noise.
            saving.append(max(saving[-1], times[0] - t))
        savings.append(tuple(saving))
        node_inc.append([0.0] * base[j] + [c.weight * (b - a) for a, b in itertools.pairwise(saving)])
    per_candidate = tuple(items_of(c.layers, held) for c in groups)
    total = math.fsum(c.weight * sv[-1] for c, sv in zip(groups, savings, strict=True))
    eps = 1e-9 * max(1.0, total)
    items = [((key, size) for key, (size, _) in own.items()) for own in per_candidate]
    tree = build_tree(chains, node_inc, items, budget_bytes, eps)
    problem = None
    if n <= dense_limit:
        gains: list[list[float]] = [[0.0] * n for _ in range(n)]
        for j, c in enumerate(groups):
            for s in range(n):
                k = len(c.layers) if s == j else max(base[j], _common_prefix(chains[j], chains[s]))
                gains[s][j] = c.weight * savings[j][k - base[j]]
        flat, per = _disk_items(per_candidate)
        problem = Problem(
            gains=tuple(tuple(row) for row in gains), disk_items=flat, items=per, budget=budget_bytes, eps=eps
        )
    return Instance(
        problem=problem,
        tree=tree,
        candidates=tuple(groups),
        members=tuple(members),
        left_out=tuple(left_out),
        base=tuple(base),
        savings=tuple(savings),
        per_candidate=per_candidate,
        prebaked_disk=prebaked_disk,
    )
