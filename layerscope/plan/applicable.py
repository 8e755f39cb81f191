"""Which platform image of a reference a node launches, and the launches per day each image carries (issue #17).

A workload weighs a reference; a multi-platform index behind it is several images in the report. The node runs one
of them, so the reference's weight goes to that one image only — never once per platform. With a profile, the
image is the first platform the profile's node can run (plan/compat.py); the other platforms of the index, and a
reference the node cannot run at all, are *not applicable*: listed with the reason and left out of the fleet's
pulls, node disk and launch seconds (a reference no platform of which runs keeps its weight on its first image, so
the report's weights still add up to the workload's). Without a profile every image is applicable and its
per-platform figures are shown, the weight on the reference's first image (manifest order) and 0 on the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layerscope.plan.compat import cannot_run
from layerscope.plan.planned import PlannedImage
from layerscope.plan.profile import NodeProfile

__all__ = ["Applicability", "applicability"]

OTHER_PLATFORM = "another platform of this reference is the one the node runs"


@dataclass(frozen=True, slots=True)
class Applicability:
    """One image's launches per day and, when the node would never launch it, why."""

    weight: float
    not_applicable: str | None = None


def applicability(
    images: Sequence[PlannedImage],
    weights: Mapping[str, float],
    profile: NodeProfile | None,
) -> list[Applicability]:
    """Per image, in order: its weight and whether the node runs it (see the module docstring)."""
    reasons = [
        cannot_run(image.platform, profile) if profile is not None and image.platform is not None else None
        for image in images
    ]
    by_ref: dict[str, list[int]] = {}
    for i, image in enumerate(images):
        by_ref.setdefault(image.reference, []).append(i)
    out: list[Applicability] = [Applicability(0.0)] * len(images)
    for ref, idx in by_ref.items():
        weight = float(weights.get(ref, 1.0))
        runs = [i for i in idx if reasons[i] is None]
        launched = runs[0] if runs else idx[0]
        for i in idx:
            w = weight if i == launched else 0.0
            if profile is None:
                out[i] = Applicability(w)
            elif reasons[i] is not None:
                out[i] = Applicability(w, reasons[i])
            elif i != launched:
                out[i] = Applicability(w, OTHER_PLATFORM)
            else:
                out[i] = Applicability(w)
    return out
