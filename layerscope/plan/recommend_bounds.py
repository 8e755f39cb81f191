"""Upper bounds on what baking can still save: the fractional knapsack and the chain-tree Lagrangian bound."""

from __future__ import annotations

import math
from collections.abc import Sequence

from layerscope.plan.recommend_problem import Candidate, Problem

__all__ = ["fractional_bound", "tree_bound"]


def fractional_bound(p: Problem, mask: int, cover: Sequence[float], disk: int, rest: Sequence[int]) -> float:
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


def tree_bound(
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
    for _ in range(50):  # (2/3)^50 of the range: every evaluated λ is a valid bound, more only tightens it
        a, b = lo + (hi - lo) / 3, hi - (hi - lo) / 3
        la, lb = lagrangian(a), lagrangian(b)
        bound = min(bound, la, lb)
        if la <= lb:
            hi = b
        else:
            lo = a
    return bound
