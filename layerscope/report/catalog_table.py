"""`catalog list|show|refresh -o table`: the catalog documents of catalog/browse.py (and refresh) for a person."""

from __future__ import annotations

from typing import Any

from tabulate import tabulate

from layerscope.units import format_size

__all__ = ["render_list", "render_refresh", "render_show"]

_LIST_HEADERS = ("month", "os_version", "role", "digest", "compressed", "match by", "provenance", "origin")


def _size(n: int | None) -> str:
    return "unknown" if n is None else format_size(n)


def _short(digest: str | None) -> str:
    return digest[7:19] if digest else "-"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" if n == 1 else f"{n} {what}s"


def _bytes(n: int | None) -> str:
    return "unknown" if n is None else f"{format_size(n)} ({n:,} B)"


def render_list(doc: dict[str, Any]) -> str:
    """One table per base (family, channel); months known only by index pins are counted, not listed."""
    parts = []
    for base in doc["bases"]:
        with_layers = [r for r in base["revisions"] if r["layers"]]
        pin_only = [r for r in base["revisions"] if not r["layers"]]
        title = f"{base['name']}  {base['image']}  ({_count(base['layers'], 'layer')} in "
        title += _count(len(with_layers), "revision")
        title += f"; {_count(len(pin_only), 'more month')} known only by index pins)" if pin_only else ")"
        rows = []
        for rev in with_layers:
            for i, layer in enumerate(rev["layers"]):
                rows.append(
                    [
                        (rev["month"] or "?") if i == 0 else "",
                        (rev["os_version"] or "?") if i == 0 else "",
                        layer["role"] or "?",
                        _short(layer["digest"]) if layer["digest"] else f"diff_id {_short(layer['diff_id'])}",
                        _size(layer["compressed_bytes"]),
                        "+".join(layer["evidence"]),
                        layer["provenance_verified"],
                        layer["origin"],
                    ]
                )
        table = tabulate(rows, headers=_LIST_HEADERS, tablefmt="simple", disable_numparse=True) if rows else ""
        parts.append(title + ("\n" + table if table else ""))
    head = f"{doc['layers']} base layers, {doc['pins']} index pins"
    head += f"; user catalog {doc['user_catalog']}" if doc["user_catalog"] else "; no user catalog"
    return head + "\n\n" + "\n\n".join(parts) + "\n"


def _layer_lines(layer: dict[str, Any]) -> list[str]:
    extracted = _bytes(layer["extracted_bytes"])
    if layer["extracted_bytes"] is not None:
        extracted += f", {layer['extracted_source']}"
        if layer["extracted_basis"]:
            extracted += f": {layer['extracted_basis']}"
    diff_id = layer["diff_id"] or "unknown"
    if layer["diff_id"] and layer["diff_id_source"] and layer["diff_id_source"] != layer["source"]:
        diff_id += f"  (source: {layer['diff_id_source']})"
    return [
        f"  {layer['role'] or '?':<7} {layer['digest'] or '(known by diff_id only)'}",
        f"          compressed  {_bytes(layer['compressed_bytes'])}",
        f"          extracted   {extracted}",
        f"          diff_id     {diff_id}",
        f"          history     {layer['history_label'] or 'unknown'}",
        f"          seen in     {layer['os_version'] or '?'} ({layer['month'] or 'month unknown'})",
        f"          kind        {layer['media_kind']}, {layer['registry_copy']} copy, match by "
        f"{'+'.join(layer['evidence'])}, provenance {layer['provenance_verified']}, {layer['origin']}",
        f"          source      {layer['source']}",
    ]


def render_show(doc: dict[str, Any]) -> str:
    """Every revision, layer and pin with full digests, sizes and sources."""
    lines = []
    for m in doc["matched"]:
        lines.append(f"{doc['name']} matches {m['what']}: {m['digest']}")
    if doc["matched"]:
        lines.append("")
    for rev in doc["revisions"]:
        title = f"{rev['family']} {rev['channel'] or '(channel unknown)'}  {rev['image']}"
        title += f"  revision {rev['month'] or '(month unknown)'}  os.version {rev['os_version'] or 'unknown'}"
        lines.append(title)
        if rev["layers"]:
            lines.append(f"  {_count(len(rev['layers']), 'layer')}, {_bytes(rev['compressed_bytes'])} compressed")
        for layer in rev["layers"]:
            lines.extend(_layer_lines(layer))
        for pin in rev["pins"]:
            version = f", os.version {pin['os_version']}" if pin["os_version"] else ""
            lines.append(f"  pin     {pin['tag']} -> {pin['index_digest']} ({pin['date']}{version}, {pin['origin']})")
            lines.append(f"          source      {pin['source']}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_refresh(doc: dict[str, Any], saved_to: str | None) -> str:
    """What a refresh read and added (the `layerscope.catalog.refresh/v1` document)."""
    via = f" via {doc['endpoint']}" if doc["endpoint"] else ""
    repos = ", ".join(f"{doc['registry']}/{r}" for r in doc["repositories"])
    lines = [
        f"read {doc['tags_selected']} of {doc['tags_listed']} tags of {repos}{via}: "
        f"{len(doc['images'])} base images, {len(doc['skipped'])} skipped",
    ]
    rows = []
    for image in doc["images"]:
        for layer in image["layers"]:
            rows.append(
                [
                    f"{image['family']} {image['channel'] or '?'}",
                    image["os_version"],
                    image["month"] or "?",
                    layer["role"],
                    _short(layer["digest"]),
                    _size(layer["compressed_bytes"]),
                    _short(layer["diff_id"]),
                    ", ".join(image["tags"]),
                ]
            )
    if rows:
        headers = ("base", "os_version", "month", "role", "digest", "compressed", "diff_id", "tags")
        lines += ["", tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True), ""]
    lines.append(
        f"{_count(len(doc['added']), 'new layer')}, {_count(len(doc['filled']), 'known layer')} completed, "
        f"{len(doc['unchanged'])} already known; {_count(doc['new_diff_ids'], 'new diff_id')}; "
        f"{_count(doc['new_pins'], 'new index pin')}"
    )
    for s in doc["skipped"]:
        lines.append(f"skipped {s['repository']}:{s['tag']}: {s['reason']}")
    lines.append(f"saved to {saved_to}" if saved_to else "nothing saved (--dry-run)")
    return "\n".join(lines) + "\n"
