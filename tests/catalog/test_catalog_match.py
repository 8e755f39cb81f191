"""Base matching (digest, diff_id, history), drift, rebuild suggestions, process isolation."""

from __future__ import annotations

import pytest

from layerscope.catalog import (
    BaseMatch,
    base_measurements,
    declared_base,
    detect_drift,
    isolation_compatible,
    load_shipped,
    match_base,
    parse_history_label,
    suggest_rebuild,
)
from layerscope.measurement import SizeSource
from layerscope.oci import Descriptor, MediaType
from layerscope.report.analysis_json import base_document
from tests.catalog.catalog_helpers import (
    APP_LABEL,
    NANO1809_2025_05,
    SC2019_RTM_2018,
    SC2019_RTM_2020,
    SC2019_RTM_2022,
    SC2019_UPD_2020_10,
    SC2019_UPD_2022_05,
    SC2019_UPD_2022_09,
    SC2022_RTM_2021,
    SC2022_RTM_DIFF_ID,
    SC2022_UPD_2022_01,
    SC2022_UPD_DIFF_ID,
    config,
    desc,
    fake_digest,
)

CAT = load_shipped()
SC2019_LABELS = ["Apply image 10.0.17763.2803", "Install update 10.0.17763.2928", APP_LABEL]


def app() -> Descriptor:
    return desc(fake_digest("app"), 50_000_000)


def servercore_2019(update: tuple[str, int] = SC2019_UPD_2022_05, os_version: str = "10.0.17763.2928") -> BaseMatch:
    labels = ["Apply image 10.0.17763.2803", f"Install update {os_version}", APP_LABEL]
    layers = [desc(*SC2019_RTM_2022, MediaType.DOCKER_FOREIGN), desc(*update, MediaType.DOCKER_FOREIGN), app()]
    m = match_base(config(labels, os_version=os_version), layers, CAT)
    assert m is not None
    return m


_CONTRACT = ("image", "channel", "os_version", "month", "layers", "match")


def test_match_by_digest() -> None:
    m = servercore_2019()
    assert m.match == "digest" and m.evidence == ("digest", "digest")
    assert (m.image, m.family, m.channel) == ("mcr.microsoft.com/windows/servercore", "servercore", "ltsc2019")
    assert (m.os_version, m.month, m.layer_count) == ("10.0.17763.2928", "2022-05", 2)
    assert [r.digest for r in m.layers if r] == [SC2019_RTM_2022[0], SC2019_UPD_2022_05[0]]
    assert {k: v for k, v in (base_document(m) or {}).items() if k in _CONTRACT} == {
        "image": "mcr.microsoft.com/windows/servercore",
        "channel": "ltsc2019",
        "os_version": "10.0.17763.2928",
        "month": "2022-05",
        "layers": 2,
        "match": "digest",
    }


def test_match_by_diff_id_after_recompression() -> None:
    labels = ["Apply image 2022-RTM-amd64", "Install update ltsc2022-amd64", APP_LABEL]
    cfg = config(
        labels, os_version="10.0.20348.473", diff_ids=[SC2022_RTM_DIFF_ID, SC2022_UPD_DIFF_ID, fake_digest("d")]
    )
    layers = [desc(fake_digest("re1"), 1_300_000_000), desc(fake_digest("re2"), 990_000_000), app()]
    m = match_base(cfg, layers, CAT)
    assert m is not None
    assert (m.match, m.family, m.channel, m.layer_count) == ("diff_id", "servercore", "ltsc2022", 2)
    assert (m.os_version, m.month) == ("10.0.20348.473", "2022-01")
    assert [r.digest for r in m.layers if r] == [SC2022_RTM_2021[0], SC2022_UPD_2022_01[0]]
    assert m.digests == (fake_digest("re1"), fake_digest("re2"))


def test_recompressed_base_matches_by_history() -> None:
    # A base pulled and pushed again: other digests and sizes, same history and os.version (Windows-Containers#519).
    layers = [desc(fake_digest("r1"), 1_890_000_000), desc(fake_digest("r2"), 640_000_000), app()]
    m = match_base(config(SC2019_LABELS), layers, CAT)
    assert m is not None
    assert (m.match, m.evidence) == ("history", ("history", "history"))
    assert (m.family, m.channel, m.os_version, m.month, m.layer_count) == (
        "servercore",
        "ltsc2019",
        "10.0.17763.2928",
        "2022-05",
        2,
    )
    # The labels name full builds, so the catalog rows (and their content sizes) are identified.
    assert [r.digest for r in m.layers if r] == [SC2019_RTM_2022[0], SC2019_UPD_2022_05[0]]
    sizes = base_measurements(m, layers, CAT)
    assert [s.digest for s in sizes] == [fake_digest("r1"), fake_digest("r2")]
    assert all(s.size_source is SizeSource.ESTIMATED and s.extracted_bytes for s in sizes)


