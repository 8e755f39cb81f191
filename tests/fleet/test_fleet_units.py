"""Pure parts of the fleet modules: checkpoint files, targets and filters, ECR listing via a stand-in
boto3, attached-document verification, the executor's task and error transport, and a Dask cluster
reached by address."""

from __future__ import annotations

import contextlib
import json
import logging
import pickle
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from layerscope.analysis import ResolvedImage
from layerscope.attach import build_document, verify_document
from layerscope.errors import (
    AuthenticationError,
    ContentError,
    DigestMismatchError,
    InvalidManifestError,
    LayerscopeError,
    NotFoundError,
    UsageError,
)
from layerscope.executor import (
    DaskExecutor,
    LayerTask,
    ThreadExecutor,
    WorkerSettings,
    _result,
    measure_task,
    parse_executor,
)
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Manifest, parse_config, parse_manifest_or_index
from layerscope.reference import ImageReference
from layerscope.registry import HostConfig, RegistryClient, RegistryConfig
from layerscope.results import ImageResult
from layerscope.scan import Checkpoint, ScanTarget, _tag_wanted, list_repositories, parse_since, parse_target
from scripts import fixturegen
from tests.conftest import AwsEmulator
from tests.fleet.conftest import _layer
from tests.support.images import simple_image
from tests.support.registry import RegistryProcess

# -- checkpoint ---------------------------------------------------------------------------------------


def _result_for(digest: str, source: SizeSource = SizeSource.MEASURED) -> ImageResult:
    m = LayerMeasurement(digest=digest, compressed_bytes=10, size_source=source, diff_id=digest, uncompressed_bytes=20)
    from layerscope.oci import Platform
    from layerscope.results import LayerResult

    layer = LayerResult(0, digest, "application/vnd.oci.image.layer.v1.tar+gzip", False, digest, digest, m)
    return ImageResult("r:1", None, "sha256:" + "9" * 64, "m", Platform("linux", "amd64"), "c", (layer,))


def test_checkpoint_survives_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "scan.jsonl"
    checkpoint = Checkpoint(path)
    with checkpoint.writer() as w:
        w.record("host/a:1", [_result_for("sha256:" + "1" * 64)])
    with path.open("ab") as f:
        f.write(b'{"v":1,"reference":"host/b:1","ima')  # killed mid-write
    done, known = checkpoint.load()
    assert done == {"host/a:1"} and list(known) == ["sha256:" + "1" * 64]
    with checkpoint.writer() as w:
        w.record("host/c:1", [_result_for("sha256:" + "2" * 64)])
    done, known = checkpoint.load()
    assert done == {"host/a:1", "host/c:1"} and len(known) == 2
    checkpoint.remove()
    assert checkpoint.load() == (set(), {})


def test_a_resumed_scan_does_not_lend_attached_numbers_to_other_images(tmp_path: Path) -> None:
    # Issue #12 item 3: what an attachment said was for its own image; the checkpoint does not spread it.
    checkpoint = Checkpoint(tmp_path / "scan.jsonl")
    with checkpoint.writer() as w:
        w.record("host/x:1", [_result_for("sha256:" + "1" * 64, SizeSource.ATTACHED)])
        w.record("host/y:1", [_result_for("sha256:" + "2" * 64, SizeSource.MEASURED)])
        w.record("host/z:1", [_result_for("sha256:" + "3" * 64, SizeSource.GZIP_ISIZE)])
    done, known = checkpoint.load()
    assert done == {"host/x:1", "host/y:1", "host/z:1"}
    assert list(known) == ["sha256:" + "2" * 64]


# -- targets and filters ------------------------------------------------------------------------------


