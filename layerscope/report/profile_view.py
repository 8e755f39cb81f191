"""`profile list|show`: node profiles as JSON documents and as text, every value next to its source.

JSON schemas (docs/cli-catalog-profile-diff.md): `layerscope.profile.list/v1` (one summary per profile) and
`layerscope.profile/v1` (`profile_fields()` plus `values`: each profile-file key with the field it
becomes, its value in bytes/seconds, a human rendering and its source).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from tabulate import tabulate

from layerscope.plan.profile import VALUE_KEYS, NodeProfile
from layerscope.units import format_duration, format_size

__all__ = [
    "LIST_SCHEMA",
    "SHOW_SCHEMA",
    "ProfileFormat",
    "list_document",
    "profile_fields",
    "render_list",
    "render_profile_list",
    "render_profile_show",
    "render_show",
    "show_document",
]

LIST_SCHEMA = "layerscope.profile.list/v1"
SHOW_SCHEMA = "layerscope.profile/v1"
# Profile-file key -> profile_fields() field, where the names differ (values are in bytes/seconds).
_FIELDS = {
    "root_volume": "root_volume_bytes",
    "os_footprint": "os_footprint_bytes",
    "network_throughput": "network_bytes_per_second",
    "extraction_throughput": "extraction_bytes_per_second",
    "registry_latency": "registry_latency_seconds",
    "pull_inactivity_timeout": "pull_inactivity_timeout_seconds",
    "pull_total_timeout": "pull_total_timeout_seconds",
}
_MAX_DESCRIPTION = 90


def profile_fields(profile: NodeProfile) -> dict[str, Any]:
    """Every field of *profile*, values in bytes and seconds: the base of `layerscope.profile/v1`."""
    return {
        "name": profile.name,
        "description": profile.description,
        "orchestrator": profile.orchestrator,
        "os_version": profile.os_version,
        "runtime": profile.runtime,
        "runtime_version": profile.runtime_version,
        "discard_unpacked_layers": profile.discard_unpacked_layers,
        "root_volume_bytes": profile.root_volume_bytes,
        "os_footprint_bytes": profile.os_footprint_bytes,
        "network_bytes_per_second": profile.network_bytes_per_second,
        "extraction_bytes_per_second": profile.extraction_bytes_per_second,
        "max_concurrent_downloads": profile.max_concurrent_downloads,
        "registry_latency_seconds": profile.registry_latency_seconds,
        "pull_inactivity_timeout_seconds": profile.pull_inactivity_timeout_seconds,
        "pull_total_timeout_seconds": profile.pull_total_timeout_seconds,
        "timeout_covers_extraction": profile.timeout_covers_extraction,
        "baked": [
            {"reference": b.reference, "os_version": b.os_version, "month": b.month, "source": b.source}
            for b in profile.baked
        ],
        "ami": profile.ami,
        "ami_family": profile.ami_family,
        "sources": dict(profile.sources),
        "notes": list(profile.notes),
        "origin": profile.origin,
    }


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _text(key: str, value: Any) -> str:
    """A value as a person reads it: sizes in binary units for volumes, decimal for the rest."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if key == "root_volume":
        return f"{format_size(value, binary=True)} ({value:,} B)"
    if key == "os_footprint":
        return f"{format_size(value)} ({value:,} B)"
    if key in ("network_throughput", "extraction_throughput"):
        return f"{format_size(value)}/s"
    if key == "registry_latency":
        return f"{value * 1000:g} ms"
    if key in ("pull_inactivity_timeout", "pull_total_timeout"):
        return format_duration(value)
    if key == "baked":
        return f"{len(value)} images" if value else "none"
    return str(value)


def show_document(profile: NodeProfile) -> dict[str, Any]:
    """`profile show -o json`."""
    fields = profile_fields(profile)
    values = []
    for key in VALUE_KEYS:
        field = _FIELDS.get(key, key)
        values.append(
            {
                "key": key,
                "field": field,
                "value": fields[field],
                "text": _text(key, fields[field]),
                "source": profile.sources.get(key),
            }
        )
    return {"schema": SHOW_SCHEMA, **fields, "values": values}


