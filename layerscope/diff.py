"""Compare two analysed images the way a node's image cache sees them: by chain ID. Pure: no I/O.

A node holds layer n of an image only if it holds the whole chain 0..n (plan/chain.py), so two images
share exactly the longest common prefix of their chain IDs. Everything after it is pulled, even a layer
whose digest or diff_id also occurs in the other image at another position (on another parent): such
layers are noted (`same_content_as`), and still counted as pulled — containerd may skip downloading a
blob it still holds, but it unpacks a new snapshot, and Docker's layer store downloads it again.

Its `layerscope.diff/v1` JSON document is built in report/diff_view.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from layerscope.errors import UsageError
from layerscope.node_revision import NodeRevision
from layerscope.results import ImageResult, LayerResult

if TYPE_CHECKING:
    from layerscope.plan.planned import PlannedImage

__all__ = ["BakedNode", "DiffLayer", "ImageDiff", "NodePull", "Transfer", "diff_images", "select_one"]

T = TypeVar("T")


def _sum(values: Sequence[int | None]) -> int | None:
    """Sum, or None when any part is unknown (a partial sum would be a made-up number)."""
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a node pulls for one image when it already holds the other."""

    layers: int
    compressed_bytes: int
    extracted_bytes: int | None


@dataclass(frozen=True, slots=True)
class NodePull:
    """What a node pulls for an image whose layers carry `cached` marks; unknown counts as pulled."""

    layers: int
    compressed_bytes: int
    extracted_bytes: int | None
    unknown_layers: int

    @classmethod
    def of(cls, image: PlannedImage) -> NodePull:
        """From *image*'s per-layer `cached` (baked.apply_baked): every layer not known to be held."""
        held = image.cached
        pulled = [layer for layer, c in zip(image.layers, held, strict=True) if c is not True]
        return cls(
            layers=len(pulled),
            compressed_bytes=sum(layer.measurement.compressed_bytes for layer in pulled),
            extracted_bytes=_sum([layer.measurement.extracted_bytes for layer in pulled]),
            unknown_layers=sum(1 for c in held if c is None),
        )


@dataclass(frozen=True, slots=True)
class BakedNode:
    """Each image pulled on a node holding the other image and a baked set (profile and/or --baked)."""

    profile: str | None
    references: tuple[str, ...]
    b_on_a: NodePull
    a_on_b: NodePull
    warnings: tuple[str, ...] = ()
    node: NodeRevision | None = None  # the node's cached base revision and how it is known (#14 item 2)


@dataclass(frozen=True, slots=True)
class DiffLayer:
    """A layer of one image that is not on the shared chain."""

    layer: LayerResult
    same_content_as: int | None = None  # index of a layer in the other image with the same digest/diff_id
    same_by: str | None = None  # digest | diff_id


