"""The HTML report's charts (inline SVG, report/svg.py): what each image pulls, launch times, node disk."""

from __future__ import annotations

from layerscope.report import svg
from layerscope.report.model import Report
from layerscope.units import format_duration, format_size

__all__ = ["APP_PULL", "BASE_PULL", "BLOBS", "CACHED", "CHART_IDS", "SNAPSHOTS", "WITHOUT_BAKE", "WITH_BAKE", "charts"]

CHART_IDS = ("chart-pull", "chart-launch", "chart-disk")
CACHED, BASE_PULL, APP_PULL = "#4c9a6a", "#e08a2c", "#3b6fb6"
WITH_BAKE, WITHOUT_BAKE = "#4c9a6a", "#c4504d"
SNAPSHOTS, BLOBS = "#6a5acd", "#b3acec"


def charts(report: Report) -> str:
    """The charts section: pulls per image, launch seconds with and without the bake, node disk by runtime."""
    images = report.images
    parts = ['<section id="charts">']
    rows = [
        svg.Row(i.name, (float(i.split.cached_bytes), float(i.split.base_pull_bytes), float(i.split.app_pull_bytes)))
        for i in images
    ]
    series = [
        svg.Series("cached (baked)", CACHED),
        svg.Series("base to pull", BASE_PULL),
        svg.Series("app to pull", APP_PULL),
    ]
    parts.append("<h2>What a node pulls for each image (compressed)</h2>")
    parts.append(
        '<div class="panel">'
        + svg.stacked_bars(rows, series, chart_id=CHART_IDS[0], title="Compressed bytes per image", fmt=_fmt_size)
        + "</div>"
    )
    launched = [i for i in images if i.launch is not None]
    if launched:
        lrows = [
            svg.Row(i.name, (i.launch.with_bake_seconds, i.launch.without_bake_seconds))
            for i in launched
            if i.launch is not None
        ]
        lseries = [svg.Series("with the bake", WITH_BAKE), svg.Series("without the bake", WITHOUT_BAKE)]
        parts.append("<h2>Launch time with and without the bake</h2>")
        parts.append(
            '<div class="panel">'
            + svg.grouped_bars(
                lrows,
                lseries,
                chart_id=CHART_IDS[1],
                title="Launch seconds per image",
                fmt=_fmt_secs,
                ticks=svg.time_ticks,
                tick_fmt=_fmt_tick_secs,
            )
            + "</div>"
        )
    drows = [svg.Row(d.label, (float(d.snapshot_bytes), float(d.blob_bytes))) for d in report.fleet.node_disk]
    dseries = [svg.Series("unpacked layers (per chain)", SNAPSHOTS), svg.Series("compressed blobs kept", BLOBS)]
    estimated = any(d.estimated for d in report.fleet.node_disk)
    parts.append("<h2>Node disk for every image, by runtime</h2>")
    parts.append(
        '<div class="panel">'
        + svg.stacked_bars(drows, dseries, chart_id=CHART_IDS[2], title="Node disk by runtime", fmt=_fmt_size)
        + ('<p class="context">Some unpacked sizes are estimated from compressed sizes.</p>' if estimated else "")
        + "</div>"
    )
    parts.append("</section>")
    return "\n".join(parts)


def _fmt_size(x: float) -> str:
    return format_size(round(x))


def _fmt_secs(x: float) -> str:
    return format_duration(x)


def _fmt_tick_secs(x: float) -> str:
    if x == 0:
        return "0"
    if x < 60:
        return f"{x:g} s"
    return f"{x / 60:g} min" if x < 3600 else f"{x / 3600:g} h"
