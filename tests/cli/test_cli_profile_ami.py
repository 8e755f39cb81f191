"""#14 item 5: `profile show NAME --ami …` shows the inferred revision and why; every EKS/ECS profile has its family."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from layerscope.plan.profile_files import list_profiles
from tests.integration.conftest import Run
from tests.windows.shipped import rows

_BUILDS = {"ws2019": "17763", "ws2022": "20348", "ws2025": "26100"}


def _expected(build: str, day: str) -> str:
    """Rule step 1 from the CSV alone: the newest b/oob container release of *build* on or before *day*."""
    cands = [
        r
        for r in rows("windows-builds.csv")
        if r["build"] == build and r["container_image"] == "yes" and r["kind"] in ("b", "oob") and r["release_date"]
    ]
    return max((r for r in cands if r["release_date"] <= day), key=lambda r: r["release_date"])["os_version"]


@pytest.mark.parametrize("name", [n for n in list_profiles() if n.startswith(("eks-", "ecs-"))])
def test_every_shipped_profile_infers_a_revision_from_an_ami_date(name: str, layerscope: Callable[..., Run]) -> None:
    day = "2026-02-20"
    run = layerscope("profile", "show", name, "--ami", day, "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    build = _BUILDS[name.split("-")[1]]
    assert (
        doc["ami_family"]
        and f"Windows_Server-{ {'17763': '2019', '20348': '2022', '26100': '2025'}[build] }" in doc["ami_family"]
    )
    node = doc["node"]
    assert (node["basis"], node["ami_date"]) == ("ami-date", day)
    assert node["os_version"] == _expected(build, day)
    assert node["explanation"] and node["os_version"] in node["explanation"]


def test_show_table_names_the_revision_and_why(layerscope: Callable[..., Run]) -> None:
    run = layerscope("profile", "show", "eks-ws2019-core", "--ami", "2025-04-10")
    assert run.exit_code == 0, run.stderr
    text = run.stdout
    assert f"node revision: {_expected('17763', '2025-04-10')} (basis ami-date)" in text
    assert "why: newest servercore ltsc2019" in text
    assert "alternative: " in text and "April 2025" in text  # the floating-tag regression names both revisions
