"""Which leading layers of an image are a known Windows base, drift against a node's baked bases, and
whether an image can run process-isolated on a host. Pure: no I/O.

Evidence, strongest first (DESIGN.md "base layers"):

- `digest`: the layer's compressed digest is a catalog row.
- `diff_id`: the config's diff_id for that position is a catalog row. It survives re-compression
  (dredge PR #307, Windows-Containers#519).
- `history`: only for `os=windows` configs whose `os.version` build is an LTSC build, and only when the
  config's layer-creating history lines up one-to-one with the layers. Layer 0 must read
  `Apply image <v>` and layer 1 (if any) `Install update <v>`, and the version or tag in each label must
  name the same build as os.version. Labels (reference README "History label formats"): `10.0.X.Y`,
  `1809-RTM-amd64`, `1809_RTM_amd64`, `1809-amd64`, `1809_amd64`, `2022-RTM-amd64`, `ltsc2022-amd64`,
  `ltsc2016-amd64`, `1607-RTM-amd64`. This is weaker: anyone can write such a label.

A Windows base is at most two layers: an RTM "Apply image" layer plus an "Install update" layer for
Server Core (and Nano Server before 2019), or one layer for Nano Server since 2019 and for all
January 2023 images (reference README caveat 3). `BaseMatch.match` names the **weakest** evidence any
counted layer rests on, so a digest-known RTM layer with a history-only update layer reports `history`.

Family of a history-only match: the labels are the same for Server Core and Nano Server, so the family
comes from the size of layer 0. It counts only when that size falls inside one family's band: the
compressed sizes of the catalog's base/single rows of that channel, widened by x0.8 .. x1.25. Re-compression
moves a size by a few percent (116.8 MB on MCR vs 120.4 MB on Docker Hub for the same Nano Server,
reference README caveat 1), while the families differ by about 10x. Outside every band (for example
`windows/server` at ~3 GB, which has no catalog rows) the family is None, and so are `image` and the
catalog rows. Channel, os_version and layer count are still reported because the config states them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from layerscope.catalog.model import (
    BUILD_CHANNELS,
    CHANNEL_BUILDS,
    CHANNEL_TAGS,
    FAMILY_IMAGES,
    BaseLayer,
    Catalog,
    build_of,
    family_of_image,
)
from layerscope.errors import InvalidReference
from layerscope.measurement import LayerMeasurement
from layerscope.oci import Descriptor, ImageConfig
from layerscope.reference import ImageReference, parse_reference

__all__ = [
    "BaseMatch",
    "Drift",
    "base_measurements",
    "declared_base",
    "detect_drift",
    "isolation_compatible",
    "match_base",
    "parse_history_label",
    "suggest_rebuild",
]

MAX_BASE_LAYERS = 2
_STRENGTH = {"digest": 3, "diff_id": 2, "history": 1, "declared": 0}
_LABEL = re.compile(r"(?:RUN\s+)?(?P<kind>Apply image|Install update)\s+(?P<version>\S+)\s*")
_FULL_VERSION = re.compile(r"10\.0\.(\d+)\.(\d+)")
_FULL_OR_BUILD = re.compile(r"10\.0\.(\d+)(?:\.(\d+))?")
# Release names used in old labels -> build (1607 = WS2016, 1809 = WS2019; base-image-lifecycle.md).
_LABEL_BUILDS = {
    "1607": 14393, "2016": 14393, "ltsc2016": 14393,
    "1809": 17763, "2019": 17763, "ltsc2019": 17763,
    "2022": 20348, "ltsc2022": 20348,
    "2025": 26100, "ltsc2025": 26100,
}  # fmt: skip
# Size band around the catalog's base-layer sizes within which a history match names a family.
_BAND_LOW, _BAND_HIGH = 0.8, 1.25
# The Feb 2020 "2B" update is a compatibility baseline for 1809: host and image on opposite sides of it
# cannot run process-isolated (version-compatibility.md). 10.0.17763.1040 is the Feb 2020 build
# (catalog row a35da61c…, month 2020-02).
_BASELINE_2B_2020 = {17763: 1040}


@dataclass(frozen=True, slots=True)
class BaseMatch:
    """The leading layers of an image that are a known Windows base."""

    image: str | None  # mcr.microsoft.com/windows/servercore | …/nanoserver | None (family unknown)
    family: str | None
    channel: str | None
    os_version: str | None  # the base's full build, e.g. 10.0.17763.2928
    month: str | None  # YYYY-MM when a source dates that build; never guessed
    layer_count: int
    match: str  # digest | diff_id | history (weakest evidence used) | declared (a baked set entry)
    layers: tuple[BaseLayer | None, ...]  # catalog row per base layer; None where none is identified
    evidence: tuple[str, ...]  # per base layer: digest | diff_id | history | declared
    digests: tuple[str | None, ...] = ()  # the image's own compressed digests of the base layers
    diff_ids: tuple[str | None, ...] = ()  # the config's diff_ids of the base layers

    def to_json(self) -> dict[str, Any]:
        """The `base` object of the analysis JSON (DESIGN.md)."""
        return {
            "image": self.image,
            "channel": self.channel,
            "os_version": self.os_version,
            "month": self.month,
            "layers": self.layer_count,
            "match": self.match,
        }


@dataclass(frozen=True, slots=True)
class Drift:
    """The image's base is a baked base's channel but another build: these base layers get pulled."""

    baked_os_version: str | None
    baked_month: str | None
    image_os_version: str | None
    image_month: str | None
    pulled_layers: tuple[int, ...]  # indexes (in the image) of base layers the node does not hold
    layers_known: bool  # False: a layer could not be compared, so it is listed as pulled (conservative)
    baked: BaseMatch

    def to_json(self, bytes_to_pull: int | None) -> dict[str, Any]:
        """The `drift` object of the analysis JSON; the caller sums the pulled layers' bytes."""
        return {
            "baked_os_version": self.baked_os_version,
            "baked_month": self.baked_month,
            "image_os_version": self.image_os_version,
            "image_month": self.image_month,
            "bytes_to_pull": bytes_to_pull,
        }


