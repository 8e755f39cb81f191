"""`calibrate` end to end: analyse each pulled image through the session, work out what each node pulled, fit.

Each distinct image is analysed once (store-backed: a warm store reads no layer again) as the Windows variant the
profile's node runs. The node's cache is the profile's baked set (`Session.images` applies it); with `--nodes`
(`kubectl get nodes -o json`) each Windows node's kernelVersion is its OS revision, so its floating base tags
are held at that revision (node_baked.py, #14) — one baked set per revision — and events of nodes the file
lists as non-Windows are skipped. Nodes the file does not list keep the session's node (its most common
revision). Events whose image cannot be analysed are skipped with the reason — gone from the registry, not
visible to this analysis (authentication), not a Windows image (a pull on a Linux node), or not a valid
reference — never a crash. Distinct pulled layer sets are simulated once per evaluation of the fit, so 1,000
events of 50 images cost about as much as 50.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from layerscope.calibrate.events import EventSet, PullEvent
from layerscope.calibrate.fit import FIELDS, fit_launch, with_values
from layerscope.calibrate.result import Calibration, Observation
from layerscope.errors import AuthenticationError, ContentError, NotFoundError, RegistryError, UsageError
from layerscope.plan.launch import LaunchParameters, PlanLayer, estimate_launch, plan_layers
from layerscope.plan.planned import PlannedImage
from layerscope.platforms import parse_platform_filter
from layerscope.reference import parse_reference
from layerscope.session import Session

if TYPE_CHECKING:
    from layerscope.baked import BakedSet

__all__ = ["NodeCaches", "Pull", "calibrate", "fit_pulls", "node_caches", "resolve_pulls"]

GONE = "image no longer in the registry"
AUTH = "image not visible to this analysis (authentication)"
NOT_WINDOWS = "not a Windows image (a pull on a non-Windows node)"
BAD_REF = "not a valid image reference"
UNREADABLE = "image could not be analysed"
NOTHING_PULLED = "every layer cached on the node (nothing to pull per the profile's baked set)"
NON_WINDOWS_NODE = "non-Windows node (--nodes)"


@dataclass(frozen=True, slots=True)
class Pull:
    """One usable event with what its node had to pull."""

    event: PullEvent
    layers: tuple[PlanLayer, ...]  # cache states applied (cached layers are skipped by the model)


def _analyse(session: Session, ref: str) -> PlannedImage | str:
    """The image as the profile's node pulls it, or the reason it cannot be used."""
    profile = session.profile
    platform = parse_platform_filter(f"windows/amd64:{profile.os_version}" if profile else "windows/amd64")
    try:
        images = session.images([ref], platform)
    except AuthenticationError:
        return AUTH
    except NotFoundError:
        try:  # the reference resolves: only the platform is missing, so a non-Windows node pulled it
            session.source.get_manifest(parse_reference(ref))
        except AuthenticationError:
            return AUTH
        except (RegistryError, ContentError):
            return GONE
        return NOT_WINDOWS
    except UsageError:
        return BAD_REF
    except (RegistryError, ContentError):
        return UNREADABLE
    return images[0] if images else NOT_WINDOWS


@dataclass(frozen=True, slots=True)
class NodeCaches:
    """`--nodes`: the baked set of each listed Windows node (by its revision), and the non-Windows nodes."""

    baked: Mapping[str, BakedSet]  # node name -> its baked set
    revision: Mapping[str, str]  # node name -> its OS revision
    other: frozenset[str]  # listed nodes that are not Windows


def node_caches(session: Session) -> NodeCaches | None:
    """Per-node baked sets from the session's --nodes file (already checked when the session opened), or None."""
    path = session.settings.nodes
    if path is None:
        return None
    from layerscope.node_revision import NodeRevision, windows_kernel_versions

    doc = json.loads(path.read_text(encoding="utf-8"))
    windows = dict(windows_kernel_versions(doc))
    items = doc.get("items") if isinstance(doc, dict) else None
    listed = {str(i.get("metadata", {}).get("name")) for i in items or [] if isinstance(i, dict)}
    by_revision: dict[str, BakedSet] = {}
    for name, revision in sorted(windows.items()):
        if revision not in by_revision:
            node = NodeRevision(revision, basis="node-os", explanation=f"kernelVersion of node {name}")
            by_revision[revision] = session.baked_at(node)
    baked = {name: by_revision[revision] for name, revision in windows.items()}
    return NodeCaches(baked, windows, frozenset(listed - set(windows)))


