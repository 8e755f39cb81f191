"""Windows Server builds: which month, KB, kind and channel a 10.0.BUILD.UBR revision is (pure; no I/O).

Rows come from the shipped build tables (windows-builds.csv for the LTSC builds, windows-sac-builds.csv for
the SAC builds 1903/1909/2004/20H2); `load.py` reads them, this module only models and looks up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

__all__ = [
    "IMAGES",
    "LTSC_CHANNELS",
    "SAC_VERSIONS",
    "BuildInfo",
    "BuildTable",
    "normalise_kb",
    "parse_os_version",
]

#: LTSC build -> channel tag (`1809` is the same build as `ltsc2019`).
LTSC_CHANNELS: Mapping[int, str] = MappingProxyType(
    {14393: "ltsc2016", 17763: "ltsc2019", 20348: "ltsc2022", 26100: "ltsc2025"}
)
#: SAC build -> version name (reference README, windows-sac-builds.csv).
SAC_VERSIONS: Mapping[int, str] = MappingProxyType({18362: "1903", 18363: "1909", 19041: "2004", 19042: "20H2"})
#: The base images a build row can apply to.
IMAGES = ("servercore", "nanoserver")

_OS_VERSION = re.compile(r"^(?:10\.0\.)?(\d{5})\.(\d{1,6})$")
_KB = re.compile(r"^(?:KB)?(\d{6,8})$", re.IGNORECASE)


def parse_os_version(text: str) -> tuple[int, int] | None:
    """(build, ubr) of `10.0.17763.1879` (or `17763.1879`); None when *text* is not such a revision."""
    m = _OS_VERSION.fullmatch(text.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def normalise_kb(text: str) -> str | None:
    """`KB5001342` for `kb5001342` / `5001342`; None when *text* is not a KB number."""
    m = _KB.fullmatch(text.strip())
    return f"KB{m.group(1)}" if m else None


@dataclass(frozen=True)
class BuildInfo:
    """One row of a build table: a cumulative update (or container-only build) of one Windows build."""

    os_version: str
    build: int
    ubr: int
    release_date: date | None
    month: str | None
    month_basis: str
    kb: str | None
    kind: str
    ms_label: str | None
    container_image: str
    container_evidence: tuple[str, ...]
    images: tuple[str, ...]
    table: str
    source: str
    note: str | None = None
    #: Where the row sorts among releases of its build: the release date, or the annotated date of an
    #: undated container-only build (its host CU's date, else the month's Patch Tuesday); None if unknown.
    order_date: date | None = None
    annotation_source: str | None = None

    @property
    def channel(self) -> str | None:
        """`ltsc2019` etc. for an LTSC build; None for a SAC build."""
        return LTSC_CHANNELS.get(self.build)

    @property
    def version(self) -> str | None:
        """The SAC version name (`1909`); None for an LTSC build."""
        return SAC_VERSIONS.get(self.build)

    @property
    def is_sac(self) -> bool:
        """True for the out-of-support Semi-Annual Channel builds."""
        return self.build in SAC_VERSIONS

    def is_container_release(self, image: str) -> bool:
        """A release that published *image* on MCR (rule 1 of ami-cache-revision.md: b or oob, image yes)."""
        return self.kind in ("b", "oob") and self.container_image == "yes" and image in self.images

    def to_json(self) -> dict[str, object]:
        """The row as a JSON object (dates ISO, unknowns null)."""
        return {
            "os_version": self.os_version,
            "build": self.build,
            "ubr": self.ubr,
            "channel": self.channel,
            "version": self.version,
            "release_date": self.release_date.isoformat() if self.release_date else None,
            "month": self.month,
            "month_basis": self.month_basis,
            "kb": self.kb,
            "kind": self.kind,
            "ms_label": self.ms_label,
            "container_image": self.container_image,
            "container_evidence": list(self.container_evidence),
            "images": list(self.images),
            "table": self.table,
            "source": self.source,
            "note": self.note,
            "annotation_source": self.annotation_source,
        }


@dataclass(frozen=True)
class BuildTable:
    """Every known build row, indexed by os_version and by KB."""

    rows: tuple[BuildInfo, ...]
    _by_version: Mapping[str, BuildInfo] = field(init=False, repr=False, compare=False)
    _by_kb: Mapping[str, tuple[BuildInfo, ...]] = field(init=False, repr=False, compare=False)
    _by_build: Mapping[int, tuple[BuildInfo, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_version: dict[str, BuildInfo] = {}
        by_kb: dict[str, list[BuildInfo]] = {}
        for row in self.rows:
            if row.os_version in by_version:
                raise ValueError(f"{row.os_version} is listed twice")
            by_version[row.os_version] = row
            if row.kb:
                by_kb.setdefault(row.kb, []).append(row)
        object.__setattr__(self, "_by_version", MappingProxyType(by_version))
        object.__setattr__(self, "_by_kb", MappingProxyType({k: tuple(v) for k, v in by_kb.items()}))
        by_build: dict[int, list[BuildInfo]] = {}
        for row in self.rows:
            by_build.setdefault(row.build, []).append(row)
        sorted_builds = {b: tuple(sorted(v, key=_order_key)) for b, v in by_build.items()}
        object.__setattr__(self, "_by_build", MappingProxyType(sorted_builds))

    def by_os_version(self, text: str) -> BuildInfo | None:
        """The row of `10.0.B.U` (or `B.U`); None if unknown."""
        parsed = parse_os_version(text)
        return self._by_version.get(f"10.0.{parsed[0]}.{parsed[1]}") if parsed else None

    def by_kb(self, text: str) -> tuple[BuildInfo, ...]:
        """Rows whose KB is *text*; else rows whose note names it (a second KB of the same build)."""
        kb = normalise_kb(text)
        if kb is None:
            return ()
        hits = self._by_kb.get(kb, ())
        if hits:
            return hits
        return tuple(r for r in self.rows if r.note and re.search(rf"\b{kb}\b", r.note))

    def of_build(self, build: int) -> tuple[BuildInfo, ...]:
        """Rows of one build, oldest first (undated rows without an order date last)."""
        return self._by_build.get(build, ())

    def nearest(self, build: int, ubr: int) -> tuple[BuildInfo | None, BuildInfo | None]:
        """The known rows of *build* just below and just above *ubr* (for a hint on an unknown revision)."""
        rows = sorted((r for r in self.rows if r.build == build), key=lambda r: r.ubr)
        below = [r for r in rows if r.ubr < ubr]
        above = [r for r in rows if r.ubr > ubr]
        return (below[-1] if below else None, above[0] if above else None)


def _order_key(row: BuildInfo) -> tuple[int, date, int]:
    return (0, row.order_date, row.ubr) if row.order_date else (1, date.max, row.ubr)


def sorted_releases(rows: Iterable[BuildInfo]) -> list[BuildInfo]:
    """*rows* in release order (date, then UBR)."""
    return sorted(rows, key=_order_key)
