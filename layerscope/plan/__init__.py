"""Planning what a node pulls at launch: node profiles, baked sets and cache hits by chain ID."""

from __future__ import annotations

from layerscope.plan.chain import baked_chain_ids, cached_layers, chain_ids
from layerscope.plan.profile import (
    BakedImage,
    NodeProfile,
    list_profiles,
    load_baked,
    load_profile,
    profile_from_mapping,
    simple_pull_seconds,
)

__all__ = [
    "BakedImage",
    "NodeProfile",
    "baked_chain_ids",
    "cached_layers",
    "chain_ids",
    "list_profiles",
    "load_baked",
    "load_profile",
    "profile_from_mapping",
    "simple_pull_seconds",
]