def parse_history_label(created_by: str) -> tuple[str, int | None] | None:
    """(`Apply image` | `Install update`, build named by the label or None) for a base history label."""
    m = _LABEL.fullmatch(created_by.strip())
    if m is None:
        return None
    version = m["version"]
    full = _FULL_VERSION.fullmatch(version)
    if full:
        return m["kind"], int(full[1])
    token = re.split(r"[-_]", version, maxsplit=1)[0].lower()
    return m["kind"], _LABEL_BUILDS.get(token)


def _history_labels(config: ImageConfig, layer_count: int) -> list[str] | None:
    """created_by of each layer when history lines up with the layers, else None."""
    if config.os != "windows" or build_of(config.os_version) not in BUILD_CHANNELS:
        return None
    entries = config.layer_history()
    if len(entries) != layer_count:
        return None
    return [h.created_by for h in entries]


def _history_ok(label: str | None, position: int, build: int) -> bool:
    parsed = parse_history_label(label) if label is not None else None
    if parsed is None:
        return False
    kind, label_build = parsed
    wanted = "Apply image" if position == 0 else "Install update"
    return kind == wanted and label_build == build


def _family_by_size(catalog: Catalog, channel: str, size: int) -> str | None:
    """The one family whose base-layer size band for *channel* holds *size*, else None."""
    hits = []
    for family in FAMILY_IMAGES:
        sizes = [
            r.compressed_bytes
            for r in catalog.layers_of(family, channel)
            if r.compressed_bytes and r.role in ("base", "single")
        ]
        if sizes and min(sizes) * _BAND_LOW <= size <= max(sizes) * _BAND_HIGH:
            hits.append(family)
    return hits[0] if len(hits) == 1 else None


def _row_for_label(catalog: Catalog, family: str, channel: str, label: str, position: int) -> BaseLayer | None:
    """The single catalog row with this exact history label (same content as a re-compressed copy)."""
    text = _LABEL.fullmatch(label.strip())
    if text is None:
        return None
    wanted = f"{text['kind']} {text['version']}"
    roles = ("base", "single") if position == 0 else ("update",)
    rows = [
        r
        for r in catalog.layers_of(family, channel)
        if r.history_label == wanted and (r.role is None or r.role in roles)
    ]
    return rows[0] if len(rows) == 1 else None


