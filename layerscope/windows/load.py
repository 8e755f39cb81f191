"""Read the shipped build and AMI tables (package data under layerscope/windows/data) once, lazily."""

from __future__ import annotations

import csv
import io
from datetime import date
from functools import cache
from importlib import resources

from layerscope.errors import CatalogError
from layerscope.windows.amis import WINDOWS_BUILDS, AmiRelease, AmiTable
from layerscope.windows.builds import IMAGES, SAC_VERSIONS, BuildInfo, BuildTable

__all__ = ["ami_table", "build_table"]

_DAMAGED = "reinstall layerscope; the package data under layerscope/windows/data is damaged"


def _rows(name: str) -> list[dict[str, str]]:
    text = (resources.files("layerscope.windows") / "data" / name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _opt(value: str) -> str | None:
    v = value.strip()
    return v if v and v != "N/A" else None


def _date(value: str) -> date | None:
    return date.fromisoformat(value) if value.strip() else None


def _images(cell: str) -> tuple[str, ...]:
    """The images an annotated row applies to (both when not annotated)."""
    images = tuple(v for v in cell.split(";") if v)
    if any(i not in IMAGES for i in images):
        raise ValueError(f"unknown base image in {cell!r}")
    return images or IMAGES


def _ltsc_row(r: dict[str, str], notes: dict[str, dict[str, str]]) -> BuildInfo:
    ann = notes.get(r["os_version"], {})
    released = _date(r["release_date"])
    month = released.strftime("%Y-%m") if released else _opt(ann.get("month", ""))
    if released:
        basis = "release_date"
    elif month:
        basis = f"undated; placed in its month by its note ({ann['source']})"
    else:
        basis = "unknown"
    return BuildInfo(
        os_version=r["os_version"],
        build=int(r["build"]),
        ubr=int(r["ubr"]),
        release_date=released,
        month=month,
        month_basis=basis,
        kb=_opt(r["kb"]),
        kind=r["kind"],
        ms_label=_opt(r["ms_label"]),
        container_image=r["container_image"],
        container_evidence=tuple(t for t in r["container_evidence"].split(";") if t),
        images=_images(ann.get("images", "")),
        table="windows-builds.csv",
        source=r["source"],
        note=_opt(r["note"]),
        order_date=released or _date(ann.get("order_date", "")),
        annotation_source=_opt(ann.get("source", "")),
    )


def _sac_row(r: dict[str, str]) -> BuildInfo:
    released = _date(r["release_date"])
    build = int(r["build"])
    if SAC_VERSIONS.get(build) != r["version"]:
        raise ValueError(f"SAC build {build} is not version {r['version']}")
    return BuildInfo(
        os_version=r["os_version"],
        build=build,
        ubr=int(r["ubr"]),
        release_date=released,
        month=released.strftime("%Y-%m") if released else None,
        month_basis="release_date" if released else "unknown",
        kb=_opt(r["kb"]),
        kind=r["kind"],
        ms_label=None,
        container_image="unknown",
        container_evidence=(),
        images=IMAGES,
        table="windows-sac-builds.csv",
        source=r["source"],
        order_date=released,
    )


@cache
def build_table() -> BuildTable:
    """Every LTSC and SAC build row, parsed and validated once per process."""
    try:
        notes = {r["os_version"]: r for r in _rows("build-annotations.csv")}
        rows = [_ltsc_row(r, notes) for r in _rows("windows-builds.csv")]
        rows += [_sac_row(r) for r in _rows("windows-sac-builds.csv")]
        return BuildTable(tuple(rows))
    except (OSError, KeyError, ValueError) as exc:
        raise CatalogError(f"the shipped Windows build tables cannot be read: {exc}", hint=_DAMAGED) from exc


def _ami_row(r: dict[str, str]) -> AmiRelease:
    if r["windows"] not in WINDOWS_BUILDS or r["service"] not in ("eks", "ecs"):
        raise ValueError(f"unknown AMI row {r['ami_name']}")
    return AmiRelease(
        service=r["service"],
        windows=r["windows"],
        edition=r["edition"],
        k8s_version=_opt(r["k8s_version"]),
        ami_version=r["ami_version"],
        ami_date=_date(r["ami_date"]),
        ami_name=r["ami_name"],
        kubelet=_opt(r["kubelet"]),
        containerd=_opt(r["containerd"]),
        docker=_opt(r["docker"]),
        csi_proxy=_opt(r["csi_proxy"]),
        ecs_agent=_opt(r["ecs_agent"]),
        doc_listed_from=_opt(r["doc_listed_from"]),
        source=r["source"],
        note=_opt(r["note"]),
    )


@cache
def ami_table() -> AmiTable:
    """Every EKS/ECS Windows AMI release, parsed once per process."""
    try:
        return AmiTable(tuple(_ami_row(r) for r in _rows("eks-windows-amis.csv")))
    except (OSError, KeyError, ValueError) as exc:
        raise CatalogError(f"the shipped Windows AMI table cannot be read: {exc}", hint=_DAMAGED) from exc
