"""Node profiles (shipped YAML + user files) and baked-set files.

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
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from layerscope.catalog.model import BUILD_CHANNELS, build_of
from layerscope.errors import InvalidReference, ProfileError, UsageError
from layerscope.reference import parse_reference
from layerscope.units import parse_duration, parse_rate, parse_size

__all__ = [
    "BakedImage",
    "NodeProfile",
    "list_profiles",
    "load_baked",
    "load_profile",
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
)
_META_KEYS = ("name", "description", "extends", "sources", "notes")
_OPTIONAL = ("runtime_version", "os_footprint", "pull_inactivity_timeout", "pull_total_timeout", "baked")
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_OS_VERSION = re.compile(r"10\.0\.\d+(?:\.\d+)?")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_BAKED_KEYS = ("reference", "os_version", "month", "source")
_FILE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True, slots=True)
class BakedImage:
    """An image present on the node at boot; os_version/month only when a source states the revision."""

    reference: str
    os_version: str | None = None
    month: str | None = None
    source: str | None = None


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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (for `profile show`)."""
        return {
            "name": self.name,
            "description": self.description,
            "orchestrator": self.orchestrator,
            "os_version": self.os_version,
            "runtime": self.runtime,
            "runtime_version": self.runtime_version,
            "discard_unpacked_layers": self.discard_unpacked_layers,
            "root_volume_bytes": self.root_volume_bytes,
            "os_footprint_bytes": self.os_footprint_bytes,
            "network_bytes_per_second": self.network_bytes_per_second,
            "extraction_bytes_per_second": self.extraction_bytes_per_second,
            "max_concurrent_downloads": self.max_concurrent_downloads,
            "registry_latency_seconds": self.registry_latency_seconds,
            "pull_inactivity_timeout_seconds": self.pull_inactivity_timeout_seconds,
            "pull_total_timeout_seconds": self.pull_total_timeout_seconds,
            "timeout_covers_extraction": self.timeout_covers_extraction,
            "baked": [
                {"reference": b.reference, "os_version": b.os_version, "month": b.month, "source": b.source}
                for b in self.baked
            ],
            "sources": dict(self.sources),
            "notes": list(self.notes),
            "origin": self.origin,
        }


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


def _shipped_dir() -> Any:
    return resources.files("layerscope.plan") / "profiles"


def list_profiles() -> list[str]:
    """Names of the shipped profiles, sorted."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in _shipped_dir().iterdir()
        if entry.name.endswith(".yaml") and not entry.name.startswith("_")
    )


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{where} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict):
        raise ProfileError(f"{where} must be a YAML mapping of profile keys")
    return doc


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.endswith(_FILE_SUFFIXES)


def _raw_profile(name_or_path: str, seen: tuple[str, ...] = ()) -> tuple[dict[str, Any], str]:
    """The profile document with `extends` resolved, and where it came from."""
    path = Path(name_or_path)
    looks_like_path = _looks_like_path(name_or_path)
    is_file = looks_like_path or name_or_path not in list_profiles()
    if is_file and not looks_like_path and not path.is_file():
        raise ProfileError(
            f"unknown profile {name_or_path!r}",
            hint=f"choose one of {', '.join(list_profiles())}, or give a path to a YAML file",
        )
    if is_file:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"cannot read profile {name_or_path}: {exc.strerror or exc}") from None
        origin = str(path)
    else:
        text = (_shipped_dir() / f"{name_or_path}.yaml").read_text(encoding="utf-8")
        origin = "shipped"
    where = f"profile {name_or_path}"
    doc = _read_yaml(text, where)
    unknown = sorted(set(doc) - set(VALUE_KEYS) - set(_META_KEYS))
    if unknown:
        raise ProfileError(
            f"{where}: unknown keys {', '.join(unknown)}",
            hint=f"profile keys are: {', '.join((*_META_KEYS, *VALUE_KEYS))}",
        )
    if "name" not in doc and is_file and _NAME.fullmatch(path.stem.lower()):
        doc["name"] = path.stem.lower()  # a user file is named after itself unless it says otherwise
    parent_name = doc.get("extends")
    if parent_name is None:
        return doc, origin
    if not isinstance(parent_name, str):
        raise ProfileError(f"{where}: extends must be the name of a shipped profile or a file path")
    if is_file and _looks_like_path(parent_name) and not Path(parent_name).is_absolute():
        parent_name = str(path.parent / parent_name)  # a relative `extends:` is relative to this file
    if parent_name in seen or parent_name == name_or_path:
        raise ProfileError(f"{where}: extends loops through {parent_name!r}")
    parent, _ = _raw_profile(parent_name, (*seen, name_or_path))
    merged = {k: v for k, v in parent.items() if k not in ("name", "extends")}
    sources = dict(parent.get("sources") or {})
    own_sources = doc.get("sources") or {}
    if not isinstance(own_sources, dict):
        raise ProfileError(f"{where}: sources must be a mapping of key to source")
    for key, value in doc.items():
        if key == "sources":
            continue
        merged[key] = value
        if key in VALUE_KEYS:
            # An overridden value must not keep the parent's source.
            sources[key] = own_sources.get(key) or f"set in {origin if is_file else where}"
    sources.update(own_sources)
    merged["sources"] = sources
    merged.pop("extends", None)
    return merged, origin


def load_profile(name_or_path: str) -> NodeProfile:
    """A shipped profile by name, or a user profile from a YAML (or JSON) file."""
    doc, origin = _raw_profile(name_or_path)
    return profile_from_mapping(doc, origin=origin, where=f"profile {name_or_path}")


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
    )


def load_baked(path: str | Path) -> list[str]:
    """References in a baked-set file: a text pull list, a JSON list, or JSON `{"images": [{"reference"}]}`.

    Text: one reference per line; `#` starts a comment (whole line, or after whitespace); blank lines are
    skipped. JSON: a list of reference strings, or an object whose `images` list holds strings or objects
    with a `reference` (the pull-list JSON). Every reference is checked with the reference parser.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"cannot read baked-set file {p}: {getattr(exc, 'strerror', None) or exc}") from None
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        return _baked_json(text, str(p))
    refs = []
    for number, line in enumerate(text.splitlines(), start=1):
        content = re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()
        if content:
            refs.append(_check_reference(content, f"{p} line {number}"))
    return refs


def _baked_json(text: str, where: str) -> list[str]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProfileError(f"baked-set file {where} is not valid JSON: {exc.msg} (line {exc.lineno})") from None
    items = doc.get("images") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise ProfileError(
            f'baked-set file {where}: expected a JSON list of references or {{"images": [...]}}',
        )
    refs = []
    for i, item in enumerate(items):
        value = item.get("reference") if isinstance(item, dict) else item
        refs.append(_check_reference(value, f"{where} entry {i}"))
    return refs