def test_targets_and_filters() -> None:
    assert parse_target("127.0.0.1:5000") == ScanTarget("127.0.0.1:5000")
    assert parse_target("Reg.Example.com/team/apps/") == ScanTarget("reg.example.com", "team/apps")
    assert parse_target("localhost/x").includes("x/y") and not parse_target("localhost/x").includes("xy")
    assert parse_target("123456789012.dkr.ecr.eu-west-1.amazonaws.com").ecr == ("123456789012", "eu-west-1")
    for bad in ("registry", "host.example/UPPER", ""):
        with pytest.raises(UsageError):
            parse_target(bad)
    assert parse_since("2026-01-31").isoformat() == "2026-01-31T00:00:00+00:00"
    assert parse_since("2026-01-31T10:00:00.123456789Z").microsecond == 123456
    with pytest.raises(UsageError):
        parse_since("yesterday")
    assert not _tag_wanted("sha256-" + "a" * 64, ())
    assert not _tag_wanted("sha256-" + "a" * 64 + ".sig", ())
    assert _tag_wanted("v1.2", ("v1.*",)) and not _tag_wanted("V1.2", ("v1.*",))


# -- ECR listing via boto3 against moto's server mode on 127.0.0.1 (#14 item 6; never a real AWS endpoint) -------


def test_ecr_repositories_come_from_boto3(aws_emulator: AwsEmulator) -> None:
    import boto3

    # Repositories created through the emulator's own API; the listing filters them by the target's prefix.
    ecr = boto3.client("ecr", region_name="eu-west-1")
    for name in ("team/web", "other"):
        with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
            ecr.create_repository(repositoryName=name)
    account = boto3.client("sts", region_name="eu-west-1").get_caller_identity()["Account"]
    target = parse_target(f"{account}.dkr.ecr.eu-west-1.amazonaws.com/team")
    with RegistryClient() as client:
        assert list_repositories(client, target) == ["team/web"]
    # Another region of the same account holds none of them: the region comes from the host.
    with RegistryClient() as client:
        assert list_repositories(client, parse_target(f"{account}.dkr.ecr.us-east-2.amazonaws.com/team")) == []


def test_ecr_without_boto3_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # import fails
    with RegistryClient() as client, pytest.raises(UsageError) as info:
        list_repositories(client, parse_target("123456789012.dkr.ecr.us-east-1.amazonaws.com"))
    assert info.value.hint is not None and "layerscope[ecr]" in info.value.hint


def test_a_registry_without_catalog_scans_the_named_repository() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401 if request.url.path == "/v2/_catalog" else 404)

    config = RegistryConfig(hosts={"ghcr.example": HostConfig(plain_http=False)})
    with RegistryClient(config, transport=httpx.MockTransport(handler)) as client:
        assert list_repositories(client, parse_target("ghcr.example/org/app")) == ["org/app"]
        with pytest.raises(AuthenticationError) as info:
            list_repositories(client, parse_target("ghcr.example"))
    assert info.value.hint is not None and "REGISTRY/REPOSITORY" in info.value.hint


# -- attached document verification ------------------------------------------------------------------


def _resolved() -> tuple[ResolvedImage, list[fixturegen.Layer]]:
    layers = [_layer("unit", 1, 500), _layer("unit", 2, 500)]
    image = simple_image(layers)
    manifest = parse_manifest_or_index(image.manifest.data)
    assert isinstance(manifest, Manifest)
    ref = ImageReference("127.0.0.1:1", "unit/app", "v1")
    return ResolvedImage(ref, str(ref), None, manifest, parse_config(image.config.data)), layers


def _measurement(layer: fixturegen.Layer, **changes: Any) -> LayerMeasurement:
    e = layer.expected
    values: dict[str, Any] = {
        "digest": e.digest,
        "compressed_bytes": e.size,
        "size_source": SizeSource.MEASURED,
        "diff_id": e.diff_id,
        "uncompressed_bytes": e.uncompressed_size,
        "extracted_bytes": e.extracted_bytes,
        "files": e.files,
    }
    return LayerMeasurement(**{**values, **changes})