def match_base(config: ImageConfig, layers: Sequence[Descriptor], catalog: Catalog) -> BaseMatch | None:
    """The image's leading base layers (see the module docstring), or None when no known base matches."""
    labels = _history_labels(config, len(layers))
    os_build = build_of(config.os_version)
    rows: list[BaseLayer | None] = []
    evidence: list[str] = []
    for i, desc in enumerate(layers[:MAX_BASE_LAYERS]):
        diff_id = config.diff_ids[i] if i < len(config.diff_ids) else None
        row, kind = catalog.by_digest(desc.digest), "digest"
        if row is None and diff_id is not None:
            row, kind = catalog.by_diff_id(diff_id), "diff_id"
        if row is None:
            if labels is None or os_build is None or not _history_ok(labels[i], i, os_build):
                break
            prev = rows[-1] if rows else None
            if prev is not None and prev.channel and prev.channel != BUILD_CHANNELS.get(os_build):
                break  # the config's build contradicts the digest-known layer below: do not mix the two
            kind = "history"
        elif not _continues(rows, row, i):
            break
        rows.append(row)
        evidence.append(kind)
        if row is not None and row.role == "single":
            break
    if not rows:
        return None
    known = [r for r in rows if r is not None]
    family = known[0].family if known else None
    config_channel = BUILD_CHANNELS.get(os_build or -1) if config.os == "windows" else None
    channel = next((r.channel for r in known if r.channel), None) or config_channel
    if family is None and channel is not None:
        family = _family_by_size(catalog, channel, layers[0].size)
    if family is not None and channel is not None and labels is not None:
        for i, (row, kind) in enumerate(zip(rows, evidence, strict=True)):
            if row is None and kind == "history":
                rows[i] = _row_for_label(catalog, family, channel, labels[i], i)
    count = len(rows)
    os_version = _base_os_version(rows, evidence, config, channel)
    return BaseMatch(
        image=FAMILY_IMAGES[family] if family else None,
        family=family,
        channel=channel,
        os_version=os_version,
        month=catalog.month_of(os_version),
        layer_count=count,
        match=min(evidence, key=lambda k: _STRENGTH[k]),
        layers=tuple(rows),
        evidence=tuple(evidence),
        digests=tuple(d.digest for d in layers[:count]),
        diff_ids=tuple(config.diff_ids[i] if i < len(config.diff_ids) else None for i in range(count)),
    )


def _continues(rows: Sequence[BaseLayer | None], row: BaseLayer, position: int) -> bool:
    """Whether a digest/diff_id row can sit at *position* after *rows* (roles, family, channel agree)."""
    if position == 0:
        return row.role != "update"  # an update layer never leads
    if row.role in ("base", "single"):
        return False  # a second RTM layer is not the same base
    prev = rows[-1]
    if prev is not None:
        if prev.role == "single" or prev.family != row.family:
            return False
        if prev.channel and row.channel and prev.channel != row.channel:
            return False
    return True


def _base_os_version(
    rows: Sequence[BaseLayer | None], evidence: Sequence[str], config: ImageConfig, channel: str | None
) -> str | None:
    """The base revision's build: the last layer's row when it is dated by it, else the config's."""
    last = rows[-1]
    if last is not None and evidence[-1] != "history" and last.role in ("update", "single") and last.os_version:
        return last.os_version
    config_channel = BUILD_CHANNELS.get(build_of(config.os_version) or -1)
    if config.os == "windows" and channel is not None and config_channel == channel:
        return config.os_version
    if last is not None and last.role in ("update", "single") and last.os_version:
        return last.os_version
    return None


def base_measurements(match: BaseMatch, layers: Sequence[Descriptor], catalog: Catalog) -> list[LayerMeasurement]:
    """LayerMeasurements (size_source catalog/estimated/unknown) for the image's base layers."""
    out = []
    for i in range(match.layer_count):
        row = match.layers[i]
        diff_id = match.diff_ids[i] if i < len(match.diff_ids) else None
        if row is not None:
            out.append(catalog.measurement(row, layers[i], diff_id))
        else:
            out.append(catalog.estimated_measurement(layers[i], match.family, match.channel, diff_id))
    return out


