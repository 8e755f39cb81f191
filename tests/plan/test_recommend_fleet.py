"""Recommender at fleet scale (issue #17): groups of identical candidates, the chain-tree form, 1,000 images."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from layerscope.plan import load_profile
from layerscope.plan.launch import LaunchParameters
from layerscope.plan.recommend import EXACT_LIMIT, recommend
from layerscope.plan.recommend_problem import build_instance
from layerscope.plan.recommend_search import greedy_fill, prune_redundant
from layerscope.plan.recommend_tree import TreeProblem
from scripts.planner_fleet import fleet_candidates
from tests.plan.test_recommend import _d, random_instance


def _dense_and_tree(seed: int, n: int) -> tuple[object, TreeProblem]:
    rng = random.Random(seed)
    candidates, prebaked = random_instance(rng, n)
    profile = load_profile("eks-ws2019-core")
    inst = build_instance(
        candidates, profile, rng.randint(2, 20) * 10**9, LaunchParameters.from_profile(profile), prebaked, 10**6
    )
    assert inst.problem is not None
    return inst.problem, inst.tree


@pytest.mark.parametrize("seed", range(6))
def test_tree_form_equals_the_dense_matrix(seed: int) -> None:
    p, t = _dense_and_tree(seed, 14)
    rng = random.Random(seed)
    for _ in range(40):
        chosen = {s for s in range(t.n) if rng.random() < 0.3}
        mask = sum(1 << s for s in chosen)
        assert t.value(chosen) == pytest.approx(p.value(mask), rel=1e-9, abs=1e-9)  # type: ignore[attr-defined]
        assert t.disk(chosen) == p.disk(mask)  # type: ignore[attr-defined]
        for s in range(t.n):
            assert t.marginal_disk(chosen, s) == p.marginal_disk(mask, s)  # type: ignore[attr-defined]
    # The near-linear greedy and pruning pick what the dense ones pick.
    for start in (set(), {0}, {1, 2}):
        mask = greedy_fill(p, sum(1 << s for s in start))  # type: ignore[arg-type]
        assert t.greedy_fill(start) == {s for s in range(t.n) if mask >> s & 1}
    full = (1 << t.n) - 1
    assert t.prune(set(range(t.n))) == {s for s in range(t.n) if prune_redundant(p, full) >> s & 1}  # type: ignore[arg-type]


def test_identical_candidates_are_one_group_for_the_exact_limit() -> None:
    rng = random.Random(3)
    distinct, prebaked = random_instance(rng, 10)
    # 40 references: each of the ten images under four references (tags and index entries of the same layers).
    many = [
        replace(c, reference=f"{c.reference}-{k}", digest=_d(f"{k}{c.reference}")) for k in range(4) for c in distinct
    ]
    assert len(many) > EXACT_LIMIT
    profile = load_profile("eks-ws2019-core")
    rec = recommend(many, profile, budget_bytes=9 * 10**9, prebaked_chains=prebaked)
    assert rec.method == "branch-and-bound" and rec.optimal
    one = recommend(distinct, profile, budget_bytes=9 * 10**9, prebaked_chains=prebaked)
    assert rec.seconds_saved_per_day == pytest.approx(4 * one.seconds_saved_per_day)
    assert rec.disk_bytes == one.disk_bytes
    assert len(rec.chosen) == 4 * len(one.chosen)
    assert len(rec.chosen) + len(rec.not_chosen) == len(many)


def test_a_1000_image_fleet_is_planned_with_a_bound() -> None:
    candidates = fleet_candidates(1000)
    profile = load_profile("eks-ws2019-core")
    rec = recommend(candidates, profile, local_search_seconds=1.0)
    assert rec.method == "greedy+local-search"
    assert rec.seconds_saved_per_day <= rec.upper_bound_seconds_saved_per_day
    assert rec.seconds_saved_per_day >= 0.95 * rec.upper_bound_seconds_saved_per_day
    assert rec.disk_bytes <= rec.budget_bytes
    assert len(rec.chosen) + len(rec.not_chosen) == len(candidates)
    # Only what a WS2019 node runs is chosen: the LTSC 2022 and Linux platforms are left out, with the reason.
    chosen = {c.digest for c in rec.chosen}
    runs = {c.digest for c in candidates if c.platform is not None and c.platform.os_version == "10.0.17763.3406"}
    assert chosen <= runs
    left = [c for c in rec.not_chosen if c.digest not in runs]
    assert left and all(c.reason.startswith("cannot run on this node") for c in left)


def test_the_greedy_touches_each_node_member_once() -> None:
    # Near-linear: one greedy run updates each (node, candidate through it) and (item, holder) pair at most once,
    # so the heap sees at most n + those pairs entries (the dense greedy evaluated n candidates per step).
    t = build_instance(
        fleet_candidates(600),
        load_profile("eks-ws2019-core"),
        None,
        LaunchParameters.from_profile(load_profile("eks-ws2019-core")),
        (),
    ).tree
    pushes = 0
    import heapq

    real = heapq.heappush

    def counting(heap: list[object], item: object) -> None:
        nonlocal pushes
        pushes += 1
        real(heap, item)  # type: ignore[misc]

    heapq.heappush = counting  # type: ignore[assignment]
    try:
        t.greedy_fill()
    finally:
        heapq.heappush = real
    pairs = sum(len(m) for m in t.node_members) + sum(len(m) for m in t.item_members)
    assert pushes <= t.n + pairs
    assert isinstance(t, TreeProblem)
