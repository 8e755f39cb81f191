"""The report model: per-image splits and launches, dedup by digest and by chain, node disk, sharing, weights."""

from __future__ import annotations

import pytest

from layerscope.basematch import BaseDrift
from layerscope.oci import Platform
from layerscope.plan.disk import disk_usage
from layerscope.plan.launch import LaunchParameters, compare_launch, plan_layers
from layerscope.plan.profile_files import load_profile
from layerscope.report.model import SCHEMA, build_report
from tests.report.helpers import image, layer_spec

B0 = layer_spec("base0", 1_800_000_000, 4_000_000_000, base=True, foreign=True)
B1_SEP = layer_spec("base1-sep", 800_000_000, 1_700_000_000, base=True, foreign=True)
B1_MAY = layer_spec("base1-may", 620_000_000, 1_400_000_000, base=True, foreign=True)
RUNTIME = layer_spec("runtime", 60_000_000, 150_000_000)
DRIFT = BaseDrift("10.0.17763.3406", "2022-09", "10.0.17763.2928", "2022-05", 620_000_000, "servercore:sep")

WEB = image(
    "reg/web:2", [B0, B1_SEP, RUNTIME, layer_spec("web", 30_000_000, 70_000_000)], cached=[True, True, False, False]
)
API = image(
    "reg/api:1", [B0, B1_SEP, RUNTIME, layer_spec("api", 20_000_000, 50_000_000)], cached=[True, True, False, False]
)
OLD = image(
    "reg/old:1",
    [B0, B1_MAY, RUNTIME, layer_spec("old", 10_000_000, 20_000_000)],
    cached=[True, False, False, False],
    drift=DRIFT,
    warnings=("something the analysis said",),
)
LINUX = image(
    "reg/tool:1",
    [layer_spec("l0", 3_000_000, 8_000_000), layer_spec("l1", 1_000_000, None)],
    cached=[False, False],
    platform=Platform("linux", "amd64"),
)
IMAGES = [WEB, API, OLD, LINUX]
PROFILE = load_profile("eks-ws2019-core")
PARAMS = LaunchParameters.from_profile(PROFILE)


def test_per_image_figures() -> None:
    report = build_report(IMAGES, launch=PARAMS, launch_profile=PROFILE.name)
    assert report.schema == SCHEMA and report.profile is None and report.launch_profile == "eks-ws2019-core"
    web, _api, old, linux = report.images
    assert web.totals == WEB.totals  # the very totals `analyze` renders
    assert (web.split.cached_bytes, web.split.base_pull_bytes, web.split.app_pull_bytes) == (
        2_600_000_000,
        0,
        90_000_000,
    )
    assert (old.split.cached_bytes, old.split.base_pull_bytes, old.split.app_pull_bytes) == (
        1_800_000_000,
        620_000_000,
        70_000_000,
    )
    for r in report.images:
        s = r.split
        assert s.cached_bytes + s.base_pull_bytes + s.app_pull_bytes == r.totals.compressed_bytes
        assert r.pull_with_bake_bytes == r.totals.pull_compressed_bytes
        assert r.pull_without_bake_bytes == r.totals.compressed_bytes
    cmp = compare_launch(plan_layers(OLD), PARAMS)
    assert old.launch is not None
    assert old.launch.with_bake_seconds == cmp.with_baking.total_seconds
    assert old.launch.without_bake_seconds == cmp.without_baking.total_seconds
    assert old.launch.seconds_saved > 0
    assert old.drift is not None and old.drift.bytes_to_pull == 620_000_000
    assert old.warnings[0].startswith("drift: base 10.0.17763.2928 (2022-05) differs from the baked 10.0.17763.3406")
    assert "something the analysis said" in old.warnings
    assert old.base is not None and old.base.channel == "ltsc2019"
    assert linux.base is None and linux.totals.extracted_bytes is None
    # shared_by: base0 is in the three Windows images; the runtime blob sits on two chains (sep: 2 images).
    assert [layer.shared_by for layer in web.layers] == [3, 2, 2, 1]
    assert [layer.shared_by for layer in old.layers] == [3, 1, 1, 1]


