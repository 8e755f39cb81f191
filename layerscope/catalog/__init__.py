"""Windows base-image catalog: known base layers with provenance, matching, drift, isolation checks.

The data ships under data/ (built from ../shared/reference by scripts/build_catalog.py; see data/README.md)
and is read once per process; `load()` adds the user's catalog ($XDG_DATA_HOME/layerscope/catalog.json).
"""

from __future__ import annotations

from layerscope.basematch import BaseDrift, BaseLayer, BaseMatch
from layerscope.catalog.drift import detect_drift, suggest_rebuild
from layerscope.catalog.isolation import isolation_compatible
from layerscope.catalog.load import default_user_path, load, load_shipped, save_user_entries
from layerscope.catalog.match import base_measurements, declared_base, match_base, parse_history_label
from layerscope.catalog.model import (
    BUILD_CHANNELS,
    CHANNEL_BUILDS,
    CHANNEL_TAGS,
    FAMILY_IMAGES,
    BaseConfig,
    BaseImageSize,
    BaseRevision,
    Catalog,
    ExtractedEstimate,
    IndexPin,
    build_of,
    channel_of,
    family_of_image,
)

__all__ = [
    "BUILD_CHANNELS",
    "CHANNEL_BUILDS",
    "CHANNEL_TAGS",
    "FAMILY_IMAGES",
    "BaseConfig",
    "BaseDrift",
    "BaseImageSize",
    "BaseLayer",
    "BaseMatch",
    "BaseRevision",
    "Catalog",
    "ExtractedEstimate",
    "IndexPin",
    "base_measurements",
    "build_of",
    "channel_of",
    "declared_base",
    "default_user_path",
    "detect_drift",
    "family_of_image",
    "isolation_compatible",
    "load",
    "load_shipped",
    "match_base",
    "parse_history_label",
    "save_user_entries",
    "suggest_rebuild",
]