def test_documents_round_trip_and_lies_are_named() -> None:
    image, layers = _resolved()
    good = build_document(image, [_measurement(layer) for layer in layers], "2026-01-01T00:00:00Z")
    got = verify_document(good, image)
    assert [m.size_source for m in got.values()] == [SizeSource.ATTACHED] * 2
    assert got[layers[0].digest].extracted_bytes == layers[0].expected.extracted_bytes
    # An estimate is not attached; the document just lacks that layer.
    partial = build_document(
        image, [_measurement(layers[0], size_source=SizeSource.GZIP_ISIZE), _measurement(layers[1])], "t"
    )
    assert list(verify_document(partial, image)) == [layers[1].digest]

    doc = json.loads(good)
    cases: list[tuple[str, Any]] = [
        ("another image manifest", lambda d: d["image"].update(digest="sha256:" + "0" * 64)),
        ("another image config", lambda d: d["image"].update(config_digest="sha256:" + "0" * 64)),
        ("does not have", lambda d: d["layers"][0].update(index=7)),
        ("another digest or diff_id", lambda d: d["layers"][0].update(index=1)),
        ("disagrees with the manifest", lambda d: d["layers"][0]["measurement"].update(compressed_bytes=1)),
        ("not an exact measurement", lambda d: d["layers"][0]["measurement"].update(size_source="estimated")),
        ("malformed", lambda d: d["layers"][0]["measurement"].pop("files")),
        ("schema", lambda d: d.update(schema="layerscope.analysis/v1")),
    ]
    for words, change in cases:
        bad = json.loads(good)
        change(bad)
        with pytest.raises(InvalidManifestError, match=words):
            verify_document(json.dumps(bad).encode(), image)
    assert doc["layers"][0]["measurement"]["size_source"] == "measured"


# -- executor ------------------------------------------------------------------------------------------


def test_tasks_and_settings_pickle() -> None:
    image, _ = _resolved()
    task = LayerTask.of(image.ref, image.manifest.layers[0], image.config.diff_ids[0])
    assert pickle.loads(pickle.dumps(task)) == task
    ref, desc = task.parsed()
    assert ref == image.ref and desc == image.manifest.layers[0]
    config = RegistryConfig(hosts={"mcr.microsoft.com": HostConfig(endpoint="127.0.0.1:5000")}, plain_http=True)
    settings = WorkerSettings.of(config, "/tmp/store.sqlite3")
    again = pickle.loads(pickle.dumps(settings))
    assert again == settings and hash(again) == hash(settings)
    assert again.registry_config().resolve("mcr.microsoft.com").base_url == "http://127.0.0.1:5000"
    assert parse_executor("dask://10.0.0.5:8786") == ("dask", "tcp://10.0.0.5:8786")
    assert parse_executor("threads") == ("threads", None)


def test_worker_errors_come_back_as_the_same_class_with_their_hint() -> None:
    task = LayerTask("127.0.0.1:1/a:b", {"mediaType": "x", "digest": "sha256:" + "1" * 64, "size": 1}, "sha256:0")
    with pytest.raises(NotFoundError) as info:
        _result(task, {"error": {"type": "NotFoundError", "message": "gone", "hint": "look elsewhere"}})
    assert info.value.hint == "look elsewhere"
    with pytest.raises(Exception, match="asked for"):
        _result(task, {"measurement": _measurement(_resolved()[1][0]).to_dict()})


def test_worker_answers_are_checked_like_local_measurements() -> None:
    # Issue #12 item 4: a worker's answer is checked for diff_id, size and exactness, not just its digest.
    image, layers = _resolved()
    task = LayerTask.of(image.ref, image.manifest.layers[0], image.config.diff_ids[0])
    assert _result(task, {"measurement": _measurement(layers[0]).to_dict()}).digest == task.digest
    lies: list[tuple[type[Exception], str, dict[str, Any]]] = [
        (DigestMismatchError, "diff_id is", {"diff_id": "sha256:" + "0" * 64}),
        (ContentError, "offered as exact", {"size_source": SizeSource.GZIP_ISIZE}),
        (ContentError, "offered as exact", {"uncompressed_bytes": None}),
        (ContentError, "descriptor says", {"compressed_bytes": layers[0].expected.size + 1}),
    ]
    for error, words, change in lies:
        with pytest.raises(error, match=words):
            _result(task, {"measurement": _measurement(layers[0], **change).to_dict()})
    with pytest.raises(LayerscopeError, match="malformed"):
        _result(task, {"measurement": {"digest": task.digest}})


