"""#14 items 2 and 6: `--ami ami-ID|latest` against a real AWS API emulator (moto's server mode on 127.0.0.1).

EC2 DescribeImages resolves an AMI ID to its name; SSM GetParameter reads the public `ami-windows-latest`
parameter of the profile's family (EKS: `…/image_id`; ECS: a JSON value). Never a real AWS endpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import AwsEmulator
from tests.integration.conftest import Run
from tests.support.registry import free_port
from tests.windows.shipped import rows


def _expected(build: str, day: str) -> str:
    cands = [
        r
        for r in rows("windows-builds.csv")
        if r["build"] == build and r["container_image"] == "yes" and r["kind"] in ("b", "oob") and r["release_date"]
    ]
    return max((r for r in cands if r["release_date"] <= day), key=lambda r: r["release_date"])["os_version"]


def test_ami_id_is_resolved_with_describe_images(
    aws_emulator: AwsEmulator, fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    name = "Windows_Server-2019-English-Core-EKS_Optimized-1.31-2025.01.17"
    ami_id = aws_emulator.ami_ids[name]
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:windows-app", "--ami", ami_id, "--mirror", closed, "--no-store", "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    node = run.json()["node"]
    assert node["ami"] == f"{ami_id} ({name})" and node["ami_date"] == "2025-01-17"
    assert (node["basis"], node["os_version"]) == ("ami-date", _expected("17763", "2025-01-17"))


def test_latest_reads_the_ssm_public_parameter_of_the_profile_family(
    aws_emulator: AwsEmulator, tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    eks = layerscope("profile", "show", "eks-ws2019-core", "--ami", "latest", "-o", "json")
    assert eks.exit_code == 0, eks.stderr
    name = "Windows_Server-2019-English-Core-EKS_Optimized-1.34-2022.06.20"
    assert eks.json()["node"]["ami"] == f"{aws_emulator.ami_ids[name]} ({name})"
    assert eks.json()["node"]["os_version"] == _expected("17763", "2022-06-20")

    ecs = layerscope("profile", "show", "ecs-ws2022-core", "--ami", "latest", "-o", "json")
    assert ecs.exit_code == 0, ecs.stderr
    assert ecs.json()["node"]["os_version"] == _expected("20348", "2024-10-01")


def test_unknown_ami_id_is_a_one_line_error(aws_emulator: AwsEmulator, layerscope: Callable[..., Run]) -> None:
    run = layerscope("profile", "show", "eks-ws2019-core", "--ami", "ami-0123456789abcdef0")
    assert run.exit_code == 2
    assert run.stderr.startswith("layerscope: error:") and len(run.stderr.strip().splitlines()) == 1
