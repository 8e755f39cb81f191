"""A generated fleet of N Windows app images as the planner sees them (candidates), for `make bench` and tests.

Images come in repositories of up to eight tags over two Server Core bases (LTSC 2019 and 2022) and a Linux
one, most through one of a few shared runtime layers, each with one or two own app layers; one in forty is a
multi-platform index (2019 and 2022 platforms). Deterministic for a given seed; imports only the planner's types.

    fleet_candidates(n, seed=...)   the candidates, one per platform image (index platforms share the reference)
"""

from __future__ import annotations

import hashlib
import random

from layerscope.oci import Platform
from layerscope.plan.launch import PlanLayer
from layerscope.plan.recommend import Candidate

__all__ = ["fleet_candidates"]

_MB = 10**6
_BASES = {
    "2019": (Platform("windows", "amd64", os_version="10.0.17763.3406"), (1_900, 700)),
    "2022": (Platform("windows", "amd64", os_version="10.0.20348.1006"), (1_600, 500)),
    "linux": (Platform("linux", "amd64"), (30,)),
}


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _chain(parent: str | None, diff: str) -> str:
    return diff if parent is None else _digest(f"{parent} {diff}")


def _layers(spec: list[tuple[str, int, int | None]]) -> tuple[PlanLayer, ...]:
    out: list[PlanLayer] = []
    chain: str | None = None
    for key, size, extracted in spec:
        chain = _chain(chain, _digest("diff:" + key))
        out.append(PlanLayer(_digest("blob:" + key), chain, size, extracted))
    return tuple(out)


def fleet_candidates(n: int, seed: str = "fleet") -> list[Candidate]:
    """*n* platform images (see the module docstring); weights are launches per day."""
    rng = random.Random(seed)
    out: list[Candidate] = []
    repo = 0
    while len(out) < n:
        repo += 1
        base = rng.choices(["2019", "2022", "linux"], weights=[6, 3, 1])[0]
        runtime = rng.randrange(4) if rng.random() < 0.8 else None
        weight = rng.choice([1.0, 2.0, 5.0, 10.0, 40.0])
        for tag in range(rng.randint(1, 8)):
            if len(out) >= n:
                break
            ref = f"registry.example/team{repo % 37}/app{repo}:1.{tag}"
            index = base != "linux" and rng.random() < 1 / 40
            for os_key in ["2019", "2022"] if index else [base]:
                platform, base_mb = _BASES[os_key]
                spec: list[tuple[str, int, int | None]] = [
                    (f"base-{os_key}-{k}", mb * _MB, mb * 2 * _MB) for k, mb in enumerate(base_mb)
                ]
                if runtime is not None:
                    spec.append((f"runtime-{runtime}", 150 * _MB, 400 * _MB))
                for k in range(rng.randint(1, 2)):
                    mb = rng.randint(5, 300)
                    spec.append((f"app{repo}-{tag}-{k}", mb * _MB, None if rng.random() < 0.1 else mb * 3 * _MB))
                digest = _digest(f"image:{ref}:{os_key}")
                out.append(Candidate(ref, digest, weight, _layers(spec), platform))
    return out
