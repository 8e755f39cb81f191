"""How the recommender searches: exact branch and bound, and greedy fill with local search beyond its limit."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator

from layerscope.plan.local_search import first_improvement
from layerscope.plan.recommend_bounds import fractional_bound
from layerscope.plan.recommend_problem import Problem

__all__ = ["BranchAndBound", "greedy_fill", "heuristic", "prune_redundant"]


class BranchAndBound:
    """Depth-first branch and bound over include/exclude decisions (see plan/recommend.py)."""

    def __init__(self, p: Problem, best_mask: int, best_value: float, max_nodes: int) -> None:
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
        if value + fractional_bound(p, mask, cover, disk, rest_live) <= self.best_value + p.eps:
            return
        g, extra, pick = max(live, key=lambda e: (e[0] / max(e[1], 1), e[0]))
        others = [s for s in rest_live if s != pick]
        new_cover = [max(a, b) for a, b in zip(cover, p.gains[pick], strict=True)]
        self.node(mask | 1 << pick, new_cover, value + g, disk + extra, others)
        self.node(mask, cover, value, disk, others)


def greedy_fill(p: Problem, mask: int, banned: int = 0) -> int:
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


def _repair(p: Problem, mask: int) -> int:
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


def heuristic(p: Problem, rounds: int, deadline: float = math.inf) -> tuple[int, float]:
    """Greedy and greedy from each better single candidate, then up to *rounds* rounds of local search.

    Local search stops early at *deadline* (time.monotonic()): each move is a greedy refill, quadratic in the
    number of candidates, so a fleet of hundreds of images is bounded in time rather than in rounds.
    """
    best = greedy_fill(p, 0)
    best_value = p.value(best)
    for s in range(p.n):
        if p.marginal_disk(0, s) <= p.budget and p.value(1 << s) > best_value + p.eps:
            mask = greedy_fill(p, 1 << s)
            if p.value(mask) > best_value + p.eps:
                best, best_value = mask, p.value(mask)

    def moves(current: int) -> Iterator[int]:
        """Drop one chosen and refill without it; or add one, repair the budget and refill."""
        return itertools.chain(
            (greedy_fill(p, current & ~(1 << s), banned=1 << s) for s in range(p.n) if current >> s & 1),
            (greedy_fill(p, _repair(p, current | 1 << s)) for s in range(p.n) if not current >> s & 1),
        )

    return first_improvement(best, best_value, moves, p.value, p.eps, rounds, deadline)


def prune_redundant(p: Problem, mask: int) -> int:
    """Drop chosen candidates whose removal saves nothing less (ties go to the smaller disk)."""
    value = p.value(mask)
    for s in range(p.n):
        if mask >> s & 1 and p.value(mask & ~(1 << s)) >= value - p.eps:
            mask &= ~(1 << s)
    return mask
