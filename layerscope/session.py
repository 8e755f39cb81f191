"""One run of layerscope: the content source, store, catalog, node profile and baked set, wired once.

The CLI builds `Settings` from its options and calls `Session.analyze`; `report`, `recommend` and
`pull-list` reuse the same session so every command sees images the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from layerscope.analysis import Analyzer, Mode
from layerscope.catalog import Catalog
from layerscope.catalog import load as load_catalog
from layerscope.errors import UsageError
from layerscope.observer import NullObserver, Observer
from layerscope.plan.planned import AnalysisRun, PlannedImage
from layerscope.platforms import PlatformFilter, parse_platform_filter
from layerscope.reference import looks_like_file, parse_reference
from layerscope.registry.config import HostConfig, RegistryConfig, Timeouts
from layerscope.source_routing import RoutingSource
from layerscope.store import MeasurementStore

if TYPE_CHECKING:
    # Imported where used: a run without a profile never loads YAML, the launch model or the recommender.
    from layerscope.baked import BakedSet
    from layerscope.diff import ImageDiff
    from layerscope.node_revision import GroupPull, NodeRevision
    from layerscope.plan.launch import LaunchParameters
    from layerscope.plan.profile import BakedImage, NodeProfile
    from layerscope.plan.pulllist import PullItem
    from layerscope.plan.recommend import Recommendation
    from layerscope.plan.workload import Workload

__all__ = ["Session", "Settings", "parse_mirrors"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run needs to know, as plain data (built by the CLI, or by library users)."""

    platform: PlatformFilter | None = None
    mode: Mode = Mode.EXACT
    store_path: Path | None = None  # None: no on-disk store (an in-memory one for this run)
    concurrency: int | None = None
    plain_http: bool = False
    mirrors: Mapping[str, str] = field(default_factory=dict)  # registry host -> endpoint host[:port]
    timeout: float | None = None  # connect/read timeout in seconds
    profile: str | None = None  # shipped profile name or a YAML/JSON file
    baked: tuple[str, ...] = ()  # references or baked-set files, added to the profile's baked set
    catalog_path: Path | None = None  # user catalog (default: $XDG_DATA_HOME/layerscope/catalog.json)
    ami: str | None = None  # --ami NAME|ami-ID|YYYY-MM-DD|latest (#14 item 2); else the profile's `ami:`
    nodes: Path | None = None  # --nodes FILE: `kubectl get nodes -o json`

    def registry_config(self) -> RegistryConfig:
        """The per-host registry configuration these settings describe."""
        timeouts = Timeouts(connect=self.timeout, read=self.timeout) if self.timeout else Timeouts()
        hosts = {host: HostConfig(endpoint=endpoint) for host, endpoint in self.mirrors.items()}
        return RegistryConfig(hosts=hosts, plain_http=self.plain_http, timeouts=timeouts)


def parse_mirrors(values: Sequence[str]) -> dict[str, str]:
    """`HOST=ENDPOINT` pairs (e.g. `mcr.microsoft.com=127.0.0.1:5000`)."""
    out = {}
    for value in values:
        host, sep, endpoint = value.partition("=")
        if not sep or not host or not endpoint or "/" in endpoint:
            raise UsageError(
                f"invalid mirror {value!r}", hint="use HOST=ENDPOINT, e.g. mcr.microsoft.com=127.0.0.1:5000"
            )
        out[host.strip().lower()] = endpoint.strip()
    return out


def _node_kernels(path: Path) -> tuple[str, ...]:
    """The Windows nodes' kernelVersion from a `kubectl get nodes -o json` file (--nodes)."""
    import json

    from layerscope.node_revision import windows_kernel_versions

    hint = "save it with: kubectl get nodes -o json > nodes.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"--nodes {path}: file not found", hint=hint) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"--nodes {path}: not a JSON document ({exc})", hint=hint) from None
    try:
        found = windows_kernel_versions(doc)
    except ValueError as exc:
        raise UsageError(f"--nodes {path}: {exc}", hint=hint) from None
    if not found:
        raise UsageError(f"--nodes {path}: no Windows node with a kernelVersion 10.0.BUILD.UBR", hint=hint)
    return tuple(version for _, version in found)


