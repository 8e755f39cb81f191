"""`layerscope catalog refresh` against a real registry standing in for MCR (`--mirror mcr.microsoft.com=…`).

Fake `windows/servercore` and `windows/nanoserver` images are pushed by the independent test pusher; the
refresh must read only tags, manifests and configs (the registry's access log shows every blob GET), write
the user catalog under an isolated XDG_DATA_HOME, and a later `analyze` must identify an image built on
that base by digest, and by diff_id when its base layers were re-compressed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from layerscope.catalog import load, load_shipped
from layerscope.catalog.refresh import default_tag_patterns, family_of_repository, refresh_catalog, select_tags
from layerscope.errors import NotFoundError, RegistryUnavailableError
from layerscope.observer import NullObserver
from layerscope.oci import Descriptor, Index, Manifest, parse_manifest_or_index
from layerscope.reference import ImageReference, Reference
from scripts import fixturegen
from tests.catalog.catalog_helpers import SC2019_RTM_2022, fake_digest
from tests.integration.conftest import Run
from tests.support.images import push
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess

SC = "windows/servercore"
NANO = "windows/nanoserver"
RTM_LABEL = "Apply image 10.0.17763.1"


def _history(label: str, created: str) -> dict[str, str]:
    return {"created_by": label, "created": created}


def _base_image(rtm: fixturegen.Layer, update: fixturegen.Layer, version: str, created: str) -> fixturegen.Image:
    """A Docker schema 2 Server Core-style image: RTM layer + update layer, as MCR publishes them."""
    config = fixturegen.make_config(
        [rtm.diff_id, update.diff_id],
        [_history(RTM_LABEL, "2018-11-08T10:00:00Z"), _history(f"Install update {version}", created)],
        os_name="windows",
        os_version=version,
        docker=True,
    )
    return fixturegen.make_image([rtm, update], config, docker=True)


def _layer(seed: str, compression: fixturegen.Compression = "gzip") -> fixturegen.Layer:
    return fixturegen.make_layer(fixturegen.windows_base_entries(seed), compression, media_type=fixturegen.DOCKER_LAYER)


@dataclass(frozen=True)
class FakeMcr:
    """What was pushed to the registry under MCR's repository names."""

    rtm: fixturegen.Layer
    update_5206: fixturegen.Layer
    update_4010: fixturegen.Layer
    dec: fixturegen.Image  # 10.0.17763.5206, tags ltsc2019 (in an index with a Linux image) and 10.0.17763.5206
    mar: fixturegen.Image  # 10.0.17763.4010, tag 10.0.17763.4010
    not_a_base: fixturegen.Image  # three layers, tag 10.0.17763.9999
    nano: fixturegen.Image  # single foreign layer, nanoserver 10.0.20348.2113, tag ltsc2022
    ltsc2019_index_digest: str

    @property
    def config_digests(self) -> set[str]:
        return {i.config.digest for i in (self.dec, self.mar, self.not_a_base, self.nano)}


def _push_index(pusher: Pusher, repo: str, tag: str, index: fixturegen.IndexImage) -> str:
    blobs = {b.digest: b for image in index.images for b in [image.manifest, *image.blobs()]}
    return pusher.push_image(repo, tag, index.index, blobs).digest


