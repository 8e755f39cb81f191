"""Lookups by os_version and KB give each table row's month, KB, kind, channel and container facts."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from layerscope.windows import build_info, builds_for_kb
from layerscope.windows.builds import normalise_kb, parse_os_version
from tests.windows.shipped import rows

CHANNELS = {"14393": "ltsc2016", "17763": "ltsc2019", "20348": "ltsc2022", "26100": "ltsc2025"}
# Undated container-only rows: the month their note (or windows-base-layers.csv) places them in, by hand.
UNDATED_MONTHS = {
    "10.0.14393.206": None,  # "Server 2016 GA images (2016-09/10)": two months, so unknown
    "10.0.14393.3506": "2020-02",
    "10.0.17763.1040": "2020-02",
    "10.0.20348.5622": "2026-09",
    "10.0.26100.33438": "2026-09",
}


def test_every_ltsc_row_gives_its_month_kb_kind_and_channel() -> None:
    table = rows("windows-builds.csv")
    assert len(table) == 501
    for r in table:
        info = build_info(r["os_version"])
        assert info is not None, r["os_version"]
        month = r["release_date"][:7] if r["release_date"] else UNDATED_MONTHS[r["os_version"]]
        got = (info.month, info.kb, info.kind, info.channel, info.version, info.container_image)
        assert got == (month, r["kb"] or None, r["kind"], CHANNELS[r["build"]], None, r["container_image"]), r
        assert info.release_date == (date.fromisoformat(r["release_date"]) if r["release_date"] else None)
        assert info.source == r["source"] and info.table == "windows-builds.csv"
        assert info.container_evidence == tuple(t for t in r["container_evidence"].split(";") if t)


def test_every_sac_row_gives_its_month_kb_and_version() -> None:
    table = rows("windows-sac-builds.csv")
    assert len(table) == 207
    for r in table:
        info = build_info(r["os_version"])
        assert info is not None, r["os_version"]
        got = (info.month, info.kb, info.kind, info.channel, info.version, info.container_image)
        assert got == (r["release_date"][:7], r["kb"], r["kind"], None, r["version"], "unknown"), r
        assert info.is_sac and info.source == r["source"]


def test_every_kb_gives_exactly_its_builds() -> None:
    by_kb: dict[str, set[str]] = defaultdict(set)
    for name in ("windows-builds.csv", "windows-sac-builds.csv"):
        for r in rows(name):
            if r["kb"]:
                by_kb[r["kb"]].add(r["os_version"])
    assert len(by_kb) > 600
    for kb, versions in by_kb.items():
        assert {b.os_version for b in builds_for_kb(kb)} == versions, kb
    # 1903 and 1909 share their cumulative updates; KB4519338 is both 2019-10 ltsc2019 revisions.
    assert {b.os_version for b in builds_for_kb("kb4519338")} == {"10.0.17763.802", "10.0.17763.805"}


def test_a_second_kb_named_in_a_note_finds_its_build() -> None:
    # "MS release-info also lists KB3193494 (2016-09-20, 2016-09 B) with this build"
    assert [b.os_version for b in builds_for_kb("KB3193494")] == ["10.0.14393.187"]


def test_input_forms_and_unknowns() -> None:
    assert build_info("17763.1879") == build_info(" 10.0.17763.1879 ")
    assert build_info("10.0.17763.1879") is not None
    assert build_info("10.0.17763.99999") is None
    assert build_info("10.0.22000.1") is None
    assert builds_for_kb("KB0000001") == ()
    assert parse_os_version("10.0.17763") is None and parse_os_version("ltsc2019") is None
    assert normalise_kb("5001342") == "KB5001342" and normalise_kb("KB12") is None


def test_server_core_and_nano_server_rows_of_october_2019_apply_to_one_image_each() -> None:
    nano, core = build_info("10.0.17763.802"), build_info("10.0.17763.805")
    assert nano is not None and core is not None
    assert nano.images == ("nanoserver",) and core.images == ("servercore",)
    assert nano.is_container_release("nanoserver") and not nano.is_container_release("servercore")
    assert core.is_container_release("servercore") and not core.is_container_release("nanoserver")
    both = build_info("10.0.17763.864")
    assert both is not None and both.images == ("servercore", "nanoserver")


def test_undated_container_builds_are_ordered_by_their_host_update() -> None:
    row = build_info("10.0.17763.1040")
    assert row is not None and row.release_date is None and row.order_date == date(2020, 2, 11)
    assert row.annotation_source and "10.0.17763.1039" in row.annotation_source
    assert "placed in its month" in row.month_basis
