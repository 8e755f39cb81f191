"""How the report condenses a fleet (issue #17): images by repository, and the top N by impact plus "all others".

A page, a PR comment or a spreadsheet over 1,000 images must not grow one line per image where a reader looks
first: the charts show the images that cost the most per day (bytes pulled × launches, launch seconds × launches)
and one bar for the rest; the tables group tags under their repository. Pure: model in, figures out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from layerscope.report.model import ReportImage

__all__ = ["TOP_N", "RepositoryGroup", "by_repository", "repository_of", "top_by"]

TOP_N = 20


def repository_of(reference: str) -> str:
    """The repository of a reference: without its tag or digest (`oci:PATH:TAG` → `oci:PATH`)."""
    name = reference.split("@", 1)[0]
    if name.startswith("oci:"):
        return name.rsplit(":", 1)[0] if name.count(":") >= 2 else name
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name


@dataclass(frozen=True, slots=True)
class RepositoryGroup:
    """One repository's images (tags and platforms), in report order, and its sums over the ones a node launches."""

    repository: str
    images: tuple[ReportImage, ...]

    @property
    def launched(self) -> tuple[ReportImage, ...]:
        """The images the node launches (all of them without a profile)."""
        return tuple(i for i in self.images if i.applicable)

    @property
    def weight(self) -> float:
        """Launches per day over the repository's references."""
        return sum(i.weight for i in self.images)

    @property
    def pull_with_bake_bytes(self) -> int:
        """Σ compressed bytes pulled with the bake (one launch of each image the node runs)."""
        return sum(i.pull_with_bake_bytes for i in self.launched)

    @property
    def pull_bytes_per_day(self) -> float:
        """Σ weight × bytes pulled with the bake."""
        return sum(i.weight * i.pull_with_bake_bytes for i in self.launched)

    @property
    def launch_seconds_per_day(self) -> float | None:
        """Σ weight × launch seconds with the bake, or None without launch estimates."""
        known = [i for i in self.launched if i.launch is not None]
        if not known:
            return None
        return sum(i.weight * i.launch.with_bake_seconds for i in known if i.launch is not None)

    @property
    def trend(self) -> tuple[float, ...]:
        """Compressed bytes pulled with the bake, tag after tag (report order: the workload's or the scan's)."""
        return tuple(float(i.pull_with_bake_bytes) for i in self.launched)


def by_repository(images: Sequence[ReportImage]) -> list[RepositoryGroup]:
    """Images grouped by repository, repositories in order of first appearance."""
    groups: dict[str, list[ReportImage]] = {}
    for image in images:
        groups.setdefault(repository_of(image.reference), []).append(image)
    return [RepositoryGroup(repo, tuple(members)) for repo, members in groups.items()]


def top_by(
    images: Sequence[ReportImage], impact: Callable[[ReportImage], float], n: int = TOP_N
) -> tuple[list[ReportImage], list[ReportImage]]:
    """(the *n* images of largest impact, most first; the rest) — images the node does not launch left out."""
    ranked = sorted((i for i in images if i.applicable), key=lambda i: -impact(i))
    return ranked[:n], ranked[n:]
