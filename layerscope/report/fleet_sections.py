"""Sections of the HTML report that condense a fleet (issue #17): repositories, shared layers, warnings.

A repository is one row, expandable to its tags (detail rows, assets/pager.js) with a small trend of the bytes
each tag pulls; shared layers list their holders in a collapsed list; warnings show the first few and fold the
rest. Every table of many rows is paged with a filter box, so the page before any expansion stays a few screens
long at 10 or 10,000 images.
"""

from __future__ import annotations

from layerscope.report import svg
from layerscope.report.fleet_groups import by_repository
from layerscope.report.html_cells import esc, name_html, num_cell, size, table, text_cell
from layerscope.report.model import Report
from layerscope.units import format_duration

__all__ = ["repositories", "shared", "warnings"]

WARNINGS_SHOWN = 10
HOLDERS_LISTED = 100  # holders named in a shared layer's (collapsed) list


def repositories(report: Report) -> str:
    """One row per repository (tags, launches, pulls and launch time a day, trend), expandable to its tags."""
    groups = by_repository(report.images)
    rows: list[str] = []
    for n, g in enumerate(groups):
        day = g.launch_seconds_per_day
        trend = svg.sparkline(list(g.trend), label=f"bytes pulled with the bake, tag by tag ({len(g.trend)} tags)")
        rows.append(
            f'<tr class="group" data-reference="{esc(g.repository)}" id="repo-{n}">'
            f'<td><button type="button" class="expand" aria-expanded="false" aria-label="show the tags">▸</button>'
            f"{name_html(g.repository)}</td>"
            + num_cell(len(g.images), str(len(g.images)), "images")
            + num_cell(g.weight, f"{g.weight:g}", "weight")
            + num_cell(g.pull_with_bake_bytes, size(g.pull_with_bake_bytes), "pull_compressed_bytes")
            + num_cell(g.pull_bytes_per_day, size(round(g.pull_bytes_per_day)), "pull_bytes_per_day")
            + num_cell(day, format_duration(day) if day is not None else "-", "launch_seconds_per_day")
            + f"<td>{trend}</td></tr>"
        )
        for i in g.images:
            launch = i.launch
            note = "" if i.applicable else f' <span class="badge bad" title="{esc(i.not_applicable)}">n/a</span>'
            rows.append(
                '<tr class="detail" hidden>'
                f"<td>{name_html(i.name)}{note}</td>"
                + num_cell(None, "", "")
                + num_cell(i.weight, f"{i.weight:g}", "weight")
                + num_cell(i.pull_with_bake_bytes, size(i.pull_with_bake_bytes), "pull_compressed_bytes")
                + num_cell(i.weight * i.pull_with_bake_bytes, size(round(i.weight * i.pull_with_bake_bytes)))
                + num_cell(
                    i.weight * launch.with_bake_seconds if launch else None,
                    format_duration(i.weight * launch.with_bake_seconds) if launch else "-",
                )
                + text_cell(i.platform, "sub")
                + "</tr>"
            )
    headers = [
        ("repository", False),
        ("images", True),
        ("launches/day", True),
        ("pull with bake", True),
        ("pulled a day", True),
        ("launch time a day", True),
        ("trend across tags", False),
    ]
    return (
        f'<section id="repositories"><h2>Repositories ({len(groups)})</h2>'
        '<p class="context">One row per repository; ▸ shows its tags and platforms. Sums over the images the '
        "node launches (with the bake).</p>"
        + table(headers, rows, table_id="repos-table", paged=True, what="repositories")
        + "</section>"
    )


def shared(report: Report) -> str:
    """The layers held by the most images, with holder counts and a collapsed holder list."""
    layers = report.fleet.shared_layers
    if not layers:
        none = '<p class="context">No layer is shared by two images.</p>'
        return f'<section id="shared"><h2>Most shared layers</h2>{none}</section>'
    rows = []
    for s in layers:
        holders = "".join(f"<li>{name_html(r)}</li>" for r in s.references[:HOLDERS_LISTED])
        if len(s.references) > HOLDERS_LISTED:
            holders += f"<li>…and {len(s.references) - HOLDERS_LISTED} more (all in the JSON)</li>"
        rows.append(
            f'<tr><td class="mono nowrap" title="{esc(s.digest)}">{esc(s.digest[:19])}</td>'
            + f'<td class="mono nowrap" title="{esc(s.chain_id)}">{esc(s.chain_id[:19])}</td>'
            + num_cell(s.images, str(s.images), "images")
            + text_cell("yes" if s.base else "")
            + num_cell(s.compressed_bytes, size(s.compressed_bytes), "compressed_bytes")
            + num_cell(s.extracted_bytes, size(s.extracted_bytes), "extracted_bytes")
            + f'<td><details class="holders"><summary>{len(s.references)} image(s)</summary>'
            f'<ul class="holders">{holders}</ul></details></td></tr>'
        )
    headers = [
        ("layer", False),
        ("chain", False),
        ("images", True),
        ("base", False),
        ("compressed", True),
        ("extracted", True),
        ("held by", False),
    ]
    return (
        '<section id="shared"><h2>Most shared layers (by chain ID)</h2>'
        '<p class="context">The same blob on another parent is another layer on a node.</p>'
        + table(headers, rows, table_id="shared-table")
        + "</section>"
    )


def warnings(report: Report) -> str:
    """Every warning: the first few listed, the rest folded (report-wide ones first)."""
    items = [f"<li>{esc(w)}</li>" for w in report.warnings]
    items += [f"<li><code>{esc(i.name)}</code>: {esc(w)}</li>" for i in report.images for w in i.warnings]
    if not items:
        return ""
    head, rest = items[:WARNINGS_SHOWN], items[WARNINGS_SHOWN:]
    more = (
        f'<details><summary>{len(rest)} more warning(s)</summary><ul class="warnings">{"".join(rest)}</ul></details>'
        if rest
        else ""
    )
    return (
        f'<section id="warnings"><h2>Warnings ({len(items)})</h2><ul class="warnings">{"".join(head)}</ul>'
        + more
        + "</section>"
    )