def test_history_match_with_old_labels_and_nanoserver_single_layer() -> None:
    labels = ["Apply image 1809-RTM-amd64", "Install update 1809-amd64", APP_LABEL]
    layers = [desc(fake_digest("a"), 1_700_000_000), desc(fake_digest("b"), 700_000_000), app()]
    m = match_base(config(labels, os_version="10.0.17763.1518"), layers, CAT)
    assert m is not None
    assert (m.match, m.family, m.layer_count, m.month) == ("history", "servercore", 2, "2020-10")
    assert m.layers == (None, None)  # "1809-RTM-amd64" names several base layers: no row is picked

    nano = [desc(fake_digest("n"), 110_000_000), app()]
    cfg = config(["Apply image 10.0.17763.7314", APP_LABEL], os_version="10.0.17763.7314")
    n = match_base(cfg, nano, CAT)
    assert n is not None
    assert (n.image, n.layer_count, n.month) == ("mcr.microsoft.com/windows/nanoserver", 1, "2025-05")
    assert n.layers[0] is not None and n.layers[0].digest == NANO1809_2025_05[0]


def test_history_match_whose_family_cannot_be_told() -> None:
    # windows/server is ~3 GB compressed: outside both families' size bands, and the catalog has no rows for it.
    labels = ["Apply image 10.0.20348.643", "Install update 10.0.20348.1366", APP_LABEL]
    layers = [desc(fake_digest("s1"), 3_060_000_000), desc(fake_digest("s2"), 2_250_000_000), app()]
    m = match_base(config(labels, os_version="10.0.20348.1366"), layers, CAT)
    assert m is not None
    assert (m.family, m.image, m.channel, m.layer_count) == (None, None, "ltsc2022", 2)
    assert (m.os_version, m.month) == ("10.0.20348.1366", "2022-12")
    assert base_measurements(m, layers, CAT)[0].extracted_bytes is None


def test_digest_base_with_unknown_update_reports_the_strongest_evidence() -> None:
    labels = ["Apply image 10.0.17763.2803", "Install update 10.0.17763.9999", APP_LABEL]
    layers = [desc(*SC2019_RTM_2022), desc(fake_digest("new-update"), 600_000_000), app()]
    m = match_base(config(labels, os_version="10.0.17763.9999"), layers, CAT)
    assert m is not None
    # #14 item 1: `match` is the strongest evidence that held (the digest-known base layer); evidence per layer
    assert (m.match, m.evidence, m.layer_count) == ("digest", ("digest", "history"), 2)
    assert (m.os_version, m.month) == ("10.0.17763.9999", None)  # month unknown: never guessed


@pytest.mark.parametrize(
    ("labels", "os", "os_version"),
    [
        (SC2019_LABELS, "linux", None),  # history only counts for Windows
        (SC2019_LABELS, "windows", None),  # no os.version
        (SC2019_LABELS, "windows", "10.0.19041.1"),  # not an LTSC build
        (SC2019_LABELS, "windows", "10.0.20348.1366"),  # labels name 17763, config says 20348
        (["Install update 10.0.17763.2928", "Apply image 10.0.17763.2803", APP_LABEL], "windows", "10.0.17763.2928"),
        ([APP_LABEL, APP_LABEL, APP_LABEL], "windows", "10.0.17763.2928"),
    ],
)
def test_no_known_base_gives_none(labels: list[str], os: str, os_version: str | None) -> None:
    layers = [desc(fake_digest("x1"), 1_890_000_000), desc(fake_digest("x2"), 640_000_000), app()]
    assert match_base(config(labels, os=os, os_version=os_version), layers, CAT) is None


def test_history_must_line_up_with_the_layers() -> None:
    layers = [desc(fake_digest("x1"), 1_890_000_000), desc(fake_digest("x2"), 640_000_000)]
    assert match_base(config(SC2019_LABELS), layers, CAT) is None  # 3 history entries, 2 layers
    ok = match_base(config(SC2019_LABELS[:2], extra_history=2), layers, CAT)
    assert ok is not None and ok.layer_count == 2  # empty_layer entries do not count