def _baked_entries(values: Sequence[str]) -> list[BakedImage]:
    """`--baked` values: a reference, or a file of references (text pull list or JSON)."""
    if not values:
        return []  # most runs: without loading the profile and YAML modules
    from layerscope.plan.profile import BakedImage
    from layerscope.plan.profile_files import load_baked

    entries: list[BakedImage] = []
    for value in values:
        if Path(value).is_file():
            entries.extend(BakedImage(reference=r, source=value) for r in load_baked(value))
        elif looks_like_file(value):
            raise UsageError(
                f"--baked {value}: file not found",
                hint="give an existing pull-list file, or an image reference such as"
                " mcr.microsoft.com/windows/servercore:ltsc2019",
            )
        else:
            parse_reference(value)  # a clear error for a typo rather than a failed lookup later
            entries.append(BakedImage(reference=value, source="--baked"))
    return entries


class Session:
    """Open resources for one run; use as a context manager."""

    def __init__(self, settings: Settings, observer: Observer | None = None) -> None:
        self.settings = settings
        self.observer = observer or NullObserver()
        self.profile: NodeProfile | None = None
        if settings.profile:
            from layerscope.plan.profile_files import load_profile

            self.profile = load_profile(settings.profile)
        # Read and checked before any network use: a missing --baked file fails the run at once (#18 item 8).
        self._extra_baked = _baked_entries(settings.baked)
        self.catalog: Catalog = load_catalog(settings.catalog_path)
        self.store = MeasurementStore(settings.store_path, self.observer)
        self.source = RoutingSource(settings.registry_config(), self.observer)
        self.analyzer = Analyzer(
            self.source,
            store=self.store,
            observer=self.observer,
            workers=settings.concurrency,
            catalog=self.catalog,
            mode=settings.mode,
        )
        self._baked: BakedSet | None = None
        self._node: NodeRevision | None = None
        self._kernels = _node_kernels(settings.nodes) if settings.nodes else ()

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the pool, close connections and the store."""
        self.analyzer.close()
        self.source.close()
        self.store.close()

    @property
    def has_baked_set(self) -> bool:
        """True when a profile, --baked, --ami or --nodes says what the node holds."""
        return self.profile is not None or bool(self.settings.baked) or self._node_given

    @property
    def _node_given(self) -> bool:
        return self.settings.ami is not None or self.settings.nodes is not None

    def node(self) -> NodeRevision:
        """The node's base revision and how it is known (#14 item 2), worked out once."""
        if self._node is None and not (self._kernels or self.settings.ami or self.profile):
            from layerscope.node_revision import NodeRevision

            self._node = NodeRevision()  # nothing says which: unknown, without loading the AMI and build tables
        if self._node is None:
            from layerscope.aws_amis import aws_lookups
            from layerscope.windows.node import NodeInputs, node_revision

            p = self.profile
            inputs = NodeInputs(
                kernels=self._kernels,
                ami=self.settings.ami or (p.ami if p else None),
                ami_family=p.ami_family if p else None,
                profile_os_version=p.os_version if p else None,
                runtime=p.runtime if p else None,
            )
            node, warnings = node_revision(inputs, aws_lookups())
            for warning in warnings:
                self.observer.warning(warning)
            self._node = node
        return self._node

    def baked(self) -> BakedSet:
        """The node's baked set, resolved once (manifests and configs only)."""
        if self._baked is None:
            self._baked = self.baked_at(self.node())
        return self._baked

    def baked_at(self, node: NodeRevision, observer: Observer | None = None) -> BakedSet:
        """The baked set on a node of revision *node* (floating base tags declared at it; `calibrate --nodes`: each
        node its own, #16)."""
        from layerscope.baked import resolve_baked
        from layerscope.node_baked import at_node_revision, default_bases

        entries = list(self.profile.baked) if self.profile else []
        entries += self._extra_baked
        if node.inferred and not entries:
            entries = default_bases(node)  # --ami/--nodes alone: the AMI caches servercore and nanoserver
        entries = at_node_revision(entries, node)
        platform = None
        if self.profile is not None and self.profile.os_version:
            # The node pulls the variant of a multi-platform base that matches its own build.
            platform = parse_platform_filter(f"windows/amd64:{self.profile.os_version}")
        return resolve_baked(self.analyzer, entries, self.catalog, platform, observer or self.observer)

    def node_groups(self, images: Sequence[PlannedImage]) -> list[GroupPull]:
        """With --nodes on several revisions: what *images* pull on each group's nodes (also one warning each)."""
        node = self.node()
        if len(node.groups) < 2:
            return []
        from types import MappingProxyType

        from layerscope.baked import apply_baked
        from layerscope.node_revision import GroupPull
        from layerscope.units import format_size

        groups = []
        for revision, count in node.groups:
            group = replace(node, os_version=revision, images=MappingProxyType({}))
            baked = self.baked_at(group, NullObserver())
            pulled = sum(
                apply_baked(p.image, baked, self.catalog, self.profile).totals.pull_compressed_bytes for p in images
            )
            groups.append(GroupPull(revision, count, pulled, used=revision == node.os_version))
        for g in groups:
            used = " (the revision this report uses)" if g.used else ""
            plural = "s" if g.nodes > 1 else ""
            self.observer.warning(  # on stderr and, through the recorded warnings, in the report
                f"nodes on {g.os_version} ({g.nodes} node{plural}){used}: the images pull "
                f"{format_size(g.pull_compressed_bytes)} ({g.pull_compressed_bytes:,} B) in all"
            )
        return groups

    def launch_parameters(self) -> LaunchParameters | None:
        """The launch-time model's parameters from the profile, or None without one."""
        from layerscope.plan.launch import LaunchParameters

        return LaunchParameters.from_profile(self.profile) if self.profile else None

    def images(self, refs: Sequence[str], platform: PlatformFilter | None = None) -> list[PlannedImage]:
        """Analyse *refs* and, with a baked set, mark what the node holds and estimate launch times."""
        parsed = [parse_reference(r) for r in refs]
        images = self.analyzer.analyze(parsed, platform or self.settings.platform)
        if not self.has_baked_set:
            from layerscope.windows.dating import sac_warning

            return [PlannedImage(image, warnings=tuple(w for w in (sac_warning(image.base),) if w)) for image in images]
        from layerscope.baked import apply_baked
        from layerscope.plan.launch import compare_launch, plan_layers, unknown_layers

        baked = self.baked()
        planned = [apply_baked(image, baked, self.catalog, self.profile) for image in images]
        params = self.launch_parameters()
        if params is None:
            return planned
        return [replace(p, launch=compare_launch(plan_layers(p), params, unknown_layers(p))) for p in planned]

    def recommend(self, workload: Workload, budget_bytes: int | None = None) -> Recommendation:
        """Which workload images to bake on the profile's node (requires a profile)."""
        from layerscope.plan.applicable import applicability
        from layerscope.plan.recommend import Candidate, recommend

        if self.profile is None:
            raise UsageError("recommend needs a node profile", hint="pass --profile NAME|FILE (see `profile list`)")
        weights: dict[str, float] = {}
        for item in workload.images:
            weights[item.reference] = weights.get(item.reference, 0.0) + item.weight
        # The images `report` analyses (--platform, else every platform of an index): both commands leave out
        # what the node cannot run with the same reason, instead of failing on a platform mismatch (#12 item 6).
        images = self.images(list(weights))
        # #17 item 2: the node launches one platform of an index, so the reference's weight goes to that image
        # only — the rule `report` uses (plan/applicable.py), and the weights still add up to the workload's.
        applies = applicability(images, weights, self.profile)
        candidates = [Candidate.from_image(p, a.weight) for p, a in zip(images, applies, strict=True)]
        baked = self.baked()
        # #18 item 4: what the node is known to hold counts on its disk even where the baked entry was not resolved
        # (a declared or node-inferred revision marks the candidates' base layers cached); the rest is a warning.
        known = {
            layer.chain_id
            for p in images
            for layer, held in zip(p.layers, p.cached, strict=True)
            if held is True and layer.chain_id is not None
        }
        answer = recommend(candidates, self.profile, budget_bytes=budget_bytes, prebaked_chains=baked.chain_ids | known)
        unknown = [ref for ref, why in baked.unresolved if why.endswith("its layers are unknown")]
        if unknown:
            warning = (
                f"the root volume counts only what is known of the baked set: {len(unknown)} baked image(s) not"
                f" resolved ({', '.join(unknown)}) count 0 bytes; pin them by digest or declare their os_version"
            )
            answer = replace(answer, warnings=(*answer.warnings, warning))
        return answer

    def pins(self, refs: Sequence[str]) -> list[PullItem]:
        """Each reference pinned to the digest it resolves to now (an index stays an index: nodes pick)."""
        from layerscope.plan.pulllist import PullItem

        items = []
        for text in refs:
            ref = parse_reference(text)
            top = self.source.get_manifest(ref)
            items.append(PullItem.of(str(ref).split("@", 1)[0], top.digest))
        return items

    def diff(self, ref_a: str, ref_b: str) -> ImageDiff:
        """`diff`: one image of each reference compared by chain ID; with a baked set, also what each pulls
        on a node holding the other image and the baked set (the union of their chains)."""
        from layerscope.diff import BakedNode, NodePull, diff_images, select_one

        platform = self.settings.platform
        refs = [parse_reference(ref_a), parse_reference(ref_b)]  # both parsed before any network use
        chosen = []
        for text, ref in zip((ref_a, ref_b), refs, strict=True):
            resolved = self.analyzer.resolve(ref, platform)
            platforms = [str(r.config.platform) for r in resolved]
            chosen.append(select_one(text, resolved, str(platform) if platform else None, platforms))
        a, b = self.analyzer.measure_images(chosen)
        if not self.has_baked_set:
            return diff_images(a, b)
        from layerscope.baked import apply_baked, holding

        baked = self.baked()
        b_on_a = apply_baked(b, holding(baked, a), self.catalog, self.profile)
        a_on_b = apply_baked(a, holding(baked, b), self.catalog, self.profile)
        warnings = [
            f"{label} {image.reference}: {w}" for label, image in (("A", a_on_b), ("B", b_on_a)) for w in image.warnings
        ]
        node = BakedNode(
            profile=self.profile.name if self.profile else None,
            references=baked.references,
            b_on_a=NodePull.of(b_on_a),
            a_on_b=NodePull.of(a_on_b),
            warnings=tuple(dict.fromkeys(warnings)),
            node=self.node_of_run(),  # as `analyze` reports it (#14 item 2)
        )
        return diff_images(a, b, node)

    def analyze(self, refs: Sequence[str]) -> AnalysisRun:
        """The whole `analyze` result, with each image's contents (issue #15; cached in the store)."""
        from layerscope.layer_index import with_contents

        images = with_contents(self.images(refs), self.store)
        return AnalysisRun(
            images=tuple(images),
            profile=self.profile.name if self.profile else None,
            baked=self.baked().references if self.has_baked_set else (),
            baked_unresolved=self.baked().unresolved if self.has_baked_set else (),
            node=self.node_of_run(),
        )

    def node_of_run(self) -> NodeRevision:
        """The node with `resolved` when a digest-pinned baked base settled it, `declared` from an entry's own
        (without a baked set: `node()`, nothing to settle it)."""
        if not self.has_baked_set:
            return self.node()
        from layerscope.node_baked import settle

        return settle(self.node(), self.baked())
