"""Which Windows revision a node holds, and how that is known (the JSON `node`, #14 item 2). Pure: no I/O.

`basis`, strongest first: `resolved` (a digest-pinned baked base), `node-os` (the node's own OS revision: a
`kubectl get nodes -o json` kernelVersion, or a profile os_version with a full revision), `ami-date` (the AMI's
date, by the rule of ami-cache-revision.md), `declared` (a baked entry's os_version/month), `unknown`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["BASES", "GroupPull", "NodeRevision", "group_revisions", "windows_kernel_versions"]

BASES = ("resolved", "node-os", "ami-date", "declared", "unknown")
_KERNEL = re.compile(r"10\.0\.(\d{5})\.(\d+)")


@dataclass(frozen=True, slots=True)
class NodeRevision:
    """The node's cached base revision (`os_version`: servercore's; `images` per base image where they differ)."""

    os_version: str | None = None
    alternatives: tuple[str, ...] = ()
    basis: str = "unknown"
    ami: str | None = None  # the AMI name (or ID) the revision was inferred from
    ami_date: str | None = None  # YYYY-MM-DD
    # base image (servercore | nanoserver) -> the revision of it the node holds (Server Core and Nano Server differ
    # in some months, ami-cache-revision.md)
    images: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    explanation: str | None = None
    groups: tuple[tuple[str, int], ...] = ()  # --nodes: (kernel revision, node count), most nodes first

    def __post_init__(self) -> None:
        if self.basis not in BASES:
            raise ValueError(f"unknown node basis {self.basis!r}")

    @property
    def inferred(self) -> bool:
        """True when the revision is known only by its os_version (not from a resolved image)."""
        return self.basis in ("node-os", "ami-date", "declared")

    def revision_of(self, image: str) -> str | None:
        """The revision of base *image* (servercore | nanoserver) the node holds, else None."""
        return self.images.get(image, self.os_version)

    def to_json(self) -> dict[str, Any]:
        """The JSON `node` object."""
        return {
            "os_version": self.os_version,
            "alternatives": list(self.alternatives),
            "basis": self.basis,
            "ami": self.ami,
            "ami_date": self.ami_date,
        }


@dataclass(frozen=True, slots=True)
class GroupPull:
    """One revision group of `--nodes`: its node count and what the images pull on one of its nodes (#14 item 2)."""

    os_version: str
    nodes: int
    pull_compressed_bytes: int
    used: bool  # the revision the rest of the figures use (the most common one)

    def to_json(self) -> dict[str, Any]:
        """An entry of the report JSON `node_groups`."""
        return {
            "os_version": self.os_version,
            "nodes": self.nodes,
            "pull_compressed_bytes": self.pull_compressed_bytes,
            "used": self.used,
        }


def windows_kernel_versions(doc: Any) -> list[tuple[str, str]]:
    """(node name, kernelVersion) of every Windows node of a `kubectl get nodes -o json` document.

    Windows nodes report their full OS revision as status.nodeInfo.kernelVersion (`10.0.17763.6775`);
    the node is Windows by status.nodeInfo.operatingSystem or the kubernetes.io/os label.
    """
    items = doc.get("items") if isinstance(doc, dict) else None
    if doc is not None and isinstance(doc, dict) and doc.get("kind") == "Node":
        items = [doc]
    if not isinstance(items, list):
        raise ValueError("not a node list: expected the output of `kubectl get nodes -o json` (an `items` list)")
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        meta = item.get("metadata") or {}
        info = (item.get("status") or {}).get("nodeInfo") or {}
        labels = meta.get("labels") or {}
        os_name = info.get("operatingSystem") or labels.get("kubernetes.io/os")
        kernel = str(info.get("kernelVersion") or "")
        m = _KERNEL.match(kernel)
        if os_name == "windows" and m:
            out.append((str(meta.get("name") or "?"), f"10.0.{m[1]}.{m[2]}"))
    return out


def group_revisions(versions: list[str]) -> tuple[tuple[str, int], ...]:
    """(revision, count) most common first (ties: the newer revision first)."""
    counts = Counter(versions)
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], [-int(p) for p in kv[0].split(".")])))
