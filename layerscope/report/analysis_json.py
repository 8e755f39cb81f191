"""`analyze -o json`: the `layerscope.analysis/v1` document of DESIGN.md, extended (never changed)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from layerscope.basematch import BaseDrift, BaseMatch
from layerscope.report.contents_json import contents_document, layer_contents_fields
from layerscope.results import LayerResult, Totals

if TYPE_CHECKING:
    from layerscope.node_revision import NodeRevision
    from layerscope.plan.launch import LaunchComparison, LaunchEstimate
    from layerscope.plan.planned import AnalysisRun, PlannedImage

__all__ = [
    "SCHEMA",
    "analysis_document",
    "base_document",
    "image_document",
    "node_document",
    "render_json",
    "totals_document",
]

SCHEMA = "layerscope.analysis/v1"


def _layer(layer: LayerResult, cached: bool | None) -> dict[str, Any]:
    m = layer.measurement
    return {
        "index": layer.index,
        "digest": layer.digest,
        "diff_id": layer.diff_id,
        "chain_id": layer.chain_id,
        "media_type": layer.media_type,
        "compression": str(m.compression) if m.compression else None,
        "foreign": layer.foreign,
        "compressed_bytes": m.compressed_bytes,
        "uncompressed_bytes": m.uncompressed_bytes,
        "extracted_bytes": m.extracted_bytes,
        "files": m.files,
        "size_source": str(m.size_source),
        "base": layer.base,
        "cached": cached,
        # Extensions beyond DESIGN.md's list (added fields only; see README "JSON").
        "dirs": m.dirs,
        "symlinks": m.symlinks,
        "hardlinks": m.hardlinks,
        "whiteouts": m.whiteouts,
        "windows_files_bytes": m.windows_files_bytes,
        "windows_hives_bytes": m.windows_hives_bytes,
    }


def base_document(b: BaseMatch | None) -> dict[str, Any] | None:
    """The `base` object (DESIGN.md; `diff -o json` repeats it), or None."""
    if b is None:
        return None
    return {
        "image": b.image,
        "channel": b.channel,
        "os_version": b.os_version,
        "month": b.month,
        "layers": b.layer_count,
        "match": b.match,
        # Extensions (#14): the revision dated from the build tables, and its base-blob generation.
        "kb": b.kb,
        "release_date": b.release_date,
        "version": b.version,
        "generation": b.generation,
    }


def drift_document(d: BaseDrift | None) -> dict[str, Any] | None:
    """The `drift` object (`report -o json` repeats it field for field), or None."""
    if d is None:
        return None
    return {
        "baked_os_version": d.baked_os_version,
        "baked_month": d.baked_month,
        "image_os_version": d.image_os_version,
        "image_month": d.image_month,
        "bytes_to_pull": d.bytes_to_pull,
        "rebuild_on": d.rebuild_on,
        # Extensions (#14 item 3).
        "baked_kb": d.baked_kb,
        "image_kb": d.image_kb,
        "months_behind": d.months_behind,
        "pulled_layers": list(d.pulled_layers),
        "layers_known": d.layers_known,
    }


def totals_document(t: Totals) -> dict[str, Any]:
    """The `totals` object (`report -o json` repeats it field for field)."""
    return {
        "compressed_bytes": t.compressed_bytes,
        "uncompressed_bytes": t.uncompressed_bytes,
        "extracted_bytes": t.extracted_bytes,
        "base_compressed_bytes": t.base_compressed_bytes,
        "app_compressed_bytes": t.app_compressed_bytes,
        "pull_compressed_bytes": t.pull_compressed_bytes,
        "pull_extracted_bytes": t.pull_extracted_bytes,
        "cache_hit_ratio": t.cache_hit_ratio,
        "exact": t.exact,
    }


def image_document(image: PlannedImage) -> dict[str, Any]:
    """One entry of `images`."""
    base = image.base
    drift = image.drift
    return {
        "reference": image.reference,
        "index_digest": image.index_digest,
        "digest": image.digest,
        "media_type": image.media_type,
        "platform": image.platform.to_json(),
        "config_digest": image.config_digest,
        "base": base_document(base),
        "layers": [
            {**_layer(layer, cached), **layer_contents_fields(image.contents, layer.index)}
            for layer, cached in zip(image.layers, image.cached, strict=True)
        ],
        "drift": drift_document(drift),
        "totals": totals_document(image.totals),
        "warnings": list(image.warnings),
        "launch": None if image.launch is None else launch_document(image.launch),
        "contents": contents_document(image.contents),
    }


def _estimate(e: LaunchEstimate) -> dict[str, Any]:
    return {
        "total_seconds": round(e.total_seconds, 1),
        "download_seconds": round(e.download_seconds, 1),
        "extraction_seconds": round(e.extraction_seconds, 1),
        "round_trip_seconds": round(e.round_trip_seconds, 2),
        "pulled_bytes": e.pulled_bytes,
        "extracted_bytes": e.extracted_bytes,
        "estimated": e.estimated,
        "warnings": list(e.warnings),
    }


def launch_document(launch: LaunchComparison) -> dict[str, Any]:
    """The `launch` extension: the profile's launch-time model with the node's baked set and without."""
    return {
        "with_baked": _estimate(launch.with_baking),
        "without_baked": _estimate(launch.without_baking),
        "seconds_saved": round(launch.seconds_saved, 1),
        # Extension (#14 item 4): with layers of unknown cache state, the fast end (them held) … the slow end.
        "range": None
        if launch.if_unknown_cached is None
        else {
            "seconds_min": round(launch.if_unknown_cached.total_seconds, 1),
            "seconds_max": round(launch.with_baking.total_seconds, 1),
        },
    }


def analysis_document(run: AnalysisRun) -> dict[str, Any]:
    """The whole `layerscope.analysis/v1` document as a dict."""
    return {
        "schema": SCHEMA,
        "profile": run.profile,
        "baked": list(run.baked),
        "images": [image_document(image) for image in run.images],
        # Extensions (#18 item 1): what of the baked set stayed unresolved, and every warning of the run.
        "baked_unresolved": [{"reference": r, "reason": why} for r, why in run.baked_unresolved],
        "warnings": list(run.warnings),
        # Extension (#14 item 2): the node's cached base revision and how it is known.
        "node": node_document(run.node),
    }


def node_document(node: NodeRevision | None) -> dict[str, Any]:
    """The `node` object (#14 item 2): {os_version, alternatives, basis, ami, ami_date}; `unknown` without one."""
    return node.to_json() if node is not None else dict(_UNKNOWN_NODE)


_UNKNOWN_NODE: dict[str, Any] = {
    "os_version": None,
    "alternatives": [],
    "basis": "unknown",
    "ami": None,
    "ami_date": None,
}


def render_json(run: AnalysisRun) -> str:
    """Pretty JSON with a trailing newline."""
    return json.dumps(analysis_document(run), indent=2) + "\n"
