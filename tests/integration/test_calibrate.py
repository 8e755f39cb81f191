"""`calibrate` end to end (issue #16): pull events generated from the launch model with known parameters plus
noise, for images pushed to the test registry, with distractors; the fit must recover the parameters.

Ground truth for sizes comes from scripts/fixturegen.py (the blob's length, its declared extracted bytes), not
from layerscope's analysis; the pull times come from the launch model itself (`estimate_launch`) with the true
parameters, times 1 + N(0, 5%) noise.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from layerscope.plan.launch import LaunchParameters, PlanLayer, estimate_launch
from layerscope.plan.profile_files import load_profile
from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import push, simple_image
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess, free_port

OS_VERSION = "10.0.17763.2928"
TRUE_NETWORK = 1_500_000.0  # bytes/s
TRUE_EXTRACTION = 800_000.0
NOISE = 0.05


def _image(layers: list[fixturegen.Layer]) -> fixturegen.Image:
    return simple_image(layers, os_name="windows", os_version=OS_VERSION, docker=True)


@pytest.fixture(scope="module")
def fleet(registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A baked base image, eight app images on it (mixed compressibility), a Linux image; profile and truth."""
    base_layers = [fixturegen.big_layer(1.0, seed="calib-base", compressible_fraction=0.5, windows=True)]
    apps: dict[str, list[fixturegen.Layer]] = {}
    rng = random.Random(16)
    for i in range(8):
        own = [
            fixturegen.big_layer(
                rng.uniform(0.5, 4.0),
                seed=f"calib-app{i}-{j}",
                compressible_fraction=rng.choice([0.0, 0.6, 0.95]),
                windows=True,
            )
            for j in range(rng.randint(1, 3))
        ]
        apps[f"calib/app{i}"] = own
    directory = tmp_path_factory.mktemp("calibrate")
    with Pusher(registry.url) as p:
        base = push(p, "calib/base", "1", _image(base_layers))
        pushed = {repo: push(p, repo, "1", _image(base_layers + own)) for repo, own in apps.items()}
        linux = push(p, "calib/linux", "1", simple_image([fixturegen.big_layer(0.1, seed="calib-linux")])).ref
    refs = {repo: image.ref for repo, image in pushed.items()}
    profile = directory / "node.yaml"
    # Deliberately far from the truth: the fit must move both throughputs.
    profile.write_text(
        yaml.safe_dump(
            {
                "extends": "eks-ws2019-core",
                "name": "calib-node",
                "network_throughput": "4MB/s",
                "extraction_throughput": "3MB/s",
                "baked": [base.ref],
            }
        )
    )
    truth = {
        refs[repo]: tuple(
            PlanLayer(layer.blob.digest, layer.diff_id, len(layer.blob.data), layer.expected.extracted_bytes)
            for layer in own
        )
        for repo, own in apps.items()
    }
    return {
        "refs": refs,
        "base": base.ref,
        "linux": linux,
        "profile": profile,
        "dir": directory,
        "truth": truth,
        "digests": {image.ref: image.digest for image in pushed.values()},
        "host": registry.url.split("//", 1)[-1],
    }


def _true_params() -> LaunchParameters:
    params = LaunchParameters.from_profile(load_profile("eks-ws2019-core"))
    return replace(params, network_bytes_per_second=TRUE_NETWORK, extraction_bytes_per_second=TRUE_EXTRACTION)


def _go(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.7f}s" if minutes else f"{rest:.7f}s"


def _core_event(ref: str, node: str, message: str, i: int, reason: str = "Pulled") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"pod{i}.17a", "namespace": "shop"},
        "reason": reason,
        "message": message,
        "source": {"component": "kubelet", "host": node},
        "lastTimestamp": f"2026-11-{1 + i % 28:02d}T10:00:00Z",
        "type": "Normal",
    }


def _new_event(ref: str, node: str, message: str, i: int) -> dict[str, Any]:
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": f"pod{i}.17b", "namespace": "shop"},
        "reason": "Pulled",
        "note": message,
        "reportingController": "kubelet",
        "reportingInstance": node,
        "eventTime": f"2026-11-{1 + i % 28:02d}T11:00:00.000000Z",
        "type": "Normal",
    }


