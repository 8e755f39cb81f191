"""The waste gates behind `analyze --max-waste SIZE|PCT` and `--min-efficiency F` (exit 6, issue #15). Pure.

Per image, like the pull gate (gate.py): the gate is exceeded when any one image has more `wasted_bytes`
(dive's definition, contents.py) than the limit — or, for a percentage, more than that share of the bytes its
indexed layers carry (the sum of their `extracted_bytes`) — or an `efficiency` below the floor. Comparisons are
strict: an image exactly at the limit passes. An image without contents (no layer has a file index) fails
the gate: a gate must not pass on a number nobody knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from layerscope.errors import UsageError
from layerscope.results import ImageResult
from layerscope.units import format_size, parse_size

__all__ = ["WasteGateResult", "WasteLimit", "check_waste_gate", "parse_waste_limit"]


@dataclass(frozen=True, slots=True)
class WasteLimit:
    """`--max-waste`: bytes, or a percentage of the bytes the image's indexed layers carry."""

    bytes: int | None = None
    percent: float | None = None

    def __str__(self) -> str:
        return f"{self.percent:g}%" if self.percent is not None else format_size(self.bytes or 0)


@dataclass(frozen=True, slots=True)
class WasteGateResult:
    """Whether a waste gate was exceeded, with a one-line reason either way."""

    exceeded: bool
    reason: str
    offenders: tuple[str, ...] = ()


def parse_waste_limit(text: str) -> WasteLimit:
    """`50MB`, `1GiB`, `1048576` (bytes) or `10%` (of the layers' bytes); UsageError otherwise."""
    text = text.strip()
    if text.endswith("%"):
        try:
            pct = float(text[:-1])
        except ValueError:
            pct = -1.0
        if not 0 <= pct <= 100:
            raise UsageError(f"invalid waste limit {text!r}", hint="use a size (50MB) or a percentage 0-100 (10%)")
        return WasteLimit(percent=pct)
    return WasteLimit(bytes=parse_size(text))


def _layers_bytes(image: ImageResult) -> int | None:
    c = image.contents
    if c is None:
        return None
    values = [image.layers[i].measurement.extracted_bytes for i in c.indexed_layers]
    return None if any(v is None for v in values) else sum(v or 0 for v in values)


def check_waste_gate(
    images: Sequence[ImageResult], max_waste: WasteLimit | None, min_efficiency: float | None
) -> WasteGateResult:
    """Check every image's waste and efficiency (see the module docstring)."""
    if min_efficiency is not None and not 0 <= min_efficiency <= 1:
        raise UsageError(f"--min-efficiency must be between 0 and 1 (got {min_efficiency})")
    problems: list[str] = []
    for image in images:
        c = image.contents
        if c is None:
            problems.append(f"{image.reference}: contents unknown (no layer has a file index)")
            continue
        if max_waste is not None:
            if max_waste.percent is not None:
                total = _layers_bytes(image)
                share = None if not total else 100 * c.wasted_bytes / total
                if share is None or share > max_waste.percent:
                    shown = "unknown" if share is None else f"{share:.1f}%"
                    problems.append(f"{image.reference} wastes {shown} of its layers' bytes, over {max_waste}")
            elif max_waste.bytes is not None and c.wasted_bytes > max_waste.bytes:
                problems.append(
                    f"{image.reference} wastes {format_size(c.wasted_bytes)} ({c.wasted_bytes:,} B), over {max_waste}"
                )
        if min_efficiency is not None and c.efficiency < min_efficiency:
            problems.append(f"{image.reference} has efficiency {c.efficiency:.4f}, under {min_efficiency:g}")
    if problems:
        more = f"; {len(problems) - 1} more" if len(problems) > 1 else ""
        return WasteGateResult(True, problems[0] + more, tuple(problems))
    return WasteGateResult(False, "every image is within the waste and efficiency limits")
