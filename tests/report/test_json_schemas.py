"""The JSON Schemas shipped in layerscope/schemas/ (issue #12 item 14): complete, strict and documented."""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from layerscope.measurement import SizeSource
from tests.integration.conftest import Run
from tests.support.schemas import SCHEMA_FILES, validate_document

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "layerscope" / "schemas" / "analysis-v1.schema.json").read_text())


@pytest.fixture
def document(fixture_layout: Path, layerscope: Callable[..., Run]) -> dict[str, Any]:
    """A document with every optional object filled: base, drift, launch, cached states, warnings."""
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:windows-app", "--profile", "fixtures/demo-node.yaml", "-o", "json"
    )
    assert run.exit_code == 0, run.stderr
    doc: dict[str, Any] = run.json()  # validated there
    image = doc["images"][0]
    assert image["base"] and image["drift"] and image["launch"]
    return doc


def test_size_source_enum_is_every_value_layerscope_writes() -> None:
    enum = SCHEMA["$defs"]["layer"]["properties"]["size_source"]["enum"]
    assert sorted(enum) == sorted(str(s) for s in SizeSource)


def test_readme_documents_every_size_source_and_the_schema_file() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## JSON (`analyze -o json`") :]
    section = section[: section.index("\n## ", 1)]
    for value in SizeSource:
        assert f"`{value}`" in section, value
    assert "layerscope/schemas/analysis-v1.schema.json" in section


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("images", 0, "layers", 0, "size_source"), "guessed"),
        (("images", 0, "layers", 0, "uncompressed_bytes"), -1),
        (("images", 0, "layers", 0, "cached"), "maybe"),
        (("images", 0, "totals", "exact"), None),
        (("baked",), "sha256:…"),
        (("schema",), "layerscope.analysis/v2"),
    ],
)
def test_schema_rejects_changed_meanings(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    doc = copy.deepcopy(document)
    target: Any = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(doc)


@pytest.mark.parametrize("where", ["top", "image", "layer", "totals", "launch"])
def test_schema_rejects_undocumented_fields(document: dict[str, Any], where: str) -> None:
    doc = copy.deepcopy(document)
    image = doc["images"][0]
    target = {
        "top": doc,
        "image": image,
        "layer": image["layers"][0],
        "totals": image["totals"],
        "launch": image["launch"]["with_baked"],
    }[where]
    target["undocumented"] = 1
    with pytest.raises(jsonschema.ValidationError, match="undocumented"):
        validate_document(doc)


def test_schema_files_ship_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["layerscope"]
    assert "schemas/*.json" in patterns
    for name in SCHEMA_FILES.values():
        assert (ROOT / "layerscope" / "schemas" / name).is_file()
    assert any(dep.startswith("jsonschema>=") for dep in pyproject["project"]["optional-dependencies"]["test"])


def test_recommendation_schema_is_strict() -> None:
    from layerscope.plan.recommend import Chosen, NotChosen, Recommendation
    from layerscope.report import recommendation

    rec = Recommendation(
        profile="p",
        budget_bytes=10,
        optimal=False,
        method="greedy+local-search",
        chosen=(Chosen("a:1", "sha256:" + "a" * 64, 1.0),),
        not_chosen=(NotChosen("b:1", "sha256:" + "b" * 64, "budget"),),
        disk_bytes=5,
        root_volume_bytes=100,
        seconds_saved_per_day=1.0,
        upper_bound_seconds_saved_per_day=2.0,
    )
    doc = recommendation.recommendation_document(rec)  # validated by the autouse fixture
    assert doc["schema"] in SCHEMA_FILES
    doc["chosen"][0]["undocumented"] = 1
    with pytest.raises(jsonschema.ValidationError, match="undocumented"):
        validate_document(doc)


def test_report_schema_lists_the_analysis_size_sources() -> None:
    report = json.loads((ROOT / "layerscope" / "schemas" / "report-v1.schema.json").read_text())
    assert (
        report["$defs"]["layer"]["properties"]["size_source"]["enum"]
        == (SCHEMA["$defs"]["layer"]["properties"]["size_source"]["enum"])
    )
