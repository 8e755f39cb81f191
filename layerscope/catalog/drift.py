"""Drift of an image's Windows base against a node's baked bases, and the base to rebuild on. Pure: no I/O.

Drift is reported only on evidence (DESIGN.md "base layers"): same family and channel, another build, and
at least one base layer the node does not hold. Layers are compared by diff_id, digest, catalog row, or a
history label that names a full build.
"""

from __future__ import annotations

from collections.abc import Sequence

from layerscope.basematch import BaseDrift, BaseMatch
from layerscope.catalog.model import FULL_VERSION, Catalog

__all__ = ["detect_drift", "suggest_rebuild"]


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
        if FULL_VERSION.search(la) and FULL_VERSION.search(lb) and ra.role == rb.role:
            return la == lb
        if ra.role == rb.role == "update" and ra.os_version and rb.os_version:
            return ra.os_version == rb.os_version  # a new update layer every month
    return None


def _same_build(a: BaseMatch, b: BaseMatch) -> bool | None:
    """Whether two bases of one channel are the same build: by os.version, else layer by layer; None = unknown."""
    if a.os_version and b.os_version:
        return a.os_version == b.os_version
    if a.layer_count and a.layer_count == b.layer_count:
        same = [_same_layer(a, i, b, i) for i in range(a.layer_count)]
        if all(s is True for s in same):
            return True
        if any(s is False for s in same):
            return False
    return None


def detect_drift(image_base: BaseMatch, baked_bases: Sequence[BaseMatch]) -> BaseDrift | None:
    """Drift when a baked base has the image base's family and channel but another build, else None.

    None also when nothing can be compared (unknown family, or builds unknown on either side): drift is
    reported only on evidence. With several baked revisions of the channel (Fargate caches the current and
    the previous month, aws-precached.md) the one that leaves the fewest base layers to pull is reported.
    """
    if image_base.family is None or image_base.channel is None:
        return None
    same = [b for b in baked_bases if b.family == image_base.family and b.channel == image_base.channel]
    if any(_same_build(image_base, b) is True for b in same):
        return None
    best: tuple[int, int, BaseDrift] | None = None
    for b in same:
        if _same_build(image_base, b) is not False:
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
        drift = BaseDrift(
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
    m = FULL_VERSION.fullmatch(os_version or "")
    return int(m[2]) if m else -1


def suggest_rebuild(baked_base: BaseMatch, catalog: Catalog) -> str | None:
    """The base reference to rebuild an image on so that it matches *baked_base*, or None if unknown.

    Preference: the MCR index pin whose os.version a source states (`image:tag@sha256:…`), else the MCR
    build tag `image:10.0.X.Y` (MCR tags every build, e.g. `servercore:10.0.17763.5696` in the Fargate
    doc), else the one index pin of the baked month (`image:tag@sha256:…`; pin month = commit date,
    unverified). Several pins in that month, or nothing known: None — never a floating tag.
    """
    if baked_base.image is None or baked_base.family is None or baked_base.channel is None:
        return None
    pins = catalog.pins_for(baked_base.family, baked_base.channel)
    version = baked_base.os_version
    if version and FULL_VERSION.fullmatch(version):
        exact = [p for p in pins if p.os_version == version]
        if exact:
            return f"{baked_base.image}:{exact[0].tag}@{exact[0].index_digest}"
        return f"{baked_base.image}:{version}"
    if baked_base.month:
        month_pins = [p for p in pins if p.month == baked_base.month]
        if len({p.index_digest for p in month_pins}) == 1:
            return f"{baked_base.image}:{month_pins[0].tag}@{month_pins[0].index_digest}"
    return None