def test_each_task_of_a_shared_blob_is_checked(registry: RegistryProcess, tmp_path: Path) -> None:
    # Two tasks for one blob naming different diff_ids: measured once (_unique), checked twice.
    from tests.support.images import push
    from tests.support.push import Pusher

    layers = [_layer("shared-task", 1, 800)]
    with Pusher(registry.url) as pusher:
        push(pusher, "t/shared-task", "v1", simple_image(layers))
    ref = ImageReference(registry.host, "t/shared-task", "v1")
    e = layers[0].expected
    good = LayerTask(str(ref), {"mediaType": layers[0].blob.media_type, "digest": e.digest, "size": e.size}, e.diff_id)
    wrong = LayerTask(good.reference, good.descriptor, "sha256:" + "0" * 64)
    from layerscope.source_routing import RoutingSource

    source = RoutingSource(RegistryConfig(plain_http=True))
    executor = ThreadExecutor(source, None, workers=2)
    try:
        assert executor.measure([good, good])[e.digest].diff_id == e.diff_id
        for tasks in ([good, wrong], [wrong, good]):
            with pytest.raises(DigestMismatchError, match="0" * 64):
                executor.measure(tasks)
    finally:
        executor.close()
        source.close()


def test_dask_cluster_by_address_measures_and_reports_errors(
    registry: RegistryProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    distributed = pytest.importorskip("distributed")
    from tests.support.images import push
    from tests.support.push import Pusher

    layers = [_layer("dask-unit", 1, 800)]
    with Pusher(registry.url) as pusher:
        pushed = push(pusher, "t/dask-unit", "v1", simple_image(layers))
    ref = ImageReference(registry.host, "t/dask-unit", "v1")
    e = layers[0].expected
    good = LayerTask(str(ref), {"mediaType": layers[0].blob.media_type, "digest": e.digest, "size": e.size}, e.diff_id)
    missing = LayerTask(str(ref), {**good.descriptor, "digest": "sha256:" + "e" * 64}, e.diff_id)
    assert pushed.digest
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        executor = DaskExecutor(WorkerSettings(store_path=str(tmp_path / "s.sqlite3")), cluster.scheduler_address)
        try:
            assert executor.workers == 2
            got = executor.measure([good, good])
            assert got[e.digest].extracted_bytes == e.extracted_bytes
            with pytest.raises(NotFoundError):
                executor.measure([missing])
            # One task per blob goes to the cluster, but every task's diff_id is checked (issue #12).
            wrong = LayerTask(good.reference, good.descriptor, "sha256:" + "0" * 64)
            with pytest.raises(DigestMismatchError, match="0" * 64):
                executor.measure([good, wrong])
        finally:
            executor.close()
    # The worker wrote its result to the shared store path.
    shared = measure_task(good, WorkerSettings(store_path=str(tmp_path / "s.sqlite3")))["measurement"]
    assert (shared["digest"], shared["size_source"]) == (e.digest, "store")


def test_an_unreachable_scheduler_is_a_clear_error() -> None:
    pytest.importorskip("distributed")
    from tests.support.registry import free_port

    with pytest.raises(LayerscopeError, match="cannot reach the Dask scheduler") as info:
        DaskExecutor(WorkerSettings(), f"tcp://127.0.0.1:{free_port()}", connect_timeout=1.0)
    assert info.value.hint is not None and "dask scheduler" in info.value.hint


def test_a_local_dask_cluster_leaves_no_scratch_space_behind(tmp_path: Path) -> None:
    # Issue #17: the workers' scratch (locks, spill) lives in a directory the run owns and removes on close,
    # not in the shared /tmp/dask-scratch-space.
    pytest.importorskip("distributed")
    executor = DaskExecutor(WorkerSettings(store_path=str(tmp_path / "s.sqlite3")), n_workers=1)
    try:
        scratch = executor._scratch
        assert scratch is not None and Path(scratch).is_dir()
        dirs = executor._client.run(lambda dask_worker: dask_worker.local_directory)
        assert dirs and all(Path(d).resolve().is_relative_to(Path(scratch).resolve()) for d in dirs.values())
    finally:
        executor.close()
    assert not Path(scratch).exists()
