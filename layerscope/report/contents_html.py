"""Where an image's bytes are, in the HTML report (issue #15 item 6): a treemap of its largest directories and its
waste table, inside the image's collapsed details (so the page before any expansion stays short)."""

from __future__ import annotations

from layerscope.report.html_cells import esc, num_cell, size, table
from layerscope.report.svg import shorten_middle
from layerscope.report.svg_treemap import treemap_svg
from layerscope.results import ImageContents

__all__ = ["contents_html"]

PATH_LIMIT = 90  # characters of a wasted path before it is cut in the middle (the full path on hover)


def _path_cell(path: str) -> str:
    return f'<td class="mono" title="{esc(path)}">{esc(shorten_middle(path, PATH_LIMIT))}</td>'


def contents_html(contents: ImageContents | None, key: str, name: str) -> str:
    """The contents block of one image (*key* makes its ids unique), or "unknown" without a file index."""
    if contents is None:
        return '<p class="context contents unknown">Contents: unknown (no file index).</p>'
    c = contents
    scope = (
        ""
        if c.scope == "all-layers"
        else f" over the layers with a file index ({', '.join(str(i) for i in c.indexed_layers)})"
    )
    intro = (
        f'<p class="context contents">Contents{esc(scope)}: {c.final_files} files, {esc(size(c.final_bytes))}; '
        f"efficiency {c.efficiency:.2%}, wasted {esc(size(c.wasted_bytes))}, reclaimable by a squash "
        f"{esc(size(c.reclaimable_bytes))}.</p>"
    )
    dirs = [(d.path, d.bytes, d.files) for d in c.largest_dirs]
    where = "under Files/ (and Hives/)" if c.windows else ""
    chart = treemap_svg(
        dirs,
        c.final_bytes,
        chart_id=f"treemap-{key}",
        title=f"Largest directories of {name} {where}".strip(),
        fmt=size,
    )
    if c.wasted:
        rows = [
            "<tr>"
            + _path_cell(w.path)
            + f'<td data-field="layers">{esc(", ".join(str(i) for i in w.layers))}</td>'
            + num_cell(w.bytes, size(w.bytes), "bytes")
            + "</tr>"
            for w in c.wasted
        ]
        headers = [("wasted path", False), ("layers", False), ("bytes", True)]
        waste = table(headers, rows, table_id=f"waste-{key}")
    else:
        waste = '<p class="context">No wasted file: no layer overwrites or deletes a file of a layer below.</p>'
    return f'<div class="contents" id="contents-{key}">{intro}{chart}{waste}</div>'
