"""`report -o csv`: one row per image (`kind=image`) followed by one row per layer of it (`kind=layer`).

Columns (docs/report.md; unknown values and columns that do not apply to the row's kind are empty cells;
booleans are `true`/`false`; sizes in bytes, times in seconds):

    kind                               image | layer
    reference, platform, digest        the image (repeated on its layer rows)
    weight                             launches per day (image rows)
    layer_index, layer_digest, diff_id, chain_id, media_type, foreign, size_source, shared_by   (layer rows)
    base                               layer rows: a base layer; image rows: empty
    cached                             layer rows: the baked set holds the layer's chain (empty = unknown)
    compressed_bytes, uncompressed_bytes, extracted_bytes          the image's totals, or the layer's sizes
    pull_compressed_bytes, pull_extracted_bytes                    pulled by a node with the bake
    pull_without_bake_compressed_bytes                             pulled by an empty node
    base_image, base_channel, base_os_version, base_month, base_match   (image rows)
    drift_bytes_to_pull                                            (image rows with drift)
    launch_with_bake_seconds, launch_without_bake_seconds          (image rows with launch estimates)
    exact                              image rows: false when a total includes an estimate
    repository                         the reference without its tag or digest; rows come grouped by it
    applicable                         image rows: false when the profile's node never launches the image

The layer rows of an image add up to its image row (compressed and pull columns). Fleet figures are in the JSON,
Markdown and HTML formats only.
"""

from __future__ import annotations

import csv
import io

from layerscope.report.fleet_groups import by_repository
from layerscope.report.model import Report, ReportImage, ReportLayer

__all__ = ["COLUMNS", "render_csv"]

COLUMNS = (
    "kind",
    "reference",
    "platform",
    "digest",
    "weight",
    "layer_index",
    "layer_digest",
    "diff_id",
    "chain_id",
    "media_type",
    "foreign",
    "size_source",
    "shared_by",
    "base",
    "cached",
    "compressed_bytes",
    "uncompressed_bytes",
    "extracted_bytes",
    "pull_compressed_bytes",
    "pull_extracted_bytes",
    "pull_without_bake_compressed_bytes",
    "base_image",
    "base_channel",
    "base_os_version",
    "base_month",
    "base_match",
    "drift_bytes_to_pull",
    "launch_with_bake_seconds",
    "launch_without_bake_seconds",
    "exact",
    "repository",
    "applicable",
)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return value


def _image_row(image: ReportImage) -> dict[str, object]:
    t, b = image.totals, image.base
    return {
        "kind": "image",
        "reference": image.reference,
        "platform": image.platform,
        "digest": image.digest,
        "weight": image.weight,
        "compressed_bytes": t.compressed_bytes,
        "uncompressed_bytes": t.uncompressed_bytes,
        "extracted_bytes": t.extracted_bytes,
        "pull_compressed_bytes": t.pull_compressed_bytes,
        "pull_extracted_bytes": t.pull_extracted_bytes,
        "pull_without_bake_compressed_bytes": t.compressed_bytes,
        "base_image": b.image if b else None,
        "base_channel": b.channel if b else None,
        "base_os_version": b.os_version if b else None,
        "base_month": b.month if b else None,
        "base_match": b.match if b else None,
        "drift_bytes_to_pull": image.drift.bytes_to_pull if image.drift else None,
        "launch_with_bake_seconds": image.launch.with_bake_seconds if image.launch else None,
        "launch_without_bake_seconds": image.launch.without_bake_seconds if image.launch else None,
        "exact": t.exact,
        "applicable": image.applicable,
    }


def _layer_row(image: ReportImage, layer: ReportLayer) -> dict[str, object]:
    pulled = layer.cached is not True
    return {
        "kind": "layer",
        "reference": image.reference,
        "platform": image.platform,
        "digest": image.digest,
        "layer_index": layer.index,
        "layer_digest": layer.digest,
        "diff_id": layer.diff_id,
        "chain_id": layer.chain_id,
        "media_type": layer.media_type,
        "foreign": layer.foreign,
        "size_source": layer.size_source,
        "shared_by": layer.shared_by,
        "base": layer.base,
        "cached": layer.cached,
        "compressed_bytes": layer.compressed_bytes,
        "uncompressed_bytes": layer.uncompressed_bytes,
        "extracted_bytes": layer.extracted_bytes,
        "pull_compressed_bytes": layer.pull_compressed_bytes,
        "pull_extracted_bytes": layer.extracted_bytes if pulled else 0,
        "pull_without_bake_compressed_bytes": layer.compressed_bytes,
    }


def render_csv(report: Report) -> str:
    """CSV text with a header row (see the module docstring for the columns)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for group in by_repository(report.images):  # grouped like the HTML and Markdown (issue #17)
        for image in group.images:
            for row in (_image_row(image), *(_layer_row(image, layer) for layer in image.layers)):
                row["repository"] = group.repository
                writer.writerow([_cell(row.get(column)) for column in COLUMNS])
    return out.getvalue()
