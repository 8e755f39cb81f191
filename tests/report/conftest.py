"""Report fixtures: the CLI runner with an isolated store, and the twelve-image fleet (scripts/report_fleet.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from scripts import report_fleet
from tests.integration.conftest import isolated_store, layerscope  # noqa: F401  (fixtures for tests/report)
from tests.support.paths import FIXTURE_LAYOUT


@dataclass(frozen=True)
class Fleet:
    """The generated layout, a workload over all twelve images, the same as references, and a node profile."""

    layout: Path
    workload: Path
    refs: tuple[str, ...]
    weights: dict[str, float]
    profile: Path


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """Eight generated Windows app images + four fixtures (twelve), offline as `oci:` references."""
    root = tmp_path_factory.mktemp("report-fleet")
    layout = root / "fleet"
    report_fleet.write_fleet(layout)
    doc = report_fleet.workload(layout, FIXTURE_LAYOUT)
    (root / "workload.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    (root / "demo-node.json").write_text(json.dumps(report_fleet.demo_profile(FIXTURE_LAYOUT)), encoding="utf-8")
    refs = tuple(entry["ref"] for entry in doc["images"])
    return Fleet(
        layout=layout,
        workload=root / "workload.yaml",
        refs=refs,
        weights={entry["ref"]: float(entry["weight"]) for entry in doc["images"]},
        profile=root / "demo-node.json",
    )