def test_history_does_not_extend_a_base_of_another_channel() -> None:
    labels = ["Apply image 10.0.17763.2803", "Install update 10.0.20348.1366", APP_LABEL]
    layers = [desc(*SC2019_RTM_2022), desc(fake_digest("u"), 600_000_000), app()]
    m = match_base(config(labels, os_version="10.0.20348.1366"), layers, CAT)
    assert m is not None and m.layer_count == 1 and m.channel == "ltsc2019"


def test_update_layer_cannot_lead() -> None:
    layers = [desc(*SC2019_UPD_2022_05), app()]
    assert match_base(config(["Install update 10.0.17763.2928", APP_LABEL]), layers, CAT) is None


def test_parse_history_label() -> None:
    assert parse_history_label("Apply image 10.0.14393.0") == ("Apply image", 14393)
    assert parse_history_label("RUN Install update ltsc2022-amd64") == ("Install update", 20348)
    assert parse_history_label("Apply image 1809_RTM_amd64") == ("Apply image", 17763)
    assert parse_history_label("Apply image 1607-RTM-amd64") == ("Apply image", 14393)
    assert parse_history_label("Apply image 1709-amd64") == ("Apply image", None)
    assert parse_history_label("cmd /S /C echo Apply image 10.0.17763.1") is None


def test_drift_same_channel_other_month_pulls_only_the_new_update() -> None:
    image = servercore_2019(SC2019_UPD_2022_09, "10.0.17763.3406")
    baked = servercore_2019()
    drift = detect_drift(image, [baked])
    assert drift is not None
    assert (drift.baked_os_version, drift.baked_month) == ("10.0.17763.2928", "2022-05")
    assert (drift.image_os_version, drift.image_month) == ("10.0.17763.3406", "2022-09")
    assert drift.pulled_layers == (1,) and drift.layers_known  # the RTM layer b111c332… is shared
    assert drift.bytes_to_pull is None  # sized later, against the chains the node holds (baked.apply_baked)


def test_drift_across_a_rebaseline_pulls_the_whole_base() -> None:
    baked = match_base(
        config(["Apply image 1809-RTM-amd64", "Install update 1809-amd64", APP_LABEL], os_version="10.0.17763.1518"),
        [desc(*SC2019_RTM_2020), desc(*SC2019_UPD_2020_10), app()],
        CAT,
    )
    assert baked is not None and baked.month == "2020-10"
    drift = detect_drift(servercore_2019(), [baked])
    assert drift is not None and drift.pulled_layers == (0, 1)


def test_no_drift_for_the_same_revision_another_channel_or_unknown_builds() -> None:
    image = servercore_2019()
    assert detect_drift(image, [servercore_2019()]) is None
    ltsc2022 = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2022", os_version="10.0.20348.1487")
    nano = declared_base(CAT, "mcr.microsoft.com/windows/nanoserver:1809", os_version="10.0.17763.1040")
    unknown_month = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2019")
    assert ltsc2022 and nano and unknown_month and unknown_month.os_version is None
    assert detect_drift(image, [ltsc2022, nano, unknown_month]) is None
    # The image's revision among several baked revisions (Fargate caches two months): no drift.
    older = declared_base(CAT, "mcr.microsoft.com/windows/servercore:10.0.17763.1518")
    assert older is not None
    assert detect_drift(image, [older, servercore_2019()]) is None


def test_drift_against_a_declared_baked_base_without_layer_rows() -> None:
    baked = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2019", month="2024-04")
    assert baked is not None
    assert (baked.os_version, baked.layer_count) == ("10.0.17763.5696", 0)  # Fargate example: April 2024
    drift = detect_drift(servercore_2019(), [baked])
    assert drift is not None
    assert drift.pulled_layers == (0, 1) and not drift.layers_known  # cannot compare layers: all listed