@pytest.fixture(scope="module")
def fake_mcr(registry: RegistryProcess) -> Iterator[FakeMcr]:
    rtm = _layer("rtm")
    upd_5206, upd_4010 = _layer("upd-5206"), _layer("upd-4010")
    dec = _base_image(rtm, upd_5206, "10.0.17763.5206", "2023-12-05T18:00:00Z")
    mar = _base_image(rtm, upd_4010, "10.0.17763.4010", "2023-03-07T18:00:00Z")
    app = fixturegen.make_layer(fixturegen.windows_app_entries("not-a-base"), media_type=fixturegen.DOCKER_LAYER)
    three = fixturegen.make_config(
        [rtm.diff_id, upd_5206.diff_id, app.diff_id],
        [
            _history(RTM_LABEL, "2018-11-08T10:00:00Z"),
            _history("Install update 10.0.17763.5206", "2023-12-05T18:00:00Z"),
            _history("COPY app C:/app", "2023-12-20T18:00:00Z"),
        ],
        os_name="windows",
        os_version="10.0.17763.9999",
        docker=True,
    )
    not_a_base = fixturegen.make_image([rtm, upd_5206, app], three, docker=True)
    linux = fixturegen.make_image(
        [l0 := fixturegen.make_layer(fixturegen.linux_base_entries("mcr-linux"))],
        fixturegen.make_config([l0.diff_id], [_history("ADD rootfs /", "2023-12-05T18:00:00Z")]),
    )
    foreign = fixturegen.foreign_layer(fake_digest("nano-2113"), 120_000_000, fake_digest("nano-2113-diff"))
    nano_config = fixturegen.make_config(
        [foreign.diff_id],
        [_history("Apply image 10.0.20348.2113", "2023-11-09T18:00:00Z")],
        os_name="windows",
        os_version="10.0.20348.2113",
        docker=True,
    )
    nano = fixturegen.make_image([foreign], nano_config, docker=True)
    with Pusher(registry.url) as pusher:
        index_digest = _push_index(pusher, SC, "ltsc2019", fixturegen.make_index([linux, dec]))
        push(pusher, SC, "10.0.17763.5206", dec)
        push(pusher, SC, "10.0.17763.4010", mar)
        push(pusher, SC, "10.0.17763.9999", not_a_base)
        push(pusher, SC, "latest-preview", dec)  # matches no default pattern
        push(pusher, NANO, "ltsc2022", nano)
    yield FakeMcr(rtm, upd_5206, upd_4010, dec, mar, not_a_base, nano, index_digest)


def _refresh(layerscope: Callable[..., Run], registry: RegistryProcess, *args: str) -> Run:
    return layerscope("catalog", "refresh", "--mirror", f"mcr.microsoft.com={registry.host}", *args)


