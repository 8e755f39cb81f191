"""Node profiles: what a node brings to a launch, validated from a mapping (pure; files: plan/profile_files.py).

A node profile names what an EKS/ECS Windows node brings to a pod launch: host OS build, container
runtime and its disk accounting, root volume, network and extraction throughput, pull timeouts, and the
images baked into the AMI. Shipped profiles live in plan/profiles/*.yaml; every value there carries a
source in the profile's `sources:` map (values no source gives are marked `assumption:`). A user file may
`extends:` a shipped profile and override any key. Sizes accept `10GB`, `9.5GiB` or bytes; rates the same
with an optional `/s`; durations seconds or `5m`/`2h`/`50ms`.

Throughput calibration (profiles/README.md): with the shipped network (62.5 MB/s) and extraction
(16 MB/s of extracted bytes) figures, `simple_pull_seconds` gives about 6 minutes for an uncached Server
Core base (DESIGN.md: "~6 minutes"; AWS blog: 4-8 min scale-out without caching) and under a minute for
app layers up to ~800 MB extracted when the base is cached.

Reading shipped and user profile files (YAML/JSON) and baked-set files lives in plan/profile_files.py, so that
the pure planner modules that need a `NodeProfile` load no YAML parser (issue #13 move 3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from layerscope.catalog.model import BUILD_CHANNELS, build_of
from layerscope.errors import InvalidReference, ProfileError, UsageError
from layerscope.reference import parse_reference
from layerscope.units import parse_duration, parse_rate, parse_size

__all__ = [
    "BakedImage",
    "NodeProfile",
    "profile_from_mapping",
    "simple_pull_seconds",
]

ORCHESTRATORS = ("eks", "ecs", "other")
RUNTIMES = ("containerd", "docker")
#: Keys whose value needs a source in a shipped profile (everything but name/description/notes/…).
VALUE_KEYS = (
    "orchestrator",
    "os_version",
    "runtime",
    "runtime_version",
    "discard_unpacked_layers",
    "root_volume",
    "os_footprint",
    "network_throughput",
    "extraction_throughput",
    "max_concurrent_downloads",
    "registry_latency",
    "pull_inactivity_timeout",
    "pull_total_timeout",
    "timeout_covers_extraction",
    "baked",
    "ami",
    "ami_family",
)
_META_KEYS = ("name", "description", "extends", "sources", "notes")
_OPTIONAL = (
    "runtime_version",
    "os_footprint",
    "pull_inactivity_timeout",
    "pull_total_timeout",
    "baked",
    "ami",
    "ami_family",
)
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_OS_VERSION = re.compile(r"10\.0\.\d+(?:\.\d+)?")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_BAKED_KEYS = ("reference", "os_version", "month", "source")


@dataclass(frozen=True, slots=True)
class BakedImage:
    """An image present on the node at boot; os_version/month only when a source states the revision."""

    reference: str
    os_version: str | None = None
    month: str | None = None
    source: str | None = None
    # False: the revision comes from the node (--ami/--nodes, #14 item 2), so the floating tag is not resolved
    # online (that would give today's revision, not the node's).
    resolve: bool = True


@dataclass(frozen=True, slots=True)
class NodeProfile:
    """What a node brings to a pod launch (see the module docstring); every value in bytes/seconds."""

    name: str
    description: str
    orchestrator: str
    os_version: str  # host build, `10.0.BUILD` or `10.0.BUILD.UBR`
    runtime: str  # containerd | docker
    runtime_version: str | None
    discard_unpacked_layers: bool  # True: compressed blobs are dropped after unpack (disk = extracted only)
    root_volume_bytes: int
    os_footprint_bytes: int | None  # disk the host OS itself takes on the root volume
    network_bytes_per_second: int
    extraction_bytes_per_second: int  # extracted (on-disk) bytes written per second while unpacking
    max_concurrent_downloads: int
    registry_latency_seconds: float
    pull_inactivity_timeout_seconds: float | None  # None: no such timeout
    pull_total_timeout_seconds: float | None
    timeout_covers_extraction: bool  # True: a long silent extraction can trip the inactivity timeout
    baked: tuple[BakedImage, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    origin: str = "shipped"  # "shipped" or the path of the user file
    # #14 item 2: the AMI the node runs (name | ami-ID | YYYY-MM-DD | latest) and its family (the AMI name without
    # its date = the SSM parameter name), which `--ami latest|DATE` needs.
    ami: str | None = None
    ami_family: str | None = None

    @property
    def build(self) -> int | None:
        """The host's build number."""
        return build_of(self.os_version)

    @property
    def channel(self) -> str | None:
        """The host's LTSC channel (ltsc2019 …), None for a non-LTSC build."""
        return BUILD_CHANNELS.get(self.build or -1)

    def baked_references(self) -> list[str]:
        """The baked set as references."""
        return [b.reference for b in self.baked]