def test_declared_base() -> None:
    by_tag = declared_base(CAT, "mcr.microsoft.com/windows/servercore:10.0.17763.2928")
    assert by_tag is not None
    assert (by_tag.channel, by_tag.month, by_tag.match, by_tag.layer_count) == ("ltsc2019", "2022-05", "declared", 2)
    pinned = declared_base(
        CAT,
        "mcr.microsoft.com/windows/servercore:ltsc2022@sha256:dfd3ce22e4b6e987ff2bfb3efe5e4912512fce35660be2ae5faa91e6f4da9748",
    )
    assert pinned is not None and (pinned.os_version, pinned.month) == ("10.0.20348.1487", "2023-01")
    nano = declared_base(CAT, "mcr.microsoft.com/windows/nanoserver:1809", os_version="10.0.17763.7314")
    assert nano is not None and nano.layer_count == 1 and nano.digests == (NANO1809_2025_05[0],)
    assert declared_base(CAT, "docker.io/library/ubuntu:24.04") is None
    assert declared_base(CAT, "mcr.microsoft.com/windows/servercore:latest") is None
    assert declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2019", os_version="10.0.20348.1") is None


def test_suggest_rebuild() -> None:
    verified = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2022", os_version="10.0.20348.1487")
    assert verified is not None
    assert suggest_rebuild(verified, CAT) == (
        "mcr.microsoft.com/windows/servercore:ltsc2022@"
        "sha256:dfd3ce22e4b6e987ff2bfb3efe5e4912512fce35660be2ae5faa91e6f4da9748"
    )
    assert suggest_rebuild(servercore_2019(), CAT) == "mcr.microsoft.com/windows/servercore:10.0.17763.2928"
    dated = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2022", month="2024-05")
    assert dated is not None and dated.os_version == "10.0.20348.2461"  # nanoserver row of that month
    assert suggest_rebuild(dated, CAT) == "mcr.microsoft.com/windows/servercore:10.0.20348.2461"
    one_pin = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2022", month="2024-09")
    assert one_pin is not None and one_pin.os_version is None
    assert suggest_rebuild(one_pin, CAT) == (
        "mcr.microsoft.com/windows/servercore:ltsc2022@"
        "sha256:b7b2e5b4c2414400c4eef13db747376e0f10ef8e15b8d0587ef5b953ad4e6d43"
    )
    two_pins = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2022", month="2023-06")
    assert two_pins is not None and suggest_rebuild(two_pins, CAT) is None
    unknown = declared_base(CAT, "mcr.microsoft.com/windows/servercore:ltsc2019")
    assert unknown is not None and suggest_rebuild(unknown, CAT) is None


@pytest.mark.parametrize(
    ("image", "host", "kwargs", "expected"),
    [
        ("10.0.17763.2928", "10.0.17763.5696", {}, True),  # UBR may differ since 1809
        ("10.0.20348.1487", "10.0.17763.5696", {}, False),  # build must match
        ("10.0.17763.2928", "10.0.20348.2402", {}, False),  # WS2022 host does not run 2019 images
        ("10.0.20348.1487", "10.0.26100.3781", {}, True),  # WS2025 host runs WS2022 images (Microsoft table)
        ("10.0.20348.1487", "10.0.26100.3781", {"same_build_only": True}, False),  # EKS/ECS placement rule
        ("10.0.14393.3630", "10.0.14393.3630", {}, True),
        ("10.0.14393.3025", "10.0.14393.3630", {}, False),  # WS2016 needs the same revision
        ("10.0.17763.914", "10.0.17763.2928", {}, False),  # opposite sides of the Feb 2020 baseline
        ("10.0.17763.914", "10.0.17763.1000", {}, True),
        ("10.0.17763.2928", "10.0.17763", {}, None),  # host revision unknown
        ("10.0.17763.2928", "10.0.17763", {"host_after_2020_baseline": True}, True),
        ("10.0.20348.1487", "10.0.20348", {}, True),
        (None, "10.0.17763.2928", {}, None),
        ("garbage", "10.0.17763.2928", {}, None),
    ],
)
def test_isolation_compatible(image: str | None, host: str, kwargs: dict[str, bool], expected: bool | None) -> None:
    assert isolation_compatible(image, host, **kwargs) is expected


def test_base_measurements_for_a_digest_match() -> None:
    layers = [desc(*SC2019_RTM_2018, MediaType.DOCKER_FOREIGN), desc(fake_digest("u"), 681_000_000), app()]
    labels = ["Apply image 1809-RTM-amd64", "Install update 1809-amd64", APP_LABEL]
    m = match_base(config(labels, os_version="10.0.17763.914"), layers, CAT)
    assert m is not None and m.evidence == ("digest", "history")
    rtm, update = base_measurements(m, layers, CAT)
    assert (rtm.size_source, rtm.extracted_bytes) == (SizeSource.CATALOG_APPROX, 3_470_000_000)
    assert update.size_source is SizeSource.ESTIMATED and update.compressed_bytes == 681_000_000
