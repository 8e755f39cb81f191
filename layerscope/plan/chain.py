"""OCI chain IDs and cache hits by chain: a node holds layer n only if it holds the whole chain 0..n.

OCI image-spec config.md, "Layer ChainID": ChainID(L0) = DiffID(L0) and
ChainID(L0|...|Ln) = Digest(ChainID(L0|...|Ln-1) + " " + DiffID(Ln)). containerd names snapshots by chain
ID and Docker's layer store is keyed by it, so the same diff_id at another position (on another parent)
is a different layer on disk and never a cache hit. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Sequence

from layerscope.digest import parse_digest

__all__ = ["baked_chain_ids", "cached_layers", "chain_ids"]


def chain_ids(diff_ids: Sequence[str]) -> list[str]:
    """The chain ID of each prefix of *diff_ids* (validated digests), in layer order."""
    out: list[str] = []
    for i, diff_id in enumerate(diff_ids):
        parse_digest(diff_id, what=f"diff_id {i}")
        if not out:
            out.append(diff_id)
            continue
        # The spec's Digest() uses the image's digest algorithm; every image config in practice is sha256.
        text = f"{out[-1]} {diff_id}".encode("ascii")
        out.append("sha256:" + hashlib.sha256(text).hexdigest())
    return out


def baked_chain_ids(images: Iterable[Sequence[str]]) -> set[str]:
    """Every chain ID the node holds, given the diff_ids of each baked image."""
    held: set[str] = set()
    for diff_ids in images:
        held.update(chain_ids(diff_ids))
    return held


def cached_layers(chain_ids: Sequence[str], baked_chain_ids: Collection[str]) -> list[bool]:
    """Per layer: True when the node holds its chain and every chain below it."""
    out: list[bool] = []
    whole_chain = True
    for chain_id in chain_ids:
        # A chain ID already commits to all lower layers; requiring every prefix as well keeps a baked set
        # that lists only some chain IDs from counting a layer whose parents are missing.
        whole_chain = whole_chain and chain_id in baked_chain_ids
        out.append(whole_chain)
    return out
