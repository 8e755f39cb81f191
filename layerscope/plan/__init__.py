"""Planning what a node pulls at launch: node profiles, baked sets and cache hits by chain ID.

The file readers (`list_profiles`, `load_baked`, `load_profile`, plan/profile_files.py) load on first use, so
importing a pure planner module loads no YAML parser (tests/unit/test_import_rules.py checks it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from layerscope.plan.chain import baked_chain_ids, cached_layers, chain_ids
from layerscope.plan.profile import BakedImage, NodeProfile, profile_from_mapping, simple_pull_seconds

if TYPE_CHECKING:
    from layerscope.plan.profile_files import list_profiles, load_baked, load_profile

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


def __getattr__(name: str) -> Any:
    """`list_profiles`, `load_baked` and `load_profile`, loaded on first use (PEP 562)."""
    if name in ("list_profiles", "load_baked", "load_profile"):
        from layerscope.plan import profile_files

        return getattr(profile_files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names, the lazily loaded ones included."""
    return sorted({*globals(), *__all__})
