"""Load the shipped Windows base catalog (package data, read once) and the user's catalog that extends it.

The shipped data is built from ../shared/reference by scripts/build_catalog.py (data/README.md). The user
catalog — written by `catalog refresh` — lives at `$XDG_DATA_HOME/layerscope/catalog.json` (default
`~/.local/share/layerscope/catalog.json`) and only adds: an entry for a digest the shipped catalog knows
must agree on family, channel and role, and may only fill fields the shipped row leaves empty.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from layerscope.catalog.model import (
    BUILD_CHANNELS,
    CHANNEL_BUILDS,
    FAMILIES,
    FULL_VERSION,
    MEDIA_KINDS,
    REGISTRY_COPIES,
    ROLES,
    BaseConfig,
    BaseImageSize,
    BaseLayer,
    Catalog,
    ExtractedEstimate,
    IndexPin,
    merge_layers,
    merge_pins,
)
from layerscope.errors import CatalogError

__all__ = [
    "USER_SCHEMA",
    "default_user_path",
    "load",
    "load_shipped",
    "read_user_file",
    "save_user_entries",
    "validate_layer",
]

USER_SCHEMA = "layerscope.catalog/v1"
_SHA256 = re.compile(r"sha256:[0-9a-f]{64}")
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_DATE = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
_LAYER_FIELDS = {f.name for f in dataclasses.fields(BaseLayer)}
_PIN_FIELDS = {f.name for f in dataclasses.fields(IndexPin)}
_INT_FIELDS = ("build", "compressed_bytes", "extracted_bytes")


def _rows(name: str) -> Iterator[tuple[int, dict[str, str]]]:
    text = (resources.files("layerscope.catalog") / "data" / name).read_text(encoding="utf-8")
    yield from enumerate(csv.DictReader(io.StringIO(text)), start=2)


def _opt(value: str) -> str | None:
    return value if value != "" else None


def _opt_int(value: str, where: str) -> int | None:
    if value == "":
        return None
    if not value.isdigit():
        raise CatalogError(f"{where}: {value!r} is not a whole number")
    return int(value)


def validate_layer(layer: BaseLayer, where: str) -> None:
    """Raise CatalogError unless *layer* is well formed (digests, sizes, channel/build, month)."""
    problems = []
    if layer.family not in FAMILIES:
        problems.append(f"unknown family {layer.family!r}")
    if layer.channel is not None and layer.channel not in CHANNEL_BUILDS:
        problems.append(f"unknown channel {layer.channel!r}")
    if layer.build is not None and BUILD_CHANNELS.get(layer.build) != layer.channel:
        problems.append(f"build {layer.build} does not belong to channel {layer.channel!r}")
    if layer.role is not None and layer.role not in ROLES:
        problems.append(f"unknown layer role {layer.role!r}")
    if layer.digest is None and layer.diff_id is None:
        problems.append("neither digest nor diff_id")
    for name in ("digest", "diff_id"):
        value = getattr(layer, name)
        if value is not None and not _SHA256.fullmatch(value):
            problems.append(f"{name} {value!r} is not sha256:<64 hex>")
    for name in ("compressed_bytes", "extracted_bytes"):
        value = getattr(layer, name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value <= 0):
            problems.append(f"{name} must be a positive whole number")
    if layer.month is not None and not _MONTH.fullmatch(layer.month):
        problems.append(f"month {layer.month!r} is not YYYY-MM")
    if layer.os_version is not None and not FULL_VERSION.fullmatch(layer.os_version):
        problems.append(f"os_version {layer.os_version!r} is not 10.0.BUILD.UBR")
    if layer.media_kind not in MEDIA_KINDS:
        problems.append(f"unknown media kind {layer.media_kind!r}")
    if layer.registry_copy not in REGISTRY_COPIES:
        problems.append(f"unknown registry copy {layer.registry_copy!r}")
    if layer.provenance_verified not in ("yes", "low"):
        problems.append("provenance_verified must be yes or low")
    if not layer.source.strip():
        problems.append("no source")
    if problems:
        raise CatalogError(f"{where}: {'; '.join(problems)}")


def _layer_rows() -> list[BaseLayer]:
    layers = []
    for n, r in _rows("base-layers.csv"):
        where = f"base-layers.csv line {n}"
        layers.append(
            BaseLayer(
                family=r["family"],
                channel=_opt(r["channel"]),
                build=_opt_int(r["build"], where),
                role=_opt(r["layer_role"]),
                digest=r["digest"],
                compressed_bytes=_opt_int(r["compressed_bytes"], where),
                media_kind=r["media_type_kind"],
                history_label=_opt(r["history_label"]),
                os_version=_opt(r["os_version"]),
                month=_opt(r["month"]),
                registry_copy=r["registry_copy"],
                provenance_verified=r["provenance_verified"],
                source=r["source"],
            )
        )
    by_digest = {layer.digest: i for i, layer in enumerate(layers)}
    for n, r in _rows("base-diffids.csv"):
        where = f"base-diffids.csv line {n}"
        if r["digest"]:
            if r["digest"] not in by_digest:
                raise CatalogError(f"{where}: digest {r['digest'][:19]}… is not in base-layers.csv")
            i = by_digest[r["digest"]]
            layers[i] = dataclasses.replace(layers[i], diff_id=r["diff_id"], diff_id_source=r["source"])
            continue
        layers.append(
            BaseLayer(
                family=r["family"],
                channel=_opt(r["channel"]),
                build=CHANNEL_BUILDS.get(r["channel"]),
                role=_opt(r["layer_role"]),
                digest=None,
                compressed_bytes=None,
                media_kind="unknown",
                history_label=_opt(r["history_label"]),
                os_version=_opt(r["os_version"]),
                month=_opt(r["month"]),
                registry_copy="unknown",
                provenance_verified="yes",
                source=f"{r['source']}; {r['annotation_source']}",
                diff_id=r["diff_id"],
                diff_id_source=r["source"],
            )
        )
    by_digest = {layer.digest: i for i, layer in enumerate(layers) if layer.digest}
    for n, r in _rows("base-extracted.csv"):
        where = f"base-extracted.csv line {n}"
        i = by_digest.get(r["digest"], -1)
        if i < 0:
            raise CatalogError(f"{where}: digest {r['digest'][:19]}… is not in base-layers.csv")
        layers[i] = dataclasses.replace(
            layers[i],
            extracted_bytes=_opt_int(r["extracted_bytes"], where),
            extracted_source=f"{r['bytes_or_text']} ({r['source']}); mapping: {r['mapping']}",
            # Only a byte count is exact; "2.76 GB" is rounded to 3 significant digits (#12 item 13).
            extracted_precision="exact" if r["unit_as_given"].strip().lower() in ("b", "byte", "bytes") else "rounded",
        )
    for i, layer in enumerate(layers):
        validate_layer(layer, f"shipped catalog layer {i} ({layer.key[:19]}…)")
    return layers


def _pin_rows() -> list[IndexPin]:
    pins = []
    for n, r in _rows("mcr-index-history.csv"):
        pin = IndexPin(
            repository=r["repository"],
            tag=r["tag"],
            index_digest=r["index_digest"],
            date=r["date"],
            source=r["source"],
            os_version=_opt(r["os_version"]),
            os_version_source=_opt(r["os_version_source"]),
        )
        _validate_pin(pin, f"mcr-index-history.csv line {n}")
        pins.append(pin)
    return pins


def _validate_pin(pin: IndexPin, where: str) -> None:
    if not _SHA256.fullmatch(pin.index_digest):
        raise CatalogError(f"{where}: index digest {pin.index_digest!r} is not sha256:<64 hex>")
    if not _DATE.fullmatch(pin.date):
        raise CatalogError(f"{where}: date {pin.date!r} is not YYYY-MM-DD")
    if pin.os_version is not None and not FULL_VERSION.fullmatch(pin.os_version):
        raise CatalogError(f"{where}: os_version {pin.os_version!r} is not 10.0.BUILD.UBR")
    if not pin.repository or not pin.tag or not pin.source.strip():
        raise CatalogError(f"{where}: repository, tag and source are required")


def _size_rows() -> list[BaseImageSize]:
    return [
        BaseImageSize(
            image=r["image"],
            tag_or_version=r["tag_or_version"],
            kind=r["kind"],
            bytes_or_text=r["bytes_or_text"],
            unit_as_given=r["unit_as_given"],
            source=r["source"],
            bytes=_opt_int(r["bytes"], f"base-sizes.csv line {n}"),
        )
        for n, r in _rows("base-sizes.csv")
    ]


def _config_rows() -> list[BaseConfig]:
    return [
        BaseConfig(
            digest=r["digest"],
            size=_opt_int(r["size"], f"base-configs.csv line {n}"),
            repository=r["repository"],
            tag=r["tag"],
            month=_opt(r["month"]),
            source=f"{r['source']}; {r['annotation_source']}",
        )
        for n, r in _rows("base-configs.csv")
    ]


def _os_versions() -> Mapping[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for n, r in _rows("os-versions.csv"):
        if not FULL_VERSION.fullmatch(r["os_version"]) or not _MONTH.fullmatch(r["month"]):
            raise CatalogError(f"os-versions.csv line {n}: bad os_version or month")
        if r["os_version"] in out:
            raise CatalogError(f"os-versions.csv line {n}: {r['os_version']} is listed twice")
        out[r["os_version"]] = (r["month"], r["source"])
    return MappingProxyType(out)


def _estimates() -> list[ExtractedEstimate]:
    text = (resources.files("layerscope.catalog") / "data" / "extracted-estimate.json").read_text("utf-8")
    doc = json.loads(text)
    return [
        ExtractedEstimate(
            group=g["group"],
            family=g["family"],
            channels=tuple(g["channels"]),
            ratio=float(g["ratio"]),
            basis=g["basis"],
            pairs=tuple(g["pairs"]),
        )
        for g in doc["groups"]
    ]


@cache
def load_shipped() -> Catalog:
    """The catalog shipped as package data, parsed and validated once per process."""
    try:
        return Catalog(
            layers=tuple(_layer_rows()),
            pins=tuple(_pin_rows()),
            sizes=tuple(_size_rows()),
            configs=tuple(_config_rows()),
            os_versions=_os_versions(),
            estimates=tuple(_estimates()),
        )
    except (OSError, KeyError, ValueError) as exc:
        raise CatalogError(
            f"the shipped Windows base catalog cannot be read: {exc}",
            hint="reinstall layerscope; the package data under layerscope/catalog/data is damaged",
        ) from exc


def default_user_path() -> Path:
    """`$XDG_DATA_HOME/layerscope/catalog.json` (XDG default `~/.local/share`)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "share"
    return root / "layerscope" / "catalog.json"


