"""`recommend -o table|markdown|json`: which images to bake, disk and root volume, time saved."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from tabulate import tabulate

from layerscope.plan.recommend import Recommendation
from layerscope.units import format_duration, format_size

__all__ = ["SCHEMA", "RecommendFormat", "recommendation_document", "render_recommendation"]

SCHEMA = "layerscope.recommendation/v1"


class RecommendFormat(StrEnum):
    """`recommend -o` choices."""

    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"


def recommendation_document(rec: Recommendation) -> dict[str, Any]:
    """The JSON contract (DESIGN.md "Workload and recommendation"), plus documented extension fields."""
    doc: dict[str, Any] = {
        "schema": SCHEMA,
        "profile": rec.profile,
        "budget_bytes": rec.budget_bytes,
        "optimal": rec.optimal,
        "chosen": [
            {
                "reference": c.reference,
                "digest": c.digest,
                "seconds_saved_per_day": round(c.seconds_saved_per_day, 3),
                "weight": c.weight,
            }
            for c in rec.chosen
        ],
        "not_chosen": [
            {
                "reference": n.reference,
                "digest": n.digest,
                "reason": n.reason,
                "seconds_saved_per_day": round(n.seconds_saved_per_day, 3),
                "weight": n.weight,
            }
            for n in rec.not_chosen
        ],
        "disk_bytes": rec.disk_bytes,
        "root_volume_bytes": rec.root_volume_bytes,
        "seconds_saved_per_day": round(rec.seconds_saved_per_day, 3),
    }
    if not rec.optimal or rec.method != "branch-and-bound":
        # Every run beyond the exact limit carries its bound, proved optimal or not (README; #18 item 7).
        doc["upper_bound_seconds_saved_per_day"] = round(rec.upper_bound_seconds_saved_per_day, 3)
    doc["method"] = rec.method
    doc["estimated"] = rec.estimated
    doc["warnings"] = list(rec.warnings)
    return doc


def render_recommendation(rec: Recommendation, fmt: RecommendFormat) -> str:
    """Render *rec* as `json`, `table` or `markdown`."""
    if fmt == RecommendFormat.JSON:
        return json.dumps(recommendation_document(rec), indent=2) + "\n"
    tablefmt = "pipe" if fmt == RecommendFormat.MARKDOWN else "simple"
    proof = (
        "optimal (proved)"
        if rec.optimal
        else (f"best found; at most {format_duration(rec.upper_bound_seconds_saved_per_day)}/day possible")
    )
    head = [
        f"profile {rec.profile}: bake {len(rec.chosen)} of {len(rec.chosen) + len(rec.not_chosen)} images"
        f" — {proof} ({rec.method})",
        f"saves {format_duration(rec.seconds_saved_per_day)} of launch time per day;"
        f" adds {format_size(rec.disk_bytes)} of disk (budget {format_size(rec.budget_bytes)});"
        f" root volume to provision: {format_size(rec.root_volume_bytes, binary=True)}",
    ]
    if fmt == RecommendFormat.MARKDOWN:
        head = [f"- {line}" for line in head]
    chosen = [[c.reference, c.digest[:19] + "…", format_duration(c.seconds_saved_per_day)] for c in rec.chosen]
    rest = [
        [n.reference, n.digest[:19] + "…", n.reason, format_duration(n.seconds_saved_per_day)] for n in rec.not_chosen
    ]
    parts = ["\n".join(head)]
    if chosen:
        parts.append("bake:\n" + tabulate(chosen, headers=("image", "digest", "saved/day"), tablefmt=tablefmt))
    if rest:
        parts.append(
            "not baked:\n" + tabulate(rest, headers=("image", "digest", "reason", "still saved/day"), tablefmt=tablefmt)
        )
    parts.extend(f"warning: {w}" for w in rec.warnings)
    return "\n\n".join(parts) + "\n"
