"""`report -o html`: one self-contained HTML file — summary, charts (inline SVG, report/svg.py), sortable tables.

Self-contained means nothing is fetched at view time: CSS and the small sort script are inline, charts are inline
SVG, and a Content-Security-Policy (`default-src 'none'`) makes the browser refuse any resource a future edit
might add. Every value is escaped with `html.escape`. Numeric cells carry the exact number in `data-sort` (bytes or
seconds) so the tables sort by value and tests can compare them with `analyze -o json`; `data-field` names the
number. A script error is recorded on `<html data-js-errors=…>`, and a finished script sets `data-ready="1"`,
which is how the headless-browser test sees that the page ran cleanly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from layerscope import __version__
from layerscope.report import svg
from layerscope.report.model import Report, ReportImage
from layerscope.units import format_duration, format_size

__all__ = ["CHART_IDS", "render_html"]

CHART_IDS = ("chart-pull", "chart-launch", "chart-disk")
CACHED, BASE_PULL, APP_PULL = "#4c9a6a", "#e08a2c", "#3b6fb6"
WITH_BAKE, WITHOUT_BAKE = "#4c9a6a", "#c4504d"
SNAPSHOTS, BLOBS = "#6a5acd", "#b3acec"

_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"

_CSS = """
:root{--fg:#1d2430;--muted:#5b6576;--line:#dde2ea;--bg:#f6f8fb;--card:#fff;--warn:#9a5b00;--bad:#a12c2a}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);
background:var(--bg)}
main{max-width:1200px;margin:0 auto;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 10px}h3{font-size:15px;margin:16px 0 8px}
.context{color:var(--muted);margin:0 0 16px;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:22px;font-weight:600;margin:2px 0}.card .n{color:var(--muted);font-size:12px}
.scroll{overflow-x:auto;margin-bottom:12px}
#images-table td:first-child,#rec-table td:first-child{min-width:240px}
.panel{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;margin-bottom:12px}
svg.chart{display:block;max-width:100%;height:auto}
svg.chart text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:var(--fg)}
svg.chart .tick,svg.chart .value.small{fill:var(--muted);font-size:11px}svg.chart .grid{stroke:var(--line)}
table{border-collapse:collapse;width:100%;background:var(--card);font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}
th{background:#eef1f6;position:sticky;top:0}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2";font-size:10px}
table.sortable th[aria-sort=descending]::after{content:" \\25BC";font-size:10px}
.sub{color:var(--muted);font-size:11px}.nowrap{white-space:nowrap}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:10px;padding:0 7px;font-size:11px;font-weight:600}
.badge.drift{background:#fde7c8;color:var(--warn)}.badge.ok{background:#dcefe3;color:#2c6b43}
.badge.bad{background:#f7d7d6;color:var(--bad)}
ul.warnings li{margin:3px 0}details{margin:6px 0}summary{cursor:pointer}
footer{color:var(--muted);font-size:12px;margin-top:32px}
@media print{th{position:static}details{display:block}}
"""

# Runs first: records any script error where a headless browser's DOM dump shows it.
_ERROR_HOOK = """
(function(){var h=document.documentElement;function rec(m){h.setAttribute("data-js-errors",
(h.getAttribute("data-js-errors")||"")+m+";");}
window.addEventListener("error",function(e){rec(String(e.message));});
window.addEventListener("unhandledrejection",function(e){rec("unhandled rejection: "+String(e.reason));});})();
"""

# Click (or Enter/Space on) a header to sort by it; numbers sort by data-sort, text by its content.
_SORT = """
(function(){
function key(td){var v=td.getAttribute("data-sort");if(v!==null&&v!==""&&!isNaN(+v))return +v;
return td.textContent.trim().toLowerCase();}
function cmp(x,y){if(typeof x==="number"&&typeof y==="number")return x-y;return String(x).localeCompare(String(y));}
Array.prototype.forEach.call(document.querySelectorAll("table.sortable"),function(table){
var ths=table.tHead.rows[0].cells;
Array.prototype.forEach.call(ths,function(th,i){
th.tabIndex=0;th.setAttribute("aria-sort","none");
function sort(){var asc=th.getAttribute("aria-sort")!=="ascending";
Array.prototype.forEach.call(ths,function(o){o.setAttribute("aria-sort","none");});
th.setAttribute("aria-sort",asc?"ascending":"descending");
var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var r=cmp(key(a.cells[i]),key(b.cells[i]));return asc?r:-r;});
rows.forEach(function(r){body.appendChild(r);});}
th.addEventListener("click",sort);
th.addEventListener("keydown",function(e){if(e.key==="Enter"||e.key===" "){e.preventDefault();sort();}});});});
document.documentElement.setAttribute("data-ready","1");
})();
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _size(n: int | None) -> str:
    return format_size(n)


def _num_cell(value: float | int | None, text: str, field: str = "") -> str:
    sort = "-1" if value is None else (str(value) if isinstance(value, int) else f"{value:.3f}")
    attr = f' data-field="{_e(field)}"' if field else ""
    return f'<td class="num" data-sort="{sort}"{attr}>{_e(text)}</td>'


def _text_cell(text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}>{_e(text)}</td>"


