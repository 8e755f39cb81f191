"""Planned images: an analysed image as a node sees it — drift, node warnings and launch times beside it.

`ImageResult` (results.py) carries the analysis only; what depends on a node profile or baked set — which layers
the node holds (`cached`), drift, node warnings, launch times — lives here, in a view that composes it, so the result
types sit at the bottom of the package and import nothing from `plan/` or `catalog/` (issue #13).
`baked.apply_baked` builds a `PlannedImage`; `Session` adds the launch comparison; the renderers read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from layerscope.basematch import BaseDrift, BaseMatch
from layerscope.results import ImageResult, LayerResult, Totals

if TYPE_CHECKING:
    from layerscope.node_revision import NodeRevision
    from layerscope.oci import Platform
    from layerscope.plan.launch import LaunchComparison
    from layerscope.results import ImageContents

__all__ = ["AnalysisRun", "PlannedImage"]


@dataclass(frozen=True, slots=True)
class PlannedImage:
    """One analysed image on the node of a profile or baked set (plain: no node, nothing planned)."""

    image: ImageResult
    # Per layer: the node holds its chain (True), does not (False), unknown (None). Empty: no baked set, every
    # layer unknown (the JSON `cached: null`).
    cached: tuple[bool | None, ...] = ()
    drift: BaseDrift | None = None
    warnings: tuple[str, ...] = ()
    launch: LaunchComparison | None = None  # with a node profile: time to ready, with and without the bake

    def __post_init__(self) -> None:
        if not self.cached:
            object.__setattr__(self, "cached", (None,) * len(self.image.layers))
        elif len(self.cached) != len(self.image.layers):
            raise ValueError(f"{len(self.cached)} cache states for {len(self.image.layers)} layers")

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
        """The layers (whether the node holds each: `cached`, same order)."""
        return self.image.layers

    @property
    def contents(self) -> ImageContents | None:
        """Where the image's bytes are (issue #15), when its layers have file indexes."""
        return self.image.contents

    @property
    def base(self) -> BaseMatch | None:
        """The Windows base the image was matched to."""
        return self.image.base

    @property
    def totals(self) -> Totals:
        """Totals over the layers on this node (what it pulls: the layers it does not hold)."""
        return Totals.of(self.image.layers, self.cached)

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
    baked_unresolved: tuple[tuple[str, str], ...] = ()  # (reference, reason): baked entries not pinned (#18)
    node: NodeRevision | None = None  # the node's base revision and its basis (#14 item 2)
