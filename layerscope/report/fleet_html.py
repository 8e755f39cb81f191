"""`report -o html`: one self-contained HTML file — summary, charts (report/fleet_charts.py), sortable tables.

Self-contained means nothing is fetched at view time: CSS and the small sort script (package data in
report/assets/, read once) are inline, charts are inline SVG, and a Content-Security-Policy (`default-src 'none'`)
makes the browser refuse any resource a future edit might add. Every value is escaped with `html.escape`. Numeric
cells carry the exact number in `data-sort` (bytes or seconds) so the tables sort by value and tests can compare
them with `analyze -o json`; `data-field` names the number. A script error is recorded on
`<html data-js-errors=…>`, and a finished script sets `data-ready="1"`, which is how the headless-browser test sees
that the page ran cleanly.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from layerscope import __version__
from layerscope.report import fleet_sections
from layerscope.report.analysis_table import node_summary
from layerscope.report.contents_html import contents_html
from layerscope.report.fleet_charts import APP_PULL, BASE_PULL, CACHED, CHART_IDS, WITH_BAKE, WITHOUT_BAKE, charts
from layerscope.report.html_cells import esc, name_html, num_cell, size, table, text_cell
from layerscope.report.model import Report, ReportImage
from layerscope.units import format_duration

# The chart ids and colours are re-exported: the browser test reads them from here.
__all__ = ["APP_PULL", "BASE_PULL", "CACHED", "CHART_IDS", "WITHOUT_BAKE", "WITH_BAKE", "render_html"]

LAYER_IMAGES = 200  # images whose layer tables the page lists (the most bytes pulled a day first)
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


@cache
def _asset(name: str) -> str:
    """A file of report/assets/ (package data), with the newline the page puts before it."""
    return "\n" + files("layerscope.report").joinpath("assets", name).read_text(encoding="utf-8")


def _page_assets() -> tuple[str, str, str, str]:
    """(CSS, error hook, sort script), inlined so the page stays one self-contained file under the CSP.

    error-hook.js runs first: it records any script error where a headless browser's DOM dump shows it.
    sort.js: click (or Enter/Space on) a header to sort by it; numbers sort by data-sort, text by its content.
    """
    return _asset("report.css"), _asset("error-hook.js"), _asset("pager.js"), _asset("sort.js")


_e = esc
_size = size
_num_cell = num_cell
_text_cell = text_cell
_table = table


def _card(key: str, value: str, note: str = "") -> str:
    n = f'<div class="n">{_e(note)}</div>' if note else ""
    return f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>{n}</div>'


def _base(image: ReportImage) -> str:
    b = image.base
    if b is None:
        return "-"
    text = " ".join(p for p in (b.channel, b.os_version, b.month) if p) or "Windows base"
    return text + (" (history labels)" if b.match == "history" else "")


def _summary(report: Report) -> str:
    f = report.fleet
    cards = [
        _card("Images", str(f.images), f"{_size(f.compressed_bytes)} compressed before dedup"),
        _card(
            "Registry storage",
            _size(f.registry.compressed_bytes),
            f"{f.registry.layers} distinct layers by digest; {_size(f.registry.foreign_compressed_bytes)} foreign",
        ),
        _card(
            "Node cache",
            _size(f.node_cache.compressed_bytes),
            f"{f.node_cache.layers} distinct layers by chain ID; {_size(f.node_cache.extracted_bytes)} extracted",
        ),
        _card(
            "Pulls with the bake",
            _size(f.pull_with_bake_bytes),
            f"{_size(f.pull_without_bake_bytes)} without (sum over images)",
        ),
    ]
    if f.launch_seconds_per_day_with_bake is not None and f.launch_seconds_per_day_without_bake is not None:
        cards.append(
            _card(
                "Launch time per day",
                format_duration(f.launch_seconds_per_day_with_bake),
                f"{format_duration(f.launch_seconds_per_day_without_bake)} without the bake (weight × launch)",
            )
        )
    rec = f.recommendation
    if rec is not None:
        cards.append(
            _card(
                "Root volume",
                f"{rec.root_volume_bytes // 2**30} GiB",
                f"for the recommended bake ({len(rec.chosen)} images, {_size(rec.disk_bytes)} more disk)",
            )
        )
    drifted = sum(1 for i in report.images if i.drift is not None)
    cards.append(_card("Drift", str(drifted), "images on another monthly base than the baked one"))
    return '<section id="summary" class="cards">' + "".join(cards) + "</section>"


def _gate(report: Report) -> str:
    g = report.gate
    if g is None:
        return ""
    badge = '<span class="badge bad">exceeded</span>' if g.exceeded else '<span class="badge ok">ok</span>'
    return (
        f'<section id="gate"><h2>Pull gate ({_e(_size(g.max_bytes))} per image)</h2>'
        f'<div class="panel">{badge} {_e(g.reason)}</div></section>'
    )


def _images(report: Report) -> str:
    headers = [
        ("image", False),
        ("base", False),
        ("weight", True),
        ("compressed", True),
        ("uncompressed", True),
        ("extracted", True),
        ("pull with bake", True),
        ("pull without bake", True),
        ("launch with bake", True),
        ("launch without bake", True),
        ("saved per launch", True),
        ("drift", True),
    ]
    rows = []
    for i in report.images:
        t, launch = i.totals, i.launch
        drift = (
            f'<td class="num" data-sort="{i.drift.bytes_to_pull if i.drift.bytes_to_pull is not None else -1}" '
            f'data-field="drift_bytes_to_pull"><span class="badge drift" title="{_e(i.drift.message)}">'
            f"{_e(_size(i.drift.bytes_to_pull))}</span></td>"
            if i.drift
            else '<td class="num" data-sort="-1"></td>'
        )
        cells = [
            f'<td>{name_html(i.name)}{_not_applicable(i)}<div class="sub">{_e(i.platform)}</div></td>',
            _text_cell(_base(i)),
            _num_cell(i.weight, f"{i.weight:g}", "weight"),
            _num_cell(t.compressed_bytes, _size(t.compressed_bytes), "compressed_bytes"),
            _num_cell(t.uncompressed_bytes, _size(t.uncompressed_bytes), "uncompressed_bytes"),
            _num_cell(t.extracted_bytes, _size(t.extracted_bytes) + ("" if t.exact else "*"), "extracted_bytes"),
            _num_cell(t.pull_compressed_bytes, _size(t.pull_compressed_bytes), "pull_compressed_bytes"),
            _num_cell(t.compressed_bytes, _size(t.compressed_bytes), "pull_without_bake_compressed_bytes"),
            _num_cell(
                launch.with_bake_seconds if launch else None,
                format_duration(launch.with_bake_seconds) if launch else "-",
                "launch_with_bake_seconds",
            ),
            _num_cell(
                launch.without_bake_seconds if launch else None,
                format_duration(launch.without_bake_seconds) if launch else "-",
                "launch_without_bake_seconds",
            ),
            _num_cell(
                launch.seconds_saved if launch else None,
                format_duration(launch.seconds_saved) if launch else "-",
                "seconds_saved",
            ),
            drift,
        ]
        rows.append(f'<tr data-reference="{_e(i.reference)}" data-digest="{_e(i.digest)}">' + "".join(cells) + "</tr>")
    note = (
        ""
        if all(i.totals.exact for i in report.images)
        else '<p class="context">* includes estimated or catalog sizes</p>'
    )
    table_html = _table(headers, rows, table_id="images-table", paged=True, what="images")
    return f'<section id="images"><h2>Images ({len(report.images)})</h2>' + table_html + note + "</section>"


def _not_applicable(image: ReportImage) -> str:
    if image.applicable:
        return ""
    return f' <span class="badge bad" title="{_e(image.not_applicable)}">not applicable</span>'


def _recommendation(report: Report) -> str:
    rec = report.fleet.recommendation
    if rec is None:
        return ""
    proof = "proved optimal" if rec.optimal else f"best found ({rec.method}), not proved optimal"
    intro = (
        f"<p>Profile <code>{_e(rec.profile)}</code>, disk budget {_e(_size(rec.budget_bytes))}: bake "
        f"{len(rec.chosen)} image(s), adding {_e(_size(rec.disk_bytes))} to the node and saving "
        f"{_e(format_duration(rec.seconds_saved_per_day))} of launch time per day ({_e(proof)}). "
        f"<strong>Root volume: {rec.root_volume_bytes // 2**30} GiB</strong> ({_e(_size(rec.root_volume_bytes))}).</p>"
    )
    rows = [
        f"<tr><td>{name_html(c.reference)}</td><td>bake</td>"
        + _num_cell(c.seconds_saved_per_day, format_duration(c.seconds_saved_per_day), "seconds_saved_per_day")
        + "</tr>"
        for c in rec.chosen
    ]
    rows += [
        f"<tr><td>{name_html(n.reference)}</td><td>{_e(n.reason)}</td>"
        + _num_cell(n.seconds_saved_per_day, format_duration(n.seconds_saved_per_day), "seconds_saved_per_day")
        + "</tr>"
        for n in rec.not_chosen
    ]
    headers = [("image", False), ("decision", False), ("saved per day", True)]
    table = _table(headers, rows, table_id="rec-table", paged=True, what="recommendation")
    return f'<section id="recommendation"><h2>Recommendation</h2><div class="panel">{intro}</div>{table}</section>'


def _disk(report: Report) -> str:
    rows = [
        f"<tr>{_text_cell(d.label)}"
        + _num_cell(d.snapshot_bytes, _size(d.snapshot_bytes), "snapshot_bytes")
        + _num_cell(d.blob_bytes, _size(d.blob_bytes), "blob_bytes")
        + _num_cell(d.total_bytes, _size(d.total_bytes) + (" (est.)" if d.estimated else ""), "total_bytes")
        + _num_cell(d.layers, str(d.layers), "layers")
        + "</tr>"
        for d in report.fleet.node_disk
    ]
    headers = [("runtime", False), ("unpacked", True), ("blobs", True), ("total", True), ("layers", True)]
    return _table(headers, rows, table_id="disk-table")


def _cached_cell(cached: bool | None, unsure: bool) -> str:
    """Whether the node holds the layer; with an unresolved baked image a "no" may be wrong: say so (issue #17)."""
    text = "unknown" if cached is None else "yes" if cached else "no"
    if unsure and cached is not True:
        note = "a baked image was not resolved: this layer may be held (see Warnings)"
        return f'<td title="{_e(note)}">{_e(text)} <span class="badge bad">unresolved bake</span></td>'
    return _text_cell(text)


def _layers(report: Report) -> str:
    parts = [
        '<section id="layers"><h2>Layers and contents per image</h2>'
        f"<details><summary>Show the layers and contents of {min(len(report.images), LAYER_IMAGES)} images</summary>"
    ]
    headers = [
        ("#", True),
        ("digest", False),
        ("base", False),
        ("cached", False),
        ("compressed", True),
        ("uncompressed", True),
        ("extracted", True),
        ("source", False),
        ("shared by", True),
    ]
    unsure = bool(report.baked_unresolved)
    # The page stays workable at 10,000 images (issue #17): the layers of the images that cost the most a day are
    # listed; every layer of every image is in the CSV and JSON formats.
    shown = report.images
    if len(shown) > LAYER_IMAGES:
        ranked = sorted(range(len(shown)), key=lambda k: -shown[k].weight * shown[k].pull_with_bake_bytes)
        keep = set(ranked[:LAYER_IMAGES])
        shown = tuple(image for k, image in enumerate(report.images) if k in keep)
        parts.append(
            f'<p class="context">The {LAYER_IMAGES} images of most bytes pulled a day; the layers of the other '
            f"{len(report.images) - LAYER_IMAGES} are in the CSV and JSON formats.</p>"
        )
    for n, image in enumerate(shown):
        rows = [
            "<tr>"
            + _num_cell(layer.index, str(layer.index))
            + f'<td class="mono nowrap" title="{_e(layer.digest)}">{_e(layer.digest[:19])}'
            + (" (foreign)" if layer.foreign else "")
            + "</td>"
            + _text_cell("yes" if layer.base else "")
            + _cached_cell(layer.cached, unsure)
            + _num_cell(layer.compressed_bytes, _size(layer.compressed_bytes), "compressed_bytes")
            + _num_cell(layer.uncompressed_bytes, _size(layer.uncompressed_bytes), "uncompressed_bytes")
            + _num_cell(layer.extracted_bytes, _size(layer.extracted_bytes), "extracted_bytes")
            + _text_cell(layer.size_source)
            + _num_cell(layer.shared_by, str(layer.shared_by), "shared_by")
            + "</tr>"
            for layer in image.layers
        ]
        parts.append(
            f'<details class="image" data-reference="{_e(image.reference)}"><summary>{name_html(image.name)} — '
            f"{len(image.layers)} layers, "
            f"{_e(_size(image.totals.compressed_bytes))}</summary>"
            + _table(headers, rows, table_id=f"layers-{n}")
            + contents_html(image.contents, str(n), image.name)
            + "</details>"
        )
    parts.append("</details></section>")
    return "\n".join(parts)


def _context(report: Report) -> str:
    bits = []
    if report.profile:
        bits.append(f"node profile <code>{_e(report.profile)}</code>")
    elif report.launch_profile:
        bits.append(f"no node profile; launch times use <code>{_e(report.launch_profile)}</code>")
    else:
        bits.append("no node profile")
    if report.baked:
        unresolved = {r for r, _ in report.baked_unresolved}
        bits.append(
            "baked: "
            + ", ".join(
                f'<code>{_e(b)}</code> <span class="badge bad" title="not resolved: its layers are held by catalog '
                'revision or unknown (see Warnings)">unresolved</span>'
                if b in unresolved
                else f"<code>{_e(b)}</code>"
                for b in report.baked
            )
        )
    else:
        bits.append("nothing baked: every layer is pulled")
    node = node_summary(report.node)
    if node is not None:
        bits.append(f"node {_e(node)}")
    return '<p class="context">' + " · ".join(bits) + "</p>"


def _node_groups(report: Report) -> str:
    """--nodes on several revisions: what a node of each group pulls (#14 item 2); nothing otherwise."""
    if not report.node_groups:
        return ""
    rows = [
        "<tr>"
        + text_cell(g.os_version)
        + num_cell(g.nodes, str(g.nodes), "nodes")
        + num_cell(g.pull_compressed_bytes, size(g.pull_compressed_bytes), "pull_compressed_bytes")
        + text_cell("yes" if g.used else "")
        + "</tr>"
        for g in report.node_groups
    ]
    headers = [("node revision", False), ("nodes", True), ("a node pulls (all images)", True), ("used above", False)]
    return (
        '<section id="node-groups"><h2>Node revisions (--nodes)</h2><p class="context">The listed nodes run '
        "several Windows revisions; each holds the baked images at its own revision, so each pulls its own bytes. "
        "The other figures use the revision marked.</p>"
        + table(headers, rows, table_id="node-groups-table")
        + "</section>"
    )


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    n = report.fleet.images
    title = f"layerscope report — {n} image{'s' if n != 1 else ''}"
    body = [
        "<main>",
        f"<header><h1>{_e(title)}</h1>{_context(report)}</header>",
        _summary(report),
        _node_groups(report),
        _gate(report),
        charts(report),
        fleet_sections.repositories(report),
        _images(report),
        _recommendation(report),
        '<section id="disk"><h2>Node disk by runtime</h2>' + _disk(report) + "</section>",
        fleet_sections.shared(report),
        fleet_sections.warnings(report),
        _layers(report),
        f"<footer>layerscope {_e(__version__)} · schema {_e(report.schema)} · sizes in decimal units "
        "(1 GB = 10<sup>9</sup> bytes); hover a bar for its exact value; click a column header to sort.</footer>",
        "</main>",
    ]
    css, error_hook, pager, sort = _page_assets()
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{css}</style>\n<script>{error_hook}</script>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + f"\n<script>{pager}</script>\n<script>{sort}</script>\n</body>\n</html>\n"
    )