def test_fleet_dedup_by_digest_and_by_chain() -> None:
    f = build_report(IMAGES).fleet
    assert f.images == 4
    assert f.compressed_bytes == sum(i.totals.compressed_bytes for i in IMAGES)
    # Registry: one copy per blob — base0, both updates, the runtime, 3 apps, 2 linux layers.
    assert f.registry.layers == 9
    assert (
        f.registry.compressed_bytes == 1_800_000_000 + 800_000_000 + 620_000_000 + 60_000_000 + 60_000_000 + 4_000_000
    )
    assert f.registry.foreign_compressed_bytes == 1_800_000_000 + 800_000_000 + 620_000_000
    assert f.registry.extracted_bytes is None  # l1's extracted size is unknown
    # Node cache: the runtime on the May base is another chain, so it counts twice.
    assert f.node_cache.layers == 10
    assert f.node_cache.compressed_bytes == f.registry.compressed_bytes + 60_000_000
    assert not f.registry.exact  # the foreign layers' extracted sizes are estimates
    assert f.pull_with_bake_bytes == sum(i.totals.pull_compressed_bytes for i in IMAGES)
    assert f.pull_without_bake_bytes == f.compressed_bytes


def test_node_disk_per_runtime() -> None:
    f = build_report(IMAGES, launch=PARAMS).fleet
    assert [d.label for d in f.node_disk] == ["containerd", "containerd+discard", "docker"]
    plans = [plan_layers(i) for i in IMAGES]
    for disk in f.node_disk:
        usage = disk_usage(
            plans,
            runtime=disk.runtime,
            discard_unpacked_layers=disk.discard_unpacked_layers,
            extraction_ratio=PARAMS.extraction_ratio,
        )
        assert (disk.snapshot_bytes, disk.blob_bytes, disk.layers, disk.estimated) == (
            usage.snapshot_bytes,
            usage.blob_bytes,
            usage.layers,
            usage.estimated,
        )
        assert disk.total_bytes == usage.total_bytes
    containerd, discard, docker = f.node_disk
    assert containerd.blob_bytes == f.registry.compressed_bytes and discard.blob_bytes == docker.blob_bytes == 0
    assert docker.layers == f.node_cache.layers


def test_shared_layers_most_images_first() -> None:
    shared = build_report(IMAGES).fleet.shared_layers
    assert [(s.images, s.compressed_bytes) for s in shared] == [(3, 1_800_000_000), (2, 800_000_000), (2, 60_000_000)]
    assert shared[0].references == ("reg/web:2", "reg/api:1", "reg/old:1") and shared[0].base
    assert not shared[2].base
    assert len(build_report(IMAGES, top_shared=1).fleet.shared_layers) == 1
    assert build_report([WEB]).fleet.shared_layers == ()


def test_weights_and_launch_per_day() -> None:
    weights = {"reg/web:2": 40.0, "reg/old:1": 2.5}
    report = build_report(IMAGES, launch=PARAMS, weights=weights)
    assert [i.weight for i in report.images] == [40.0, 1.0, 2.5, 1.0]
    f = report.fleet
    expected_with = sum(i.weight * i.launch.with_bake_seconds for i in report.images if i.launch)
    assert f.launch_seconds_per_day_with_bake == pytest.approx(expected_with)
    assert f.launch_seconds_per_day_without_bake is not None
    assert f.launch_seconds_per_day_without_bake > f.launch_seconds_per_day_with_bake  # type: ignore[operator]
    plain = build_report(IMAGES)
    assert plain.launch_profile is None and all(i.launch is None for i in plain.images)
    assert plain.fleet.launch_seconds_per_day_with_bake is None


def test_recommendation_only_with_a_profile() -> None:
    assert build_report(IMAGES, launch=PARAMS).fleet.recommendation is None
    report = build_report(IMAGES, profile=PROFILE, launch=PARAMS, weights={"reg/web:2": 40.0})
    rec = report.fleet.recommendation
    assert rec is not None and report.profile == "eks-ws2019-core"
    assert rec.optimal and rec.root_volume_bytes % 2**30 == 0
    assert "reg/web:2" in {c.reference for c in rec.chosen}
    assert {c.reference for c in rec.chosen} | {n.reference for n in rec.not_chosen} == {i.reference for i in IMAGES}
    tight = build_report(IMAGES, profile=PROFILE, launch=PARAMS, budget_bytes=0).fleet.recommendation
    assert tight is not None and tight.chosen == () and tight.budget_bytes == 0


def test_several_platforms_of_one_reference_get_names() -> None:
    a = image("reg/multi:1", [layer_spec("m0", 10, 20)], platform=Platform("linux", "amd64"))
    b = image("reg/multi:1", [layer_spec("m1", 10, 20)], platform=Platform("linux", "arm64", "v8"))
    report = build_report([a, b, WEB], profile=PROFILE, launch=PARAMS)
    assert [i.name for i in report.images] == [
        "reg/multi:1 [linux/amd64]",
        "reg/multi:1 [linux/arm64/v8]",
        "reg/web:2",
    ]
    rec = report.fleet.recommendation
    assert rec is not None
    names = {c.reference for c in rec.chosen} | {n.reference for n in rec.not_chosen}
    assert names == {i.name for i in report.images}
