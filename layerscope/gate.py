"""The pull gate behind `analyze --max-pull SIZE` and `report --max-pull SIZE` (exit 6 when exceeded). Pure.

Rule: the gate is exceeded when **any one image** would pull more than the limit on the node — its
`totals.pull_compressed_bytes`, the compressed bytes of the layers the baked set does not hold. A pod launch
pulls one image, so the limit is per image, not a sum over the run. The comparison is strict: an image that pulls
exactly the limit passes.

Unknowns: a layer whose cache state is unknown (`cached: null`, e.g. a baked entry whose revision nobody knows)
counts as pulled, as `Totals` already counts it — a gate must not pass on a guess. Without a profile or a baked set
every layer is `cached: null`, so the gate then limits the whole compressed size of each image. The reason says how
many such layers were counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from layerscope.errors import UsageError
from layerscope.units import format_size

if TYPE_CHECKING:
    from layerscope.plan.planned import PlannedImage

__all__ = ["GATE_EXIT_CODE", "GateResult", "check_pull_gate"]

#: The exit code of an exceeded gate (DESIGN.md "Command line").
GATE_EXIT_CODE = 6


@dataclass(frozen=True, slots=True)
class GateResult:
    """Whether the pull gate was exceeded, with a one-line reason either way."""

    exceeded: bool
    reason: str
    max_bytes: int
    largest_pull_bytes: int  # the biggest pull of any image (0 without images)
    offenders: tuple[tuple[str, int], ...] = ()  # (reference, pull bytes) of each image over the limit, largest first
    unknown_layers: int = 0  # layers with `cached: null`, counted as pulled


def _bytes(n: int) -> str:
    return f"{format_size(n)} ({n:,} B)"


def check_pull_gate(images: Sequence[PlannedImage], max_bytes: int) -> GateResult:
    """Check every image's bytes to pull beyond the baked set against *max_bytes* (see the module docstring)."""
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
        raise UsageError(f"the pull limit must be a byte count of 0 or more (got {max_bytes!r})")
    pulls = [(image.reference, image.totals.pull_compressed_bytes) for image in images]
    unknown = sum(1 for image in images for c in image.cached if c is None)
    offenders = tuple(sorted(((ref, n) for ref, n in pulls if n > max_bytes), key=lambda p: (-p[1], p[0])))
    largest = max((n for _, n in pulls), default=0)
    note = f"; {unknown} layer(s) with unknown cache state counted as pulled" if unknown else ""
    limit = _bytes(max_bytes)
    if offenders:
        ref, n = offenders[0]
        more = f"; {len(offenders) - 1} more image(s) over the limit" if len(offenders) > 1 else ""
        reason = f"{ref} pulls {_bytes(n)} beyond the baked set, over the limit of {limit}{more}{note}"
    elif pulls:
        reason = f"every image pulls at most {_bytes(largest)} beyond the baked set, within {limit}{note}"
    else:
        reason = "no images to check"
    return GateResult(
        exceeded=bool(offenders),
        reason=reason,
        max_bytes=max_bytes,
        largest_pull_bytes=largest,
        offenders=offenders,
        unknown_layers=unknown,
    )
