"""First-improvement local search, shared by the recommender's two problem forms (recommend_search.py, _tree.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["first_improvement"]

#: A set of chosen candidates: a bit mask (recommend_search.py) or a set of indexes (recommend_tree.py).
S = TypeVar("S")


def first_improvement(
    best: S,
    best_value: float,
    moves: Callable[[S], Iterable[S]],
    value: Callable[[S], float],
    eps: float,
    rounds: int,
    deadline: float,
) -> tuple[S, float]:
    """Up to *rounds* rounds of local search from *best*: each takes the first move worth more than *eps* above
    the best so far; it ends when a round finds none, or at *deadline* (time.monotonic()), between moves."""
    for _ in range(rounds):
        better = None
        for m in moves(best):
            if (v := value(m)) > best_value + eps:
                better = (m, v)
                break
            if time.monotonic() > deadline:
                return best, best_value
        if better is None:
            break
        best, best_value = better
    return best, best_value
