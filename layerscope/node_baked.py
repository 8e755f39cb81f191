"""The node's revision applied to its baked set (#14 item 2). Pure: no I/O.

A floating MCR base tag in the baked set (`servercore:ltsc2019`) stands for whatever revision the node's AMI
cached, not today's: when the node's revision is known (--nodes, --ami, a profile's full os_version) the entry
is declared at that revision instead of being resolved online. A digest-pinned entry is resolved as before and
is the strongest evidence (`resolved`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from layerscope.catalog.model import BUILD_CHANNELS, CHANNEL_TAGS, FAMILY_IMAGES, build_of, family_of_image
from layerscope.errors import InvalidReference
from layerscope.node_revision import NodeRevision
from layerscope.plan.profile import BakedImage
from layerscope.reference import ImageReference, parse_reference

if TYPE_CHECKING:
    from layerscope.baked import BakedSet

__all__ = ["at_node_revision", "default_bases", "settle"]


def _floating_base(reference: str) -> tuple[str, str] | None:
    """(family, channel) of an MCR servercore/nanoserver reference by a channel tag without digest, else None."""
    try:
        ref = parse_reference(reference)
    except InvalidReference:
        return None
    if not isinstance(ref, ImageReference) or ref.registry != "mcr.microsoft.com" or ref.digest:
        return None
    family = family_of_image(ref.repository)
    tag = (ref.tag or "latest").lower().removesuffix("-amd64")
    channel = next((c for c, tags in CHANNEL_TAGS.items() if tag in tags), None)
    return (family, channel) if family and channel else None


def at_node_revision(entries: Sequence[BakedImage], node: NodeRevision) -> list[BakedImage]:
    """*entries* with floating base tags declared at the node's revision (when it is known and of that build)."""
    if node.basis not in ("node-os", "ami-date"):
        return list(entries)
    out = []
    for entry in entries:
        floating = _floating_base(entry.reference) if entry.os_version is None and entry.month is None else None
        revision = node.revision_of(floating[0]) if floating else None
        if floating and revision and BUILD_CHANNELS.get(build_of(revision) or -1) == floating[1]:
            why = f"revision {revision} from the node ({node.basis})"
            source = f"{entry.source}; {why}" if entry.source else why
            entry = replace(entry, os_version=revision, source=source, resolve=False)
        out.append(entry)
    return out


def default_bases(node: NodeRevision) -> list[BakedImage]:
    """The bases an EKS/ECS Windows AMI caches (servercore and nanoserver of its channel), for --ami/--nodes alone."""
    channel = BUILD_CHANNELS.get(build_of(node.os_version) or -1)
    if channel is None:
        return []
    nano = "1809" if channel == "ltsc2019" else channel
    return [
        BakedImage(f"{FAMILY_IMAGES['servercore']}:{channel}", source=f"the node's AMI ({node.basis})"),
        BakedImage(f"{FAMILY_IMAGES['nanoserver']}:{nano}", source=f"the node's AMI ({node.basis})"),
    ]


def settle(node: NodeRevision, baked: BakedSet) -> NodeRevision:
    """*node* with the strongest basis the baked set gives: a resolved base (`resolved`), else a declared one."""
    resolved = [b for b in baked.bases if b.match != "declared" and b.os_version]
    if resolved:
        core = next((b for b in resolved if b.family == "servercore"), resolved[0])
        return replace(node, os_version=core.os_version, alternatives=(), basis="resolved")
    if node.basis == "unknown":
        declared = [b for b in baked.bases if b.match == "declared" and b.os_version]
        if declared:
            core = next((b for b in declared if b.family == "servercore"), declared[0])
            return replace(node, os_version=core.os_version, basis="declared")
    return node
