"""`recommend -o table|markdown|json`: which images to bake, disk and root volume, time saved."""

from __future__ import annotations

from tabulate import tabulate

from layerscope.plan.recommend import Recommendation
from layerscope.units import format_duration, format_size

__all__ = ["render_recommendation"]


def render_recommendation(rec: Recommendation, fmt: str) -> str:
    """Render *rec* as `json`, `table` or `markdown`."""
    if fmt == "json":
        return rec.to_json() + "\n"
    tablefmt = "pipe" if fmt == "markdown" else "simple"
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
    if fmt == "markdown":
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
