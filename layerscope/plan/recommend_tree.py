"""The recommender's problem over the chain tree, for fleets: near-linear greedy, pruning, cover and bounds.

Baking a set S holds the union of its candidates' root paths in the tree of chain IDs (plan/chain.py), and
value(S) = Σ_j max_s G[s][j] is additive over held nodes: node v at depth d is worth Σ w_j × (saving_j(d) −
saving_j(d−1)) over the images j through it (plan/recommend.py). Disk is additive over held disk items. So a
candidate's marginal saving is the worth of its path's nodes not yet held, and its marginal disk the size of its
items not yet held; both only shrink as the set grows, and each (node or item, candidate through it) pair is
updated once per greedy run — O(Σ path lengths × log n) instead of the dense matrix's O(n²) per step (issue #17).
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass

from layerscope.plan.local_search import first_improvement

__all__ = ["TreeProblem", "tree_heuristic"]


@dataclass(frozen=True, slots=True)
class TreeProblem:
    """Candidates as paths of chain-tree nodes and sets of disk items (all as small integers)."""

    paths: tuple[tuple[int, ...], ...]  # per candidate: its chain nodes, root first
    node_value: tuple[float, ...]  # seconds/day the node saves once held
    node_members: tuple[tuple[int, ...], ...]  # per node: the candidates through it
    items: tuple[tuple[int, ...], ...]  # per candidate: its disk items
    item_size: tuple[int, ...]
    item_members: tuple[tuple[int, ...], ...]  # per item: the candidates holding it
    budget: int
    eps: float

    @property
    def n(self) -> int:
        """Number of candidates."""
        return len(self.paths)

    def nodes_of(self, chosen: Iterable[int]) -> set[int]:
        """The chain nodes a baked set holds."""
        return {v for s in chosen for v in self.paths[s]}

    def value(self, chosen: Iterable[int]) -> float:
        """Seconds saved per day when *chosen* is baked."""
        return sum(self.node_value[v] for v in self.nodes_of(chosen))

    def disk(self, chosen: Iterable[int]) -> int:
        """Bytes *chosen* adds to the node, shared items once."""
        return sum(self.item_size[i] for i in {i for s in chosen for i in self.items[s]})

    def single_value(self, s: int) -> float:
        """Seconds saved per day when *s* alone is baked."""
        return sum(self.node_value[v] for v in self.paths[s])

    def marginal_disk(self, chosen: Collection[int], s: int) -> int:
        """Bytes *s* adds to *chosen*."""
        held = {i for c in chosen for i in self.items[c]}
        return sum(self.item_size[i] for i in self.items[s] if i not in held)

    def marginal_disks(self, chosen: Collection[int]) -> list[int]:
        """Per candidate, the bytes it adds to *chosen*."""
        held = {i for c in chosen for i in self.items[c]}
        return [sum(self.item_size[i] for i in items if i not in held) for items in self.items]

    def held_depth(self, chosen: Iterable[int]) -> list[int]:
        """Per candidate, how many of its path's nodes *chosen* holds (a prefix: held nodes form a rooted set)."""
        held = self.nodes_of(chosen)
        out = []
        for path in self.paths:
            k = 0
            while k < len(path) and path[k] in held:
                k += 1
            out.append(k)
        return out

    def greedy_fill(self, start: Collection[int] = (), banned: Collection[int] = ()) -> set[int]:
        """Add the candidate with the best marginal saving per marginal byte until nothing fits or helps."""
        chosen = set(start)
        held_nodes = self.nodes_of(chosen)
        held_items = {i for s in chosen for i in self.items[s]}
        disk = sum(self.item_size[i] for i in held_items)
        gain = [sum(self.node_value[v] for v in path if v not in held_nodes) for path in self.paths]
        extra = [sum(self.item_size[i] for i in items if i not in held_items) for items in self.items]
        version = [0] * self.n
        out = set(chosen) | set(banned)
        heap: list[tuple[float, float, int, int]] = []

        def push(s: int) -> None:
            if s not in out and gain[s] > self.eps and disk + extra[s] <= self.budget:
                ratio = gain[s] / extra[s] if extra[s] else math.inf
                heapq.heappush(heap, (-ratio, -gain[s], s, version[s]))

        for s in range(self.n):
            push(s)
        while heap:
            _, _, s, ver = heapq.heappop(heap)
            if s in out or ver != version[s]:
                continue  # taken, or a fresher entry is in the heap
            if disk + extra[s] > self.budget:
                out.add(s)  # disk(S ∪ {s}) only grows with S: it never fits again
                continue
            chosen.add(s)
            out.add(s)
            disk += extra[s]
            touched: set[int] = set()
            for v in self.paths[s]:
                if v not in held_nodes:
                    held_nodes.add(v)
                    for t in self.node_members[v]:
                        gain[t] -= self.node_value[v]
                        touched.add(t)
            for i in self.items[s]:
                if i not in held_items:
                    held_items.add(i)
                    for t in self.item_members[i]:
                        extra[t] -= self.item_size[i]
                        touched.add(t)
            for t in touched:
                version[t] += 1
                push(t)
        return chosen

    def prune(self, chosen: Collection[int]) -> set[int]:
        """Drop chosen candidates whose removal saves nothing less (ties go to the smaller disk)."""
        count: dict[int, int] = {}
        for s in chosen:
            for v in self.paths[s]:
                count[v] = count.get(v, 0) + 1
        kept = set(chosen)
        lost = 0.0
        for s in sorted(chosen):
            loss = sum(self.node_value[v] for v in self.paths[s] if count[v] == 1)
            if lost + loss <= self.eps:
                lost += loss
                kept.discard(s)
                for v in self.paths[s]:
                    count[v] -= 1
        return kept

    def repair(self, chosen: Collection[int]) -> set[int]:
        """Drop the chosen candidate that loses the least saving per byte freed until the set fits."""
        kept = set(chosen)
        while self.disk(kept) > self.budget:
            nodes: dict[int, int] = {}
            items: dict[int, int] = {}
            for s in kept:
                for v in self.paths[s]:
                    nodes[v] = nodes.get(v, 0) + 1
                for i in self.items[s]:
                    items[i] = items.get(i, 0) + 1

            kept.discard(min(self._drop_cost(s, nodes, items) for s in kept)[1])
        return kept

    def _drop_cost(self, s: int, nodes: dict[int, int], items: dict[int, int]) -> tuple[float, int]:
        """Saving lost per byte freed when *s* leaves a set holding each node/item that many times."""
        loss = sum(self.node_value[v] for v in self.paths[s] if nodes[v] == 1)
        freed = sum(self.item_size[i] for i in self.items[s] if items[i] == 1)
        return loss / max(freed, 1), s

    def root_fractional_bound(self) -> float:
        """Fractional knapsack over all candidates that fit alone: whole savings, disk charged evenly to holders."""
        live = [s for s in range(self.n) if sum(self.item_size[i] for i in self.items[s]) <= self.budget]
        live_set = set(live)
        holders = [sum(1 for t in members if t in live_set) for members in self.item_members]
        free = 0.0
        entries: list[tuple[float, float]] = []
        for s in live:
            g = self.single_value(s)
            cost = sum(self.item_size[i] / holders[i] for i in self.items[s])
            if cost <= 0:
                free += g
            else:
                entries.append((g, cost))
        entries.sort(key=lambda e: e[0] / e[1], reverse=True)
        total, room = free, float(self.budget)
        for g, cost in entries:
            if cost <= room:
                total, room = total + g, room - cost
            else:
                return total + g * room / cost
        return total


