"""Which images to bake into the AMI: the most launch seconds saved per day within a disk budget.

The problem. Baking a set S of candidates puts every chain of their layers on the node. Image j (weight w_j
launches per day) then has its layers cached up to the longest prefix whose chain is held — by S or by the
profile's pre-baked set P (cache hits by chain, plan/chain.py) — and saves w_j × (T_j(P) − T_j(P ∪ S)) seconds a
day, T being the launch model (plan/launch.py). Caching a longer prefix never slows a launch (the model is built
monotone for this, and tests/plan/test_launch.py checks it), so image j's saving is the best of what each baked
image gives it: with G[s][j] the saving of j when s alone is baked,

    value(S) = Σ_j max_{s ∈ S} G[s][j]        (a facility-location function: monotone and submodular)
    disk(S)  = bytes of the union of S's layers not already on the node (plan/disk.py: per chain ID, plus
               containerd's compressed blobs per digest unless discarded)

and the recommender maximises value(S) subject to disk(S) ≤ budget.

Exact method (up to `EXACT_LIMIT` = 25 candidates): depth-first branch and bound. At each node a candidate that no
longer fits, or whose marginal saving is 0, is dropped from the subtree (disk only grows and, by submodularity, a
marginal saving only shrinks). The bound is a fractional knapsack over the remaining candidates with each one's
*marginal* saving (an upper bound, by submodularity) and a *charged* disk cost — every layer not yet on disk is
split evenly among the remaining candidates that contain it, so any subset pays at least its charges (a lower
bound). A subtree whose remaining candidates all fit together is solved outright (take them all). The search starts
from the heuristic's answer, and proves optimality.

Beyond that: greedy by marginal saving per marginal byte, the better of it and the best single candidate, then
local search (drop one and refill; add one, repair the budget by dropping the least saving per byte, refill). The
reported `upper_bound_seconds_saved_per_day` (in the JSON of every such run) is the least of the root's fractional
and tree bounds; only when the answer reaches it (e.g. every candidate fits) is it `optimal`, proved after all.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from layerscope.digest import is_digest
from layerscope.errors import UsageError
from layerscope.oci import Platform
from layerscope.plan.compat import cannot_run
from layerscope.plan.disk import KUBELET_IMAGE_GC_HIGH, disk_items, root_volume_bytes
from layerscope.plan.launch import LaunchParameters, PlanLayer, estimate_launch, plan_layers
from layerscope.plan.profile import NodeProfile

if TYPE_CHECKING:
    from layerscope.plan.planned import PlannedImage

__all__ = [
    "EXACT_LIMIT",
    "SCHEMA",
    "Candidate",
    "Chosen",
    "NotChosen",
    "Recommendation",
    "recommend",
]

SCHEMA = "layerscope.recommendation/v1"
EXACT_LIMIT = 25
ALREADY_BAKED = "already baked"
NO_TIME_SAVED = "no time saved"
ALREADY_CACHED = "its layers are already cached by the chosen images"
DOES_NOT_FIT = "does not fit the budget"


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
class Chosen:
    """A candidate to bake, and the seconds its own launches save per day."""

    reference: str
    digest: str
    seconds_saved_per_day: float


@dataclass(frozen=True, slots=True)
class NotChosen:
    """A candidate left out, why, and what its launches still save through layers shared with the chosen ones."""

    reference: str
    digest: str
    reason: str
    seconds_saved_per_day: float = 0.0


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The recommender's answer; `to_json()` gives the `layerscope.recommendation/v1` document."""

    profile: str
    budget_bytes: int
    optimal: bool  # True only when the method proved it
    method: str  # "branch-and-bound" | "greedy+local-search"
    chosen: tuple[Chosen, ...]
    not_chosen: tuple[NotChosen, ...]
    disk_bytes: int  # disk the chosen images add beyond what is already on the node
    root_volume_bytes: int
    seconds_saved_per_day: float
    upper_bound_seconds_saved_per_day: float
    estimated: bool = False  # some extracted size was estimated from the compressed size
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract (DESIGN.md "Workload and recommendation"), plus documented extension fields."""
        doc: dict[str, Any] = {
            "schema": SCHEMA,
            "profile": self.profile,
            "budget_bytes": self.budget_bytes,
            "optimal": self.optimal,
            "chosen": [
                {
                    "reference": c.reference,
                    "digest": c.digest,
                    "seconds_saved_per_day": round(c.seconds_saved_per_day, 3),
                }
                for c in self.chosen
            ],
            "not_chosen": [
                {
                    "reference": n.reference,
                    "digest": n.digest,
                    "reason": n.reason,
                    "seconds_saved_per_day": round(n.seconds_saved_per_day, 3),
                }
                for n in self.not_chosen
            ],
            "disk_bytes": self.disk_bytes,
            "root_volume_bytes": self.root_volume_bytes,
            "seconds_saved_per_day": round(self.seconds_saved_per_day, 3),
        }
        if not self.optimal or self.method != "branch-and-bound":
            # Every run beyond the exact limit carries its bound, proved optimal or not (README; #18 item 7).
            doc["upper_bound_seconds_saved_per_day"] = round(self.upper_bound_seconds_saved_per_day, 3)
        doc["method"] = self.method
        doc["estimated"] = self.estimated
        doc["warnings"] = list(self.warnings)
        return doc

    def to_json(self) -> str:
        """The JSON document, indented."""
        return json.dumps(self.to_dict(), indent=2)


@dataclass(frozen=True, slots=True)
class _Problem:
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


def _fractional_bound(p: _Problem, mask: int, cover: Sequence[float], disk: int, rest: Sequence[int]) -> float:
    """Upper bound on what *rest* can still add: fractional knapsack, marginal gains, charged disk costs."""
    rest_mask = 0
    for s in rest:
        rest_mask |= 1 << s
    room = float(p.budget - disk)
    entries: list[tuple[float, float]] = []  # (gain, charged cost)
    free = 0.0
    for s in rest:
        g = p.gain(s, cover)
        cost = sum(size / (owners & rest_mask).bit_count() for size, owners in p.items[s] if not owners & mask)
        if cost <= 0:
            free += g
        else:
            entries.append((g, cost))
    entries.sort(key=lambda e: e[0] / e[1], reverse=True)
    total = free
    for g, cost in entries:
        if cost <= room:
            total += g
            room -= cost
        else:
            total += g * room / cost
            break
    return total


def _tree_bound(
    candidates: Sequence[Candidate],
    base: Sequence[int],
    savings: Sequence[Sequence[float]],
    per_candidate: Sequence[dict[str, tuple[int, bool]]],
    budget: int,
) -> float:
    """Upper bound from the chain tree: the Lagrangian (= LP) relaxation of a knapsack over tree nodes.

    Baking a set holds the union of its candidates' root paths in the tree of chain IDs, and the value is additive
    over held nodes: node v at depth d is worth Σ w_j × (saving_j(d) − saving_j(d−1)) over the images j through it.
    Disk is additive too, with a blob shared by several nodes charged evenly to them (a lower bound). For any
    λ ≥ 0, λ·budget + max over valid node sets of (value − λ·disk) bounds the optimum (weak duality); the inner
    maximum is a tree DP (a held node with no held child must be some candidate's last layer). L(λ) is convex,
    so a ternary search over λ finds its minimum; every evaluated λ is a valid bound, the least one is kept.
    """
    parent: dict[str, str | None] = {}
    depth: dict[str, int] = {}
    value: dict[str, float] = {}
    snapshot: dict[str, int] = {}
    blobs: dict[str, set[str]] = {}
    blob_size: dict[str, int] = {}
    ends: set[str] = set()
    for j, c in enumerate(candidates):
        chain_list = [layer.chain_id for layer in c.layers]
        for i, chain in enumerate(chain_list):
            parent.setdefault(chain, chain_list[i - 1] if i else None)
            depth[chain] = i + 1
            d = i + 1 - base[j]
            inc = c.weight * (savings[j][d] - savings[j][d - 1]) if d > 0 else 0.0
            value[chain] = value.get(chain, 0.0) + inc
            items = per_candidate[j]
            snapshot[chain] = items.get("snapshot:" + chain, (0, False))[0]
            blob = items.get("blob:" + c.layers[i].digest)
            if blob is not None:
                blobs.setdefault(chain, set()).add(c.layers[i].digest)
                blob_size[c.layers[i].digest] = blob[0]
        if chain_list:
            ends.add(chain_list[-1])
    carriers: dict[str, int] = {}
    for digests in blobs.values():
        for digest in digests:
            carriers[digest] = carriers.get(digest, 0) + 1
    cost = {v: snapshot[v] + min((blob_size[d] / carriers[d] for d in blobs.get(v, ())), default=0.0) for v in parent}
    order = sorted(parent, key=lambda v: -depth[v])  # children before parents
    children: dict[str, list[str]] = {}
    for v, up in parent.items():
        if up is not None:
            children.setdefault(up, []).append(v)

    def lagrangian(lam: float) -> float:
        best: dict[str, float] = {}
        for v in order:
            below = [best[c] for c in children.get(v, ())]
            positive = sum(b for b in below if b > 0)
            # A held node with no held child must be some candidate's last layer.
            rest = positive if v in ends or positive > 0 else max(below, default=-math.inf)
            best[v] = value[v] - lam * cost[v] + rest
        return lam * budget + sum(max(0.0, best[v]) for v in parent if parent[v] is None)

    ratios = [value[v] / cost[v] for v in parent if cost[v] > 0]
    lo, hi = 0.0, max(ratios, default=0.0)
    bound = min(lagrangian(lo), lagrangian(hi))
    for _ in range(100):
        a, b = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        la, lb = lagrangian(a), lagrangian(b)
        bound = min(bound, la, lb)
        if la <= lb:
            hi = b
        else:
            lo = a
    return bound


class _Search:
    """Depth-first branch and bound over include/exclude decisions (see the module docstring)."""

    def __init__(self, p: _Problem, best_mask: int, best_value: float, max_nodes: int) -> None:
        self.p = p
        self.best_mask = best_mask
        self.best_value = best_value
        self.max_nodes = max_nodes
        self.nodes = 0
        self.complete = True

    def _offer(self, mask: int, value: float) -> None:
        if value > self.best_value + self.p.eps:
            self.best_mask, self.best_value = mask, value

    def run(self) -> None:
        p = self.p
        self.node(0, [0.0] * p.n, 0.0, 0, list(range(p.n)))

    def node(self, mask: int, cover: list[float], value: float, disk: int, rest: list[int]) -> None:
        p = self.p
        self.nodes += 1
        if self.nodes > self.max_nodes:
            self.complete = False
            return
        self._offer(mask, value)
        live: list[tuple[float, int, int]] = []  # (gain, marginal disk, candidate)
        for s in rest:
            extra = p.marginal_disk(mask, s)
            if disk + extra > p.budget:
                continue  # disk only grows below this node
            g = p.gain(s, cover)
            if g > p.eps:
                live.append((g, extra, s))  # a zero marginal gain stays zero below (submodularity)
        if not live:
            return
        all_mask = mask
        for _, _, s in live:
            all_mask |= 1 << s
        all_disk = p.disk(all_mask)
        if all_disk <= p.budget:
            self._offer(all_mask, p.value(all_mask))  # everything left fits: monotone value, take it all
            return
        rest_live = [s for _, _, s in live]
        if value + _fractional_bound(p, mask, cover, disk, rest_live) <= self.best_value + p.eps:
            return
        g, extra, pick = max(live, key=lambda e: (e[0] / max(e[1], 1), e[0]))
        others = [s for s in rest_live if s != pick]
        new_cover = [max(a, b) for a, b in zip(cover, p.gains[pick], strict=True)]
        self.node(mask | 1 << pick, new_cover, value + g, disk + extra, others)
        self.node(mask, cover, value, disk, others)


def _greedy_fill(p: _Problem, mask: int, banned: int = 0) -> int:
    """Add the candidate with the best marginal saving per marginal byte until nothing fits or helps."""
    disk = p.disk(mask)
    cover = p.cover(mask)
    while True:
        best: tuple[float, float, int] | None = None
        for s in range(p.n):
            if (mask | banned) >> s & 1:
                continue
            extra = p.marginal_disk(mask, s)
            if disk + extra > p.budget:
                continue
            g = p.gain(s, cover)
            if g <= p.eps:
                continue
            key = (g / extra if extra else math.inf, g, s)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is None:
            return mask
        s = best[2]
        disk += p.marginal_disk(mask, s)
        mask |= 1 << s
        cover = [max(a, b) for a, b in zip(cover, p.gains[s], strict=True)]


def _repair(p: _Problem, mask: int) -> int:
    """Drop the chosen candidate that loses the least saving per byte freed until the set fits."""
    while p.disk(mask) > p.budget:
        value, disk = p.value(mask), p.disk(mask)
        options = []
        for s in range(p.n):
            if mask >> s & 1:
                smaller = mask & ~(1 << s)
                freed = disk - p.disk(smaller)
                options.append(((value - p.value(smaller)) / max(freed, 1), s))
        mask &= ~(1 << min(options)[1])
    return mask


def _heuristic(p: _Problem, rounds: int, deadline: float = math.inf) -> tuple[int, float]:
    """Greedy and greedy from each better single candidate, then up to *rounds* rounds of local search.

    Local search stops early at *deadline* (time.monotonic()): each move is a greedy refill, quadratic in the
    number of candidates, so a fleet of hundreds of images is bounded in time rather than in rounds.
    """
    best = _greedy_fill(p, 0)
    best_value = p.value(best)
    for s in range(p.n):
        if p.marginal_disk(0, s) <= p.budget and p.value(1 << s) > best_value + p.eps:
            mask = _greedy_fill(p, 1 << s)
            if p.value(mask) > best_value + p.eps:
                best, best_value = mask, p.value(mask)
    for _ in range(rounds):
        # First improvement: drop one chosen and refill without it; or add one, repair the budget and refill.
        current = best
        moves = itertools.chain(
            (_greedy_fill(p, current & ~(1 << s), banned=1 << s) for s in range(p.n) if current >> s & 1),
            (_greedy_fill(p, _repair(p, current | 1 << s)) for s in range(p.n) if not current >> s & 1),
        )
        better = None
        for m in moves:
            if (v := p.value(m)) > best_value + p.eps:
                better = (m, v)
                break
            if time.monotonic() > deadline:
                return best, best_value
        if better is None:
            break
        best, best_value = better
    return best, best_value


def _prune_redundant(p: _Problem, mask: int) -> int:
    """Drop chosen candidates whose removal saves nothing less (ties go to the smaller disk)."""
    value = p.value(mask)
    for s in range(p.n):
        if mask >> s & 1 and p.value(mask & ~(1 << s)) >= value - p.eps:
            mask &= ~(1 << s)
    return mask


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


def recommend(
    candidates: Sequence[Candidate],
    profile: NodeProfile,
    *,
    budget_bytes: int | None = None,
    params: LaunchParameters | None = None,
    prebaked_chains: Collection[str] = (),
    exact_limit: int = EXACT_LIMIT,
    max_nodes: int = 2_000_000,
    local_search_rounds: int = 50,
    local_search_seconds: float = 5.0,
) -> Recommendation:
    """Choose the candidates to bake (see the module docstring for the model and the methods).

    *prebaked_chains* are chain IDs already on the node (the profile's baked set, resolved); layers a candidate
    marks cached count as pre-baked too. Without *budget_bytes* the budget is what the profile's root volume
    holds below kubelet's 85 % image-GC threshold after the OS footprint and the pre-baked layers the candidates
    share (it leaves no room for pulls; the root volume the answer needs is `root_volume_bytes`). Above
    *max_nodes* search nodes the exact method stops and reports `optimal=False`; beyond *exact_limit* candidates
    local search runs at most *local_search_rounds* rounds and *local_search_seconds*. A candidate the node
    cannot run (plan/compat.py) is no candidate: it is listed as not chosen with the reason, and warned about.
    """
    params = params or LaunchParameters.from_profile(profile)
    held = set(prebaked_chains) | {layer.chain_id for c in candidates for layer in c.layers if layer.cached}
    left_out: list[tuple[Candidate, str]] = []
    runnable: list[Candidate] = []
    for c in candidates:
        reason = cannot_run(c.platform, profile) if c.platform is not None else None
        if reason is None:
            runnable.append(c)
        else:
            left_out.append((c, reason))
    chains = [[layer.chain_id for layer in c.layers] for c in candidates]
    base = [sum(1 for _ in itertools.takewhile(held.__contains__, ch)) for ch in chains]  # cached by P alone

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
    candidates = runnable
    chains = [[layer.chain_id for layer in c.layers] for c in candidates]
    base = [sum(1 for _ in itertools.takewhile(held.__contains__, ch)) for ch in chains]

    n = len(candidates)
    gains: list[list[float]] = [[0.0] * n for _ in range(n)]
    savings: list[list[float]] = []  # per image, seconds one launch saves with base + k layers cached
    for j, c in enumerate(candidates):
        times = [_launch_seconds(c.layers, k, params) for k in range(base[j], len(c.layers) + 1)]
        saving = [0.0]
        for t in times[1:]:
            # The model is monotone (a longer cached prefix never costs time); max() only irons out float noise.
            saving.append(max(saving[-1], times[0] - t))
        savings.append(saving)
        for s in range(n):
            k = len(c.layers) if s == j else max(base[j], _common_prefix(chains[j], chains[s]))
            gains[s][j] = c.weight * saving[k - base[j]]
    per_candidate = [items_of(c.layers, held) for c in candidates]
    flat, per = _disk_items(per_candidate)
    total = sum(max(col) for col in zip(*gains, strict=True)) if n else 0.0
    p = _Problem(
        gains=tuple(tuple(row) for row in gains),
        disk_items=flat,
        items=per,
        budget=budget_bytes,
        eps=1e-9 * max(1.0, total),
    )

    root_live = [s for s in range(n) if p.marginal_disk(0, s) <= p.budget]
    bound = min(
        _fractional_bound(p, 0, [0.0] * n, 0, root_live),
        _tree_bound(candidates, base, savings, per_candidate, budget_bytes),
    )
    if n <= exact_limit:
        mask, value = _heuristic(p, rounds=0)  # a quick incumbent; the search does the rest
        method = "branch-and-bound"
        optimal = value >= bound - p.eps  # the incumbent already reaches the bound: nothing to search
        if not optimal:
            search = _Search(p, mask, value, max_nodes)
            search.run()
            mask, value, optimal = search.best_mask, search.best_value, search.complete
    else:
        mask, value = _heuristic(p, local_search_rounds, time.monotonic() + local_search_seconds)
        optimal = value >= bound - p.eps  # the answer reaches the bound: proved after all
        method = "greedy+local-search"
    mask = _greedy_fill(p, _prune_redundant(p, mask))
    value = p.value(mask)
    bound = value if optimal else max(bound, value)
    answer = _answer(candidates, profile, p, mask, value, bound, optimal, method, base, prebaked_disk, per_candidate)
    if not left_out:
        return answer
    return replace(
        answer,
        not_chosen=(*answer.not_chosen, *(NotChosen(c.reference, c.digest, why) for c, why in left_out)),
        warnings=(*(f"{c.reference} is left out of the candidates: {why}" for c, why in left_out), *answer.warnings),
    )


def _answer(
    candidates: Sequence[Candidate],
    profile: NodeProfile,
    p: _Problem,
    mask: int,
    value: float,
    bound: float,
    optimal: bool,
    method: str,
    base: Sequence[int],
    prebaked_disk: int,
    per_candidate: Sequence[dict[str, tuple[int, bool]]],
) -> Recommendation:
    cover = p.cover(mask)
    disk = p.disk(mask)
    chosen: list[Chosen] = []
    not_chosen: list[NotChosen] = []
    pull_room = 0
    for j, c in enumerate(candidates):
        if mask >> j & 1:
            chosen.append(Chosen(c.reference, c.digest, cover[j]))
            continue
        extra = p.marginal_disk(mask, j)
        pull_room = max(pull_room, extra)
        if base[j] == len(c.layers):
            reason = ALREADY_BAKED
        elif p.value(1 << j) <= p.eps:
            reason = NO_TIME_SAVED
        elif disk + extra > p.budget:
            reason = DOES_NOT_FIT
        else:
            reason = ALREADY_CACHED  # it fits, so its marginal saving is 0 (the final fill would have added it)
        not_chosen.append(NotChosen(c.reference, c.digest, reason, cover[j]))
    chosen.sort(key=lambda c: -c.seconds_saved_per_day)
    estimated = any(guessed for items in per_candidate for _, guessed in items.values())
    warnings: list[str] = []
    if estimated:
        warnings.append("some layers have no known extracted size; disk and time use the estimated ratio")
    if profile.os_footprint_bytes is None:
        warnings.append(f"profile {profile.name} gives no OS footprint; the root volume leaves it out")
    return Recommendation(
        profile=profile.name,
        budget_bytes=p.budget,
        optimal=optimal,
        method=method,
        chosen=tuple(chosen),
        not_chosen=tuple(not_chosen),
        disk_bytes=disk,
        root_volume_bytes=root_volume_bytes(profile.os_footprint_bytes, prebaked_disk + disk, pull_room),
        seconds_saved_per_day=value,
        upper_bound_seconds_saved_per_day=max(bound, value),
        estimated=estimated,
        warnings=tuple(warnings),
    )
