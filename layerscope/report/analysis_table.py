"""`analyze -o table|markdown`: per-layer sizes for a person, with totals."""

from __future__ import annotations

from tabulate import tabulate

from layerscope.node_revision import NodeRevision
from layerscope.plan.planned import AnalysisRun, PlannedImage
from layerscope.units import format_duration, format_size

__all__ = ["node_summary", "render_markdown", "render_table"]

_HEADERS = ("#", "layer", "compressed", "uncompressed", "extracted", "files", "base", "cached", "source")


def _size(n: int | None) -> str:
    return "unknown" if n is None else format_size(n)


def _flag(v: bool | None) -> str:
    return "-" if v is None else ("yes" if v else "no")


def _title(image: PlannedImage) -> list[str]:
    lines = [f"{image.reference}  ({image.platform})", f"digest {image.digest}"]
    if image.base is not None:
        b = image.base
        month = f", {b.month}" if b.month else ""
        weak = " (weaker match: history labels)" if b.match == "history" else ""
        lines.append(f"base   {b.image or 'Windows base'} {b.channel or ''} {b.os_version or ''}{month}{weak}")
    if image.drift is not None:
        d = image.drift
        bkb = f", {d.baked_kb}" if d.baked_kb else ""
        ikb = f", {d.image_kb}" if d.image_kb else ""
        upto = "" if d.layers_known else "up to "  # a generation not known: the upper end (#14 item 3)
        lines.append(
            f"DRIFT  baked base {d.baked_os_version} ({d.baked_month or '?'}{bkb}) vs image base {d.image_os_version}"
            f" ({d.image_month or '?'}{ikb}): {upto}{_size(d.bytes_to_pull)} of base layers will be pulled"
            + (f"; rebuild on {d.rebuild_on}" if d.rebuild_on else "")
        )
    if image.launch is not None:
        w, wo = image.launch.with_baking, image.launch.without_baking
        approx = "~" if w.estimated or wo.estimated else ""
        best = image.launch.if_unknown_cached
        on_node = f"{approx}{format_duration(w.total_seconds)}"
        if best is not None:  # #14 item 4: unknown cache states give a range, not silently the worst case
            on_node = f"{approx}{format_duration(best.total_seconds)} … {format_duration(w.total_seconds)}"
        lines.append(
            f"launch {on_node} on this node ({approx}{format_duration(wo.total_seconds)} with nothing baked)"
            + (" (range: the cache state of some layers is unknown)" if best is not None else "")
        )
    return lines


def _rows(image: PlannedImage) -> list[list[object]]:
    rows: list[list[object]] = []
    for layer, cached in zip(image.layers, image.cached, strict=True):
        m = layer.measurement
        rows.append(
            [
                layer.index,
                layer.digest[7:19] + ("  (foreign)" if layer.foreign else ""),
                _size(m.compressed_bytes),
                _size(m.uncompressed_bytes),
                _size(m.extracted_bytes),
                "unknown" if m.files is None else m.files,
                "yes" if layer.base else "",
                _flag(cached),
                str(m.size_source),
            ]
        )
    t = image.totals
    label = "total" if t.exact else "total (incl. estimates)"
    rows.append(
        ["", label, _size(t.compressed_bytes), _size(t.uncompressed_bytes), _size(t.extracted_bytes), "", "", "", ""]
    )
    rows.append(["", "node pulls", _size(t.pull_compressed_bytes), "", _size(t.pull_extracted_bytes), "", "", "", ""])
    return rows


def node_summary(node: NodeRevision | None) -> str | None:
    """`10.0.17763.3406 (node-os, from the nodes' kernelVersion)` when the revision was inferred (#14), else None."""
    if node is None or node.basis not in ("node-os", "ami-date"):
        return None
    why = f"from {node.ami}" if node.ami else ("from the nodes' kernelVersion" if node.groups else "")
    alts = f"; or {', '.join(node.alternatives)}" if node.alternatives else ""
    return f"{node.os_version or 'revision unknown'} ({node.basis}{', ' + why if why else ''}{alts})"


def _render(run: AnalysisRun, fmt: str) -> str:
    parts = []
    node = node_summary(run.node)
    if node is not None:
        parts.append(f"node   {node}")
    for image in run.images:
        title = _title(image)
        if fmt == "pipe":
            head = f"### `{image.reference}` ({image.platform})\n\n" + "\n".join(f"- {x}" for x in title[1:])
        else:
            head = "\n".join(title)
        parts.append(head + "\n\n" + tabulate(_rows(image), headers=_HEADERS, tablefmt=fmt, disable_numparse=True))
        parts.extend(f"warning: {w}" for w in image.warnings)
        if image.launch is not None:
            parts.extend(f"warning: {w}" for w in image.launch.with_baking.warnings)
    return "\n\n".join(parts) + "\n"


def render_table(run: AnalysisRun) -> str:
    """A plain-text table per image."""
    return _render(run, "simple")


def render_markdown(run: AnalysisRun) -> str:
    """A GitHub-flavoured Markdown table per image (for PR comments)."""
    return _render(run, "pipe")
