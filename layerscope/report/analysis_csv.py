"""`analyze -o csv`: one row per layer, image columns repeated (documented in README)."""

from __future__ import annotations

import csv
import io

from layerscope.plan.planned import AnalysisRun

__all__ = ["COLUMNS", "render_csv"]

COLUMNS = (
    "reference",
    "platform",
    "digest",
    "layer_index",
    "layer_digest",
    "diff_id",
    "media_type",
    "compression",
    "foreign",
    "base",
    "cached",
    "compressed_bytes",
    "uncompressed_bytes",
    "extracted_bytes",
    "files",
    "size_source",
)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def render_csv(run: AnalysisRun) -> str:
    """CSV text; unknown values are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for image in run.images:
        for layer, cached in zip(image.layers, image.cached, strict=True):
            m = layer.measurement
            row = (
                image.reference,
                str(image.platform),
                image.digest,
                layer.index,
                layer.digest,
                layer.diff_id,
                layer.media_type,
                m.compression,
                layer.foreign,
                layer.base,
                cached,
                m.compressed_bytes,
                m.uncompressed_bytes,
                m.extracted_bytes,
                m.files,
                m.size_source,
            )
            writer.writerow([_cell(v) for v in row])
    return out.getvalue()