def declared_base(
    catalog: Catalog, reference: str, os_version: str | None = None, month: str | None = None
) -> BaseMatch | None:
    """A BaseMatch for a baked-set entry such as `mcr.microsoft.com/windows/servercore:ltsc2019`.

    Built from the reference and what the catalog knows, without a registry: the tag gives the channel
    (or the full build for `:10.0.X.Y` tags), an index digest in the catalog's pins gives the month, and
    *os_version*/*month* fill in what the tag leaves open. Catalog rows are attached only when the
    catalog saw a complete base (base+update, or single) with exactly that os.version. None when the
    reference is not a servercore/nanoserver image or names no LTSC channel.
    """
    try:
        ref = parse_reference(reference)
    except InvalidReference:
        return None
    if not isinstance(ref, ImageReference):
        return None
    family = family_of_image(f"{ref.registry}/{ref.repository}")
    if family is None or (ref.registry != "mcr.microsoft.com"):
        return None
    channel = None
    tag = (ref.tag or "").lower().removesuffix("-amd64")
    if _FULL_VERSION.fullmatch(tag):
        os_version = os_version or tag
    else:
        channel = next((c for c, tags in CHANNEL_TAGS.items() if tag in tags), None)
    if ref.digest:
        pin = next((p for p in catalog.pins if p.index_digest == ref.digest), None)
        if pin is not None:
            month = month or pin.month
            os_version = os_version or pin.os_version
            channel = channel or next((c for c, tags in CHANNEL_TAGS.items() if pin.tag in tags), None)
    channel = channel or BUILD_CHANNELS.get(build_of(os_version) or -1)
    if channel is None or (os_version and BUILD_CHANNELS.get(build_of(os_version) or -1) != channel):
        return None
    month = month or catalog.month_of(os_version)
    if os_version is None and month is not None:
        os_version = catalog.os_version_of(family, channel, month)
    rows = _revision_rows(catalog, family, channel, os_version)
    return BaseMatch(
        image=FAMILY_IMAGES[family],
        family=family,
        channel=channel,
        os_version=os_version,
        month=month,
        layer_count=len(rows),
        match="declared",
        layers=rows,
        evidence=("declared",) * len(rows),
        digests=tuple(r.digest for r in rows if r is not None),
        diff_ids=tuple(r.diff_id for r in rows if r is not None),
    )


def _revision_rows(catalog: Catalog, family: str, channel: str, os_version: str | None) -> tuple[BaseLayer | None, ...]:
    """The complete base layer set the catalog saw for exactly *os_version*, else ()."""
    if os_version is None:
        return ()
    seen = [
        r
        for r in catalog.layers_of(family, channel)
        if r.os_version == os_version and r.digest and r.role in ("base", "update", "single")
    ]
    singles = [r for r in seen if r.role == "single"]
    bases = [r for r in seen if r.role == "base"]
    updates = [r for r in seen if r.role == "update"]
    if len(singles) == 1 and not bases and not updates:
        return (singles[0],)
    if len(bases) == 1 and len(updates) == 1 and not singles:
        return (bases[0], updates[0])
    return ()


def _same_layer(a: BaseMatch, i: int, b: BaseMatch, j: int) -> bool | None:
    """Whether layer *i* of *a* and layer *j* of *b* hold the same content; None when unknown."""
    da = a.digests[i] if i < len(a.digests) else None
    db = b.digests[j] if j < len(b.digests) else None
    ia = a.diff_ids[i] if i < len(a.diff_ids) else None
    ib = b.diff_ids[j] if j < len(b.diff_ids) else None
    ra, rb = a.layers[i], b.layers[j]
    ia = ia or (ra.diff_id if ra else None)
    ib = ib or (rb.diff_id if rb else None)
    if ia and ib:
        return ia == ib  # diff_id is the content's own hash
    if da and db and da == db:
        return True
    if ra is not None and rb is not None:
        if ra.key == rb.key:
            return True
        # A label that names a full build identifies one Microsoft layer, whatever copy or compression.
        la, lb = ra.history_label or "", rb.history_label or ""
        if _FULL_VERSION.search(la) and _FULL_VERSION.search(lb) and ra.role == rb.role:
            return la == lb
        if ra.role == rb.role == "update" and ra.os_version and rb.os_version:
            return ra.os_version == rb.os_version  # a new update layer every month
    return None


def _same_revision(a: BaseMatch, b: BaseMatch) -> bool | None:
    if a.os_version and b.os_version:
        return a.os_version == b.os_version
    if a.layer_count and a.layer_count == b.layer_count:
        same = [_same_layer(a, i, b, i) for i in range(a.layer_count)]
        if all(s is True for s in same):
            return True
        if any(s is False for s in same):
            return False
    return None


def detect_drift(image_base: BaseMatch, baked_bases: Sequence[BaseMatch]) -> Drift | None:
    """Drift when a baked base has the image base's family and channel but another build, else None.

    None also when nothing can be compared (unknown family, or builds unknown on either side): drift is
    reported only on evidence. With several baked revisions of the channel (Fargate caches the current and
    the previous month, aws-precached.md) the one that leaves the fewest base layers to pull is reported.
    """
    if image_base.family is None or image_base.channel is None:
        return None
    same = [b for b in baked_bases if b.family == image_base.family and b.channel == image_base.channel]
    if any(_same_revision(image_base, b) is True for b in same):
        return None
    best: tuple[int, int, Drift] | None = None
    for b in same:
        if _same_revision(image_base, b) is not False:
            continue
        shared, known = 0, True
        for i in range(min(image_base.layer_count, b.layer_count)):
            s = _same_layer(image_base, i, b, i)
            if s is None:
                known = False
            if s is not True:
                break
            shared += 1
        if b.layer_count == 0:
            known = False
        pulled = tuple(range(shared, image_base.layer_count))
        if not pulled:
            continue  # another build label, yet the node holds every base layer: nothing to pull
        drift = Drift(
            baked_os_version=b.os_version,
            baked_month=b.month,
            image_os_version=image_base.os_version,
            image_month=image_base.month,
            pulled_layers=pulled,
            layers_known=known,
            baked=b,
        )
        rank = (len(pulled), -_ubr(b.os_version))
        if best is None or rank < best[:2]:
            best = (rank[0], rank[1], drift)
    return best[2] if best else None


