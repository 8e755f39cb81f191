"""An image's `contents` cached in the measurement store (issue #15): a warm run decodes no file index, a
damaged cached row is a miss that is computed again, and `report -o json` and the fleet path carry the same
`contents` as `analyze`."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from layerscope.fleet import FleetOptions, FleetSession
from layerscope.session import Session, Settings
from layerscope.store import MeasurementStore
from tests.integration.conftest import Run


@pytest.fixture
def index_reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every `MeasurementStore.get_index` call (the digests asked for), from any store of the test."""
    calls: list[str] = []
    real = MeasurementStore.get_index

    def spy(self: MeasurementStore, digest: str) -> bytes | None:
        calls.append(digest)
        return real(self, digest)

    monkeypatch.setattr(MeasurementStore, "get_index", spy)
    yield calls


def _analyze(layerscope: Callable[..., Run], ref: str) -> dict[str, Any]:
    result = layerscope("analyze", ref, "-o", "json", "--no-progress")
    assert result.exit_code == 0, result.stderr
    image: dict[str, Any] = result.json()["images"][0]
    return image


def _contents_rows(store: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(store)
    try:
        return list(conn.execute("SELECT key, record, checksum FROM image_contents"))
    finally:
        conn.close()


def test_a_warm_analysis_reads_the_cached_contents_and_decodes_no_index(
    fixture_layout: Path, layerscope: Callable[..., Run], index_reads: list[str], isolated_store: Path
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    cold = _analyze(layerscope, ref)
    assert cold["contents"] is not None and cold["contents"]["indexed_layers"] == [2, 3, 4]
    assert len(index_reads) == 3  # computed once, from the three indexed layers
    assert len(_contents_rows(isolated_store)) == 1
    index_reads.clear()
    warm = _analyze(layerscope, ref)
    assert {layer["size_source"] for layer in warm["layers"] if layer["index"] >= 2} == {"store"}
    assert index_reads == []
    assert warm["contents"] == cold["contents"]
    assert [
        {k: v for k, v in w.items() if k.endswith("_files") or k == "reclaimed_by_later_bytes"} for w in warm["layers"]
    ] == [
        {k: v for k, v in c.items() if k.endswith("_files") or k == "reclaimed_by_later_bytes"} for c in cold["layers"]
    ]


@pytest.mark.parametrize("damage", ["record changed, checksum not", "record not a contents record"])
def test_a_damaged_cached_row_is_a_miss_and_is_computed_again(
    fixture_layout: Path,
    layerscope: Callable[..., Run],
    index_reads: list[str],
    isolated_store: Path,
    damage: str,
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    cold = _analyze(layerscope, ref)
    ((key, record, _),) = _contents_rows(isolated_store)
    doc = json.loads(record)
    if damage.startswith("record changed"):
        doc["wasted_bytes"] += 1  # a wrong number that would be believed without the checksum
        text, checksum = json.dumps(doc), None
    else:
        del doc["largest_dirs"]
        text = json.dumps(doc)
        checksum = __import__("hashlib").sha256(text.encode()).hexdigest()  # passes its checksum, not its shape
    conn = sqlite3.connect(isolated_store)
    conn.execute(
        "UPDATE image_contents SET record = ?, checksum = COALESCE(?, checksum) WHERE key = ?", (text, checksum, key)
    )
    conn.commit()
    conn.close()
    index_reads.clear()
    again = layerscope("analyze", ref, "-o", "json", "--no-progress")
    assert again.exit_code == 0, again.stderr
    assert again.json()["images"][0]["contents"] == cold["contents"]
    assert len(index_reads) == 3  # a miss: computed from the indexes again
    if damage.startswith("record changed"):
        assert "fail their checks" in again.stderr
    index_reads.clear()
    assert _analyze(layerscope, ref)["contents"] == cold["contents"]
    assert index_reads == []  # and the damaged row was replaced


def test_other_parameters_are_another_cache_entry(fixture_layout: Path, isolated_store: Path) -> None:
    from layerscope.layer_index import with_contents

    with Session(Settings(store_path=isolated_store)) as session:
        images = session.images([f"oci:{fixture_layout}:windows-app"])
        (top3,) = with_contents(images, session.store, top=3)
        (top10,) = with_contents(images, session.store)
    assert top3.contents is not None and top10.contents is not None
    assert len(top3.contents.largest_files) == 3 < len(top10.contents.largest_files)
    assert len(_contents_rows(isolated_store)) == 2


def test_report_json_carries_the_contents_analyze_gives(
    fixture_layout: Path, layerscope: Callable[..., Run], index_reads: list[str]
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    analyzed = _analyze(layerscope, ref)
    index_reads.clear()
    result = layerscope("report", ref, "-o", "json", "--no-progress")
    assert result.exit_code == 0, result.stderr
    (image,) = result.json()["images"]  # validated against report-v1.schema.json
    assert image["contents"] == analyzed["contents"] is not None
    assert index_reads == []  # from the cache


def test_report_json_contents_is_null_without_an_index(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    result = layerscope("report", f"oci:{fixture_layout}:windows-app", "-o", "json", "--no-progress", "--estimate")
    assert result.exit_code == 0, result.stderr
    assert result.json()["images"][0]["contents"] is None


def test_the_fleet_path_computes_contents_too(fixture_layout: Path, isolated_store: Path) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    with Session(Settings(store_path=isolated_store)) as session:
        plain = session.analyze([ref]).images[0].contents
    with Session(Settings(store_path=isolated_store)) as session, FleetSession(session, FleetOptions()) as fleet:
        fleet_run = fleet.analyze([ref])
    assert plain is not None
    assert fleet_run.images[0].contents == plain


def test_files_of_one_layer_decodes_that_layer_only(
    fixture_layout: Path, layerscope: Callable[..., Run], index_reads: list[str]
) -> None:
    ref = f"oci:{fixture_layout}:windows-app"
    layers = _analyze(layerscope, ref)["layers"]
    index_reads.clear()
    result = layerscope("files", ref, "--layer", "3", "-o", "json", "--no-progress", "--depth", "9")
    assert result.exit_code == 0, result.stderr
    assert index_reads == [layers[3]["digest"]]
    doc = result.json()
    assert doc["layer"] == 3 and doc["indexed_layers"] == [2, 3, 4] and doc["scope"] == "all-layers"
    index_reads.clear()
    everything = layerscope("files", ref, "-o", "json", "--no-progress")
    assert everything.exit_code == 0 and len(index_reads) == 3  # the final filesystem needs every index
    listed = layerscope("files", ref, "--layer", "1", "--no-progress")
    assert listed.exit_code == 2 and "list a layer that was measured: 2, 3, 4" in listed.stderr


@pytest.mark.parametrize("enabled_before", [True, False])
def test_the_collector_is_paused_while_contents_are_computed_and_left_as_it_was(
    fixture_layout: Path,
    layerscope: Callable[..., Run],
    isolated_store: Path,
    monkeypatch: pytest.MonkeyPatch,
    enabled_before: bool,
) -> None:
    import gc

    import layerscope.layer_index as layer_index

    during: list[bool] = []
    real = layer_index.image_contents

    def spy(*args: Any, **kwargs: Any) -> Any:
        during.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(layer_index, "image_contents", spy)
    was = gc.isenabled()
    if not enabled_before:
        gc.disable()
    try:
        assert _analyze(layerscope, f"oci:{fixture_layout}:windows-app")["contents"] is not None
        assert during == [False]
        assert gc.isenabled() is enabled_before
    finally:
        if was:
            gc.enable()
