"""#14 item 4: launch estimates never hide unknowns — a range when base layers' cache state is unknown."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Run
from tests.support.registry import free_port

AMI_JUNE_2022 = "Windows_Server-2019-English-Core-ECS_Optimized-2022.06.20"


def _run(layerscope: Callable[..., Run], *args: str) -> Run:
    closed = f"mcr.microsoft.com=127.0.0.1:{free_port()}"  # never the public registry: the baked tags stay unknown
    run = layerscope(*args, "--mirror", closed, "--no-store", "--no-progress")
    assert run.exit_code == 0, run.stderr
    return run


def test_unknown_base_cache_state_gives_a_range_in_json_table_and_report(
    fixture_layout: Path, layerscope: Callable[..., Run]
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    doc = _run(layerscope, "analyze", ref, "--profile", "eks-ws2019-core", "-o", "json").json()
    image = doc["images"][0]
    assert [layer["cached"] for layer in image["layers"]][:2] == [None, None]
    launch = image["launch"]
    span = launch["range"]
    assert span["seconds_max"] == launch["with_baked"]["total_seconds"]
    # Held, the 2.5 GB base is not pulled: the fast end is far below the slow end (the app layers are ~350 kB).
    assert span["seconds_min"] < span["seconds_max"] / 10

    table = _run(layerscope, "analyze", ref, "--profile", "eks-ws2019-core").stdout
    assert "range: the cache state of some layers is unknown" in table and " … " in table

    report = _run(layerscope, "report", ref, "--profile", "eks-ws2019-core", "-o", "json").json()
    got = report["images"][0]["launch"]
    assert got["with_bake_seconds_min"] is not None and got["with_bake_seconds_min"] < got["with_bake_seconds"] / 10


def test_known_cache_states_give_no_range(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    args = ("--profile", "eks-ws2019-core", "--ami", AMI_JUNE_2022)
    doc = _run(layerscope, "analyze", ref, *args, "-o", "json").json()
    assert all(layer["cached"] is not None for layer in doc["images"][0]["layers"])
    assert doc["images"][0]["launch"]["range"] is None
    report = _run(layerscope, "report", ref, *args, "-o", "json").json()
    assert report["images"][0]["launch"]["with_bake_seconds_min"] is None
    assert "range:" not in _run(layerscope, "analyze", ref, *args).stdout
