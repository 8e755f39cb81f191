"""`files -o table|json|csv` and the `analyze --contents` table section (issue #15)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tabulate import tabulate

from layerscope.listing import FilesListing
from layerscope.plan.planned import AnalysisRun
from layerscope.results import ImageContents, ImageResult
from layerscope.units import format_size

__all__ = ["FILES_SCHEMA", "render_contents_table", "render_files"]

FILES_SCHEMA = "layerscope.files/v1"
_COLUMNS = ("path", "type", "bytes", "files", "layer", "link")


def _where(listing: FilesListing) -> str:
    what = f"layer {listing.layer}" if listing.layer is not None else "final filesystem"
    if listing.layer is None and listing.scope == "indexed-layers":
        what += f" of layers {', '.join(map(str, listing.indexed_layers))} (the others have no file index)"
    return what


def files_document(listing: FilesListing, image: ImageResult) -> dict[str, Any]:
    """The `layerscope.files/v1` document."""
    return {
        "schema": FILES_SCHEMA,
        "reference": image.reference,
        "digest": image.digest,
        "layer": listing.layer,
        "scope": listing.scope,
        "indexed_layers": list(listing.indexed_layers),
        "path": listing.prefix,
        "depth": listing.depth,
        "total_bytes": listing.total_bytes,
        "total_files": listing.total_files,
        "rows": listing.total_rows,
        "entries": [
            {
                "path": e.path,
                "type": e.type,
                "bytes": e.bytes,
                "files": e.files,
                "layer": e.layer,
                "link": e.link or None,
            }
            for e in listing.entries
        ],
    }


def render_files(listing: FilesListing, image: ImageResult, fmt: str) -> str:
    """The listing as a table (for a person), JSON or CSV (one row per entry)."""
    if fmt == "json":
        return json.dumps(files_document(listing, image), indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_COLUMNS)
        for e in listing.entries:
            writer.writerow([e.path, e.type, e.bytes, e.files, "" if e.layer is None else e.layer, e.link])
        return out.getvalue()
    rows = [
        [
            e.path + ("/" if e.type == "dir" else "") + (f" => {e.link}" if e.link else ""),
            e.type,
            format_size(e.bytes),
            e.files,
            "-" if e.layer is None else e.layer,
        ]
        for e in listing.entries
    ]
    head = (
        f"{image.reference} ({image.digest[:19]}…), {_where(listing)}, under /{listing.prefix}: "
        f"{format_size(listing.total_bytes)} in {listing.total_files} files"
    )
    shown = (
        f"\n(largest {len(listing.entries)} of {listing.total_rows} rows; --top to see more)"
        if listing.total_rows > len(listing.entries)
        else ""
    )
    table = tabulate(rows, headers=["path", "type", "bytes", "files", "layer"], disable_numparse=True)
    return f"{head}\n{table}{shown}\n"


def _contents_section(image: ImageResult, c: ImageContents) -> str:
    scope = "all layers" if c.scope == "all-layers" else f"layers {', '.join(map(str, c.indexed_layers))} only"
    lines = [
        f"Where the bytes are: {image.reference} ({scope})",
        f"  final filesystem {format_size(c.final_bytes)} in {c.final_files} files; "
        f"reclaimable {format_size(c.reclaimable_bytes)}; wasted {format_size(c.wasted_bytes)} (dive); "
        f"efficiency {c.efficiency:.1%}",
    ]
    if c.largest_dirs:
        label = "largest directories (under Files/, and Hives)" if c.windows else "largest directories"
        rows = [[d.path + "/", format_size(d.bytes), d.files] for d in c.largest_dirs]
        lines += ["", tabulate(rows, headers=[label, "bytes", "files"], disable_numparse=True)]
    if c.largest_files:
        rows = [[f.path, format_size(f.bytes), f.layer] for f in c.largest_files]
        lines += ["", tabulate(rows, headers=["largest files", "bytes", "layer"], disable_numparse=True)]
    if c.wasted:
        rows = [[w.path, format_size(w.bytes), ", ".join(map(str, w.layers))] for w in c.wasted]
        lines += ["", tabulate(rows, headers=["wasted (in several layers)", "bytes", "layers"], disable_numparse=True)]
    return "\n".join(lines)


def render_contents_table(run: AnalysisRun) -> str:
    """The `analyze --contents` section: per image, the largest paths and the waste."""
    parts = []
    for image in run.images:
        if image.contents is None:
            parts.append(f"Where the bytes are: {image.reference}: unknown (no layer has a file index)")
        else:
            parts.append(_contents_section(image.image, image.contents))
    return "\n\n".join(parts) + "\n"
