"""`catalog when` and `catalog amis`: the documents (JSON) and their tables, from layerscope.windows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tabulate import tabulate

from layerscope.windows import AmiRelease, BuildInfo, Inference
from layerscope.windows.builds import IMAGES

__all__ = ["amis_document", "render_amis", "render_when", "when_document"]

WHEN_SCHEMA = "layerscope.catalog.when/v1"
AMIS_SCHEMA = "layerscope.catalog.amis/v1"
RULE = (
    "cached revision = the newest container release (b or oob with a published image) of the AMI's build on or "
    "before the AMI date, per image; the previous release is an alternative when the AMI is dated 0-1 days after "
    "it or inside the April 2025 floating-tag regression; EKS <= 1.23 on containerd caches no base image "
    "(reference ami-cache-revision.md section 5). No AWS source states the cached revision: an inference."
)
_SHORT = {"fresh-release": "0-1 day after release", "tag-regression": "Apr 2025 tag lag", "month-only": "month only"}


def _warnings(row: BuildInfo) -> list[str]:
    out = []
    if row.is_sac:
        out.append(f"SAC build (Windows Server, version {row.version}): out of support; no current EKS/ECS AMI runs it")
    if row.kind == "d":
        out.append("optional non-security (D/preview) release: Microsoft publishes no container image for it")
    return out


def when_document(query: str, rows: Sequence[BuildInfo]) -> dict[str, Any]:
    """The `catalog when` document: every build row matching an os_version or KB."""
    return {
        "schema": WHEN_SCHEMA,
        "query": query,
        "matches": [row.to_json() | {"warnings": _warnings(row)} for row in rows],
    }


def render_when(doc: dict[str, Any]) -> str:
    """One block per matching build row."""
    lines: list[str] = []
    for m in doc["matches"]:
        line = m["channel"] or f"SAC {m['version']}"
        lines.append(f"{m['os_version']}  {line} (build {m['build']})")
        released = m["release_date"] or "no release date"
        month = m["month"] or "unknown"
        lines.append(f"  released    {released} (month {month})")
        if m["month_basis"] not in ("release_date", "unknown"):
            lines.append(f"  month from  {m['month_basis']}")
        lines.append(f"  KB          {m['kb'] or 'unknown'}")
        label = f" ({m['ms_label']})" if m["ms_label"] else ""
        lines.append(f"  kind        {m['kind']}{label}")
        evidence = f" ({', '.join(m['container_evidence'])})" if m["container_evidence"] else ""
        lines.append(f"  container   {m['container_image']}{evidence}; images {', '.join(m['images'])}")
        lines.append(f"  source      {m['table']}: {m['source']}")
        if m["note"]:
            lines.append(f"  note        {m['note']}")
        for w in m["warnings"]:
            lines.append(f"  warning     {w}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def amis_document(
    releases: Iterable[tuple[AmiRelease | None, str, dict[str, Inference]]], filters: dict[str, Any]
) -> dict[str, Any]:
    """The `catalog amis` document: each AMI (None = a parsed name not in the table) with its inferences."""
    out = []
    for ami, name, inferred in releases:
        row = ami.to_json() if ami else {"ami_name": name, "in_table": False}
        if ami:
            row["in_table"] = True
        row["cached"] = {image: inferred[image].to_json() for image in IMAGES if image in inferred}
        out.append(row)
    return {"schema": AMIS_SCHEMA, "filters": filters, "rule": RULE, "amis": out}


def _cell(inf: dict[str, Any]) -> str:
    if inf["os_version"] is None:
        return "none (containerd)" if inf["basis"] == "no-base-cached" else "unknown"
    alts = [a["os_version"].rsplit(".", 1)[1] for a in inf["alternatives"]]
    return str(inf["os_version"]) + (f" or .{' or .'.join(alts)}" if alts else "")


def _why(cached: dict[str, Any]) -> str:
    kinds: list[str] = []
    for inf in cached.values():
        if inf["basis"] == "no-base-cached":
            kinds.append("EKS <= 1.23 on containerd")
        kinds += [_SHORT[a["kind"]] for a in inf["alternatives"]]
        if inf["basis"] == "unknown" and inf["os_version"] is None:
            kinds.append("no release on or before the date")
    return "; ".join(dict.fromkeys(kinds))


def render_amis(doc: dict[str, Any]) -> str:
    """One line per AMI: date, runtime, predicted servercore and nanoserver (with alternatives), why."""
    rows = []
    for a in doc["amis"]:
        cached = a["cached"]
        first = next(iter(cached.values()))
        rows.append(
            [
                a["ami_name"] + ("" if a["in_table"] else " (not in table)"),
                first["date"] or "?",
                first["runtime"] or "?",
                _cell(cached["servercore"]) if "servercore" in cached else "-",
                _cell(cached["nanoserver"]) if "nanoserver" in cached else "-",
                first["confidence"],
                _why(cached),
            ]
        )
    headers = ("ami", "date", "runtime", "servercore", "nanoserver", "confidence", "alternative because")
    table = tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True)
    n = len(doc["amis"])
    return f"{n} AMI release{'s' if n != 1 else ''}; {doc['rule']}\n\n{table}\n"
