"""The fit on synthetic pulls (issue #16): recovery, robustness to outliers, never inventing a parameter."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from layerscope.calibrate.fit import fit_launch
from layerscope.plan.launch import LaunchParameters, PlanLayer, estimate_launch
from layerscope.plan.profile_files import load_profile

pytest.importorskip("scipy")

BASE = LaunchParameters.from_profile(load_profile("eks-ws2019-core"))
TRUE = replace(BASE, network_bytes_per_second=30e6, extraction_bytes_per_second=11e6)


def _pulls(rng: random.Random, n: int) -> list[tuple[PlanLayer, ...]]:
    out = []
    for i in range(n):
        layers = []
        for j in range(rng.randint(1, 5)):
            compressed = rng.randint(5_000_000, 900_000_000)
            layers.append(PlanLayer(f"d{i}-{j}", f"c{i}-{j}", compressed, int(compressed * rng.uniform(1.0, 3.5))))
        out.append(tuple(layers))
    return out


def _observe(pulls: list[tuple[PlanLayer, ...]], keys: list[int], rng: random.Random) -> list[float]:
    return [estimate_launch(pulls[k], TRUE).total_seconds * (1 + rng.gauss(0, 0.05)) for k in keys]


def test_recovers_both_throughputs_and_predicts_held_out_pulls() -> None:
    rng = random.Random(7)
    pulls = _pulls(rng, 30)
    keys = [rng.randrange(30) for _ in range(300)]
    result = fit_launch(pulls, keys, _observe(pulls, keys, rng), BASE)
    assert result.parameters["extraction_throughput"] == pytest.approx(11e6, rel=0.05)
    assert result.parameters["network_throughput"] == pytest.approx(30e6, rel=0.15)
    lo, hi = result.intervals["network_throughput"]
    assert lo < 30e6 < hi
    assert result.cv_mape is not None and result.cv_mape < 0.10 and result.folds == 5


def test_outliers_do_not_drag_the_robust_fit() -> None:
    rng = random.Random(8)
    pulls = _pulls(rng, 30)
    keys = [rng.randrange(30) for _ in range(300)]
    observed = _observe(pulls, keys, rng)
    observed = [o * 4 if i % 10 == 0 else o for i, o in enumerate(observed)]  # a tenth waited on something else
    result = fit_launch(pulls, keys, observed, BASE)
    assert result.parameters["extraction_throughput"] == pytest.approx(11e6, rel=0.10)


def test_one_kind_of_pull_cannot_separate_network_from_extraction() -> None:
    rng = random.Random(9)
    pulls = _pulls(rng, 1)
    keys = [0] * 40
    result = fit_launch(pulls, keys, _observe(pulls, keys, rng), BASE)
    assert len(result.intervals) <= 1
    assert "network_throughput" in result.kept or "extraction_throughput" in result.kept
    for name in result.kept:
        assert result.parameters[name] == pytest.approx(
            getattr(
                BASE,
                {
                    "network_throughput": "network_bytes_per_second",
                    "extraction_throughput": "extraction_bytes_per_second",
                    "registry_latency": "registry_latency_seconds",
                }[name],
            )
        )


def test_too_few_events_fit_nothing() -> None:
    rng = random.Random(10)
    pulls = _pulls(rng, 4)
    keys = [0, 1, 2, 3]
    result = fit_launch(pulls, keys, _observe(pulls, keys, rng), BASE)
    assert result.intervals == {} and set(result.kept) == {
        "network_throughput",
        "extraction_throughput",
        "registry_latency",
    }
    assert all("only 4 usable events" in why for why in result.kept.values())
