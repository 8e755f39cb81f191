"""`report -o json`: the `layerscope.report/v1` document (also in docs/report.md). Fields, all always present::

    schema          "layerscope.report/v1"
    profile         node profile name, or null (no --profile)
    launch_profile  profile whose network/disk figures the launch estimates use (the --profile, or the shipped
                    default when none was given), or null when launch times were not estimated
    baked           digest-pinned references of the baked set ([] without a profile or --baked)
    baked_unresolved[]  {reference, reason}: entries of `baked` that could not be resolved (their layers held
                    by catalog revision or unknown), as in `analyze -o json`
    images[]        one per analysed image (one platform of a reference), report order:
      reference, digest, platform ("os/arch[/variant][:os_version]"), weight (launches per day; 1 by default;
                    one image of a reference carries it: the platform the node runs, other platforms 0)
      applicable, not_applicable   whether the profile's node launches it, and why not (null); a non-applicable
                    image is left out of the fleet's pulls, node cache, node disk and launch seconds
      base          {image, channel, os_version, month, layers, match} or null — as in `analyze -o json`
      totals        exactly `analyze -o json`'s totals: compressed_bytes, uncompressed_bytes, extracted_bytes,
                    base_compressed_bytes, app_compressed_bytes, pull_compressed_bytes, pull_extracted_bytes,
                    cache_hit_ratio, exact (null = unknown)
      pull          {with_bake: {compressed_bytes, extracted_bytes, layers},
                     without_bake: {compressed_bytes, extracted_bytes, layers}} — a layer with `cached: null`
                    counts as pulled with the bake; without the bake every layer is pulled
      split         {cached_bytes, base_pull_bytes, app_pull_bytes}: compressed bytes held by the baked set / base
                    layers still pulled / other layers pulled (they add up to totals.compressed_bytes)
      launch        {with_bake_seconds, without_bake_seconds, seconds_saved, estimated, warnings[]} or null
      drift         {baked_os_version, baked_month, image_os_version, image_month, bytes_to_pull, rebuild_on}
                    or null — as in `analyze -o json`
      warnings[]    drift, analysis and launch-timeout warnings for this image
      layers[]      {index, digest, diff_id, chain_id, media_type, foreign, base, cached, compressed_bytes,
                     uncompressed_bytes, extracted_bytes, files, size_source, pull_compressed_bytes, shared_by}
                    (shared_by: images of this report holding the layer's chain, 1 = only this image)
      contents      where the bytes are (issue #15), exactly `analyze -o json`'s per-image `contents`, or null
                    when no layer has a file index
    fleet
      images              number of images
      compressed_bytes    sum of every image's compressed size (shared layers counted each time)
      registry            distinct layers by digest = registry storage:
                          {layers, compressed_bytes, extracted_bytes, foreign_compressed_bytes, exact}
                          (foreign_compressed_bytes: of compressed_bytes, the foreign layers MCR stores, not you)
      node_cache          distinct layers by chain ID = what a node holding every image keeps unpacked; same fields
      pull                {with_bake_compressed_bytes, without_bake_compressed_bytes}: sums over images
      node_disk[]         every image on one node, per runtime: {runtime ("containerd" | "containerd+discard" |
                          "docker"), container_runtime, discard_unpacked_layers, snapshot_bytes, blob_bytes,
                          total_bytes, layers, estimated}
      shared_layers[]     the chains held by the most images (at least 2), most shared first:
                          {chain_id, digest, base, compressed_bytes, extracted_bytes, images, references[]}
      launch              {with_bake_seconds_per_day, without_bake_seconds_per_day, seconds_saved_per_day}
                          (Σ weight × launch seconds) or null
      recommendation      the `layerscope.recommendation/v1` document (`recommend -o json`) or null without a profile
    gate            {max_pull_bytes, exceeded, reason, largest_pull_bytes, offenders: [{reference, pull_bytes}],
                     unknown_layers} with --max-pull, else null
    warnings[]      report-wide warnings
    node            {os_version, alternatives, basis, ami, ami_date}: the node's cached base revision and how it
                    is known, as analysis/v1's `node` (#14 item 2)
    node_groups[]   {os_version, nodes, pull_compressed_bytes, used}: with --nodes on several revisions, what the
                    images pull on one node of each group (`used`: the revision the other figures use); else []

Sizes are bytes, times seconds; a size nobody knows is null, never a made-up number. New fields may be added;
a field never changes meaning without a new schema version.
"""

from __future__ import annotations

import json
from typing import Any

from layerscope.report import recommendation
from layerscope.report.analysis_json import drift_document, node_document, totals_document
from layerscope.report.contents_json import contents_document
from layerscope.report.model import SCHEMA, Dedup, Launch, Report, ReportImage, ReportLayer

__all__ = ["SCHEMA", "render_json", "report_document", "totals_document"]


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _layer(layer: ReportLayer) -> dict[str, Any]:
    return {
        "index": layer.index,
        "digest": layer.digest,
        "diff_id": layer.diff_id,
        "chain_id": layer.chain_id,
        "media_type": layer.media_type,
        "foreign": layer.foreign,
        "base": layer.base,
        "cached": layer.cached,
        "compressed_bytes": layer.compressed_bytes,
        "uncompressed_bytes": layer.uncompressed_bytes,
        "extracted_bytes": layer.extracted_bytes,
        "files": layer.files,
        "size_source": layer.size_source,
        "pull_compressed_bytes": layer.pull_compressed_bytes,
        "shared_by": layer.shared_by,
    }


