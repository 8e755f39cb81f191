"""The recommender's local search (plan/local_search.py): first improving move, bounded rounds, deadline."""

from __future__ import annotations

import math

from layerscope.plan.local_search import first_improvement

VALUES = {0: 1.0, 1: 3.0, 2: 2.0, 3: 5.0, 4: 4.0}


def _moves(x: int) -> list[int]:
    return [y for y in (x + 1, x + 2) if y in VALUES]


def test_each_round_takes_the_first_move_that_improves_and_stops_when_none_does() -> None:
    # 0 → 1 (first better move, though 2 is also better) → 3 (2 is worse than 1) → nothing beats 5.
    assert first_improvement(0, VALUES[0], _moves, VALUES.__getitem__, 0.0, 10, math.inf) == (3, 5.0)


def test_rounds_bound_the_search() -> None:
    assert first_improvement(0, VALUES[0], _moves, VALUES.__getitem__, 0.0, 1, math.inf) == (1, 3.0)


def test_a_gain_within_eps_is_no_improvement() -> None:
    assert first_improvement(1, VALUES[1], _moves, VALUES.__getitem__, 2.5, 10, math.inf) == (1, 3.0)


def test_a_passed_deadline_ends_the_search_after_a_move_that_does_not_improve() -> None:
    worse_first = {0: 2.0, 1: 1.0, 2: 9.0}
    assert first_improvement(0, 2.0, lambda x: [1, 2], worse_first.__getitem__, 0.0, 5, 0.0) == (0, 2.0)
