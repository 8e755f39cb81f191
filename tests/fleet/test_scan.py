"""`layerscope scan` over the 60-image fleet: serial vs a 2-worker Dask LocalCluster (processes), attached
analyses read back with no layer download, resuming an interrupted scan, tag and date filters."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from layerscope.fleet import FleetOptions, FleetSession
from layerscope.measurement import LayerMeasurement
from layerscope.scan import ScanOptions, default_checkpoint_path, parse_target, scan
from layerscope.session import Session, Settings
from scripts import fixturegen
from tests.fleet.conftest import FleetImages, Run, _layer
from tests.support.images import push, simple_image
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess


def _layer_gets(registry: RegistryProcess, mark: int, fleet: FleetImages) -> Counter[str]:
    return Counter(r.digest for r in registry.blob_gets(mark, status=200) if r.digest in fleet.layers)


def _without_source(doc: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    for image in out["images"]:
        for layer in image["layers"]:
            layer.pop("size_source")
    return out


def _check_truth(doc: dict[str, Any], fleet: FleetImages) -> None:
    for image in doc["images"]:
        assert [layer["digest"] for layer in image["layers"]] == list(fleet.image_layers[image["reference"]])
        for layer in image["layers"]:
            e = fleet.layers[layer["digest"]].expected
            assert (layer["diff_id"], layer["compressed_bytes"]) == (e.diff_id, e.size)
            assert (layer["uncompressed_bytes"], layer["extracted_bytes"]) == (e.uncompressed_size, e.extracted_bytes)
            assert (layer["files"], layer["symlinks"]) == (e.files, e.symlinks)


@dataclass
class DaskRecord:
    """What the scheduler ran during `--executor dask` measure() calls, and the workers it had."""

    tasks: list[dict[str, Any]] = field(default_factory=list)
    workers: set[str] = field(default_factory=set)


def _record_dask_tasks(monkeypatch: pytest.MonkeyPatch) -> DaskRecord:
    """Make `--executor dask` record the scheduler's task stream of each measure() call (tests run the CLI
    in-process, so the executor class can be swapped for one that records)."""
    distributed = pytest.importorskip("distributed")
    from layerscope import executor

    record = DaskRecord()

    class Recording(executor.DaskExecutor):
        def measure(self, tasks: Sequence[executor.LayerTask]) -> dict[str, LayerMeasurement]:
            with distributed.get_task_stream(client=self._client) as stream:
                out = super().measure(tasks)
            record.tasks.extend(stream.data)
            record.workers.update(self._client.scheduler_info(n_workers=-1)["workers"])
            return out

    monkeypatch.setattr(executor, "DaskExecutor", Recording)
    return record


def test_scan_serial_equals_dask_and_attached_needs_no_download(
    registry: RegistryProcess,
    fleet_images: FleetImages,
    layerscope: Callable[..., Run],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = f"{fleet_images.host}/fleet"
    mark = registry.mark()
    serial = layerscope("scan", target, "-o", "json", "--store", str(tmp_path / "serial.sqlite3"))
    assert serial.exit_code == 0, serial.stderr
    doc = serial.json()
    assert [i["reference"] for i in doc["images"]] == fleet_images.refs()
    assert len(doc["images"]) == 60
    gets = _layer_gets(registry, mark, fleet_images)
    assert set(gets) == set(fleet_images.layers) and set(gets.values()) == {1}, "each unique layer GET once"
    _check_truth(doc, fleet_images)

    mark = registry.mark()
    ran = _record_dask_tasks(monkeypatch)
    dask = layerscope(
        "scan", target, "-o", "json", "--store", str(tmp_path / "dask.sqlite3"), "--executor", "dask", "--attach"
    )
    assert dask.exit_code == 0, dask.stderr
    assert dask.stdout == serial.stdout
    gets = _layer_gets(registry, mark, fleet_images)
    assert set(gets) == set(fleet_images.layers) and set(gets.values()) == {1}, "each unique layer GET once"
    # Dask did the measuring: the scheduler's task stream holds one finished measure task per unique layer,
    # run by the LocalCluster's worker processes (not in this process).
    keys = [str(task["key"]) for task in ran.tasks if str(task["key"]).startswith("layerscope-measure-")]
    assert {key.split("-")[2] for key in keys} == set(fleet_images.layers)
    assert len(keys) == len(fleet_images.layers) == len(ran.tasks)
    assert all(task["status"] == "OK" for task in ran.tasks), ran.tasks
    assert all(any(s["action"] == "compute" for s in task["startstops"]) for task in ran.tasks)
    assert len(ran.workers) == 2 and {task["worker"] for task in ran.tasks} <= ran.workers

    mark = registry.mark()
    attached = layerscope("scan", target, "-o", "json", "--no-store", "--use-attached")
    assert attached.exit_code == 0, attached.stderr
    assert not _layer_gets(registry, mark, fleet_images), "a layer was downloaded"
    assert {layer["size_source"] for i in attached.json()["images"] for layer in i["layers"]} == {"attached"}
    # Attached measurements carry no file index (#15): contents null, every other figure the same.
    assert all(image["contents"] is None for image in attached.json()["images"])
    assert all(image["contents"] is not None for image in doc["images"])
    assert _without_source(_without_contents(attached.json())) == _without_source(_without_contents(doc))


class StopAfter:
    """A scan progress observer that interrupts the scan like Ctrl-C after *n* finished references."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.done: list[str] = []

    def scan_listed(self, references: int, resumed: int) -> None:
        pass

    def scan_done(self, reference: str) -> None:
        self.done.append(reference)
        if len(self.done) == self.n:
            raise KeyboardInterrupt


