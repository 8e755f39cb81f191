"""`diff -o table|json|markdown`: an ImageDiff for a person, a PR comment, or a program.

`layerscope.diff/v1` (`diff_document`), documented in docs/cli-catalog-profile-diff.md:

    {"schema": "layerscope.diff/v1",
     "a": IMAGE, "b": IMAGE,
     "shared": {"layers": n, "chain_id": "sha256:…|null", "compressed_bytes": 0, "extracted_bytes": 0|null},
     "only_in_a": [LAYER], "only_in_b": [LAYER],
     "pull_b_on_a": {"layers": n, "compressed_bytes": 0, "extracted_bytes": 0|null},
     "pull_a_on_b": {…},
     "base": {"same_revision": true|false|null, "same_channel": true|false|null,
              "same_os_version": true|false|null},
     "with_baked": null | {"profile": "name|null", "baked": ["refs of the baked set"],
                           "pull_b_on_a": NODE_PULL, "pull_a_on_b": NODE_PULL, "warnings": ["…"]},
     "node": null | {"os_version", "alternatives", "basis", "ami", "ami_date"}}

`with_baked` (added; null without `--profile`/`--baked`) is the same question on a node that holds the
other image *and* the baked set (its chains are the union): NODE_PULL = {"layers", "compressed_bytes",
"extracted_bytes", "unknown_layers"}, where a layer whose cache state is unknown (a baked base of unknown
revision) is counted as pulled and also counted in `unknown_layers`. `node` (added, #14 item 2) is the node's
cached base revision and how it is known, the same object as `analyze`'s top-level `node`; null (like
`with_baked`) without `--profile`/`--baked`/`--ami`/`--nodes`.

IMAGE = {"reference", "digest", "index_digest", "platform", "layers", "compressed_bytes", "extracted_bytes",
"base": the analysis JSON `base` object or null}; LAYER = {"index", "digest", "diff_id", "chain_id",
"compressed_bytes", "extracted_bytes", "size_source", "base", "same_content_as": {"index", "by": "digest" |
"diff_id"} or null}. `shared` sizes are A's blobs (B's may be compressed differently: the chain is the
same because it is built from diff_ids). A size that is not known is null, never a partial sum.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, assert_never

from tabulate import tabulate

from layerscope.diff import BakedNode, DiffLayer, ImageDiff, NodePull, Transfer
from layerscope.report.analysis_json import base_document, node_document
from layerscope.results import ImageResult
from layerscope.units import format_size

__all__ = ["SCHEMA", "DiffFormat", "diff_document", "render_diff"]

SCHEMA = "layerscope.diff/v1"

_HEADERS = ("#", "layer", "compressed", "extracted", "size source", "note")


def _size(n: int | None) -> str:
    return "unknown" if n is None else format_size(n)


def _layers(n: int) -> str:
    return f"{n} layer" if n == 1 else f"{n} layers"


def _base(image: ImageResult) -> str:
    b = image.base
    if b is None:
        return "no known Windows base"
    month = f", {b.month}" if b.month else ""
    name = f"{b.image or 'Windows base'} {b.channel or '?'} {b.os_version or '?'}"
    return f"{name} ({b.layer_count} layers{month}, match {b.match})"


def _same_base(d: ImageDiff) -> str:
    if d.same_base_revision is None:
        return "unknown (a base is not identified)"
    if d.same_base_revision:
        return "yes"
    if d.same_base_os_version:
        # Same build, other bytes (#18 item 5): re-packed or re-built, not another monthly revision.
        return "no: same revision, but its layers differ (a re-packed base: the layers that differ are pulled)"
    if d.same_base_channel:
        return "no: same channel, another monthly revision (the base layers that differ are pulled)"
    return "no"


def _note(x: DiffLayer, other: str) -> str:
    notes = []
    if x.layer.base:
        notes.append("base")
    if x.same_content_as is not None:
        what = "digest" if x.same_by == "digest" else "content (diff_id)"
        notes.append(f"same {what} as {other} layer {x.same_content_as}, on another chain: pulled anyway")
    return "; ".join(notes)


def _rows(layers: tuple[DiffLayer, ...], other: str) -> list[list[object]]:
    return [
        [
            x.layer.index,
            x.layer.digest[7:19] + ("  (foreign)" if x.layer.foreign else ""),
            _size(x.layer.measurement.compressed_bytes),
            _size(x.layer.measurement.extracted_bytes),
            str(x.layer.measurement.size_source),
            _note(x, other),
        ]
        for x in layers
    ]


def _transfer(t: Transfer) -> str:
    return f"{_layers(t.layers)}, {_size(t.compressed_bytes)} compressed, {_size(t.extracted_bytes)} extracted"


def _node_pull(p: NodePull) -> str:
    text = f"{_layers(p.layers)}, {_size(p.compressed_bytes)} compressed, {_size(p.extracted_bytes)} extracted"
    if p.unknown_layers:
        text += f" ({_layers(p.unknown_layers)} of unknown cache state counted as pulled)"
    return text


def _baked_lines(node: BakedNode) -> list[str]:
    """What each image pulls on a node holding the other image and the baked set."""
    what = f"profile {node.profile}" if node.profile else "--baked"
    held = f"the baked set ({what}: {_layers(len(node.references)).replace('layer', 'image')})"
    return [
        f"pulling B on a node holding A and {held}: {_node_pull(node.b_on_a)}",
        f"pulling A on a node holding B and {held}: {_node_pull(node.a_on_b)}",
    ]


def _image_lines(label: str, image: ImageResult) -> list[str]:
    totals = image.totals
    return [
        f"{label}  {image.reference}  ({image.platform})",
        f"   digest {image.digest}",
        f"   {_layers(len(image.layers))}, {_size(totals.compressed_bytes)} compressed, "
        f"{_size(totals.extracted_bytes)} extracted",
        f"   base   {_base(image)}",
    ]


def _shared(d: ImageDiff) -> str:
    if not d.shared:
        return "shared chain: none (the first layers differ, so a node holding one image reuses nothing for the other)"
    return (
        f"shared chain: {_layers(d.shared)} (up to chain {d.shared_chain_id}), "
        f"{_size(d.shared_compressed_bytes)} compressed, {_size(d.shared_extracted_bytes)} extracted"
    )


def render_table(d: ImageDiff) -> str:
    """Plain text."""
    lines = [*_image_lines("A", d.a), *_image_lines("B", d.b)]
    lines += [f"same base revision: {_same_base(d)}", "", _shared(d)]
    for label, layers, other in (("A", d.only_in_a, "B"), ("B", d.only_in_b, "A")):
        lines += ["", f"only in {label}: {_layers(len(layers))}"]
        if layers:
            lines.append(tabulate(_rows(layers, other), headers=_HEADERS, tablefmt="simple", disable_numparse=True))
    lines += [
        "",
        f"pulling B on a node holding A: {_transfer(d.pull_b_on_a)}",
        f"pulling A on a node holding B: {_transfer(d.pull_a_on_b)}",
    ]
    if d.with_baked is not None:
        lines += _baked_lines(d.with_baked)
    return "\n".join(lines) + "\n"


def render_markdown(d: ImageDiff) -> str:
    """GitHub-flavoured Markdown (for PR comments)."""
    lines = ["### layerscope diff", ""]
    for label, image in (("A", d.a), ("B", d.b)):
        totals = image.totals
        lines.append(
            f"- **{label}** `{image.reference}` ({image.platform}): {_layers(len(image.layers))}, "
            f"{_size(totals.compressed_bytes)} compressed, {_size(totals.extracted_bytes)} extracted; "
            f"base {_base(image)}"
        )
    lines += [f"- same base revision: {_same_base(d)}", f"- {_shared(d)}", ""]
    for label, layers, other in (("A", d.only_in_a, "B"), ("B", d.only_in_b, "A")):
        lines.append(f"**Only in {label}** ({_layers(len(layers))})")
        lines.append("")
        if layers:
            lines += [tabulate(_rows(layers, other), headers=_HEADERS, tablefmt="pipe", disable_numparse=True), ""]
    lines += [
        f"- pulling B on a node holding A: {_transfer(d.pull_b_on_a)}",
        f"- pulling A on a node holding B: {_transfer(d.pull_a_on_b)}",
    ]
    if d.with_baked is not None:
        lines += [f"- {line}" for line in _baked_lines(d.with_baked)]
    return "\n".join(lines) + "\n"


def _transfer_document(t: Transfer) -> dict[str, Any]:
    """`{"layers", "compressed_bytes", "extracted_bytes"}`."""
    return {
        "layers": t.layers,
        "compressed_bytes": t.compressed_bytes,
        "extracted_bytes": t.extracted_bytes,
    }


def _node_pull_document(p: NodePull) -> dict[str, Any]:
    """`{"layers", "compressed_bytes", "extracted_bytes", "unknown_layers"}`."""
    return {
        "layers": p.layers,
        "compressed_bytes": p.compressed_bytes,
        "extracted_bytes": p.extracted_bytes,
        "unknown_layers": p.unknown_layers,
    }


def _baked_document(node: BakedNode) -> dict[str, Any]:
    """The `with_baked` object."""
    return {
        "profile": node.profile,
        "baked": list(node.references),
        "pull_b_on_a": _node_pull_document(node.b_on_a),
        "pull_a_on_b": _node_pull_document(node.a_on_b),
        "warnings": list(node.warnings),
    }


def _layer_document(x: DiffLayer) -> dict[str, Any]:
    """One entry of `only_in_a` / `only_in_b`."""
    m = x.layer.measurement
    return {
        "index": x.layer.index,
        "digest": x.layer.digest,
        "diff_id": x.layer.diff_id,
        "chain_id": x.layer.chain_id,
        "compressed_bytes": m.compressed_bytes,
        "extracted_bytes": m.extracted_bytes,
        "size_source": str(m.size_source),
        "base": x.layer.base,
        "same_content_as": ({"index": x.same_content_as, "by": x.same_by} if x.same_content_as is not None else None),
    }


def _image_document(image: ImageResult) -> dict[str, Any]:
    totals = image.totals
    return {
        "reference": image.reference,
        "digest": image.digest,
        "index_digest": image.index_digest,
        "platform": image.platform.to_json(),
        "layers": len(image.layers),
        "compressed_bytes": totals.compressed_bytes,
        "extracted_bytes": totals.extracted_bytes,
        "base": base_document(image.base),
    }


def diff_document(d: ImageDiff) -> dict[str, Any]:
    """The `layerscope.diff/v1` document (see the module docstring)."""
    return {
        "schema": SCHEMA,
        "a": _image_document(d.a),
        "b": _image_document(d.b),
        "shared": {
            "layers": d.shared,
            "chain_id": d.shared_chain_id,
            "compressed_bytes": d.shared_compressed_bytes,
            "extracted_bytes": d.shared_extracted_bytes,
        },
        "only_in_a": [_layer_document(x) for x in d.only_in_a],
        "only_in_b": [_layer_document(x) for x in d.only_in_b],
        "pull_b_on_a": _transfer_document(d.pull_b_on_a),
        "pull_a_on_b": _transfer_document(d.pull_a_on_b),
        "base": {
            "same_revision": d.same_base_revision,
            "same_channel": d.same_base_channel,
            "same_os_version": d.same_base_os_version,
        },
        "with_baked": _baked_document(d.with_baked) if d.with_baked is not None else None,
        "node": node_document(d.with_baked.node) if d.with_baked is not None else None,
    }


class DiffFormat(StrEnum):
    """`diff -o` choices."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def render_diff(d: ImageDiff, fmt: DiffFormat) -> str:
    """Render *d* as `table`, `json` or `markdown`."""
    match fmt:
        case DiffFormat.JSON:
            return json.dumps(diff_document(d), indent=2) + "\n"
        case DiffFormat.MARKDOWN:
            return render_markdown(d)
        case DiffFormat.TABLE:
            return render_table(d)
        case _:
            assert_never(fmt)
