"""`report -o markdown`: the fleet report as GitHub-flavoured Markdown, short enough for a pull-request comment."""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate

from layerscope.report.analysis_table import node_summary
from layerscope.report.fleet_groups import TOP_N, by_repository, top_by
from layerscope.report.model import Report, ReportImage
from layerscope.units import format_duration, format_size

__all__ = ["IMAGE_HEADERS", "render_markdown"]

HOLDERS = 5  # holders of a shared layer named before "and N more"

IMAGE_HEADERS = (
    "image",
    "base",
    "compressed",
    "uncompressed",
    "extracted",
    "pull with bake",
    "pull without bake",
    "launch with bake",
    "launch without bake",
    "drift",
)


def _md(text: str) -> str:
    """Text safe inside a table cell (a `|` would end the cell)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + _md(text).replace("`", "'") + "`"


def _size(n: int | None) -> str:
    return format_size(n)


def _base(image: ReportImage) -> str:
    b = image.base
    if b is None:
        return "-"
    parts = [p for p in (b.channel, b.os_version, b.month) if p]
    weak = " (history)" if b.match == "history" else ""
    return _md(" ".join(parts) + weak) or "?"


def _more(n: int, what: str) -> str:
    return f"\n\n…and {n} more {what} (the HTML and CSV reports list them all)" if n > 0 else ""


def _image_rows(images: Sequence[ReportImage]) -> list[list[str]]:
    rows = []
    for image in images:
        t, launch = image.totals, image.launch
        rows.append(
            [
                _code(image.name),
                _base(image),
                _size(t.compressed_bytes),
                _size(t.uncompressed_bytes),
                _size(t.extracted_bytes) + ("" if t.exact else "*"),
                _size(image.pull_with_bake_bytes),
                _size(image.pull_without_bake_bytes),
                format_duration(launch.with_bake_seconds) if launch else "-",
                format_duration(launch.without_bake_seconds) if launch else "-",
                f"**{_size(image.drift.bytes_to_pull)}**" if image.drift else "-",
            ]
        )
    return rows


def _fleet_lines(report: Report) -> list[str]:
    f = report.fleet
    reg, node = f.registry, f.node_cache
    lines = [
        f"- **Registry storage** (distinct layers by digest): **{_size(reg.compressed_bytes)}** in {reg.layers} "
        f"layers ({_size(reg.foreign_compressed_bytes)} of it foreign layers stored by MCR); "
        f"{_size(f.compressed_bytes)} before dedup",
        f"- **Node cache** (distinct layers by chain ID): **{_size(node.compressed_bytes)}** compressed, "
        f"{_size(node.extracted_bytes)} extracted, in {node.layers} layers",
        f"- **Pulls** (sum over images): {_size(f.pull_with_bake_bytes)} with the bake, "
        f"{_size(f.pull_without_bake_bytes)} without",
        "- **Node disk** for every image: "
        + " · ".join(f"{d.label} {_size(d.total_bytes)}" + (" (est.)" if d.estimated else "") for d in f.node_disk),
    ]
    if f.launch_seconds_per_day_with_bake is not None and f.launch_seconds_per_day_without_bake is not None:
        lines.append(
            f"- **Launch time per day** (weight × launch): {format_duration(f.launch_seconds_per_day_with_bake)} "
            f"with the bake, {format_duration(f.launch_seconds_per_day_without_bake)} without"
        )
    rec = f.recommendation
    if rec is not None:
        chosen = ", ".join(_code(c.reference) for c in rec.chosen[:TOP_N]) or "nothing more"
        if len(rec.chosen) > TOP_N:
            chosen += f" and {len(rec.chosen) - TOP_N} more"
        proof = "optimal" if rec.optimal else f"not proved optimal ({rec.method})"
        lines.append(
            f"- **Recommendation** ({_code(rec.profile)}): bake {chosen} — saves "
            f"{format_duration(rec.seconds_saved_per_day)} of launch time per day, adds {_size(rec.disk_bytes)} "
            f"of disk; **root volume {format_size(rec.root_volume_bytes, binary=True)}**; {proof}"
        )
    g = report.gate
    if g is not None:
        lines.append(
            f"- **Gate** (--max-pull {_size(g.max_bytes)}): {'EXCEEDED' if g.exceeded else 'ok'} — {_md(g.reason)}"
        )
    return lines


def _repositories(report: Report) -> str:
    """The top repositories by bytes pulled a day, one row each, and how many more."""
    groups = sorted(by_repository(report.images), key=lambda g: -g.pull_bytes_per_day)
    rows = [
        [
            _code(g.repository),
            str(len(g.images)),
            f"{g.weight:g}",
            _size(g.pull_with_bake_bytes),
            _size(round(g.pull_bytes_per_day)),
            format_duration(g.launch_seconds_per_day) if g.launch_seconds_per_day is not None else "-",
        ]
        for g in groups[:TOP_N]
    ]
    headers = ("repository", "images", "launches/day", "pull with bake", "pulled a day", "launch time a day")
    table = tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True)
    return f"### Repositories ({len(groups)})\n\n" + table + _more(len(groups) - len(rows), "repositories")


def _node_groups(report: Report) -> str:
    """--nodes on several revisions: what a node of each group pulls (#14 item 2)."""
    rows = [
        [g.os_version, str(g.nodes), _size(g.pull_compressed_bytes), "yes" if g.used else ""]
        for g in report.node_groups
    ]
    headers = ("node revision", "nodes", "a node pulls (all images)", "used above")
    return "### Node revisions (--nodes)\n\n" + tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True)


