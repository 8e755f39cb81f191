"""The `analyze -o json` document keeps every field of DESIGN.md's contract; extensions are listed here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.integration.conftest import Run

TOP = {"schema", "profile", "baked", "images"}
TOP_EXT = {"baked_unresolved", "warnings", "node"}  # #18 item 1, #14 item 2
IMAGE = {
    "reference",
    "index_digest",
    "digest",
    "media_type",
    "platform",
    "config_digest",
    "base",
    "layers",
    "drift",
    "totals",
}
IMAGE_EXT = {"warnings", "launch", "contents"}
PLATFORM = {"os", "architecture", "variant", "os_version"}
BASE = {"image", "channel", "os_version", "month", "layers", "match"}
BASE_EXT = {"kb", "release_date", "version", "generation"}  # #14 item 1
LAYER = {
    "index",
    "digest",
    "diff_id",
    "chain_id",
    "media_type",
    "compression",
    "foreign",
    "compressed_bytes",
    "uncompressed_bytes",
    "extracted_bytes",
    "files",
    "size_source",
    "base",
    "cached",
}
LAYER_EXT = {
    "dirs",
    "symlinks",
    "hardlinks",
    "whiteouts",
    "windows_files_bytes",
    "windows_hives_bytes",
    # issue #15: from the layer's file index
    "added_files",
    "modified_files",
    "deleted_files",
    "reclaimed_by_later_bytes",
}
TOTALS = {
    "compressed_bytes",
    "uncompressed_bytes",
    "extracted_bytes",
    "base_compressed_bytes",
    "app_compressed_bytes",
    "pull_compressed_bytes",
    "pull_extracted_bytes",
    "cache_hit_ratio",
}
TOTALS_EXT = {"exact"}
SIZE_SOURCES = {
    "measured",
    "store",
    "catalog",
    "catalog-approx",
    "annotation",
    "gzip-isize",
    "zstd-header",
    "estimated",
    "descriptor",
    "unknown",
    "attached",
}


def test_keys_are_the_contract_plus_listed_extensions(fixture_layout: Path, layerscope: Callable[..., Run]) -> None:
    run = layerscope(
        "analyze", f"oci:{fixture_layout}:windows-app", f"oci:{fixture_layout}:multi-platform", "-o", "json"
    )
    doc = run.json()
    assert set(doc) == TOP | TOP_EXT and doc["schema"] == "layerscope.analysis/v1"
    for image in doc["images"]:
        assert set(image) == IMAGE | IMAGE_EXT
        assert set(image["platform"]) == PLATFORM
        assert image["base"] is None or set(image["base"]) == BASE | BASE_EXT
        assert set(image["totals"]) == TOTALS | TOTALS_EXT
        for layer in image["layers"]:
            assert set(layer) == LAYER | LAYER_EXT
            assert layer["size_source"] in SIZE_SOURCES
            assert layer["compression"] in ("gzip", "zstd", "none", None)
    windows = doc["images"][0]
    assert windows["base"]["match"] in ("digest", "diff_id", "history")