def _launch(launch: Launch | None) -> dict[str, Any] | None:
    if launch is None:
        return None
    return {
        "with_bake_seconds": _round(launch.with_bake_seconds),
        # #14 item 4: the fast end when some layers' cache state is unknown (null: every state known)
        "with_bake_seconds_min": None if launch.with_bake_seconds_min is None else _round(launch.with_bake_seconds_min),
        "without_bake_seconds": _round(launch.without_bake_seconds),
        "seconds_saved": _round(launch.seconds_saved),
        "estimated": launch.estimated,
        "warnings": list(launch.warnings),
        "observed_seconds": _round(launch.observed_seconds) if launch.observed_seconds is not None else None,
        "observed_pulls": launch.observed_pulls,
    }


def _image(image: ReportImage) -> dict[str, Any]:
    t = image.totals
    pulled = [layer for layer in image.layers if layer.cached is not True]
    b, d = image.base, image.drift
    return {
        "reference": image.reference,
        "digest": image.digest,
        "platform": image.platform,
        "weight": image.weight,
        "applicable": image.applicable,
        "not_applicable": image.not_applicable,
        "base": None
        if b is None
        else {
            "image": b.image,
            "channel": b.channel,
            "os_version": b.os_version,
            "month": b.month,
            "layers": b.layers,
            "match": b.match,
            "kb": b.kb,
            "release_date": b.release_date,
            "version": b.version,
            "generation": b.generation,
        },
        "totals": totals_document(t),
        "pull": {
            "with_bake": {
                "compressed_bytes": t.pull_compressed_bytes,
                "extracted_bytes": t.pull_extracted_bytes,
                "layers": len(pulled),
            },
            "without_bake": {
                "compressed_bytes": t.compressed_bytes,
                "extracted_bytes": t.extracted_bytes,
                "layers": len(image.layers),
            },
        },
        "split": {
            "cached_bytes": image.split.cached_bytes,
            "base_pull_bytes": image.split.base_pull_bytes,
            "app_pull_bytes": image.split.app_pull_bytes,
        },
        "launch": _launch(image.launch),
        "drift": drift_document(d),
        "warnings": list(image.warnings),
        "layers": [_layer(layer) for layer in image.layers],
        "contents": contents_document(image.contents),
    }


def report_document(report: Report) -> dict[str, Any]:
    """The whole `layerscope.report/v1` document as a dict."""
    f = report.fleet
    launch = None
    if f.launch_seconds_per_day_with_bake is not None and f.launch_seconds_per_day_without_bake is not None:
        launch = {
            "with_bake_seconds_per_day": _round(f.launch_seconds_per_day_with_bake),
            "without_bake_seconds_per_day": _round(f.launch_seconds_per_day_without_bake),
            "seconds_saved_per_day": _round(f.launch_seconds_per_day_without_bake - f.launch_seconds_per_day_with_bake),
        }
    g = report.gate
    return {
        "schema": SCHEMA,
        "profile": report.profile,
        "launch_profile": report.launch_profile,
        "baked": list(report.baked),
        "baked_unresolved": [{"reference": r, "reason": why} for r, why in report.baked_unresolved],
        "images": [_image(image) for image in report.images],
        "fleet": {
            "images": f.images,
            "compressed_bytes": f.compressed_bytes,
            "registry": _dedup(f.registry),
            "node_cache": _dedup(f.node_cache),
            "pull": {
                "with_bake_compressed_bytes": f.pull_with_bake_bytes,
                "without_bake_compressed_bytes": f.pull_without_bake_bytes,
            },
            "node_disk": [
                {
                    "runtime": disk.label,
                    "container_runtime": disk.runtime,
                    "discard_unpacked_layers": disk.discard_unpacked_layers,
                    "snapshot_bytes": disk.snapshot_bytes,
                    "blob_bytes": disk.blob_bytes,
                    "total_bytes": disk.total_bytes,
                    "layers": disk.layers,
                    "estimated": disk.estimated,
                }
                for disk in f.node_disk
            ],
            "shared_layers": [
                {
                    "chain_id": s.chain_id,
                    "digest": s.digest,
                    "base": s.base,
                    "compressed_bytes": s.compressed_bytes,
                    "extracted_bytes": s.extracted_bytes,
                    "images": s.images,
                    "references": list(s.references),
                }
                for s in f.shared_layers
            ],
            "launch": launch,
            "recommendation": recommendation.recommendation_document(f.recommendation)
            if f.recommendation is not None
            else None,
        },
        "gate": None
        if g is None
        else {
            "max_pull_bytes": g.max_bytes,
            "exceeded": g.exceeded,
            "reason": g.reason,
            "largest_pull_bytes": g.largest_pull_bytes,
            "offenders": [{"reference": ref, "pull_bytes": n} for ref, n in g.offenders],
            "unknown_layers": g.unknown_layers,
        },
        "warnings": list(report.warnings),
        # Extensions (#14 item 2): the node's revision as in analysis/v1, and each --nodes revision group's pull.
        "node": node_document(report.node),
        "node_groups": [g.to_json() for g in report.node_groups],
    }


def _dedup(d: Dedup) -> dict[str, Any]:
    return {
        "layers": d.layers,
        "compressed_bytes": d.compressed_bytes,
        "extracted_bytes": d.extracted_bytes,
        "foreign_compressed_bytes": d.foreign_compressed_bytes,
        "exact": d.exact,
    }


def render_json(report: Report) -> str:
    """Pretty JSON with a trailing newline."""
    return json.dumps(report_document(report), indent=2) + "\n"
