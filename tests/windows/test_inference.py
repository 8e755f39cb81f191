"""The AMI cache rule of ami-cache-revision.md: its worked examples and counterexamples, and every AMI row."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import pytest

from layerscope.errors import UsageError
from layerscope.windows import amis, infer_ami_revision
from tests.windows.shipped import rows

EKS = "Windows_Server-{}-English-Core-EKS_Optimized-{}"

# Section 5, "Worked examples (servercore, rule applied to eks-windows-amis.csv)": AMI -> (predicted, alternatives).
WORKED_EXAMPLES = [
    (EKS.format("2022", "1.29-2024.06.17"), "10.0.20348.2527", []),  # the OOB .2529 came 2024-06-20
    (EKS.format("2022", "1.31-2024.10.01"), "10.0.20348.2700", []),
    (EKS.format("2022", "1.31-2025.01.01"), "10.0.20348.2966", []),
    (EKS.format("2019", "1.31-2025.04.14"), "10.0.17763.7136", ["10.0.17763.7009"]),  # floating-tag lag
    (EKS.format("2022", "1.33-2025.10.18"), "10.0.20348.4294", []),  # OOB .4297 came 2025-10-23
    (EKS.format("2025", "1.35-2026.04.18"), "10.0.26100.32690", []),  # 2026-04-19 OOB: no image known
    (EKS.format("2022", "1.29-2024.04.09"), "10.0.20348.2402", ["10.0.20348.2340"]),  # dated on Patch Tuesday
]


@pytest.mark.parametrize(("name", "predicted", "alternatives"), WORKED_EXAMPLES)
def test_worked_examples(name: str, predicted: str, alternatives: list[str]) -> None:
    result = infer_ami_revision(name)
    assert result.ami is not None and result.ami.ami_name == name  # every example is a row of the AMI table
    assert (result.os_version, [a.os_version for a in result.alternatives]) == (predicted, alternatives)
    assert result.basis == "ami-date" and result.confidence == "medium"
    assert result.evidence[0].os_version == predicted and result.evidence[0].source
    assert predicted in result.explanation and "ami-cache-revision.md" in result.explanation


def test_april_2025_regression_covers_ws2019_ws2025_and_nanoserver_ltsc2022_only() -> None:
    # Section 3/4: WS2019 and WS2025 tags, and nanoserver:ltsc2022 (AKS), served March 2025 images.
    core2022 = infer_ami_revision(EKS.format("2022", "1.31-2025.04.14"))
    nano2022 = infer_ami_revision(EKS.format("2022", "1.31-2025.04.14"), image="nanoserver")
    assert core2022.os_version == nano2022.os_version == "10.0.20348.3453"
    assert core2022.alternatives == ()
    assert [(a.os_version, a.kind) for a in nano2022.alternatives] == [("10.0.20348.3328", "tag-regression")]
    # After the April OOB image (2025-04-16) the tag could still serve March: both older releases are possible.
    late = infer_ami_revision(date(2025, 4, 20), build="ltsc2019")
    assert late.os_version == "10.0.17763.7249"
    assert [a.os_version for a in late.alternatives] == ["10.0.17763.7136", "10.0.17763.7009"]
    # Outside the window nothing lags.
    assert infer_ami_revision(date(2025, 5, 20), build=2019).alternatives == ()


def test_out_of_band_container_releases_move_the_prediction() -> None:
    # Section 6: OOB container releases after the B release (2022-01-17, 2024-06-20, 2025-10-23).
    assert infer_ami_revision(date(2024, 6, 25), build=2022).os_version == "10.0.20348.2529"
    on_the_day = infer_ami_revision(date(2024, 6, 20), build=2022)
    assert (on_the_day.os_version, [a.os_version for a in on_the_day.alternatives]) == (
        "10.0.20348.2529",
        ["10.0.20348.2527"],
    )
    assert infer_ami_revision(date(2022, 1, 20), build=2022).os_version == "10.0.20348.473"
    assert infer_ami_revision(date(2025, 10, 24), build=2022).os_version == "10.0.20348.4297"
    # OOB host updates without images never count (20348.407, .709, .1131, .1251).
    assert infer_ami_revision(date(2022, 11, 30), build=2022).os_version == "10.0.20348.1249"


def test_server_core_and_nano_server_are_compared_per_image() -> None:
    # Rule 4: 2019-10 nanoserver 17763.802, servercore 17763.805 (ECS AMI dated one day after Patch Tuesday).
    name = "Windows_Server-2019-English-Core-ECS_Optimized-2019.10.09"
    core = infer_ami_revision(name)
    nano = infer_ami_revision(name, image="nanoserver")
    assert (core.os_version, nano.os_version) == ("10.0.17763.805", "10.0.17763.802")
    assert [a.os_version for a in core.alternatives] == [a.os_version for a in nano.alternatives] == ["10.0.17763.737"]
    nov = "Windows_Server-2019-English-Core-ECS_Optimized-2019.11.13"
    assert [a.os_version for a in infer_ami_revision(nov).alternatives] == ["10.0.17763.805"]
    assert [a.os_version for a in infer_ami_revision(nov, image="nanoserver").alternatives] == ["10.0.17763.802"]


def test_eks_123_on_containerd_caches_no_base_image() -> None:
    # Rule 5: EKS <= 1.23 with the optional containerd runtime holds only the pause image.
    name = EKS.format("2019", "1.23-2023.05.09")
    docker = infer_ami_revision(name)
    containerd = infer_ami_revision(name, runtime="containerd")
    assert docker.runtime == "docker" and docker.os_version == "10.0.17763.4377"
    assert containerd.os_version is None and containerd.basis == "no-base-cached"
    assert containerd.alternatives == () and "pause" in containerd.explanation
    assert infer_ami_revision(EKS.format("2019", "1.24-2023.05.09")).runtime == "containerd"
    with pytest.raises(UsageError):
        infer_ami_revision(EKS.format("2019", "1.24-2023.05.09"), runtime="docker")
    with pytest.raises(UsageError):
        infer_ami_revision("Windows_Server-2019-English-Core-ECS_Optimized-2024.05.15", runtime="containerd")


def test_ecs_is_low_confidence_and_an_incomplete_date_gives_the_month() -> None:
    ecs = infer_ami_revision("Windows_Server-2019-English-Full-ECS_Optimized-2022.02.10")
    assert (ecs.os_version, ecs.confidence) == ("10.0.17763.2565", "low")
    month_only = infer_ami_revision("Windows_Server-2019-English-Core-ECS_Optimized-2020.10")
    assert month_only.os_version == "10.0.17763.1518"
    assert [(a.os_version, a.kind) for a in month_only.alternatives] == [("10.0.17763.1457", "month-only")]


def test_the_ami_date_wins_over_what_a_node_later_reports() -> None:
    # Section 2 open point: a WS2022 1.24 node ran kernel 20348.1249 (Nov B) though the only listed WS2022 1.24
    # AMI is 1.24-2022.10.11. The rule answers for the AMI's date; the node's kernel is another basis.
    result = infer_ami_revision(EKS.format("2022", "1.24-2022.10.11"))
    assert result.os_version == "10.0.20348.1129"
    assert [a.os_version for a in result.alternatives] == ["10.0.20348.1006"]


def test_container_only_release_placed_in_its_month() -> None:
    feb = infer_ami_revision(date(2020, 2, 20), build="2019")
    assert feb.os_version == "10.0.17763.1040" and feb.alternatives == ()
    assert infer_ami_revision(date(2020, 2, 20), build="2016").os_version == "10.0.14393.3506"


def test_before_any_release_and_bad_inputs() -> None:
    early = infer_ami_revision(date(2018, 1, 1), build=2019)
    assert early.os_version is None and early.basis == "unknown" and early.confidence == "none"
    with pytest.raises(UsageError):
        infer_ami_revision("2025-01-01")  # a date needs the build
    with pytest.raises(UsageError):
        infer_ami_revision("not-an-ami")
    with pytest.raises(UsageError):
        infer_ami_revision(date(2025, 1, 1), build=2019, image="windows")
    # A newer AMI than the table knows is inferred from its name alone.
    newer = infer_ami_revision(EKS.format("2022", "1.35-2026.08.20"))
    assert newer.ami is None and newer.os_version == "10.0.20348.5499"


# --- every AMI row, against an independent reading of the rule over the shipped CSV ---------------------------

BUILDS = {"2016": "14393", "2019": "17763", "2022": "20348", "2025": "26100", "1909": "18363", "2004": "19041"}
BUILDS["20H2"] = "19042"
ONLY = {"10.0.17763.802": "nanoserver", "10.0.17763.805": "servercore"}  # the 2019-10 split (rule 4)
UNDATED = {"10.0.17763.1040": "2020-02-11", "10.0.14393.3506": "2020-02-11"}  # placed on their host CU's date
LAG = {"17763", "26100"}  # WS2019 and WS2025 tags (+ nanoserver:ltsc2022)


@cache
def _oracle_candidates(build: str, image: str) -> list[tuple[date, int, str]]:
    out = []
    for r in rows("windows-builds.csv"):
        if r["build"] != build or r["kind"] not in ("b", "oob") or r["container_image"] != "yes":
            continue
        if ONLY.get(r["os_version"], image) != image:
            continue
        when = r["release_date"] or UNDATED.get(r["os_version"], "")
        if when:
            out.append((date.fromisoformat(when), int(r["ubr"]), r["os_version"]))
    for r in rows("windows-sac-builds.csv"):
        if r["build"] == build and r["kind"] == "b":
            out.append((date.fromisoformat(r["release_date"]), int(r["ubr"]), r["os_version"]))
    return sorted(out)


def _oracle(build: str, day: date, image: str) -> tuple[str, list[str]]:
    before = [c for c in _oracle_candidates(build, image) if c[0] <= day]
    top, older = before[-1], before[:-1]
    alts = []
    if (day - top[0]).days <= 1 and older:
        alts.append(older[-1][2])
    lagging = build in LAG or (build == "20348" and image == "nanoserver")
    if date(2025, 4, 8) <= day <= date(2025, 5, 9) and lagging:
        march = [c for c in older if c[0] < date(2025, 4, 8)]
        for c in [older[-1], march[-1]]:
            if c[2] not in alts:
                alts.append(c[2])
    return top[2], alts


def test_every_ami_row_predicts_a_revision_per_image() -> None:
    table = rows("eks-windows-amis.csv")
    checked = 0
    for r in table:
        for image in ("servercore", "nanoserver"):
            result = infer_ami_revision(r["ami_name"], image=image)
            assert result.os_version is not None and result.basis == "ami-date", r["ami_name"]
            assert result.confidence == (
                "medium" if r["service"] == "eks" and r["windows"] in "2019 2022 2025" else "low"
            )
            if not r["ami_date"]:
                continue  # month-only row: tested above
            expected = _oracle(BUILDS[r["windows"]], date.fromisoformat(r["ami_date"]), image)
            assert (result.os_version, [a.os_version for a in result.alternatives]) == expected, (r["ami_name"], image)
            assert result.predicted is not None and result.predicted.order_date is not None
            assert result.predicted.order_date <= date.fromisoformat(r["ami_date"])
            checked += 1
    assert checked == 2 * 1548


def test_every_eks_123_row_says_no_base_image_on_containerd() -> None:
    old = [a for a in amis(service="eks") if a.default_runtime == "docker"]
    assert len(old) > 100
    for a in old:
        result = infer_ami_revision(a, runtime="containerd")
        assert (result.os_version, result.basis) == (None, "no-base-cached"), a.ami_name
        assert infer_ami_revision(a).os_version is not None


def test_predicted_release_is_never_after_the_ami_date() -> None:
    for a in amis():
        if a.ami_date is None:
            continue
        result = infer_ami_revision(a)
        for row in result.evidence:
            assert row.order_date is not None and row.order_date <= a.ami_date
        # Shift the date one day past the prediction: the same or a newer revision, never an older one.
        later = infer_ami_revision(a.ami_date + timedelta(days=1), build=a.build)
        assert result.predicted is not None and later.predicted is not None
        assert later.predicted.ubr >= result.predicted.ubr


def test_only_b_and_oob_releases_are_candidates() -> None:
    # Rule 1: kind in {b, oob}. The WS2022 GA build 20348.169 (rtm, 2021-08-18) has an image but is no candidate,
    # so a date between GA and the first B release (2021-09-14) has no prediction.
    assert infer_ami_revision(date(2021, 8, 25), build=2022).os_version is None
    assert infer_ami_revision(date(2021, 9, 14), build=2022).os_version == "10.0.20348.230"
