"""A refreshed revision dates its own build, so analyses matched on it report a month."""

from __future__ import annotations

from dataclasses import replace

from layerscope.catalog import load_shipped


def test_merged_user_rows_date_builds_the_shipped_data_does_not() -> None:
    shipped = load_shipped()
    template = next(layer for layer in shipped.layers if layer.role == "update" and layer.family == "servercore")
    new = replace(
        template,
        digest="sha256:" + "7" * 64,
        diff_id="sha256:" + "8" * 64,
        os_version="10.0.17763.9999",
        month="2027-01",
        source="test registry (layerscope catalog refresh 2027-01-20)",
    )
    assert shipped.month_of("10.0.17763.9999") is None
    merged = shipped.merged([new])
    assert merged.month_of("10.0.17763.9999") == "2027-01"
    # A build the shipped data already dates keeps its shipped month.
    dated = next(v for v in shipped.os_versions)
    clash = replace(new, digest="sha256:" + "9" * 64, diff_id=None, os_version=dated, month="1999-01")
    assert shipped.merged([clash]).month_of(dated) == shipped.month_of(dated)