def _table(headers: Sequence[tuple[str, bool]], rows: Iterable[str], *, table_id: str, sortable: bool = True) -> str:
    head = "".join(f'<th class="num">{_e(h)}</th>' if num else f"<th>{_e(h)}</th>" for h, num in headers)
    cls = ' class="sortable"' if sortable else ""
    return (
        f'<div class="scroll"><table id="{_e(table_id)}"{cls}><thead><tr>{head}</tr></thead><tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )


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


def _charts(report: Report) -> str:
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
            f'<td><span class="mono">{_e(i.name)}</span><div class="sub">{_e(i.platform)}</div></td>',
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
    return '<section id="images"><h2>Images</h2>' + _table(headers, rows, table_id="images-table") + note + "</section>"


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
        f'<tr><td class="mono">{_e(c.reference)}</td><td>bake</td>'
        + _num_cell(c.seconds_saved_per_day, format_duration(c.seconds_saved_per_day), "seconds_saved_per_day")
        + "</tr>"
        for c in rec.chosen
    ]
    rows += [
        f'<tr><td class="mono">{_e(n.reference)}</td><td>{_e(n.reason)}</td>'
        + _num_cell(n.seconds_saved_per_day, format_duration(n.seconds_saved_per_day), "seconds_saved_per_day")
        + "</tr>"
        for n in rec.not_chosen
    ]
    table = _table([("image", False), ("decision", False), ("saved per day", True)], rows, table_id="rec-table")
    return f'<section id="recommendation"><h2>Recommendation</h2><div class="panel">{intro}</div>{table}</section>'


def _shared(report: Report) -> str:
    shared = report.fleet.shared_layers
    if not shared:
        none = '<p class="context">No layer is shared by two images.</p>'
        return f'<section id="shared"><h2>Most shared layers</h2>{none}</section>'
    rows = [
        f'<tr><td class="mono nowrap" title="{_e(s.digest)}">{_e(s.digest[:19])}</td>'
        + f'<td class="mono nowrap" title="{_e(s.chain_id)}">{_e(s.chain_id[:19])}</td>'
        + _num_cell(s.images, str(s.images), "images")
        + _text_cell("yes" if s.base else "")
        + _num_cell(s.compressed_bytes, _size(s.compressed_bytes), "compressed_bytes")
        + _num_cell(s.extracted_bytes, _size(s.extracted_bytes), "extracted_bytes")
        + f'<td class="mono">{_e(", ".join(s.references))}</td></tr>'
        for s in shared
    ]
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
        + _table(headers, rows, table_id="shared-table")
        + "</section>"
    )


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


def _warnings(report: Report) -> str:
    items = [f"<li><code>{_e(i.name)}</code>: {_e(w)}</li>" for i in report.images for w in i.warnings]
    items += [f"<li>{_e(w)}</li>" for w in report.warnings]
    if not items:
        return ""
    return '<section id="warnings"><h2>Warnings</h2><ul class="warnings">' + "".join(items) + "</ul></section>"


def _layers(report: Report) -> str:
    parts = ['<section id="layers"><h2>Layers per image</h2>']
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
    for n, image in enumerate(report.images):
        rows = [
            "<tr>"
            + _num_cell(layer.index, str(layer.index))
            + f'<td class="mono nowrap" title="{_e(layer.digest)}">{_e(layer.digest[:19])}'
            + (" (foreign)" if layer.foreign else "")
            + "</td>"
            + _text_cell("yes" if layer.base else "")
            + _text_cell("unknown" if layer.cached is None else "yes" if layer.cached else "no")
            + _num_cell(layer.compressed_bytes, _size(layer.compressed_bytes), "compressed_bytes")
            + _num_cell(layer.uncompressed_bytes, _size(layer.uncompressed_bytes), "uncompressed_bytes")
            + _num_cell(layer.extracted_bytes, _size(layer.extracted_bytes), "extracted_bytes")
            + _text_cell(layer.size_source)
            + _num_cell(layer.shared_by, str(layer.shared_by), "shared_by")
            + "</tr>"
            for layer in image.layers
        ]
        parts.append(
            f"<details><summary><code>{_e(image.name)}</code> — {len(image.layers)} layers, "
            f"{_e(_size(image.totals.compressed_bytes))}</summary>"
            + _table(headers, rows, table_id=f"layers-{n}")
            + "</details>"
        )
    parts.append("</section>")
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
        bits.append("baked: " + ", ".join(f"<code>{_e(b)}</code>" for b in report.baked))
    else:
        bits.append("nothing baked: every layer is pulled")
    return '<p class="context">' + " · ".join(bits) + "</p>"


def render_html(report: Report) -> str:
    """The whole report as one HTML document."""
    n = report.fleet.images
    title = f"layerscope report — {n} image{'s' if n != 1 else ''}"
    body = [
        "<main>",
        f"<header><h1>{_e(title)}</h1>{_context(report)}</header>",
        _summary(report),
        _gate(report),
        _charts(report),
        _images(report),
        _recommendation(report),
        '<section id="disk"><h2>Node disk by runtime</h2>' + _disk(report) + "</section>",
        _shared(report),
        _warnings(report),
        _layers(report),
        f"<footer>layerscope {_e(__version__)} · schema {_e(report.schema)} · sizes in decimal units "
        "(1 GB = 10<sup>9</sup> bytes); hover a bar for its exact value; click a column header to sort.</footer>",
        "</main>",
    ]
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n<script>{_ERROR_HOOK}</script>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + f"\n<script>{_SORT}</script>\n</body>\n</html>\n"
    )