def _layer_from_dict(doc: Any, where: str) -> BaseLayer:
    if not isinstance(doc, dict):
        raise CatalogError(f"{where}: a layer entry must be an object")
    unknown = set(doc) - _LAYER_FIELDS
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
    values = {f: doc.get(f) for f in _LAYER_FIELDS}
    for name in ("family", "media_kind", "registry_copy", "provenance_verified", "source"):
        if not isinstance(values[name], str):
            raise CatalogError(f"{where}: {name} must be a string")
    for name in _LAYER_FIELDS - {"family", "media_kind", "registry_copy", "provenance_verified", "source"}:
        v = values[name]
        want = int if name in _INT_FIELDS else str
        if v is not None and (not isinstance(v, want) or isinstance(v, bool)):
            raise CatalogError(f"{where}: {name} must be {want.__name__} or null")
    layer = BaseLayer(**values)  # type: ignore[arg-type]  # types checked field by field above
    validate_layer(layer, where)
    return layer


def _pin_from_dict(doc: Any, where: str) -> IndexPin:
    if not isinstance(doc, dict):
        raise CatalogError(f"{where}: a pin entry must be an object")
    unknown = set(doc) - _PIN_FIELDS
    if unknown:
        raise CatalogError(f"{where}: unknown keys {sorted(unknown)}")
    values = {f: doc.get(f) for f in _PIN_FIELDS}
    for name, v in values.items():
        optional = name in ("os_version", "os_version_source")
        if not (isinstance(v, str) or (optional and v is None)):
            raise CatalogError(f"{where}: {name} must be a string")
    pin = IndexPin(**values)  # type: ignore[arg-type]  # types checked field by field above
    _validate_pin(pin, where)
    return pin


