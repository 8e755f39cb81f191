"""Which images to bake into the AMI: `recommend`, its answer types, and the model it optimises.

The problem is built in plan/recommend_problem.py, bounded in plan/recommend_bounds.py and searched in
plan/recommend_search.py; the `layerscope.recommendation/v1` document is report/recommendation.py.

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

Candidates with the same layers (tags of one image, repeated references) are one group, their weights summed:
the search counts groups. The problem is held over the chain tree (plan/recommend_tree.py): value is additive
over held tree nodes, so a marginal saving is the worth of the path's nodes not yet held, updated incrementally.

Exact method (up to `EXACT_LIMIT` = 25 groups, on the dense matrix): depth-first branch and bound. At each node a
candidate that no longer fits, or whose marginal saving is 0, is dropped from the subtree (disk only grows and, by
submodularity, a marginal saving only shrinks). The bound is a fractional knapsack over the remaining candidates
with each one's *marginal* saving (an upper bound, by submodularity) and a *charged* disk cost — every layer not yet
on disk is split evenly among the remaining candidates that contain it, so any subset pays at least its charges (a
lower bound). A subtree whose remaining candidates all fit together is solved outright (take them all). The search
starts from the heuristic's answer, and proves optimality.

Beyond that (near-linear in the fleet's layers, issue #17): greedy by marginal saving per marginal byte, the better
of it and the best single candidate, then local search (drop one and refill; add one, repair the budget by dropping
the least saving per byte, refill). The reported `upper_bound_seconds_saved_per_day` (in the JSON of every such run)
is the least of the root's fractional and tree bounds; only when the answer reaches it (e.g. every candidate fits)
is it `optimal`, proved after all."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from layerscope.plan.disk import root_volume_bytes
from layerscope.plan.launch import LaunchParameters
from layerscope.plan.profile import NodeProfile
from layerscope.plan.recommend_bounds import tree_bound
from layerscope.plan.recommend_problem import Candidate, Instance, build_instance
from layerscope.plan.recommend_search import BranchAndBound, greedy_fill, heuristic, prune_redundant
from layerscope.plan.recommend_tree import tree_heuristic

__all__ = [
    "EXACT_LIMIT",
    "Candidate",
    "Chosen",
    "NotChosen",
    "Recommendation",
    "recommend",
]

EXACT_LIMIT = 25
ALREADY_BAKED = "already baked"
NO_TIME_SAVED = "no time saved"
ALREADY_CACHED = "its layers are already cached by the chosen images"
DOES_NOT_FIT = "does not fit the budget"


@dataclass(frozen=True, slots=True)
class Chosen:
    """A candidate to bake, and the seconds its own launches save per day."""

    reference: str
    digest: str
    seconds_saved_per_day: float
    weight: float = 0.0  # launches per day the workload gives this image (#17 item 2: once per reference)


@dataclass(frozen=True, slots=True)
class NotChosen:
    """A candidate left out, why, and what its launches still save through layers shared with the chosen ones."""

    reference: str
    digest: str
    reason: str
    seconds_saved_per_day: float = 0.0
    weight: float = 0.0  # launches per day the workload gives this image


@dataclass(frozen=True, slots=True)
class Recommendation:
    """The recommender's answer (report/recommendation.py renders it, JSON included)."""

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
    inst = build_instance(candidates, profile, budget_bytes, params, prebaked_chains, dense_limit=exact_limit)
    t, n = inst.tree, len(inst.candidates)
    bound = min(
        t.root_fractional_bound(),
        tree_bound(inst.candidates, inst.base, inst.savings, inst.per_candidate, t.budget),
    )
    if inst.problem is not None:
        p = inst.problem
        mask, value = heuristic(p, rounds=0)  # a quick incumbent; the search does the rest
        method = "branch-and-bound"
        optimal = value >= bound - p.eps  # the incumbent already reaches the bound: nothing to search
        if not optimal:
            search = BranchAndBound(p, mask, value, max_nodes)
            search.run()
            mask, value, optimal = search.best_mask, search.best_value, search.complete
        mask = greedy_fill(p, prune_redundant(p, mask))
        chosen = {s for s in range(n) if mask >> s & 1}
    else:
        chosen, value = tree_heuristic(t, local_search_rounds, time.monotonic() + local_search_seconds)
        optimal = value >= bound - t.eps  # the answer reaches the bound: proved after all
        method = "greedy+local-search"
        chosen = t.greedy_fill(t.prune(chosen))
    value = t.value(chosen)
    bound = value if optimal else max(bound, value)
    answer = _answer(inst, profile, chosen, value, bound, optimal, method)
    if not inst.left_out:
        return answer
    left_out = inst.left_out
    return replace(
        answer,
        not_chosen=(
            *answer.not_chosen,
            *(NotChosen(c.reference, c.digest, why, weight=c.weight) for c, why in left_out),
        ),
        warnings=(*(f"{c.reference} is left out of the candidates: {why}" for c, why in left_out), *answer.warnings),
    )


def _answer(
    inst: Instance, profile: NodeProfile, picked: set[int], value: float, bound: float, optimal: bool, method: str
) -> Recommendation:
    """The answer for the *picked* groups: who is baked, why the others are not, disk and root volume."""
    t, base = inst.tree, inst.base
    depth = t.held_depth(picked)
    disk = t.disk(picked)
    extras = t.marginal_disks(picked)
    chosen: list[Chosen] = []
    not_chosen: list[NotChosen] = []
    pull_room = 0
    for j, (group, members) in enumerate(zip(inst.candidates, inst.members, strict=True)):
        saving = inst.savings[j][max(depth[j], base[j]) - base[j]]
        if j in picked:
            chosen.extend(Chosen(c.reference, c.digest, c.weight * saving, c.weight) for c in members)
            continue
        pull_room = max(pull_room, extras[j])
        if base[j] == len(group.layers):
            reason = ALREADY_BAKED
        elif t.single_value(j) <= t.eps:
            reason = NO_TIME_SAVED
        elif disk + extras[j] > t.budget:
            reason = DOES_NOT_FIT
        else:
            reason = ALREADY_CACHED  # it fits, so its marginal saving is 0 (the final fill would have added it)
        not_chosen.extend(NotChosen(c.reference, c.digest, reason, c.weight * saving, c.weight) for c in members)
    chosen.sort(key=lambda c: -c.seconds_saved_per_day)
    estimated = any(guessed for items in inst.per_candidate for _, guessed in items.values())
    warnings: list[str] = []
    if estimated:
        warnings.append("some layers have no known extracted size; disk and time use the estimated ratio")
    if profile.os_footprint_bytes is None:
        warnings.append(f"profile {profile.name} gives no OS footprint; the root volume leaves it out")
    return Recommendation(
        profile=profile.name,
        budget_bytes=t.budget,
        optimal=optimal,
        method=method,
        chosen=tuple(chosen),
        not_chosen=tuple(not_chosen),
        disk_bytes=disk,
        root_volume_bytes=root_volume_bytes(profile.os_footprint_bytes, inst.prebaked_disk + disk, pull_room),
        seconds_saved_per_day=value,
        upper_bound_seconds_saved_per_day=max(bound, value),
        estimated=estimated,
        warnings=tuple(warnings),
    )