def _user_catalog(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "xdg-data" / "layerscope" / "catalog.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def test_default_patterns_are_channel_and_build_tags() -> None:
    patterns = default_tag_patterns()
    assert {"ltsc2019", "1809", "ltsc2022", "ltsc2016", "sac2016", "ltsc2025", "10.0.*"} == set(patterns)
    tags = ["latest", "1809-KB5034127", "10.0.17763.4010", "10.0.17763.5206-amd64", "ltsc2019", "10.0.20348.1"]
    assert select_tags(tags, patterns, None) == ["ltsc2019", "10.0.20348.1", "10.0.17763.5206-amd64", "10.0.17763.4010"]
    assert select_tags(tags, patterns, 2) == ["ltsc2019", "10.0.20348.1"]


def test_refresh_reads_configs_only_and_writes_the_user_catalog(
    fake_mcr: FakeMcr, registry: RegistryProcess, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    mark = registry.mark()
    run = _refresh(layerscope, registry, "--repository", SC, "-o", "json")
    assert run.exit_code == 0, run.stderr

    # Not a single layer blob: every blob GET of the run is a config.
    gets = registry.blob_gets(mark)
    assert gets, "configs are blobs: some GETs were expected"
    assert {r.digest for r in gets} <= fake_mcr.config_digests
    assert {r.repo for r in gets} == {SC}

    doc = run.json()
    assert doc["schema"] == "layerscope.catalog.refresh/v1"
    assert doc["registry"] == "mcr.microsoft.com" and doc["endpoint"] == registry.host
    assert doc["saved_to"] == str(tmp_path / "xdg-data" / "layerscope" / "catalog.json")
    # ltsc2019, 10.0.17763.5206, 10.0.17763.4010, 10.0.17763.9999; not latest-preview.
    assert doc["tags_selected"] == 4
    assert [(i["os_version"], sorted(i["tags"])) for i in doc["images"]] == [
        ("10.0.17763.4010", ["10.0.17763.4010"]),
        ("10.0.17763.5206", ["10.0.17763.5206", "ltsc2019"]),
    ]
    assert [s["tag"] for s in doc["skipped"]] == ["10.0.17763.9999"]
    assert "3 layers" in doc["skipped"][0]["reason"]
    assert "10.0.17763.9999" in run.stderr and "skipped" in run.stderr
    assert len(doc["added"]) == 3 and doc["new_diff_ids"] == 3

    user = _user_catalog(tmp_path)
    assert user["schema"] == "layerscope.catalog/v1"
    rows = {row["digest"]: row for row in user["layers"]}
    assert set(rows) == {fake_mcr.rtm.digest, fake_mcr.update_5206.digest, fake_mcr.update_4010.digest}
    rtm, upd = rows[fake_mcr.rtm.digest], rows[fake_mcr.update_5206.digest]
    # The RTM layer keeps its oldest observation (the March image); the month is the last layer's build date.
    assert (rtm["role"], rtm["month"], rtm["os_version"]) == ("base", "2023-03", "10.0.17763.4010")
    assert (upd["role"], upd["month"], upd["os_version"]) == ("update", "2023-12", "10.0.17763.5206")
    for row, layer in ((rtm, fake_mcr.rtm), (upd, fake_mcr.update_5206)):
        assert row["diff_id"] == layer.diff_id
        assert row["compressed_bytes"] == layer.blob.size
        assert (row["family"], row["channel"], row["build"]) == ("servercore", "ltsc2019", 17763)
        assert row["media_kind"] == "rootfs.diff" and row["registry_copy"] == "mcr"
        assert row["provenance_verified"] == "low"  # came through a mirror endpoint
        assert row["source"].startswith("mcr.microsoft.com/windows/servercore:10.0.17763.")
        assert f"via {registry.host}" in row["source"] and row["diff_id_source"] == row["source"]
    assert upd["history_label"] == "Install update 10.0.17763.5206" and rtm["history_label"] == RTM_LABEL
    pins = {p["tag"]: p for p in user["pins"]}
    assert set(pins) == {"ltsc2019", "10.0.17763.5206", "10.0.17763.4010"}
    assert pins["ltsc2019"]["index_digest"] == fake_mcr.ltsc2019_index_digest  # the index, not the manifest
    assert pins["ltsc2019"]["os_version"] == "10.0.17763.5206" and pins["ltsc2019"]["date"] == "2023-12-05"
    assert pins["10.0.17763.4010"]["index_digest"] == fake_mcr.mar.digest
    assert pins["ltsc2019"]["repository"] == "mcr.microsoft.com/windows/servercore"

    # The catalog as every command loads it now knows the layers by digest and diff_id.
    catalog = load()
    assert catalog.by_digest(fake_mcr.rtm.digest) is not None
    assert catalog.by_diff_id(fake_mcr.update_5206.diff_id) == catalog.by_digest(fake_mcr.update_5206.digest)

    # A second refresh adds nothing new and keeps the file valid.
    again = _refresh(layerscope, registry, "--repository", SC, "-o", "json")
    assert again.exit_code == 0, again.stderr
    assert again.json()["added"] == [] and again.json()["new_pins"] == 0
    assert len(_user_catalog(tmp_path)["layers"]) == 3


def test_refresh_table_output_and_foreign_single_layer(
    fake_mcr: FakeMcr, registry: RegistryProcess, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    run = _refresh(layerscope, registry, "--repository", NANO, "--tags", "ltsc2022")
    assert run.exit_code == 0, run.stderr
    assert "read 1 of " in run.stdout and " tags of mcr.microsoft.com/windows/nanoserver via" in run.stdout
    assert "nanoserver ltsc2022" in run.stdout and "single" in run.stdout
    assert "1 new layer," in run.stdout and "saved to" in run.stdout
    (row,) = _user_catalog(tmp_path)["layers"]
    assert (row["family"], row["channel"], row["role"], row["media_kind"]) == (
        "nanoserver",
        "ltsc2022",
        "single",
        "foreign",
    )
    assert row["digest"] == fake_mcr.nano.layers[0].digest and row["month"] == "2023-11"


def test_dry_run_saves_nothing(
    fake_mcr: FakeMcr, registry: RegistryProcess, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    run = _refresh(layerscope, registry, "--repository", SC, "--tags", "10.0.17763.4010", "--dry-run")
    assert run.exit_code == 0, run.stderr
    assert "nothing saved (--dry-run)" in run.stdout
    assert not (tmp_path / "xdg-data" / "layerscope" / "catalog.json").exists()


def test_no_matching_tag_is_exit_4(
    fake_mcr: FakeMcr, registry: RegistryProcess, layerscope: Callable[..., Run]
) -> None:
    run = _refresh(layerscope, registry, "--repository", SC, "--tags", "ltsc2099*")
    assert run.exit_code == 4
    assert "no tag matches ltsc2099*" in run.stderr


def test_only_broken_tags_is_an_error_and_saves_nothing(
    fake_mcr: FakeMcr, registry: RegistryProcess, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    run = _refresh(layerscope, registry, "--repository", SC, "--tags", "10.0.17763.9999")
    assert run.exit_code == 1
    assert "nothing was saved" in run.stderr
    assert not (tmp_path / "xdg-data" / "layerscope" / "catalog.json").exists()


def test_conflict_with_the_shipped_catalog_is_refused(
    fake_mcr: FakeMcr, registry: RegistryProcess, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    # A "nanoserver" whose only layer has the digest of the shipped 2022 Server Core ltsc2019 RTM layer.
    digest, size = SC2019_RTM_2022
    layer = fixturegen.foreign_layer(digest, size, fake_digest("conflict-diff"), repository=NANO)
    config = fixturegen.make_config(
        [layer.diff_id],
        [_history("Apply image 10.0.17763.2928", "2022-05-01T00:00:00Z")],
        os_name="windows",
        os_version="10.0.17763.2928",
        docker=True,
    )
    with Pusher(registry.url) as pusher:
        push(pusher, NANO, "10.0.17763.2928", fixturegen.make_image([layer], config, docker=True))
    run = _refresh(layerscope, registry, "--repository", NANO, "--tags", "10.0.17763.2928")
    assert run.exit_code == 1
    assert "shipped catalog has it as servercore/ltsc2019/base" in run.stderr
    assert "nothing was saved" in run.stderr
    assert not (tmp_path / "xdg-data" / "layerscope" / "catalog.json").exists()
    assert load_shipped().by_digest(digest) is not None


def test_unknown_repository_is_a_usage_error(registry: RegistryProcess, layerscope: Callable[..., Run]) -> None:
    run = _refresh(layerscope, registry, "--repository", "dotnet/runtime")
    assert run.exit_code == 2
    assert "not a Windows base repository" in run.stderr


def _app_image(rtm: fixturegen.Layer, update: fixturegen.Layer) -> fixturegen.Image:
    app = fixturegen.make_layer(fixturegen.windows_app_entries("app-on-fake-base"), media_type=fixturegen.DOCKER_LAYER)
    config = fixturegen.make_config(
        [rtm.diff_id, update.diff_id, app.diff_id],
        [
            _history(RTM_LABEL, "2018-11-08T10:00:00Z"),
            _history("Install update 10.0.17763.5206", "2023-12-05T18:00:00Z"),
            _history("COPY app C:/app", "2024-01-10T09:00:00Z"),
        ],
        os_name="windows",
        os_version="10.0.17763.5206",
        docker=True,
    )
    return fixturegen.make_image([rtm, update, app], config, docker=True)


def _base_of(layerscope: Callable[..., Run], ref: str) -> dict[str, Any]:
    run = layerscope("analyze", ref, "-o", "json", "--no-store")
    assert run.exit_code == 0, run.stderr
    base: dict[str, Any] = run.json()["images"][0]["base"]
    return base


def test_analyze_identifies_the_refreshed_base_by_digest_and_by_diff_id(
    fake_mcr: FakeMcr, registry: RegistryProcess, layerscope: Callable[..., Run], repo_name: str
) -> None:
    same = _app_image(fake_mcr.rtm, fake_mcr.update_5206)
    # The same tar streams compressed differently: other digests, same diff_ids.
    recompressed = _app_image(_layer("rtm", "gzip-multimember"), _layer("upd-5206", "gzip-multimember"))
    assert recompressed.layers[0].digest != fake_mcr.rtm.digest
    with Pusher(registry.url) as pusher:
        same_ref = push(pusher, repo_name, "same", same).ref
        recompressed_ref = push(pusher, repo_name, "recompressed", recompressed).ref

    # Before the refresh only the history labels speak for the base (tiny layers: no family by size).
    before = _base_of(layerscope, same_ref)
    assert (before["match"], before["image"]) == ("history", None)

    assert _refresh(layerscope, registry, "--repository", SC).exit_code == 0
    by_digest = _base_of(layerscope, same_ref)
    assert by_digest == {
        "image": "mcr.microsoft.com/windows/servercore",
        "channel": "ltsc2019",
        "os_version": "10.0.17763.5206",
        "month": "2023-12",  # os-versions.csv dates this build
        "layers": 2,
        "match": "digest",
        # #14 item 1: dated from the build tables too (windows-builds.csv row 10.0.17763.5206)
        "kb": "KB5033371",
        "release_date": "2023-12-12",
        "version": None,
        "generation": "single",
    }
    by_diff_id = _base_of(layerscope, recompressed_ref)
    assert by_diff_id["match"] == "diff_id" and by_diff_id["image"] == "mcr.microsoft.com/windows/servercore"
    assert by_diff_id["layers"] == 2


# -- refresh_catalog with an in-memory client: cases the registry test does not reach -------------------


class _FakeClient:
    """Tags -> images in memory; records every blob read; can fail a tag with a given error."""

    def __init__(self, images: dict[str, fixturegen.Image], fail: dict[str, Exception] | None = None) -> None:
        self.images = images
        self.fail = fail or {}
        self.blobs_read: list[str] = []

    def list_tags(self, ref: Reference) -> list[str]:
        return sorted(self.images) + sorted(self.fail)

    def get_manifest(self, ref: Reference, identifier: str | None = None) -> Manifest | Index:
        assert isinstance(ref, ImageReference) and ref.tag is not None
        if ref.tag in self.fail:
            raise self.fail[ref.tag]
        return parse_manifest_or_index(self.images[ref.tag].manifest.data)

    def get_blob(self, ref: Reference, descriptor: Descriptor, max_bytes: int) -> bytes:
        self.blobs_read.append(descriptor.digest)
        assert isinstance(ref, ImageReference) and ref.tag is not None
        image = self.images[ref.tag]
        assert descriptor.digest == image.config.digest, "only configs may be read"
        return image.config.data


def _single(
    version: str, label: str, created: str = "2021-05-11T00:00:00Z", *, os_name: str = "windows"
) -> fixturegen.Image:
    layer = fixturegen.foreign_layer(
        fake_digest(f"layer-{version}-{label}"), 100_000_000, fake_digest(f"diff-{version}")
    )
    config = fixturegen.make_config(
        [layer.diff_id], [_history(label, created)], os_name=os_name, os_version=version, docker=True
    )
    return fixturegen.make_image([layer], config, docker=True)


def test_refresh_unit_cases() -> None:
    client = _FakeClient(
        {
            "10.0.19042.985": _single("10.0.19042.985", "Apply image 10.0.19042.985"),  # 20H2: not LTSC
            "10.0.17763.1": _single("10.0.17763.1", "Apply image 10.0.20348.1"),  # label names another build
            "10.0.17763.2": _single("10.0.17763.2", "RUN echo hi"),  # not a base label
            "10.0.17763.3": _single("10.0.17763.3", "Apply image 10.0.17763.3", os_name="linux"),
        },
        fail={"10.0.17763.4": NotFoundError("manifest unknown")},
    )
    warnings: list[str] = []

    class Recorder(NullObserver):
        def warning(self, message: str) -> None:
            warnings.append(message)

    result = refresh_catalog(
        client, load_shipped(), repositories=["windows/servercore"], today=date(2026, 1, 2), observer=Recorder()
    )
    assert result.day == "2026-01-02"
    (image,) = result.images
    assert (image.os_version, image.channel, image.month) == ("10.0.19042.985", None, "2021-05")
    (row,) = result.layers
    assert (row.channel, row.build, row.role, row.provenance_verified) == (None, None, "single", "yes")
    where = f"mcr.microsoft.com/windows/servercore:10.0.19042.985@{image.manifest_digest}"
    assert row.source == f"{where} (layerscope catalog refresh 2026-01-02)"
    reasons = {s.tag: s.reason for s in result.skipped}
    assert "names another build" in reasons["10.0.17763.1"]
    assert "is not 'Apply image …'" in reasons["10.0.17763.2"]
    assert reasons["10.0.17763.4"] == "manifest unknown"
    assert reasons["10.0.17763.3"] == "no windows/amd64 image"  # a Linux image: nothing read beyond its config
    assert len(warnings) == 4 and all(w.endswith("; skipped") for w in warnings)
    assert set(client.blobs_read) <= {i.config.digest for i in client.images.values()}


def test_refresh_stops_when_the_registry_is_down() -> None:
    client = _FakeClient({}, fail={"ltsc2019": RegistryUnavailableError("connection refused")})
    with pytest.raises(RegistryUnavailableError):
        refresh_catalog(client, load_shipped(), repositories=["windows/servercore"])


def test_docker_hub_legacy_repository_names() -> None:
    assert family_of_repository("microsoft/windowsservercore") == "servercore"
    assert family_of_repository("mcr.microsoft.com/windows/nanoserver") == "nanoserver"
    assert family_of_repository("windows/server") is None
