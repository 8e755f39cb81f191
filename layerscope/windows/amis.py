"""EKS and ECS optimized Windows AMI releases: names, families, builds and runtimes (pure; no I/O).

Name patterns (reference README, eks-windows-amis.csv): `Windows_Server-<windows>-English-<Core|Full>-
EKS_Optimized-<k8s>-<YYYY.MM.DD>` and `…-ECS_Optimized-<YYYY.MM.DD>`; the family (the name without its date)
is also the SSM public parameter `/aws/service/ami-windows-latest/<family>[/image_id]`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType

__all__ = [
    "WINDOWS_BUILDS",
    "AmiName",
    "AmiRelease",
    "AmiTable",
    "build_of",
    "default_runtime",
    "k8s_minor",
    "parse_ami_name",
]

#: Windows Server release in an AMI name -> build (ami-cache-revision.md section 5; SAC: reference README).
WINDOWS_BUILDS: Mapping[str, int] = MappingProxyType(
    {
        "2016": 14393,
        "2019": 17763,
        "2022": 20348,
        "2025": 26100,
        "1903": 18362,
        "1909": 18363,
        "2004": 19041,
        "20H2": 19042,
    }
)
_CHANNEL_WINDOWS = {"ltsc2016": "2016", "ltsc2019": "2019", "1809": "2019", "ltsc2022": "2022", "ltsc2025": "2025"}
# The date may be printed with dots or dashes (`1.35-2026-01-22` in the EKS doc).
_NAME = re.compile(
    r"^(?:/aws/service/ami-windows-latest/)?"
    r"Windows_Server-(?P<windows>\d{4}|20H2)-English-(?P<edition>Core|Full)-(?P<service>EKS|ECS)_Optimized"
    r"(?:-(?P<k8s>\d{1,2}\.\d{1,3}))?"
    r"(?:-(?P<y>\d{4})[.-](?P<m>\d{1,2})(?:[.-](?P<d>\d{1,2}))?)?"
    r"(?:/image_id)?$",
    re.IGNORECASE,
)


def build_of(text: str | int) -> int | None:
    """The build of `2019`, `ltsc2019`, `1809`, `1909`, `17763`; None if unknown."""
    t = str(text).strip()
    if t.isdigit() and len(t) == 5:
        return int(t)
    t = _CHANNEL_WINDOWS.get(t.lower(), t.upper() if t.lower() == "20h2" else t)
    return WINDOWS_BUILDS.get(t)


def k8s_minor(version: str) -> tuple[int, int]:
    """(1, 31) for `1.31`."""
    major, _, minor = version.partition(".")
    return int(major), int(minor)


def default_runtime(service: str, k8s_version: str | None) -> str:
    """`containerd` for EKS 1.24 and later; `docker` for EKS 1.23 and earlier (dockershim), and for ECS."""
    if service == "eks" and k8s_version and k8s_minor(k8s_version) >= (1, 24):
        return "containerd"
    return "docker"


@dataclass(frozen=True)
class AmiName:
    """What an AMI name (or its family / SSM parameter) says."""

    service: str
    windows: str
    edition: str
    k8s_version: str | None
    ami_date: date | None
    #: `YYYY-MM`, also when the name gives only the month (`…ECS_Optimized-2020.10`, as printed in a doc).
    month: str | None = None

    @property
    def family(self) -> str:
        """The name without its date (= the SSM parameter name under /aws/service/ami-windows-latest/)."""
        k8s = f"-{self.k8s_version}" if self.k8s_version else ""
        return f"Windows_Server-{self.windows}-English-{self.edition}-{self.service.upper()}_Optimized{k8s}"

    @property
    def name(self) -> str | None:
        """The full AMI name (`YYYY.MM` when only the month is known); None without a date."""
        if self.ami_date:
            return f"{self.family}-{self.ami_date:%Y.%m.%d}"
        return f"{self.family}-{self.month.replace('-', '.')}" if self.month else None

    @property
    def build(self) -> int:
        """The Windows build of the AMI."""
        return WINDOWS_BUILDS[self.windows]

    @property
    def default_runtime(self) -> str:
        """The container runtime nodes from this AMI run by default."""
        return default_runtime(self.service, self.k8s_version)


def parse_ami_name(text: str) -> AmiName | None:
    """An EKS/ECS Windows AMI name, family or SSM parameter name; None when *text* is none of those."""
    m = _NAME.fullmatch(text.strip())
    if not m:
        return None
    service = m.group("service").lower()
    k8s = m.group("k8s")
    if (service == "eks") != (k8s is not None):
        return None
    ami_date, month = None, None
    if m.group("y"):
        year, mon = int(m.group("y")), int(m.group("m"))
        if not 1 <= mon <= 12:
            return None
        month = f"{year:04d}-{mon:02d}"
        if m.group("d"):
            try:
                ami_date = date(year, mon, int(m.group("d")))
            except ValueError:
                return None
    windows = m.group("windows").upper()
    edition = m.group("edition").capitalize()
    return AmiName(service=service, windows=windows, edition=edition, k8s_version=k8s, ami_date=ami_date, month=month)


@dataclass(frozen=True)
class AmiRelease:
    """One AMI release of eks-windows-amis.csv (values as printed; unknowns None)."""

    service: str
    windows: str
    edition: str
    k8s_version: str | None
    ami_version: str
    ami_date: date | None
    ami_name: str
    kubelet: str | None
    containerd: str | None
    docker: str | None
    csi_proxy: str | None
    ecs_agent: str | None
    doc_listed_from: str | None
    source: str
    note: str | None

    @property
    def build(self) -> int:
        """The Windows build of the AMI."""
        return WINDOWS_BUILDS[self.windows]

    @property
    def family(self) -> str:
        """The name without its date (the SSM parameter name)."""
        k8s = f"-{self.k8s_version}" if self.k8s_version else ""
        return f"Windows_Server-{self.windows}-English-{self.edition}-{self.service.upper()}_Optimized{k8s}"

    @property
    def month(self) -> str | None:
        """`YYYY-MM` of the AMI, also when only the month was printed (`2020.10`)."""
        if self.ami_date:
            return f"{self.ami_date:%Y-%m}"
        m = re.search(r"(\d{4})\.(\d{2})$", self.ami_name)
        return f"{m.group(1)}-{m.group(2)}" if m else None

    @property
    def default_runtime(self) -> str:
        """The container runtime nodes from this AMI run by default."""
        return default_runtime(self.service, self.k8s_version)

    def to_json(self) -> dict[str, object]:
        """The row as a JSON object."""
        return {
            "service": self.service,
            "windows": self.windows,
            "edition": self.edition,
            "build": self.build,
            "family": self.family,
            "k8s_version": self.k8s_version,
            "ami_version": self.ami_version,
            "ami_date": self.ami_date.isoformat() if self.ami_date else None,
            "ami_name": self.ami_name,
            "kubelet": self.kubelet,
            "containerd": self.containerd,
            "docker": self.docker,
            "csi_proxy": self.csi_proxy,
            "ecs_agent": self.ecs_agent,
            "default_runtime": self.default_runtime,
            "doc_listed_from": self.doc_listed_from,
            "source": self.source,
            "note": self.note,
        }


@dataclass(frozen=True)
class AmiTable:
    """Every known AMI release, indexed by name."""

    rows: tuple[AmiRelease, ...]
    _by_name: Mapping[str, AmiRelease] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, AmiRelease] = {}
        for row in self.rows:
            if row.ami_name.lower() in by_name:
                raise ValueError(f"{row.ami_name} is listed twice")
            by_name[row.ami_name.lower()] = row
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def by_name(self, name: str) -> AmiRelease | None:
        """The release named *name* (dots or dashes in the date; an SSM `/aws/service/…` prefix is dropped)."""
        row = self._by_name.get(name.strip().lower())
        if row is not None:
            return row
        parsed = parse_ami_name(name)
        return self._by_name.get(parsed.name.lower()) if parsed and parsed.name else None

    def select(
        self,
        *,
        service: str | None = None,
        build: int | None = None,
        family: str | None = None,
        edition: str | None = None,
        k8s_version: str | None = None,
    ) -> tuple[AmiRelease, ...]:
        """Releases matching every filter given, oldest first; *family* is a family or name, or a glob of one."""
        out = []
        for r in self.rows:
            if service and r.service != service.lower():
                continue
            if build and r.build != build:
                continue
            if edition and r.edition.lower() != edition.lower():
                continue
            if k8s_version and r.k8s_version != k8s_version:
                continue
            if family and not _family_matches(family, r):
                continue
            out.append(r)
        return tuple(sorted(out, key=lambda r: (r.ami_date or date.min, r.ami_name)))


def _family_matches(pattern: str, row: AmiRelease) -> bool:
    p = pattern.strip().lower()
    parsed = parse_ami_name(p)
    if parsed is not None:
        p = (parsed.name or parsed.family).lower()
    return any(fnmatch.fnmatchcase(v.lower(), p) for v in (row.family, row.ami_name))