def tree_heuristic(p: TreeProblem, rounds: int, deadline: float = math.inf) -> tuple[set[int], float]:
    """Greedy and greedy from each better single candidate, then up to *rounds* rounds of local search.

    Every step after the first greedy run stops at *deadline* (time.monotonic()): a move is a greedy refill,
    near-linear, but there are up to n moves a round, so a fleet of thousands is bounded in time, not rounds.
    """
    best = p.greedy_fill()
    best_value = p.value(best)
    singles = sorted(range(p.n), key=lambda s: -p.single_value(s))
    for s in singles:
        if p.single_value(s) <= best_value + p.eps or time.monotonic() > deadline:
            break
        if p.marginal_disk((), s) <= p.budget:
            mask = p.greedy_fill({s})
            if (v := p.value(mask)) > best_value + p.eps:
                best, best_value = mask, v

    def moves(current: set[int]) -> Iterator[set[int]]:
        """Drop one chosen and refill without it; or add one, repair the budget and refill."""
        return itertools.chain(
            (p.greedy_fill(current - {s}, banned={s}) for s in sorted(current)),
            (p.greedy_fill(p.repair(current | {s})) for s in range(p.n) if s not in current),
        )

    return first_improvement(best, best_value, moves, p.value, p.eps, rounds, deadline)


def build_tree(
    chains: Sequence[Sequence[str]],
    node_inc: Sequence[Sequence[float]],
    item_keys: Sequence[Iterable[tuple[str, int]]],
    budget: int,
    eps: float,
) -> TreeProblem:
    """The tree problem from each candidate's chain IDs, its per-layer worth increments and its (key, bytes) items."""
    node_ids: dict[str, int] = {}
    values: list[float] = []
    members: list[list[int]] = []
    paths = []
    for s, (chain, inc) in enumerate(zip(chains, node_inc, strict=True)):
        path = []
        for c, worth in zip(chain, inc, strict=True):
            v = node_ids.setdefault(c, len(node_ids))
            if v == len(values):
                values.append(0.0)
                members.append([])
            values[v] += worth
            members[v].append(s)
            path.append(v)
        paths.append(tuple(path))
    item_ids: dict[str, int] = {}
    sizes: list[int] = []
    holders: list[list[int]] = []
    items = []
    for s, keys in enumerate(item_keys):
        own = []
        for key, size in keys:
            i = item_ids.setdefault(key, len(item_ids))
            if i == len(sizes):
                sizes.append(size)
                holders.append([])
            holders[i].append(s)
            own.append(i)
        items.append(tuple(own))
    return TreeProblem(
        paths=tuple(paths),
        node_value=tuple(values),
        node_members=tuple(tuple(m) for m in members),
        items=tuple(items),
        item_size=tuple(sizes),
        item_members=tuple(tuple(h) for h in holders),
        budget=budget,
        eps=eps,
    )
