"""What matching an image against the Windows base catalog yields: a known base layer (a catalog row), the
base an image sits on (`BaseMatch`) and its drift against a node's baked base (`BaseDrift`).

Pure result types at the bottom of the package: results.py, catalog/ and report/ import them, they import
nothing of layerscope but units.py. The catalog builds them (catalog/match.py, catalog/drift.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from layerscope.units import format_size

__all__ = ["BaseDrift", "BaseLayer", "BaseMatch"]


@dataclass(frozen=True, slots=True)
class BaseLayer:
    """One known Windows base layer (a row of base-layers.csv, or a diff_id-only fact)."""

    family: str
    channel: str | None
    build: int | None
    role: str | None  # base | update | single | None (cannot tell)
    digest: str | None  # compressed blob digest; None for a layer known only by diff_id
    compressed_bytes: int | None
    media_kind: str  # foreign | rootfs.diff | unknown
    history_label: str | None
    os_version: str | None  # os.version of the image the layer was seen in
    month: str | None  # YYYY-MM of that observation
    registry_copy: str  # mcr | dockerhub | unknown
    provenance_verified: str  # yes | low
    source: str
    diff_id: str | None = None
    diff_id_source: str | None = None
    extracted_bytes: int | None = None  # a published figure from the reference data
    extracted_source: str | None = None
    # "exact" when the figure was given in bytes (size_source `catalog`); "rounded" for a figure such as
    # "2.76 GB" (`catalog-approx`). None (a user catalog that does not say) is taken as rounded.
    extracted_precision: str | None = None

    @property
    def key(self) -> str:
        """The digest, or the diff_id for a layer known only by diff_id."""
        return self.digest or self.diff_id or ""


@dataclass(frozen=True, slots=True)
class BaseMatch:
    """The leading layers of an image that are a known Windows base."""

    image: str | None  # mcr.microsoft.com/windows/servercore | …/nanoserver | None (family unknown)
    family: str | None
    channel: str | None
    os_version: str | None  # the base's full build, e.g. 10.0.17763.2928
    month: str | None  # YYYY-MM when a source dates that build; never guessed
    layer_count: int
    # digest | diff_id | history: the strongest evidence that held (#14 item 1); declared: a baked set entry;
    # config: no base layer identified, the revision is the config's os.version only
    match: str
    layers: tuple[BaseLayer | None, ...]  # catalog row per base layer; None where none is identified
    evidence: tuple[str, ...]  # per base layer: digest | diff_id | history | declared
    digests: tuple[str | None, ...] = ()  # the image's own compressed digests of the base layers
    diff_ids: tuple[str | None, ...] = ()  # the config's diff_ids of the base layers
    # Dated from the Windows build tables (#14 item 1), whether or not the layers are catalogued.
    kb: str | None = None
    release_date: str | None = None  # YYYY-MM-DD
    version: str | None = None  # SAC version name (1909 …) when the build is a SAC build; channel is then None
    generation: str | None = None  # the base blob generation (catalog/generations.py); None when not known


@dataclass(frozen=True, slots=True)
class BaseDrift:
    """The image's base is a baked base's channel but another monthly build (the JSON `drift`).

    catalog/drift.py finds it by comparing base layers (bytes unknown); baked.py narrows `pulled_layers`
    to what the node's chains do not hold and fills in `bytes_to_pull` and `rebuild_on`.
    """

    baked_os_version: str | None
    baked_month: str | None
    image_os_version: str | None
    image_month: str | None
    bytes_to_pull: int | None = None  # compressed bytes of `pulled_layers`; None until sized
    rebuild_on: str | None = None  # the base reference that matches the baked base, when one is known
    pulled_layers: tuple[int, ...] = ()  # indexes (in the image) of base layers the node does not hold
    layers_known: bool = True  # False: a layer could not be compared, so it is listed as pulled (conservative)
    baked: BaseMatch | None = None  # the baked base drifted from
    # #14 item 3: the KBs of both revisions, months between (signed: > 0 when the image is older than the node)
    baked_kb: str | None = None
    image_kb: str | None = None
    months_behind: int | None = None

    @property
    def message(self) -> str:
        """One line for people."""
        pull = format_size(self.bytes_to_pull) if self.bytes_to_pull is not None else "an unknown amount"
        text = (
            f"base {self.image_os_version} ({self.image_month or 'month unknown'}) differs from the baked "
            f"{self.baked_os_version} ({self.baked_month or 'month unknown'}): {pull} of base layers are pulled"
        )
        return text + (f"; rebuild on {self.rebuild_on}" if self.rebuild_on else "")