def _shared_prefix(a: Sequence[LayerResult], b: Sequence[LayerResult]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x.chain_id is None or x.chain_id != y.chain_id:
            break
        n += 1
    return n


def _only(layers: Sequence[LayerResult], other: Sequence[LayerResult], shared: int) -> tuple[DiffLayer, ...]:
    # Only at *another* position (module docstring; #18 item 5): the same content at the same index on a
    # different parent is what "pulled, the chain differs below it" already says.
    by_digest: dict[str, list[int]] = {}
    by_diff_id: dict[str, list[int]] = {}
    for x in other:
        by_digest.setdefault(x.digest, []).append(x.index)
        if x.diff_id:
            by_diff_id.setdefault(x.diff_id, []).append(x.index)
    out = []
    for layer in layers[shared:]:
        at_digest = [i for i in by_digest.get(layer.digest, ()) if i != layer.index]
        at_diff_id = [i for i in by_diff_id.get(layer.diff_id or "", ()) if i != layer.index]
        if at_digest:
            out.append(DiffLayer(layer, at_digest[0], "digest"))
        elif at_diff_id:
            out.append(DiffLayer(layer, at_diff_id[0], "diff_id"))
        else:
            out.append(DiffLayer(layer))
    return tuple(out)


def _transfer(layers: Sequence[DiffLayer]) -> Transfer:
    return Transfer(
        layers=len(layers),
        compressed_bytes=sum(x.layer.measurement.compressed_bytes for x in layers),
        extracted_bytes=_sum([x.layer.measurement.extracted_bytes for x in layers]),
    )


@dataclass(frozen=True, slots=True)
class ImageDiff:
    """Two images compared by chain ID (see the module docstring)."""

    a: ImageResult
    b: ImageResult
    shared: int  # length of the common chain-ID prefix
    only_in_a: tuple[DiffLayer, ...]
    only_in_b: tuple[DiffLayer, ...]
    with_baked: BakedNode | None = None  # with --profile/--baked: the node holds the other image and these

    @property
    def shared_chain_id(self) -> str | None:
        """Chain ID of the last shared layer (what both images build on), or None."""
        return self.a.layers[self.shared - 1].chain_id if self.shared else None

    @property
    def shared_compressed_bytes(self) -> int:
        """Compressed bytes of A's shared layers."""
        return sum(x.measurement.compressed_bytes for x in self.a.layers[: self.shared])

    @property
    def shared_extracted_bytes(self) -> int | None:
        """Extracted bytes of the shared layers, or None when one is unknown."""
        return _sum([x.measurement.extracted_bytes for x in self.a.layers[: self.shared]])

    @property
    def pull_b_on_a(self) -> Transfer:
        """Pulling B on a node that holds A."""
        return _transfer(self.only_in_b)

    @property
    def pull_a_on_b(self) -> Transfer:
        """Pulling A on a node that holds B."""
        return _transfer(self.only_in_a)

    @property
    def same_base_revision(self) -> bool | None:
        """True when both bases are the same layers (same chain); None when either base is not identified."""
        ba, bb = self.a.base, self.b.base
        if ba is None or bb is None:
            return None
        if ba.layer_count != bb.layer_count:
            return False
        return self.shared >= ba.layer_count

    @property
    def same_base_os_version(self) -> bool | None:
        """True when both bases are the same Windows build revision (os_version), whatever their layers'
        bytes (a re-packed base has other layers of the same revision); None when either is not known."""
        ba, bb = self.a.base, self.b.base
        if ba is None or bb is None or ba.os_version is None or bb.os_version is None:
            return None
        return ba.os_version == bb.os_version and ba.family == bb.family

    @property
    def same_base_channel(self) -> bool | None:
        """True when both bases are the same family and LTSC channel; None when either is not identified."""
        ba, bb = self.a.base, self.b.base
        if ba is None or bb is None or ba.channel is None or bb.channel is None:
            return None
        return ba.channel == bb.channel and ba.family == bb.family


def diff_images(a: ImageResult, b: ImageResult, with_baked: BakedNode | None = None) -> ImageDiff:
    """Compare *a* and *b* by chain ID (and, given *with_baked*, on a node holding a baked set too)."""
    shared = _shared_prefix(a.layers, b.layers)
    return ImageDiff(
        a=a,
        b=b,
        shared=shared,
        only_in_a=_only(a.layers, b.layers, shared),
        only_in_b=_only(b.layers, a.layers, shared),
        with_baked=with_baked,
    )


def select_one(reference: str, candidates: Sequence[T], platform: str | None, describe: Sequence[str]) -> T:
    """The single image a reference resolved to; UsageError naming the platforms when it is ambiguous.

    *candidates* are the resolved images of *reference* (after the --platform filter, if any) and
    *describe* their platforms as text, in the same order.
    """
    if len(candidates) == 1:
        return candidates[0]
    wanted = f" for --platform {platform}" if platform else ""
    raise UsageError(
        f"{reference} has {len(candidates)} images{wanted} ({', '.join(describe)}); diff compares one image of each",
        hint="choose one with --platform OS/ARCH[:OS_VERSION], e.g. --platform windows/amd64:10.0.17763",
    )
