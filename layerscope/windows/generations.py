"""Base-blob generations: which base layer a Windows revision carries, known from its month alone (pure).

One base blob spans many months between re-baselines (reference README, "Caveats for layer identification"
items 3-5): a node known only by its revision (declared, AMI-inferred, node kernel) holds the base blob of
that revision's generation, so an image of the same generation pulls only its update layer (#14 item 3,
#18 item 2). Spans are the months the sources show; a month outside every span (April 2022, the re-baseline
month) has no known generation, and callers give a range rather than guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["SINGLE", "Generation", "generation_of", "generation_of_digest"]

#: The generation key of a single-layer revision: its base is its own, shared with no other revision.
SINGLE = "single"


@dataclass(frozen=True, slots=True)
class Generation:
    """A base blob and the months (YYYY-MM, inclusive) of the revisions known to carry it."""

    key: str  # the base layer's digest prefix, or its `Apply image` label build
    first: str
    last: str


_SPANS: Mapping[tuple[str, str], tuple[Generation, ...]] = MappingProxyType(
    {
        # 1809: 65014b3c… (Nov 2018) -> 4612f6d0… (May 2020) -> b111c332… (Apr/May 2022) -> single (Jan 2023).
        ("servercore", "ltsc2019"): (
            Generation("sha256:65014b3c", "2018-11", "2020-04"),
            Generation("sha256:4612f6d0", "2020-05", "2022-03"),
            Generation("sha256:b111c332", "2022-05", "2022-12"),
            Generation(SINGLE, "2023-01", "9999-12"),
        ),
        # ltsc2022: 8f616e6e… (2021-05 to 2022-04) -> 97f65a0e… (May 2022) -> single (Jan 2023) -> two layers
        # again from Oct 2025 ("Apply image 10.0.20348.4294"; later months not yet shown by a source).
        ("servercore", "ltsc2022"): (
            Generation("sha256:8f616e6e", "2021-05", "2022-04"),
            Generation("sha256:97f65a0e", "2022-05", "2022-12"),
            Generation(SINGLE, "2023-01", "2025-09"),
            Generation("10.0.20348.4294", "2025-10", "2025-10"),
        ),
        ("servercore", "ltsc2025"): (Generation("10.0.26100.32230", "2026-01", "2026-01"),),
        # Nano Server is one layer since 2019: every revision is its own base.
        ("nanoserver", "ltsc2019"): (Generation(SINGLE, "2018-11", "9999-12"),),
        ("nanoserver", "ltsc2022"): (Generation(SINGLE, "2021-05", "9999-12"),),
        ("nanoserver", "ltsc2025"): (Generation(SINGLE, "2024-11", "9999-12"),),
    }
)


def generation_of(family: str | None, channel: str | None, month: str | None) -> str | None:
    """The generation key of a *family*/*channel* revision of *month*; None when no source shows it."""
    if family is None or channel is None or month is None:
        return None
    for gen in _SPANS.get((family, channel), ()):
        if gen.first <= month <= gen.last:
            return gen.key
    return None


def generation_of_digest(family: str | None, channel: str | None, digest: str | None) -> str | None:
    """The generation key whose base blob is *digest* (an image's own layer 0), else None."""
    if family is None or channel is None or not digest:
        return None
    for gen in _SPANS.get((family, channel), ()):
        if gen.key.startswith("sha256:") and digest.startswith(gen.key):
            return gen.key
    return None