def resolve_pulls(
    session: Session, events: EventSet, nodes: NodeCaches | None = None
) -> tuple[list[Pull], Counter[str], list[str]]:
    """Each event with its image analysed and its node's cache applied; the rest counted by reason; warnings."""
    from layerscope.baked import apply_baked

    skipped: Counter[str] = Counter(events.skipped)
    by_ref: dict[str, PlannedImage | str] = {}
    on_node: dict[tuple[str, str], tuple[PlanLayer, ...]] = {}
    unlisted: set[str] = set()
    pulls: list[Pull] = []
    for event in events.events:
        if nodes is not None and event.node in nodes.other:
            skipped[NON_WINDOWS_NODE] += 1
            continue
        if event.image not in by_ref:
            by_ref[event.image] = _analyse(session, event.image)
        image = by_ref[event.image]
        if isinstance(image, str):
            skipped[image] += 1
            continue
        if nodes is not None and event.node in nodes.baked:
            key = (event.image, nodes.revision[event.node])
            if key not in on_node:
                held = apply_baked(image.image, nodes.baked[event.node], session.catalog, session.profile)
                on_node[key] = plan_layers(held)
            layers = on_node[key]
        else:
            if nodes is not None and event.source == "kubelet":
                unlisted.add(event.node)
            layers = plan_layers(image)
        if all(layer.cached for layer in layers):
            skipped[NOTHING_PULLED] += 1
            continue
        pulls.append(Pull(event, layers))
    warnings = []
    if unlisted:
        warnings.append(
            f"{len(unlisted)} node(s) with events are not in --nodes ({', '.join(sorted(unlisted)[:3])}"
            f"{', …' if len(unlisted) > 3 else ''}); their cache is the most common revision's"
        )
    return pulls, skipped, warnings


def calibrate(session: Session, events: EventSet, *, folds: int = 5, loss: str = "soft_l1") -> Calibration:
    """Fit the session's profile to *events* (see the module docstring)."""
    if session.profile is None:
        raise UsageError("calibrate needs a node profile", hint="pass --profile NAME|FILE (see `profile list`)")
    base = LaunchParameters.from_profile(session.profile)
    nodes = node_caches(session)
    pulls, skipped, warnings = resolve_pulls(session, events, nodes)
    result = fit_pulls(session.profile.name, base, pulls, skipped, folds=folds, loss=loss)
    return replace(result, nodes_source="nodes" if nodes is not None else "profile", warnings=tuple(warnings))


def fit_pulls(
    profile: str,
    base: LaunchParameters,
    pulls: Sequence[Pull],
    skipped: Counter[str],
    *,
    folds: int = 5,
    loss: str = "soft_l1",
) -> Calibration:
    """The fit and its report over resolved pulls."""
    distinct: dict[tuple[PlanLayer, ...], int] = {}
    keys = [distinct.setdefault(p.layers, len(distinct)) for p in pulls]
    observed = [p.event.seconds for p in pulls]
    result = fit_launch(list(distinct), keys, observed, base, folds=folds, loss=loss)
    fitted = with_values(base, result.parameters)
    observations = []
    for pull, modelled in zip(pulls, result.modelled, strict=True):
        estimate = estimate_launch(pull.layers, fitted)
        observations.append(
            Observation(
                image=pull.event.image,
                node=pull.event.node,
                observed_seconds=pull.event.seconds,
                modelled_seconds=modelled,
                pulled_compressed_bytes=estimate.pulled_bytes,
                pulled_extracted_bytes=None if estimate.estimated else estimate.extracted_bytes,
                at=pull.event.at,
            )
        )
    dates = sorted(p.event.at[:10] for p in pulls if p.event.at)
    return Calibration(
        profile=profile,
        parameters=result.parameters,
        profile_values={name: float(getattr(base, attr)) for name, attr in FIELDS.items()},
        intervals=result.intervals,
        kept=result.kept,
        mape=result.mape,
        median_abs_error_seconds=result.median_abs_error_seconds,
        cv_mape=result.cv_mape,
        folds=result.folds,
        used=len(pulls),
        skipped=dict(sorted(skipped.items())),
        observations=tuple(observations),
        first=dates[0] if dates else None,
        last=dates[-1] if dates else None,
    )
