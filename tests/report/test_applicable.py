"""Indexes in the report (issue #17 item 2): the node runs one platform, the weight counts once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from layerscope.oci import Platform
from layerscope.plan.launch import LaunchParameters
from layerscope.plan.planned import PlannedImage
from layerscope.plan.profile_files import load_profile
from layerscope.report.model import build_report
from tests.report.helpers import WINDOWS, digest, image, layer_spec

PROFILE = load_profile("eks-ws2019-core")  # a WS2019 (10.0.17763) node
PARAMS = LaunchParameters.from_profile(PROFILE)
WS2022 = Platform("windows", "amd64", os_version="10.0.20348.1006")
LINUX = Platform("linux", "amd64")


def _platform_image(ref: str, platform: Platform, name: str, mb: int) -> PlannedImage:
    planned = image(ref, [layer_spec(f"{name}-base", 900 * 10**6, 2 * 10**9), layer_spec(name, mb * 10**6, None)])
    planned = replace(planned, image=replace(planned.image, platform=platform, digest=digest("m-" + name)))
    return replace(planned, cached=(False, False))


def _fleet() -> list[PlannedImage]:
    return [
        # An index of three platforms under one reference, 40 launches a day...
        _platform_image("reg.example/app:1", WINDOWS, "app-2019", 100),
        _platform_image("reg.example/app:1", WS2022, "app-2022", 200),
        _platform_image("reg.example/app:1", LINUX, "app-linux", 30),
        # ...a single-platform Windows image and a Linux one the WS2019 node cannot run.
        _platform_image("reg.example/tool:2", WINDOWS, "tool", 50),
        _platform_image("reg.example/lin:3", LINUX, "lin", 20),
    ]


WEIGHTS = {"reg.example/app:1": 40.0, "reg.example/tool:2": 3.0, "reg.example/lin:3": 5.0}


def test_with_a_profile_an_index_counts_the_platform_the_node_runs_once() -> None:
    images = _fleet()
    report = build_report(images, profile=PROFILE, launch=PARAMS, launch_profile=PROFILE.name, weights=WEIGHTS)
    got = [(r.weight, r.applicable) for r in report.images]
    assert got == [(40.0, True), (0.0, False), (0.0, False), (3.0, True), (5.0, False)]
    assert sum(r.weight for r in report.images) == sum(WEIGHTS.values())
    assert all(r.not_applicable for r in report.images if not r.applicable)
    # Fleet sums: the two images the node launches, computed here from the layer sizes given above.
    f = report.fleet
    assert f.pull_without_bake_bytes == (900 + 100) * 10**6 + (900 + 50) * 10**6
    assert f.node_cache.layers == 4
    runs = [r for r in report.images if r.applicable]
    assert f.launch_seconds_per_day_without_bake == pytest.approx(
        sum(r.weight * r.launch.without_bake_seconds for r in runs if r.launch is not None)
    )
    assert f.registry.layers == 10  # the registry stores every platform
    rec = f.recommendation
    assert rec is not None
    assert {c.reference for c in rec.chosen} <= {
        "reg.example/app:1 [windows/amd64:10.0.17763.3406]",
        "reg.example/tool:2",
    }


def test_without_a_profile_weights_are_never_multiplied_by_platforms() -> None:
    report = build_report(_fleet(), launch=PARAMS, launch_profile=PROFILE.name, weights=WEIGHTS)
    assert [r.weight for r in report.images] == [40.0, 0.0, 0.0, 3.0, 5.0]
    assert all(r.applicable for r in report.images)  # per-platform figures all shown
    assert report.fleet.pull_without_bake_bytes == sum(r.pull_without_bake_bytes for r in report.images)