def list_document(profiles: Sequence[NodeProfile]) -> dict[str, Any]:
    """`profile list -o json`."""
    return {
        "schema": LIST_SCHEMA,
        "profiles": [
            {
                "name": p.name,
                "orchestrator": p.orchestrator,
                "runtime": p.runtime,
                "os_version": p.os_version,
                "channel": p.channel,
                "root_volume_bytes": p.root_volume_bytes,
                "baked": len(p.baked),
                "description": p.description,
            }
            for p in profiles
        ],
    }


def render_list(doc: dict[str, Any]) -> str:
    """One row per profile."""
    rows = []
    for p in doc["profiles"]:
        description = _first_line(p["description"])
        if len(description) > _MAX_DESCRIPTION:
            description = description[: _MAX_DESCRIPTION - 1].rstrip() + "…"
        rows.append(
            [
                p["name"],
                p["orchestrator"],
                p["runtime"],
                p["os_version"],
                format_size(p["root_volume_bytes"], binary=True),
                description,
            ]
        )
    headers = ("name", "orchestrator", "runtime", "host build", "root volume", "description")
    return tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True) + "\n"


def render_show(doc: dict[str, Any]) -> str:
    """Every value with its source; baked images one per line with their own sources."""
    lines = [f"{doc['name']}  ({'shipped profile' if doc['origin'] == 'shipped' else doc['origin']})"]
    if doc["description"]:
        lines.append(doc["description"])
    lines.append("")
    width = max(len(v["key"]) for v in doc["values"])
    for v in doc["values"]:
        lines.append(f"{v['key']:<{width}}  {v['text']}")
        lines.append(f"{'':<{width}}  source: {v['source'] or '(none given)'}")
        if v["key"] == "baked":
            for b in doc["baked"]:
                revision = ", ".join(x for x in (b["os_version"], b["month"]) if x)
                lines.append(f"{'':<{width}}  - {b['reference']}" + (f" ({revision})" if revision else ""))
                if b["source"]:
                    lines.append(f"{'':<{width}}    source: {b['source']}")
    if doc["notes"]:
        lines += ["", "notes:"]
        lines += [f"- {note}" for note in doc["notes"]]
    return "\n".join(lines) + "\n"


class ProfileFormat(StrEnum):
    """`profile list|show -o` choices."""

    TABLE = "table"
    JSON = "json"


def render_profile_list(profiles: Sequence[NodeProfile], fmt: ProfileFormat) -> str:
    """`profile list` in *fmt*: the `layerscope.profile.list/v1` document, or its table."""
    doc = list_document(profiles)
    return json.dumps(doc, indent=2) + "\n" if fmt == ProfileFormat.JSON else render_list(doc)


def render_profile_show(profile: NodeProfile, fmt: ProfileFormat, node: Mapping[str, Any] | None = None) -> str:
    """`profile show` in *fmt*: the `layerscope.profile/v1` document, or its text.

    *node* (`profile show --ami/--nodes`, #14 item 5): the node's inferred revision and why, as the `node` key.
    """
    doc = show_document(profile)
    if node is not None:
        doc["node"] = dict(node)
    if fmt == ProfileFormat.JSON:
        return json.dumps(doc, indent=2) + "\n"
    text = render_show(doc)
    if node is not None:
        lines = [
            "",
            f"node revision: {node.get('os_version') or 'unknown'} (basis {node.get('basis')})",
            *(f"  {k}: {node[k]}" for k in ("ami", "ami_date") if node.get(k)),
            *(f"  {image}: {rev}" for image, rev in (node.get("images") or {}).items()),
            *(f"  alternative: {alt}" for alt in node.get("alternatives") or ()),
            f"  why: {node.get('explanation') or 'nothing says which revision the node holds'}",
            *(f"  warning: {w}" for w in node.get("warnings") or ()),
        ]
        text += "\n".join(lines) + "\n"
    return text
