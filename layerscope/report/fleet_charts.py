"""The HTML report's charts (inline SVG, report/svg.py): what each image pulls, launch times, node disk."""

from __future__ import annotations

from layerscope.report import svg
from layerscope.report.fleet_groups import top_by
from layerscope.report.model import Report
from layerscope.units import format_duration, format_size

__all__ = ["APP_PULL", "BASE_PULL", "BLOBS", "CACHED", "CHART_IDS", "SNAPSHOTS", "WITHOUT_BAKE", "WITH_BAKE", "charts"]

CHART_IDS = ("chart-pull", "chart-launch", "chart-disk")
CACHED, BASE_PULL, APP_PULL = "#4c9a6a", "#e08a2c", "#3b6fb6"
WITH_BAKE, WITHOUT_BAKE = "#4c9a6a", "#c4504d"
SNAPSHOTS, BLOBS = "#6a5acd", "#b3acec"


def _others(n: int) -> str:
    return f"all {n} other image{'s' if n != 1 else ''}"


def charts(report: Report) -> str:
    """The charts section: the top images by bytes and seconds a day, distributions, node disk by runtime.

    Each bar chart shows the `TOP_N` images of largest impact (weight × per-launch figure), most first, and one
    bar for all the others together; images the node does not launch are left out (issue #17).
    """
    images = report.images
    parts = ['<section id="charts">']
    top, rest = top_by(images, lambda i: i.weight * i.pull_with_bake_bytes)
    rows = [
        svg.Row(i.name, tuple(i.weight * float(v) for v in (i.split.cached_bytes, i.split.base_pull_bytes,
                                                              i.split.app_pull_bytes)))
        for i in top
    ]  # fmt: skip
    if rest:
        rows.append(
            svg.Row(
                _others(len(rest)),
                tuple(
                    float(sum(i.weight * getattr(i.split, field) for i in rest))
                    for field in ("cached_bytes", "base_pull_bytes", "app_pull_bytes")
                ),
            )
        )
    series = [
        svg.Series("cached (baked)", CACHED),
        svg.Series("base to pull", BASE_PULL),
        svg.Series("app to pull", APP_PULL),
    ]
    parts.append("<h2>What nodes pull a day: the top images (compressed bytes × launches per day)</h2>")
    parts.append(
        '<div class="panel">'
        + svg.stacked_bars(
            rows, series, chart_id=CHART_IDS[0], title="Compressed bytes per day", fmt=_fmt_size, scale_rows=len(top)
        )
        + "</div>"
    )
    launched = [i for i in images if i.launch is not None and i.applicable]
    if launched:
        ltop, lrest = top_by(launched, lambda i: i.weight * (i.launch.without_bake_seconds if i.launch else 0.0))
        lrows = [
            svg.Row(i.name, (i.weight * i.launch.with_bake_seconds, i.weight * i.launch.without_bake_seconds))
            for i in ltop
            if i.launch is not None
        ]
        if lrest:
            lrows.append(
                svg.Row(
                    _others(len(lrest)),
                    (
                        sum(i.weight * i.launch.with_bake_seconds for i in lrest if i.launch is not None),
                        sum(i.weight * i.launch.without_bake_seconds for i in lrest if i.launch is not None),
                    ),
                )
            )
        lseries = [svg.Series("with the bake", WITH_BAKE), svg.Series("without the bake", WITHOUT_BAKE)]
        parts.append("<h2>Launch time a day: the top images (seconds × launches per day)</h2>")
        parts.append(
            '<div class="panel">'
            + svg.grouped_bars(
                lrows,
                lseries,
                chart_id=CHART_IDS[1],
                title="Launch seconds per day",
                fmt=_fmt_secs,
                ticks=svg.time_ticks,
                tick_fmt=_fmt_tick_secs,
                scale_rows=len(ltop),
            )
            + "</div>"
        )
    parts.append(_distributions(report))
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


def _distributions(report: Report) -> str:
    """Histograms of one launch's pull size and launch time over the images the node launches."""
    images = [i for i in report.images if i.applicable]
    if len(images) < 2:
        return ""
    hists = [
        svg.histogram(
            [float(i.pull_with_bake_bytes) for i in images],
            chart_id="hist-pull",
            title="Images by compressed bytes pulled with the bake (one launch)",
            color=APP_PULL,
            fmt=_fmt_size,
        )
    ]
    seconds = [i.launch.with_bake_seconds for i in images if i.launch is not None]
    if seconds:
        hists.append(
            svg.histogram(
                seconds,
                chart_id="hist-launch",
                title="Images by launch time with the bake (one launch)",
                color=WITH_BAKE,
                fmt=_fmt_secs,
            )
        )
    return '<h2>Distributions</h2><div class="panel">' + "".join(hists) + "</div>"


def _fmt_size(x: float) -> str:
    return format_size(round(x))


def _fmt_secs(x: float) -> str:
    return format_duration(x)


def _fmt_tick_secs(x: float) -> str:
    if x == 0:
        return "0"
    if x < 60:
        return f"{x:g} s"
    return f"{x / 60:.3g} min" if x < 3600 else f"{x / 3600:.3g} h"
