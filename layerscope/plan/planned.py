"""Planned images: an analysed image as a node sees it — drift, node warnings and launch times beside it.

`ImageResult` (results.py) carries the analysis only; what depends on a node profile or baked set lives here, in a
view that composes it, so the result types sit at the bottom of the package and import nothing from `plan/` or
`catalog/` (issue #13). The per-layer `cached` marks stay on the layers: `Totals` and every layer row read them.
`baked.apply_baked` builds a `PlannedImage`; `Session` adds the launch comparison; the renderers read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from layerscope.results import DriftInfo, ImageResult, LayerResult, Totals

if TYPE_CHECKING:
    from layerscope.catalog.match import BaseMatch
    from layerscope.oci import Platform
    from layerscope.plan.launch import LaunchComparison

__all__ = ["AnalysisRun", "PlannedImage"]


@dataclass(frozen=True, slots=True)
class PlannedImage:
    """One analysed image on the node of a profile or baked set (plain: no node, nothing planned)."""

    image: ImageResult
    drift: DriftInfo | None = None
    warnings: tuple[str, ...] = ()
    launch: LaunchComparison | None = None  # with a node profile: time to ready, with and without the bake

    # The analysis fields, read through, so a renderer reads one object per image.
    @property
    def reference(self) -> str:
        """The reference as given."""
        return self.image.reference

    @property
    def index_digest(self) -> str | None:
        """The digest of the index this platform was chosen from, if any."""
        return self.image.index_digest

    @property
    def digest(self) -> str:
        """This platform's manifest digest."""
        return self.image.digest

    @property
    def media_type(self) -> str:
        """This platform's manifest media type."""
        return self.image.media_type

    @property
    def platform(self) -> Platform:
        """The image's platform."""
        return self.image.platform

    @property
    def config_digest(self) -> str:
        """The config blob's digest."""
        return self.image.config_digest

    @property
    def layers(self) -> tuple[LayerResult, ...]:
        """The layers, with `cached` marks when a baked set was applied."""
        return self.image.layers

    @property
    def base(self) -> BaseMatch | None:
        """The Windows base the image was matched to."""
        return self.image.base

    @property
    def totals(self) -> Totals:
        """Totals over the layers."""
        return self.image.totals

    @property
    def pinned(self) -> str:
        """The digest-pinned reference of this platform's manifest."""
        return self.image.pinned


@dataclass(frozen=True, slots=True)
class AnalysisRun:
    """Everything one `analyze` produced."""

    images: tuple[PlannedImage, ...]
    profile: str | None = None
    baked: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())