def render_markdown(report: Report) -> str:
    """The report in Markdown (headings, bullet summary, tables)."""
    f = report.fleet
    head = [f"## layerscope report: {f.images} image{'s' if f.images != 1 else ''}", ""]
    context = []
    if report.profile:
        context.append(f"profile {_code(report.profile)}")
    elif report.launch_profile:
        context.append(f"no profile (launch times use {_code(report.launch_profile)})")
    if report.baked:
        context.append("baked: " + ", ".join(_code(b) for b in report.baked))
    node = node_summary(report.node)
    if node is not None:
        context.append(f"node {_md(node)}")
    if context:
        head += [" · ".join(context), ""]
    parts = ["\n".join(head + _fleet_lines(report))]
    if report.node_groups:
        parts.append(_node_groups(report))
    images: Sequence[ReportImage] = report.images
    title = "### Images"
    if len(images) > TOP_N:  # a PR comment stays short: the repositories, then the top images by impact
        parts.append(_repositories(report))
        top, _ = top_by(images, lambda i: i.weight * i.pull_with_bake_bytes)
        images, more = top, len(report.images) - len(top)
        title = f"### Top {len(top)} images by bytes pulled a day (compressed × launches per day)"
    else:
        more = 0
    table = tabulate(_image_rows(images), headers=IMAGE_HEADERS, tablefmt="pipe", disable_numparse=True)
    note = "" if all(i.totals.exact for i in images) else "\n\n\\* includes estimated or catalog sizes"
    parts.append(f"{title}\n\n" + table + note + _more(more, "images"))
    if f.shared_layers:
        rows = [
            [
                _code(s.digest[:19]),
                _code(s.chain_id[:19]),
                str(s.images),
                "yes" if s.base else "",
                _size(s.compressed_bytes),
                _size(s.extracted_bytes),
                _md(", ".join(s.references[:HOLDERS]))
                + (f" and {len(s.references) - HOLDERS} more" if len(s.references) > HOLDERS else ""),
            ]
            for s in f.shared_layers
        ]
        headers = ("layer", "chain", "images", "base", "compressed", "extracted", "held by")
        parts.append(
            "### Most shared layers (by chain ID: the same blob on another parent is another layer on a node)\n\n"
            + tabulate(rows, headers=headers, tablefmt="pipe", disable_numparse=True)
        )
    observed = [i for i in report.images if i.launch is not None and i.launch.observed_pulls]
    if observed:
        obs_rows = [
            [
                _code(i.name),
                str(i.launch.observed_pulls),
                f"{i.launch.observed_seconds:.1f}",
                f"{i.launch.with_bake_seconds:.1f}",
                f"{(i.launch.with_bake_seconds / i.launch.observed_seconds - 1) * 100:+.0f}%",
            ]
            for i in observed
            if i.launch is not None and i.launch.observed_seconds
        ]
        obs_headers = ("image", "pulls", "observed s (median)", "modelled s", "modelled vs observed")
        parts.append(
            "### Launch model against recorded pulls (--events)\n\n"
            + tabulate(obs_rows, headers=obs_headers, tablefmt="pipe", disable_numparse=True)
        )
    warnings = [f"- {_md(w)}" for w in report.warnings]
    warnings += [f"- {_code(i.name)}: {_md(w)}" for i in report.images for w in i.warnings]
    if warnings:
        parts.append("### Warnings\n\n" + "\n".join(warnings[:TOP_N]) + _more(len(warnings) - TOP_N, "warnings"))
    return "\n\n".join(parts) + "\n"