def read_user_file(path: str | Path) -> tuple[list[BaseLayer], list[IndexPin]]:
    """Layers and pins of a user catalog file; CatalogError (with the path) when it cannot be used."""
    p = Path(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"cannot read user catalog {p}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CatalogError(
            f"user catalog {p} is not valid JSON: {str(exc)[:80]}",
            hint=f"delete {p} and run 'layerscope catalog refresh' to rebuild it",
        ) from exc
    if not isinstance(doc, dict) or doc.get("schema") != USER_SCHEMA:
        raise CatalogError(
            f"user catalog {p} is not a {USER_SCHEMA} document",
            hint=f"delete {p} and run 'layerscope catalog refresh' to rebuild it",
        )
    layers_doc, pins_doc = doc.get("layers", []), doc.get("pins", [])
    if not isinstance(layers_doc, list) or not isinstance(pins_doc, list):
        raise CatalogError(f"user catalog {p}: layers and pins must be lists")
    layers = [_layer_from_dict(d, f"{p} layer {i}") for i, d in enumerate(layers_doc)]
    pins = [_pin_from_dict(d, f"{p} pin {i}") for i, d in enumerate(pins_doc)]
    return layers, pins


def load(user_path: str | Path | None = None, *, include_user: bool = True) -> Catalog:
    """The shipped catalog extended by the user catalog (*user_path*, else the default path if present)."""
    shipped = load_shipped()
    if not include_user:
        return shipped
    path = Path(user_path) if user_path is not None else default_user_path()
    if user_path is None and not path.exists():
        return shipped
    layers, pins = read_user_file(path)
    return shipped.merged(layers, pins)


def save_user_entries(
    layers: Iterable[BaseLayer], pins: Iterable[IndexPin] = (), path: str | Path | None = None
) -> Path:
    """Add entries to the user catalog (atomic write); newer entries replace older user entries."""
    target = Path(path) if path is not None else default_user_path()
    old_layers, old_pins = read_user_file(target) if target.exists() else ([], [])
    new_layers = list(layers)
    for i, layer in enumerate(new_layers):
        validate_layer(layer, f"new catalog entry {i}")
    fresh = {layer.key for layer in new_layers}
    kept = [layer for layer in old_layers if layer.key not in fresh]
    merged_layers = merge_layers(kept, new_layers)
    # Refuse to write what load() would then refuse to read.
    merge_layers(load_shipped().layers, merged_layers)
    merged_pins = merge_pins(old_pins, pins)
    doc = {
        "schema": USER_SCHEMA,
        "layers": [dataclasses.asdict(layer) for layer in merged_layers],
        "pins": [dataclasses.asdict(p) for p in merged_pins],
    }
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".catalog-", suffix=".json", dir=target.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1, sort_keys=True)
                fh.write("\n")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise CatalogError(f"cannot write user catalog {target}: {exc.strerror or exc}") from exc
    return target