def _ubr(os_version: str | None) -> int:
    m = _FULL_VERSION.fullmatch(os_version or "")
    return int(m[2]) if m else -1


def suggest_rebuild(baked_base: BaseMatch, catalog: Catalog | None = None) -> str | None:
    """The base reference to rebuild an image on so that it matches *baked_base*, or None if unknown.

    Preference: the MCR index pin whose os.version a source states (`image:tag@sha256:…`), else the MCR
    build tag `image:10.0.X.Y` (MCR tags every build, e.g. `servercore:10.0.17763.5696` in the Fargate
    doc), else the one index pin of the baked month (`image:tag@sha256:…`; pin month = commit date,
    unverified). Several pins in that month, or nothing known: None — never a floating tag.
    """
    if baked_base.image is None or baked_base.family is None or baked_base.channel is None:
        return None
    if catalog is None:
        from layerscope.catalog.load import load_shipped

        catalog = load_shipped()
    pins = catalog.pins_for(baked_base.family, baked_base.channel)
    version = baked_base.os_version
    if version and _FULL_VERSION.fullmatch(version):
        exact = [p for p in pins if p.os_version == version]
        if exact:
            return f"{baked_base.image}:{exact[0].tag}@{exact[0].index_digest}"
        return f"{baked_base.image}:{version}"
    if baked_base.month:
        month_pins = [p for p in pins if p.month == baked_base.month]
        if len({p.index_digest for p in month_pins}) == 1:
            return f"{baked_base.image}:{month_pins[0].tag}@{month_pins[0].index_digest}"
    return None


def isolation_compatible(
    image_os_version: str | None,
    host_os_version: str | None,
    *,
    same_build_only: bool = False,
    host_after_2020_baseline: bool = False,
) -> bool | None:
    """Whether Windows can run the image process-isolated on the host; None when a version is unknown.

    Microsoft "Windows container version compatibility" (MicrosoftDocs/Virtualization-Documentation
    version-compatibility.md and update-containers.md): the build (major.minor.build) must match, and
    since 1809 the revision (UBR) may differ; WS2016 (14393) needs the same revision; on 1809, host and
    image on opposite sides of the Feb 2020 "2B" baseline do not work together. The compatibility table
    also lets a WS2025 (26100) host run WS2022 (20348) images process-isolated; *same_build_only* drops
    that exception, as EKS/ECS placement does (nodes are selected by `node.kubernetes.io/windows-build`
    or `ecs.os-family`; running 2022 images on 2025 nodes there is unverified — aws-nodes.md §5).
    *host_after_2020_baseline* says a host given as a bare build (`10.0.17763`) is patched past Feb 2020:
    true of every EKS/ECS optimized AMI still published (EKS keeps the last 4 months, ECS at least the
    last three AMIs — aws-precached.md).
    """
    image = _FULL_OR_BUILD.fullmatch((image_os_version or "").strip())
    host = _FULL_OR_BUILD.fullmatch((host_os_version or "").strip())
    if image is None or host is None:
        return None
    image_build, host_build = int(image[1]), int(host[1])
    image_ubr = int(image[2]) if image[2] else None
    host_ubr = int(host[2]) if host[2] else None
    if image_build != host_build:
        newer_host = (host_build, image_build) == (CHANNEL_BUILDS["ltsc2025"], CHANNEL_BUILDS["ltsc2022"])
        return newer_host and not same_build_only
    if image_build == CHANNEL_BUILDS["ltsc2016"]:
        if image_ubr is None or host_ubr is None:
            return None
        return image_ubr == host_ubr
    baseline = _BASELINE_2B_2020.get(image_build)
    if baseline is not None:
        if host_ubr is None and host_after_2020_baseline:
            host_ubr = baseline
        if image_ubr is None or host_ubr is None:
            return None
        return (image_ubr >= baseline) == (host_ubr >= baseline)
    return True