def simple_pull_seconds(profile: NodeProfile, compressed_bytes: int, extracted_bytes: int, layers: int) -> float:
    """The model the shipped throughputs are calibrated against: round trips + download + extraction.

    Serial on purpose (an upper bound): containerd and Docker download layers in parallel but extract them
    one after another (aws-eks-best-practices ami.adoc), and a Windows pull is dominated by the one big base
    layer, so overlapping its download with the extraction of small layers changes little. Round trips:
    token, index, manifest, config, then two per layer (blob request, redirect to storage).
    """
    round_trips = 4 + 2 * layers
    return (
        round_trips * profile.registry_latency_seconds
        + compressed_bytes / profile.network_bytes_per_second
        + extracted_bytes / profile.extraction_bytes_per_second
    )


def _size(doc: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> int | None:
    value = doc.get(key)
    if value is None:
        if optional:
            return None
        raise ProfileError(f"{where}: {key} must be set")
    try:
        n = parse_size(value)
    except UsageError as exc:
        raise ProfileError(f"{where}: {key}: {exc.message}", hint="write e.g. 50GiB, 10GB or 1234") from None
    if n <= 0:
        raise ProfileError(f"{where}: {key} must be more than 0 bytes")
    return n


def _rate(doc: Mapping[str, Any], key: str, where: str) -> int:
    value = doc.get(key)
    if value is None:
        raise ProfileError(f"{where}: {key} must be set")
    try:
        return parse_rate(value)
    except UsageError as exc:
        raise ProfileError(f"{where}: {key}: {exc.message}", hint="write e.g. 62.5MB/s or 500MB") from None


def _duration(doc: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> float | None:
    value = doc.get(key)
    if value is None:
        if optional:
            return None
        raise ProfileError(f"{where}: {key} must be set")
    try:
        return parse_duration(value)
    except UsageError as exc:
        raise ProfileError(f"{where}: {key}: {exc.message}", hint="write seconds, or e.g. 5m, 2h, 50ms") from None


def _bool(doc: Mapping[str, Any], key: str, where: str) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        raise ProfileError(f"{where}: {key} must be true or false")
    return value


def _choice(doc: Mapping[str, Any], key: str, choices: Sequence[str], where: str) -> str:
    value = doc.get(key)
    if value not in choices:
        raise ProfileError(f"{where}: {key} must be one of {', '.join(choices)} (got {value!r})")
    assert isinstance(value, str)
    return value


def _baked(value: Any, where: str) -> tuple[BakedImage, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ProfileError(f"{where}: baked must be a list of references or {{reference: …}} mappings")
    out = []
    for i, item in enumerate(value):
        at = f"{where}: baked[{i}]"
        if isinstance(item, str):
            item = {"reference": item}
        if not isinstance(item, dict):
            raise ProfileError(f"{at} must be a reference or a mapping")
        unknown = sorted(set(item) - set(_BAKED_KEYS))
        if unknown:
            raise ProfileError(f"{at}: unknown keys {', '.join(unknown)}", hint=f"use {', '.join(_BAKED_KEYS)}")
        for key in _BAKED_KEYS:
            if item.get(key) is not None and not isinstance(item[key], str):
                raise ProfileError(f"{at}: {key} must be a string (quote versions and months)")
        reference = _check_reference(item.get("reference"), at)
        os_version, month = item.get("os_version"), item.get("month")
        if os_version is not None and not _OS_VERSION.fullmatch(os_version):
            raise ProfileError(f"{at}: os_version {os_version!r} is not 10.0.BUILD[.UBR]")
        if month is not None and not _MONTH.fullmatch(month):
            raise ProfileError(f"{at}: month {month!r} is not YYYY-MM")
        out.append(BakedImage(reference, os_version, month, item.get("source")))
    return tuple(out)


def _check_reference(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProfileError(f"{where}: reference must be a non-empty string")
    try:
        parse_reference(value.strip())
    except InvalidReference as exc:
        raise ProfileError(f"{where}: {exc.message}", hint=exc.hint) from None
    return value.strip()


def profile_from_mapping(doc: Mapping[str, Any], *, origin: str = "shipped", where: str = "profile") -> NodeProfile:
    """Validate a profile document (extends already resolved) into a NodeProfile."""
    unknown = sorted(set(doc) - set(VALUE_KEYS) - set(_META_KEYS))
    if unknown:
        raise ProfileError(f"{where}: unknown keys {', '.join(unknown)}")
    missing = [k for k in ("name", *VALUE_KEYS) if k not in doc and k not in _OPTIONAL]
    if missing:
        raise ProfileError(
            f"{where}: missing keys {', '.join(missing)}",
            hint="start from a shipped profile with 'extends: NAME' and override what differs",
        )
    name = doc.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ProfileError(f"{where}: name must be lower-case letters, digits, '.', '_' or '-'")
    os_version = doc.get("os_version")
    if not isinstance(os_version, str) or not _OS_VERSION.fullmatch(os_version):
        raise ProfileError(f'{where}: os_version must be a quoted Windows version such as "10.0.20348"')
    downloads = doc.get("max_concurrent_downloads")
    if not isinstance(downloads, int) or isinstance(downloads, bool) or not 1 <= downloads <= 64:
        raise ProfileError(f"{where}: max_concurrent_downloads must be a whole number from 1 to 64")
    sources = doc.get("sources") or {}
    if not isinstance(sources, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
        raise ProfileError(f"{where}: sources must map keys to source text")
    notes = doc.get("notes") or []
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise ProfileError(f"{where}: notes must be a list of strings")
    description = doc.get("description") or ""
    runtime_version = doc.get("runtime_version")
    if not isinstance(description, str) or (runtime_version is not None and not isinstance(runtime_version, str)):
        raise ProfileError(f"{where}: description and runtime_version must be strings")
    root = _size(doc, "root_volume", where)
    assert root is not None
    latency = _duration(doc, "registry_latency", where)
    assert latency is not None
    return NodeProfile(
        name=name,
        description=description.strip(),
        orchestrator=_choice(doc, "orchestrator", ORCHESTRATORS, where),
        os_version=os_version,
        runtime=_choice(doc, "runtime", RUNTIMES, where),
        runtime_version=runtime_version,
        discard_unpacked_layers=_bool(doc, "discard_unpacked_layers", where),
        root_volume_bytes=root,
        os_footprint_bytes=_size(doc, "os_footprint", where, optional=True),
        network_bytes_per_second=_rate(doc, "network_throughput", where),
        extraction_bytes_per_second=_rate(doc, "extraction_throughput", where),
        max_concurrent_downloads=downloads,
        registry_latency_seconds=latency,
        pull_inactivity_timeout_seconds=_duration(doc, "pull_inactivity_timeout", where, optional=True),
        pull_total_timeout_seconds=_duration(doc, "pull_total_timeout", where, optional=True),
        timeout_covers_extraction=_bool(doc, "timeout_covers_extraction", where),
        baked=_baked(doc.get("baked"), where),
        sources=MappingProxyType(dict(sources)),
        notes=tuple(notes),
        origin=origin,
        ami=_optional_text(doc, "ami", where),
        ami_family=_optional_text(doc, "ami_family", where),
    )


def _optional_text(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ProfileError(f"{where}: {key} must be a string")
    return value.strip() if isinstance(value, str) else None