def write_events(
    fleet: dict[str, Any], n: int, seed: int, noise: float = NOISE
) -> tuple[list[Path], dict[str, list[float]]]:
    """*n* Pulled events from the model (both message formats, both APIs) plus distractors; the files, and the
    seconds written per image."""
    rng = random.Random(seed)
    params = _true_params()
    refs = list(fleet["truth"])
    core: list[dict[str, Any]] = []
    new: list[dict[str, Any]] = []
    written: dict[str, list[float]] = {}
    for i in range(n):
        ref = refs[i % len(refs)]
        node = f"ip-10-0-{i % 7}-1.ec2.internal"
        seconds = estimate_launch(fleet["truth"][ref], params).total_seconds * (1 + rng.gauss(0, noise))
        written.setdefault(ref, []).append(round(seconds, 7))
        if i % 2:
            core.append(_core_event(ref, node, f'Successfully pulled image "{ref}" in {_go(seconds)}', i))
        else:
            size = sum(layer.compressed_bytes for layer in fleet["truth"][ref])
            message = (
                f'Successfully pulled image "{ref}" in {_go(seconds)} ({_go(seconds + 2)} including waiting).'
                f" Image size: {size} bytes."
            )
            new.append(_new_event(ref, node, message, i))
    host = fleet["host"]
    distractors = [
        _core_event(fleet["linux"], "linux-node", f'Successfully pulled image "{fleet["linux"]}" in 2.5s', 900),
        _core_event(f"{host}/calib/gone:1", "n", f'Successfully pulled image "{host}/calib/gone:1" in 30s', 901),
        _core_event(refs[0], "n", f'Container image "{refs[0]}" already present on machine', 902),
        _core_event(refs[0], "n", "Started container app", 903, reason="Started"),
        _core_event(fleet["base"], "n", f'Successfully pulled image "{fleet["base"]}" in 1.5s', 904),
    ]
    paths = [fleet["dir"] / f"core-{seed}.json", fleet["dir"] / f"new-{seed}.json", fleet["dir"] / f"cut-{seed}.json"]
    paths[0].write_text(json.dumps({"apiVersion": "v1", "kind": "EventList", "items": core + distractors}))
    paths[1].write_text(json.dumps({"apiVersion": "events.k8s.io/v1", "kind": "EventList", "items": new}))
    # A truncated download: one complete distractor item, then the file ends mid-item.
    whole = json.dumps({"kind": "EventList", "items": [distractors[2], distractors[0]]})
    paths[2].write_text(whole[: len(whole) - 40])
    return paths, written


def _calibrate(layerscope: Callable[..., Run], fleet: dict[str, Any], paths: list[Path], *extra: str) -> Run:
    args = [a for p in paths for a in ("--events", str(p))]
    return layerscope("calibrate", "--profile", str(fleet["profile"]), *args, "--plain-http", "--no-progress", *extra)


def test_calibrate_recovers_the_parameters_and_skips_distractors(
    fleet: dict[str, Any], layerscope: Callable[..., Run]
) -> None:
    paths, _ = write_events(fleet, 120, seed=1)
    out = fleet["dir"] / "calibrated.yaml"
    run = _calibrate(layerscope, fleet, paths, "-o", "json", "--write-profile", str(out))
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    params = doc["parameters"]
    print(f"recovered {params} (true {TRUE_NETWORK:g}, {TRUE_EXTRACTION:g}), fit {doc['fit']}")
    assert abs(params["extraction_throughput"] / TRUE_EXTRACTION - 1) < 0.10, params
    assert abs(params["network_throughput"] / TRUE_NETWORK - 1) < 0.25, params
    lo, hi = doc["intervals"]["extraction_throughput"]
    assert lo < params["extraction_throughput"] < hi
    assert doc["fit"]["cv_mape"] < 0.10 and doc["fit"]["mape"] < 0.10, doc["fit"]
    assert doc["events"]["used"] == 120
    skipped = {s["reason"]: s["count"] for s in doc["events"]["skipped"]}
    assert skipped["not a Windows image (a pull on a non-Windows node)"] == 1  # the cut file loses its copy
    assert skipped["image no longer in the registry"] == 1
    assert skipped["image already present on the node (nothing pulled)"] == 2
    assert skipped["not a Pulled event (other reason)"] == 1
    assert skipped["truncated JSON (the file ends mid-item)"] == 1
    assert any(r.startswith("every layer cached") for r in skipped)
    obs = doc["observations"]
    assert len(obs) == 120 and all(o["pulled_compressed_bytes"] > 0 for o in obs)
    # What each node pulled: the app layers only (the base is baked), sizes from the independent generator.
    first = obs[0]
    truth = fleet["truth"][first["image"]]
    assert first["pulled_compressed_bytes"] == sum(layer.compressed_bytes for layer in truth)
    assert first["pulled_extracted_bytes"] == sum(layer.extracted_bytes or 0 for layer in truth)

    text = out.read_text()
    written = yaml.safe_load(text)
    assert written["extends"] == str(fleet["profile"].resolve())
    assert written["sources"]["extraction_throughput"].startswith("calibrated from 120 Pulled events of 2026-11-")
    assert "MAPE" in written["sources"]["network_throughput"]
    show = layerscope("profile", "show", str(out), "-o", "json")
    assert show.exit_code == 0, show.stderr
    shown = json.loads(show.stdout)
    assert abs(shown["extraction_bytes_per_second"] - params["extraction_throughput"]) <= 1
    analyze = layerscope("analyze", fleet["refs"]["calib/app0"], "--profile", str(out), "--plain-http", "-o", "json")
    assert analyze.exit_code == 0, analyze.stderr