def test_interrupted_scan_resumes_without_remeasuring(
    registry: RegistryProcess, fleet_images: FleetImages, layerscope: Callable[..., Run]
) -> None:
    target = f"{fleet_images.host}/fleet/web"
    refs = fleet_images.refs("web")
    stop = StopAfter(12)
    mark = registry.mark()
    with (
        pytest.raises(KeyboardInterrupt),
        Session(Settings(store_path=None)) as session,
        FleetSession(session, FleetOptions()) as fleet,
    ):
        scan(fleet, parse_target(target), ScanOptions(batch_size=4), stop)
    assert stop.done == refs[:12]
    first = _layer_gets(registry, mark, fleet_images)
    finished = fleet_images.layer_digests(refs[:12])
    assert set(first) == finished
    checkpoint = default_checkpoint_path(parse_target(target), ScanOptions(), None)
    assert len(checkpoint.read_text().splitlines()) == 12

    # The store is off: only the checkpoint can spare the finished images' layers.
    mark = registry.mark()
    resumed = layerscope("scan", target, "-o", "json", "--no-store")
    assert resumed.exit_code == 0, resumed.stderr
    assert "12 resumed from the checkpoint" in resumed.stderr
    second = _layer_gets(registry, mark, fleet_images)
    assert set(second) == fleet_images.layer_digests(refs) - finished
    assert set(second.values()) == {1}
    assert not checkpoint.exists(), "a finished scan removes its checkpoint"
    fresh = layerscope("scan", target, "-o", "json", "--no-store")
    # The same numbers; the layers taken from the checkpoint say so (nothing was streamed for them, issue #17).
    # A checkpoint keeps measurements, not file indexes (#15): without a store, the resumed images' layers
    # have no index, so their contents are null; every other figure is the same.
    doc, fresh_doc = resumed.json(), fresh.json()
    layers = [layer for image in doc["images"] for layer in image["layers"]]
    assert {x["digest"] for x in layers if x["size_source"] == "checkpoint"} == finished
    assert {x["size_source"] for x in layers if x["digest"] not in finished} == {"measured"}
    for layer in layers:
        layer["size_source"] = "measured"
    assert _without_contents(doc) == _without_contents(fresh_doc)
    done = set(refs[:12])
    for image in doc["images"]:
        if image["reference"] in done:
            assert image["contents"] is None


_CONTENTS_FIELDS = ("contents", "added_files", "modified_files", "deleted_files", "reclaimed_by_later_bytes")


def _without_contents(doc: dict[str, Any]) -> dict[str, Any]:
    images = [
        {
            **{k: v for k, v in image.items() if k != "contents"},
            "layers": [{k: v for k, v in layer.items() if k not in _CONTENTS_FIELDS} for layer in image["layers"]],
        }
        for image in doc["images"]
    ]
    return {**doc, "images": images}


