"""AMI names: every shipped release parses back to its columns; families, SSM names, runtimes, filters."""

from __future__ import annotations

from datetime import date

import pytest

from layerscope.errors import UsageError
from layerscope.windows import ami_by_name, amis
from layerscope.windows.amis import build_of, parse_ami_name
from tests.windows.shipped import rows

BUILDS = {"2016": 14393, "2019": 17763, "2022": 20348, "2025": 26100, "1909": 18363, "2004": 19041, "20H2": 19042}


def test_every_ami_name_parses_to_its_row() -> None:
    table = rows("eks-windows-amis.csv")
    for r in table:
        parsed = parse_ami_name(r["ami_name"])
        assert parsed is not None, r["ami_name"]
        assert (parsed.service, parsed.windows, parsed.edition) == (r["service"], r["windows"], r["edition"])
        assert parsed.k8s_version == (r["k8s_version"] or None)
        if r["ami_date"]:
            assert parsed.ami_date == date.fromisoformat(r["ami_date"])
            assert parsed.name == r["ami_name"]
        else:  # `…ECS_Optimized-2020.10`: printed without a day
            assert parsed.ami_date is None and parsed.month == "2020-10"
        assert parsed.build == BUILDS[r["windows"]]
        release = ami_by_name(r["ami_name"])
        assert release is not None and release.source == r["source"] and release.family == parsed.family
    assert len(amis()) == len(table)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Windows_Server-2019-English-Core-EKS_Optimized-1.31-2025.01.17",
            ("eks", "2019", "Core", "1.31", date(2025, 1, 17)),
        ),
        ("Windows_Server-2019-English-Full-ECS_Optimized-2024.05.15", ("ecs", "2019", "Full", None, date(2024, 5, 15))),
        # The EKS doc prints `1.35-2026-01-22`; the real name uses dots.
        (
            "Windows_Server-2025-English-Full-EKS_Optimized-1.35-2026-01-22",
            ("eks", "2025", "Full", "1.35", date(2026, 1, 22)),
        ),
        # Families and SSM public parameter names carry no date.
        ("Windows_Server-2022-English-Core-EKS_Optimized-1.33", ("eks", "2022", "Core", "1.33", None)),
        (
            "/aws/service/ami-windows-latest/Windows_Server-2022-English-Core-EKS_Optimized-1.33/image_id",
            ("eks", "2022", "Core", "1.33", None),
        ),
        (
            "/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-ECS_Optimized",
            ("ecs", "2022", "Full", None, None),
        ),
        (
            "Windows_Server-20H2-English-Core-EKS_Optimized-1.21-2021.08.12",
            ("eks", "20H2", "Core", "1.21", date(2021, 8, 12)),
        ),
    ],
)
def test_name_patterns(text: str, expected: tuple[object, ...]) -> None:
    parsed = parse_ami_name(text)
    assert parsed is not None
    assert (parsed.service, parsed.windows, parsed.edition, parsed.k8s_version, parsed.ami_date) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Windows_Server-2019-English-Core-EKS_Optimized-2025.01.17",  # EKS without a Kubernetes version
        "Windows_Server-2019-English-Core-ECS_Optimized-1.31-2025.01.17",  # ECS with one
        "Windows_Server-2019-English-Core-EKS_Optimized-1.31-2025.02.30",  # no such day
        "Windows_Server-2019-English-Core-Base-2025.01.15",  # a plain Windows AMI
        "ami-0123456789abcdef0",
    ],
)
def test_not_eks_or_ecs_names(text: str) -> None:
    assert parse_ami_name(text) is None


def test_lookups_accept_ssm_and_dashed_forms() -> None:
    name = "Windows_Server-2025-English-Full-EKS_Optimized-1.35-2026.01.22"
    assert ami_by_name("Windows_Server-2025-English-Full-EKS_Optimized-1.35-2026-01-22") == ami_by_name(name)
    assert ami_by_name(name) is not None
    assert ami_by_name("Windows_Server-2019-English-Core-EKS_Optimized-1.31-1999.01.01") is None


def test_default_runtime() -> None:
    by = {a.k8s_version: a for a in amis(service="eks", build=2019, edition="Core")}
    assert by["1.23"].default_runtime == "docker" and by["1.24"].default_runtime == "containerd"
    assert all(a.default_runtime == "docker" for a in amis(service="ecs"))


def test_filters() -> None:
    family = "Windows_Server-2019-English-Core-EKS_Optimized-1.31"
    picked = amis(family=family)
    assert picked and all(a.family == family for a in picked)
    assert [a.ami_date for a in picked] == sorted(a.ami_date for a in picked if a.ami_date)
    assert amis(family="windows_server-2019-english-core-eks_optimized-1.3?") == tuple(
        sorted(
            (a for a in amis() if a.family.startswith("Windows_Server-2019-English-Core-EKS_Optimized-1.3")),
            key=lambda a: (a.ami_date or date.min, a.ami_name),
        )
    )
    assert {a.build for a in amis(build="ltsc2022")} == {20348}
    assert amis(build="1809") == amis(build=17763) == amis(build="2019")
    assert {a.service for a in amis(service="ecs", build="2016")} == {"ecs"}
    assert len(amis(service="eks")) == 1333 and len(amis(service="ecs")) == 216
    assert build_of("20h2") == 19042 and build_of("2012") is None
    with pytest.raises(UsageError):
        amis(build="2012")
