"""The baked set of a node: which layer chains it holds at boot, and what that means for an image.

A node holds layer *n* only if it holds the whole chain 0..n (OCI chain IDs; DESIGN.md "Words"), so
cache hits are computed by chain ID, never by a single digest. Baked entries are resolved through the
content source (manifest + config only, never a layer), which gives exact chain IDs. An entry that cannot
be resolved (offline, or a tag such as `servercore:ltsc2019` that the AMI froze at its patch month) falls
back to the catalog: a declared revision (`os_version`/`month` in a profile, or a pinned MCR index) makes
an image's base layers cached when the image's base is that same revision; an entry whose revision is
unknown leaves those base layers `cached: null` — unknown, never guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from layerscope.analysis import Analyzer
from layerscope.catalog import (
    BaseMatch,
    Catalog,
    declared_base,
    detect_drift,
    isolation_compatible,
    match_base,
    suggest_rebuild,
)
from layerscope.errors import ContentError, RegistryError, RegistryUnavailableError
from layerscope.observer import NullObserver, Observer
from layerscope.plan.chain import chain_ids
from layerscope.plan.planned import PlannedImage
from layerscope.plan.profile import BakedImage, NodeProfile
from layerscope.platforms import PlatformFilter
from layerscope.reference import ImageReference, parse_reference
from layerscope.results import ImageResult
from layerscope.windows.dating import date_base, sac_warning, same_generation

__all__ = ["BakedSet", "apply_baked", "holding", "resolve_baked"]


@dataclass(frozen=True, slots=True)
class BakedSet:
    """What a node holds at boot: exact chains where resolved, catalog revisions where only declared."""

    references: tuple[str, ...]  # digest-pinned where resolved, else as given
    chain_ids: frozenset[str]
    bases: tuple[BaseMatch, ...]  # Windows bases of resolved entries, and declared revisions
    undetermined: tuple[tuple[str, str], ...] = ()  # (family, channel) held at an unknown revision
    unresolved: tuple[tuple[str, str], ...] = ()  # (reference as given, why and what stands in for it)
    # An unresolved entry that is no known base: any layer may be among its, so what is not known held is
    # unknown (`cached: null`), never "not held" (#18 item 3).
    opaque: bool = False


def resolve_baked(
    analyzer: Analyzer,
    entries: Sequence[BakedImage],
    catalog: Catalog,
    platform: PlatformFilter | None = None,
    observer: Observer | None = None,
) -> BakedSet:
    """Resolve baked entries to chain IDs (manifest + config only) or, failing that, catalog revisions."""
    observer = observer or NullObserver()
    refs: list[str] = []
    chains: set[str] = set()
    bases: list[BaseMatch] = []
    undetermined: list[tuple[str, str]] = []
    unreachable: set[str] = set()  # hosts that did not answer
    unresolved: list[tuple[str, str]] = []
    opaque = False
    for entry in entries:
        if not entry.resolve:
            # Declared at the node's revision (--ami/--nodes, #14 item 2): a floating tag resolved online would
            # give today's revision, not the node's.
            known = date_base(declared_base(catalog, entry.reference, entry.os_version, entry.month), "", None)
            if known is not None and known.os_version is not None:
                bases.append(known)
                refs.append(entry.reference)
                continue
        ref = parse_reference(entry.reference)
        host = ref.registry if isinstance(ref, ImageReference) else None
        cause: str
        try:
            if host is not None and host in unreachable:
                # One host that is down costs its retries once, not per entry; the warning still names
                # this entry and says why it was not tried, rather than repeating another entry's error.
                raise RegistryUnavailableError(f"registry {host} did not answer earlier in this run; not tried again")
            images = analyzer.resolve(ref, platform)
        except (RegistryError, ContentError) as exc:
            if isinstance(exc, RegistryUnavailableError) and host is not None and host not in unreachable:
                unreachable.add(host)
            cause = exc.message
            declared = date_base(declared_base(catalog, entry.reference, entry.os_version, entry.month), "", None)
            if declared is not None and declared.family and declared.channel and declared.os_version is None:
                undetermined.append((declared.family, declared.channel))
            elif declared is not None and declared.os_version is not None:
                bases.append(declared)
                refs.append(entry.reference)
                unresolved.append((entry.reference, f"{cause}; using its declared revision {declared.os_version}"))
                observer.warning(
                    f"baked image {entry.reference} not resolved ({cause}); using its declared revision"
                    f" {declared.os_version}"
                )
                continue
            refs.append(entry.reference)
            opaque = opaque or declared is None
            unresolved.append((entry.reference, f"{cause}; its layers are unknown"))
            observer.warning(
                f"baked image {entry.reference} not resolved ({cause}); its layers are unknown"
                " (give --baked with a digest, or os_version/month in the profile)"
            )
            continue
        for image in images:
            refs.append(image.ref.with_digest(image.manifest.digest).pinned())
            chains.update(chain_ids(list(image.config.diff_ids)))
            match = date_base(match_base(image.config, image.manifest.layers, catalog), "", None)
            if match is not None:
                bases.append(match)
    return BakedSet(tuple(refs), frozenset(chains), tuple(bases), tuple(undetermined), tuple(unresolved), opaque)


def holding(baked: BakedSet, image: ImageResult) -> BakedSet:
    """*baked* plus *image* (its chains and base): the node of `diff --profile/--baked` that holds A too."""
    chains = {layer.chain_id for layer in image.layers if layer.chain_id is not None}
    return replace(
        baked,
        references=(*baked.references, image.pinned),
        chain_ids=baked.chain_ids | chains,
        bases=baked.bases + ((image.base,) if image.base is not None else ()),
    )


def _same_known_build(a: BaseMatch, b: BaseMatch) -> bool:
    """Same family and channel, and the same os.version known on both sides (a declared revision is held)."""
    return (
        a.family is not None
        and a.family == b.family
        and a.channel == b.channel
        and a.os_version is not None
        and a.os_version == b.os_version
    )


def _generation_held(base: BaseMatch, baked: BakedSet) -> bool | None:
    """Whether a declared baked revision of the image's channel holds its base blob (same generation, #14 item 3).

    False when no declared revision of the channel is baked or the generations differ; None when a
    generation is not known on either side (the caller then gives a range, never a guess).
    """
    if base.layer_count < 2:
        return False  # a single-layer base is its own revision: held only when declared_hit
    same = [
        same_generation(base, b)
        for b in baked.bases
        if b.match == "declared" and b.family == base.family and b.channel == base.channel
    ]
    if any(s is True for s in same):
        return True
    return None if any(s is None for s in same) else False


def _months_between(image_month: str | None, node_month: str | None) -> int | None:
    """Months from the image's base to the node's (> 0: the image is older); None when either is unknown."""
    if not image_month or not node_month:
        return None
    (iy, im), (ny, nm) = (map(int, image_month.split("-")), map(int, node_month.split("-")))
    return (ny - iy) * 12 + (nm - im)


def apply_baked(
    image: ImageResult, baked: BakedSet, catalog: Catalog, profile: NodeProfile | None = None
) -> PlannedImage:
    """The image on the baked set's node: which layers it holds (`cached`), drift against the baked bases, warnings."""
    base = image.base
    declared_hit = base is not None and any(_same_known_build(base, b) for b in baked.bases if b.match == "declared")
    undetermined = base is not None and (base.family, base.channel) in baked.undetermined
    blob_held = _generation_held(base, baked) if base is not None and not declared_hit else False
    cached: list[bool | None] = []
    state: bool | None = True
    for layer in image.layers:
        own: bool | None
        if (layer.chain_id is not None and layer.chain_id in baked.chain_ids) or (layer.base and declared_hit):
            own = True
        elif layer.base and layer.index == 0 and blob_held is not False:
            own = blob_held  # the base blob of the node's generation (True), or not known (None)
        elif (layer.base and undetermined) or baked.opaque:
            own = None
        else:
            own = False
        # A layer is held only if every layer below it is (chain semantics).
        if own is False or state is False:
            state = False
        elif own is None or state is None:
            state = None
        cached.append(state)
    drift = detect_drift(base, baked.bases) if base is not None else None
    if drift is not None:
        # Of the base layers the baked base lacks, the node's chains may still hold some (another baked image).
        pulled = [image.layers[i] for i in drift.pulled_layers if cached[i] is not True]
        b = drift.baked
        known = drift.layers_known
        if b is not None and b.match == "declared":
            # A revision known only by its os_version: its layers are known through its generation (#14 item 3).
            known = blob_held is not None
        drift = replace(
            drift,
            bytes_to_pull=sum(layer.measurement.compressed_bytes for layer in pulled),
            rebuild_on=suggest_rebuild(b, catalog) if b is not None else None,
            pulled_layers=tuple(layer.index for layer in pulled),
            layers_known=known,
            baked_kb=b.kb if b is not None else None,
            image_kb=base.kb if base is not None else None,
            months_behind=_months_between(base.month if base else None, b.month if b else None),
        )
    warnings: list[str] = [w for w in (sac_warning(base),) if w]
    if profile is not None:
        if image.platform.os != "windows":
            warnings.append(f"{image.platform} image cannot run on the Windows node of profile {profile.name}")
        elif isolation_compatible(image.platform.os_version, profile.os_version, same_build_only=True) is False:
            warnings.append(
                f"OS build {image.platform.os_version} cannot run with process isolation on host build"
                f" {profile.os_version} (profile {profile.name}); rebuild on the host's LTSC base"
            )
    return PlannedImage(image, cached=tuple(cached), drift=drift, warnings=tuple(warnings))