def test_tag_patterns_since_and_artifact_tags(
    fleet_images: FleetImages, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    target = f"{fleet_images.host}/fleet/batch/svc-00"
    run = layerscope("scan", target, "--tags", "1.0.[0-1]", "--tags", "*.4", "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    tags = [i["reference"].rsplit(":", 1)[1] for i in run.json()["images"]]
    assert tags == ["1.0.0", "1.0.1", "1.0.4"]
    later = layerscope("scan", target, "--since", "2030-01-01", "-o", "json", "--no-store")
    assert later.exit_code == 0, later.stderr
    assert later.json()["images"] == []
    assert "5 older than --since" in later.stderr
    earlier = layerscope("scan", target, "--since", "2023-12-31T23:00:00Z", "-o", "json", "--no-store")
    assert len(earlier.json()["images"]) == 5


def test_scan_skips_referrers_tags(
    registry: RegistryProcess, fleet_images: FleetImages, layerscope: Callable[..., Run]
) -> None:
    # After --attach, the repository holds a `sha256-<hex>` tag (referrers tag schema): never an image.
    ref = fleet_images.refs("batch")[-1]
    run = layerscope("analyze", ref, "--attach", "--no-store", "-o", "json")
    assert run.exit_code == 0, run.stderr
    repo = ref.split("/", 1)[1].rsplit(":", 1)[0]
    listed = layerscope("scan", f"{fleet_images.host}/{repo}", "--no-store", "-o", "json")
    assert listed.exit_code == 0, listed.stderr
    assert "skipping" not in listed.stderr
    assert len(listed.json()["images"]) == 5


def test_bad_targets_and_executors_are_usage_errors(layerscope: Callable[..., Run]) -> None:
    run = layerscope("scan", "not-a-host", "--no-store")
    assert run.exit_code == 2 and "REGISTRY[/PREFIX]" in run.stderr
    run = layerscope("analyze", "127.0.0.1:1/x:y", "--executor", "spark://x", "--no-store")
    assert run.exit_code == 2 and "dask://HOST:PORT" in run.stderr
    run = layerscope("analyze", "127.0.0.1:1/x:y", "--executor", "dask", "--estimate", "--no-store")
    assert run.exit_code == 2 and "--estimate" in run.stderr


def test_an_image_that_cannot_be_measured_is_skipped_and_the_scan_goes_on(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Callable[..., Run]
) -> None:
    good_layer, bad_layer = _layer("skip-good", 1, 900), _layer("skip-bad", 2, 900)
    push(pusher, repo_name, "good", simple_image([good_layer]))
    # A config whose diff_id does not match the layer: the measurement fails its diff_id check.
    history = [{"created_by": "COPY x /", "created": fixturegen.CREATED}]
    config = fixturegen.make_config(["sha256:" + "0" * 64], history)
    push(pusher, repo_name, "lying", fixturegen.make_image([bad_layer], config))
    for executor in ((), ("--executor", "threads")):
        run = layerscope("scan", f"{registry.host}/{repo_name}", "-o", "json", "--no-store", *executor)
        assert run.exit_code == 0, run.stderr
        assert [i["reference"].rsplit(":", 1)[1] for i in run.json()["images"]] == ["good"]
        assert f"skipping {registry.host}/{repo_name}:lying" in run.stderr
        assert "1 skipped" in run.stderr


def test_a_killed_scan_resumes_where_it_stopped(
    registry: RegistryProcess, fleet_images: FleetImages, tmp_path: Path
) -> None:
    target = f"{fleet_images.host}/fleet"
    checkpoint = tmp_path / "scan.jsonl"
    cli = [
        sys.executable,
        "-c",
        "from layerscope.cli import main; main()",
        "scan",
        target,
        "--no-store",
        "--batch-size",
        "1",
    ]
    cli += ["--checkpoint", str(checkpoint), "-o", "json", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if checkpoint.exists() and checkpoint.read_bytes().count(b"\n") >= 5:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the scan finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(10)
    finished = [json.loads(line)["reference"] for line in checkpoint.read_text().splitlines() if line.endswith("}")]
    assert len(finished) >= 5
    mark = registry.mark()
    resumed = subprocess.run(cli, capture_output=True, text=True, env=env, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(finished)} resumed from the checkpoint" in resumed.stderr
    gets = _layer_gets(registry, mark, fleet_images)
    assert set(gets) == set(fleet_images.layers) - fleet_images.layer_digests(finished)
    assert set(gets.values()) == {1}
    assert len(json.loads(resumed.stdout)["images"]) == 60
    assert not checkpoint.exists()


def test_catalog_and_tags_are_paged_on_the_real_registry(fleet_images: FleetImages) -> None:
    from layerscope.registry import RegistryClient
    from layerscope.scan import list_references, list_repositories

    with RegistryClient() as client:
        repos = list_repositories(client, parse_target(f"{fleet_images.host}/fleet"), page_size=5)
        refs = list_references(client, parse_target(f"{fleet_images.host}/fleet/web"), page_size=2)
    assert repos == sorted({p.repo for p in fleet_images.pushed})
    assert [str(r) for r in refs] == fleet_images.refs("web")


def test_scan_through_token_auth(
    auth_registry: RegistryProcess, auth_pusher: Pusher, repo_name: str, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    import base64

    assert auth_registry.issuer is not None and auth_registry.user and auth_registry.password
    push(auth_pusher, repo_name, "v1", simple_image([_layer("auth-scan", 1, 700)]))
    token = base64.b64encode(f"{auth_registry.user}:{auth_registry.password}".encode()).decode()
    config = tmp_path / "docker-config"
    config.mkdir(exist_ok=True)
    (config / "config.json").write_text(json.dumps({"auths": {auth_registry.host: {"auth": token}}}))
    auth_registry.issuer.clear()
    run = layerscope("scan", f"{auth_registry.host}/{repo_name}", "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    assert [i["reference"] for i in run.json()["images"]] == [f"{auth_registry.host}/{repo_name}:v1"]
    scopes = {s for r in auth_registry.issuer.requests for s in r.scopes}
    assert "registry:catalog:*" in scopes