def test_too_few_events_keep_the_profile_values_and_say_so(
    fleet: dict[str, Any], layerscope: Callable[..., Run]
) -> None:
    paths, _ = write_events(fleet, 3, seed=2)
    run = _calibrate(layerscope, fleet, paths, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["intervals"] == {}
    assert doc["parameters"]["network_throughput"] == 4_000_000
    kept = {k["parameter"]: k["reason"] for k in doc["kept"]}
    assert set(kept) == {"network_throughput", "extraction_throughput", "registry_latency"}
    assert "only 3 usable events" in kept["network_throughput"]
    table = _calibrate(layerscope, fleet, paths)
    assert "kept from the profile: only 3 usable events" in table.stdout
    out = fleet["dir"] / "never.yaml"
    refused = _calibrate(layerscope, fleet, paths, "--write-profile", str(out))
    assert refused.exit_code == 2 and not out.exists()


def test_without_scipy_calibrate_exits_2_with_the_install_hint(
    fleet: dict[str, Any], layerscope: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    paths, _ = write_events(fleet, 3, seed=3)
    run = _calibrate(layerscope, fleet, paths)
    assert run.exit_code == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'layerscope[calibrate]'" in lines[0]


@pytest.mark.slow
def test_a_thousand_events_of_fifty_images_on_a_warm_store(
    registry: RegistryProcess, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    """Issue #16: 1,000 events of 50 images finish in seconds once the store holds the images."""
    base_layer = fixturegen.big_layer(0.2, seed="perf-base", windows=True)
    refs = []
    with Pusher(registry.url) as p:
        base = push(p, "perf/base", "1", _image([base_layer]))
        for i in range(50):
            app = fixturegen.big_layer(0.05 + 0.01 * i, seed=f"perf-{i}", compressible_fraction=0.3, windows=True)
            refs.append(push(p, f"perf/app{i}", "1", _image([base_layer, app])).ref)
    profile = tmp_path / "node.yaml"
    profile.write_text(yaml.safe_dump({"extends": "eks-ws2019-core", "name": "perf", "baked": [base.ref]}))
    rng = random.Random(5)
    items = [
        _core_event(r, f"n{i % 9}", f'Successfully pulled image "{r}" in {rng.uniform(1, 40):.3f}s', i)
        for i, r in enumerate(refs[i % 50] for i in range(1000))
    ]
    events = tmp_path / "events.json"
    events.write_text(json.dumps({"kind": "EventList", "items": items}))
    args = ("calibrate", "--profile", str(profile), "--events", str(events), "--plain-http", "--no-progress")
    cold = layerscope(*args, "-o", "json")
    assert cold.exit_code == 0, cold.stderr
    start = time.perf_counter()
    warm = layerscope(*args, "-o", "json")
    seconds = time.perf_counter() - start
    assert warm.exit_code == 0 and warm.json()["events"]["used"] == 1000
    print(f"calibrate, 1000 events of 50 images, warm store: {seconds:.2f} s")
    assert seconds < 20


def test_report_shows_modelled_against_observed_pulls(fleet: dict[str, Any], layerscope: Callable[..., Run]) -> None:
    """`report --events`: each image's recorded pulls (median) beside the modelled launch with the bake."""
    paths, written = write_events(fleet, 40, seed=4)
    events = [a for p in paths for a in ("--events", str(p))]
    refs = [fleet["refs"]["calib/app0"], fleet["refs"]["calib/app1"], fleet["base"]]
    run = layerscope(
        "report", *refs, "--profile", str(fleet["profile"]), *events, "--plain-http", "--no-progress", "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    images = {i["reference"]: i for i in run.json()["images"]}
    params = LaunchParameters.from_profile(load_profile(str(fleet["profile"])))
    for ref in refs[:2]:
        launch = images[ref]["launch"]
        assert launch["observed_pulls"] == 5  # 40 events over 8 images
        assert launch["observed_seconds"] == pytest.approx(statistics.median(written[ref]), abs=0.01)
        assert launch["with_bake_seconds"] == pytest.approx(
            estimate_launch(fleet["truth"][ref], params).total_seconds, rel=1e-3
        )
    assert images[fleet["base"]]["launch"]["observed_pulls"] == 1  # the distractor pull of the base itself
    markdown = layerscope(
        "report", *refs, "--profile", str(fleet["profile"]), *events, "--plain-http", "--no-progress", "-o", "markdown"
    )
    assert "### Launch model against recorded pulls (--events)" in markdown.stdout
    assert fleet["refs"]["calib/app0"] in markdown.stdout.split("recorded pulls (--events)")[1]


def test_an_image_behind_authentication_is_skipped_not_fatal(
    fleet: dict[str, Any], layerscope: Callable[..., Run], basic_pusher: Pusher
) -> None:
    """Pulls of an image this analysis cannot see (no credentials for its registry) are skipped with a reason."""
    private = push(basic_pusher, "calib/private", "1", _image([fixturegen.big_layer(0.1, seed="private")])).ref
    paths, _ = write_events(fleet, 20, seed=5)
    extra = fleet["dir"] / "private.json"
    message = f'Successfully pulled image "{private}" in 12.5s'
    extra.write_text(
        json.dumps({"items": [_core_event(private, "n", message, 1), _core_event(private, "n", message, 2)]})
    )
    run = _calibrate(layerscope, fleet, [*paths, extra], "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    skipped = {s["reason"]: s["count"] for s in doc["events"]["skipped"]}
    assert skipped["image not visible to this analysis (authentication)"] == 2
    assert doc["events"]["used"] == 20


def test_ecs_tasks_calibrate_like_kubelet_events(fleet: dict[str, Any], layerscope: Callable[..., Run]) -> None:
    """`--ecs-tasks`: pullStartedAt/pullStoppedAt per task, the image pinned by the task's imageDigest."""
    rng = random.Random(6)
    params = _true_params()
    tasks = []
    for i in range(60):
        ref = list(fleet["truth"])[i % 8]
        seconds = estimate_launch(fleet["truth"][ref], params).total_seconds * (1 + rng.gauss(0, NOISE))
        start = 1_790_000_000.0 + 3600 * i
        tasks.append(
            {
                "taskArn": f"arn:aws:ecs:us-west-2:1:task/c/{i}",
                "containerInstanceArn": f"arn:aws:ecs:us-west-2:1:container-instance/c/{i % 5}",
                "pullStartedAt": start,
                "pullStoppedAt": start + seconds,
                "containers": [{"image": ref, "imageDigest": fleet["digests"][ref]}],
            }
        )
    tasks.append(
        {
            "taskArn": "arn:x",
            "containers": [{"image": "a:1"}, {"image": "b:1"}],
            "pullStartedAt": 1.0,
            "pullStoppedAt": 2.0,
        }
    )
    path = fleet["dir"] / "tasks.json"
    path.write_text(json.dumps({"tasks": tasks, "failures": []}))
    args = ("--profile", str(fleet["profile"]), "--ecs-tasks", str(path), "--plain-http", "--no-progress")
    run = layerscope("calibrate", *args, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["events"]["used"] == 60
    assert doc["events"]["first"] == "2026-09-21"
    assert doc["observations"][0]["image"].endswith("@" + fleet["digests"][next(iter(fleet["truth"]))])
    assert abs(doc["parameters"]["extraction_throughput"] / TRUE_EXTRACTION - 1) < 0.10


def test_an_unreadable_events_file_is_one_line_exit_2(fleet: dict[str, Any], layerscope: Callable[..., Run]) -> None:
    path = fleet["dir"] / "junk.json"
    path.write_text("<html>proxy error</html>")
    run = layerscope("calibrate", "--profile", str(fleet["profile"]), "--events", str(path), "--no-progress")
    assert run.exit_code == 2
    assert len(run.stderr.strip().splitlines()) == 1 and "not a JSON event list" in run.stderr
    missing = layerscope("calibrate", "--profile", str(fleet["profile"]), "--events", str(fleet["dir"] / "nope.json"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr


MAY = fixturegen.SERVERCORE_2019_05


def test_nodes_each_hold_the_base_revision_of_their_kernel(
    registry: RegistryProcess, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    """`--nodes`: a node whose kernelVersion is the image's base revision pulls the app layer only; a node a month
    later (same base blob generation) pulls the image's update layer too; a Linux node's events are skipped."""
    apps = {}
    with Pusher(registry.url) as p:
        for i in range(3):
            app = fixturegen.big_layer(0.2 + 0.1 * i, seed=f"nodes-app{i}", windows=True)
            layers = [
                fixturegen.foreign_layer(
                    MAY.base_digest, MAY.base_size, fixturegen.placeholder_diff_id(MAY.base_digest)
                ),
                fixturegen.foreign_layer(
                    MAY.update_digest, MAY.update_size, fixturegen.placeholder_diff_id(MAY.update_digest)
                ),
                app,
            ]
            image = simple_image(
                layers,
                os_name="windows",
                os_version=MAY.os_version,
                history=[MAY.base_label, MAY.update_label, "COPY"],
                docker=True,
            )
            apps[push(p, f"nodes/app{i}", "1", image).ref] = len(app.blob.data)
    nodes = {
        "kind": "List",
        "items": [
            {
                "metadata": {"name": "win-may"},
                "status": {"nodeInfo": {"operatingSystem": "windows", "kernelVersion": MAY.os_version}},
            },
            {
                "metadata": {"name": "win-jun"},
                "status": {"nodeInfo": {"operatingSystem": "windows", "kernelVersion": "10.0.17763.3046"}},
            },
            {
                "metadata": {"name": "linux-1"},
                "status": {"nodeInfo": {"operatingSystem": "linux", "kernelVersion": "5.10.0"}},
            },
        ],
    }
    nodes_path = tmp_path / "nodes.json"
    nodes_path.write_text(json.dumps(nodes))
    items = []
    refs = list(apps)
    for i in range(24):
        ref, node = refs[i % 3], ("win-may", "win-jun")[i % 2]
        items.append(_core_event(ref, node, f'Successfully pulled image "{ref}" in {5 + i}s', i))
    items.append(_core_event(refs[0], "linux-1", f'Successfully pulled image "{refs[0]}" in 3s', 99))
    items.append(_core_event(refs[0], "win-unlisted", f'Successfully pulled image "{refs[0]}" in 9s', 98))
    events = tmp_path / "events.json"
    events.write_text(json.dumps({"items": items}))
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"  # the floating MCR bases are never resolved online
    run = layerscope(
        "calibrate",
        "--profile",
        "eks-ws2019-core",
        "--events",
        str(events),
        "--nodes",
        str(nodes_path),
        "--mirror",
        closed,
        "--plain-http",
        "--no-progress",
        "-o",
        "json",
    )
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["nodes"] == "nodes"
    skipped = {s["reason"]: s["count"] for s in doc["events"]["skipped"]}
    assert skipped == {"non-Windows node (--nodes)": 1}
    pulled = {(o["image"], o["node"]): o["pulled_compressed_bytes"] for o in doc["observations"]}
    for ref, app_size in apps.items():
        assert pulled[(ref, "win-may")] == app_size
        assert pulled[(ref, "win-jun")] == MAY.update_size + app_size
    # Not in --nodes: the most common listed revision (a tie: the newer one, June) stands in, and a warning says so.
    assert pulled[(refs[0], "win-unlisted")] == MAY.update_size + apps[refs[0]]
    assert any("not in --nodes (win-unlisted)" in w for w in doc["warnings"])
