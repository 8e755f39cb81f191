"""Which leading layers of an image are a known Windows base, and the base a baked-set entry declares.
Pure: no I/O (drift is in drift.py, process-isolation compatibility in isolation.py).

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
January 2023 images (reference README caveat 3). `BaseMatch.match` names the **strongest** evidence that held
(#14 item 1): a digest-known RTM layer with a history-only update layer reports `digest`; `evidence` keeps
each layer's own.

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

from layerscope.basematch import BaseLayer, BaseMatch
from layerscope.catalog.model import (
    BUILD_CHANNELS,
    CHANNEL_TAGS,
    FAMILY_IMAGES,
    FULL_VERSION,
    Catalog,
    build_of,
    family_of_image,
)
from layerscope.errors import InvalidReference
from layerscope.measurement import LayerMeasurement
from layerscope.oci import Descriptor, ImageConfig
from layerscope.reference import ImageReference, parse_reference

__all__ = [
    "MAX_BASE_LAYERS",
    "BaseMatch",
    "base_measurements",
    "declared_base",
    "match_base",
    "parse_history_label",
]

#: A Windows base is at most two layers (RTM "Apply image" + "Install update"; see above).
MAX_BASE_LAYERS = 2
_STRENGTH = {"digest": 3, "diff_id": 2, "history": 1, "declared": 0}
_LABEL = re.compile(r"(?:RUN\s+)?(?P<kind>Apply image|Install update)\s+(?P<version>\S+)\s*")
# Release names used in old labels -> build (1607 = WS2016, 1809 = WS2019; base-image-lifecycle.md).
_LABEL_BUILDS = {
    "1607": 14393, "2016": 14393, "ltsc2016": 14393,
    "1809": 17763, "2019": 17763, "ltsc2019": 17763,
    "2022": 20348, "ltsc2022": 20348,
    "2025": 26100, "ltsc2025": 26100,
}  # fmt: skip
# Size band around the catalog's base-layer sizes within which a history match names a family.
_BAND_LOW, _BAND_HIGH = 0.8, 1.25


def parse_history_label(created_by: str) -> tuple[str, int | None] | None:
    """(`Apply image` | `Install update`, build named by the label or None) for a base history label."""
    m = _LABEL.fullmatch(created_by.strip())
    if m is None:
        return None
    version = m["version"]
    full = FULL_VERSION.fullmatch(version)
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
        match=max(evidence, key=lambda k: _STRENGTH[k]),
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
    if FULL_VERSION.fullmatch(tag):
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
