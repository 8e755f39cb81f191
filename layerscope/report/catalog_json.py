"""`catalog list|show|refresh -o json`: the JSON documents of the Windows base catalog commands.

Schemas `layerscope.catalog.list/v1`, `layerscope.catalog.show/v1` and `layerscope.catalog.refresh/v1`,
documented in docs/cli-catalog-profile-diff.md; the table renderers in report/catalog_table.py read the
same documents.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from layerscope.basematch import BaseLayer
from layerscope.catalog.browse import CatalogView, Selection, catalog_bases, extracted_figure
from layerscope.catalog.model import FAMILY_IMAGES, BaseRevision, IndexPin
from layerscope.catalog.refresh import RefreshResult

__all__ = [
    "LIST_SCHEMA",
    "REFRESH_SCHEMA",
    "SHOW_SCHEMA",
    "dump",
    "layer_detail",
    "list_document",
    "refresh_document",
    "show_document",
]

LIST_SCHEMA = "layerscope.catalog.list/v1"
SHOW_SCHEMA = "layerscope.catalog.show/v1"
REFRESH_SCHEMA = "layerscope.catalog.refresh/v1"


def dump(doc: dict[str, Any]) -> str:
    """A document as the commands print it (indented JSON and a newline)."""
    return json.dumps(doc, indent=2) + "\n"


def _evidence(layer: BaseLayer) -> list[str]:
    """What an image's layer can be matched by with this row (DESIGN.md "base layers")."""
    return [name for name, value in (("digest", layer.digest), ("diff_id", layer.diff_id)) if value]


def _layer_summary(view: CatalogView, layer: BaseLayer) -> dict[str, Any]:
    return {
        "role": layer.role,
        "digest": layer.digest,
        "diff_id": layer.diff_id,
        "compressed_bytes": layer.compressed_bytes,
        "media_kind": layer.media_kind,
        "os_version": layer.os_version,
        "month": layer.month,
        "evidence": _evidence(layer),
        "registry_copy": layer.registry_copy,
        "provenance_verified": layer.provenance_verified,
        "origin": view.origin(layer),
    }


def layer_detail(view: CatalogView, layer: BaseLayer) -> dict[str, Any]:
    """Every field of a catalog layer, with the extracted size and where that figure comes from."""
    extracted, size_source, basis = extracted_figure(view.catalog, layer)
    return {
        **_layer_summary(view, layer),
        "family": layer.family,
        "channel": layer.channel,
        "build": layer.build,
        "history_label": layer.history_label,
        "extracted_bytes": extracted,
        "extracted_source": str(size_source),
        "extracted_basis": basis,
        "source": layer.source,
        "diff_id_source": layer.diff_id_source,
    }


def _pin(view: CatalogView, pin: IndexPin) -> dict[str, Any]:
    return {
        "repository": pin.repository,
        "tag": pin.tag,
        "index_digest": pin.index_digest,
        "date": pin.date,
        "os_version": pin.os_version,
        "os_version_source": pin.os_version_source,
        "source": pin.source,
        "origin": view.pin_origin(pin),
    }


def _revision(view: CatalogView, rev: BaseRevision, *, detail: bool) -> dict[str, Any]:
    layers = [layer_detail(view, x) if detail else _layer_summary(view, x) for x in rev.layers]
    return {
        "family": rev.family,
        "channel": rev.channel or None,
        "image": FAMILY_IMAGES[rev.family],
        "month": rev.month,
        "os_version": rev.os_version,
        "compressed_bytes": _total([x.compressed_bytes for x in rev.layers]) if rev.layers else None,
        "layers": layers,
        "pins": [_pin(view, p) if detail else {"tag": p.tag, "index_digest": p.index_digest, "date": p.date}
                 for p in rev.pins],
    }  # fmt: skip


def _total(values: Sequence[int | None]) -> int | None:
    """Sum, or None when a part is unknown (never a partial sum)."""
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


def list_document(view: CatalogView) -> dict[str, Any]:
    """`catalog list -o json`: every base (family, channel) with its revisions, oldest first."""
    bases = [
        {
            "name": base.name,
            "family": base.family,
            "channel": base.channel,
            "image": FAMILY_IMAGES[base.family],
            "layers": sum(len(r.layers) for r in base.revisions),
            "revisions": [_revision(view, r, detail=False) for r in base.revisions],
        }
        for base in catalog_bases(view.catalog)
    ]
    return {
        "schema": LIST_SCHEMA,
        "user_catalog": view.user_path,
        "layers": len(view.catalog.layers),
        "pins": len(view.catalog.pins),
        "bases": bases,
    }


def show_document(view: CatalogView, selection: Selection) -> dict[str, Any]:
    """`catalog show NAME -o json`."""
    return {
        "schema": SHOW_SCHEMA,
        "name": selection.name,
        "kind": selection.kind,
        "user_catalog": view.user_path,
        "matched": [{"what": f.what, "digest": f.digest} for f in selection.matched],
        "revisions": [_revision(view, r, detail=True) for r in selection.revisions],
    }


def refresh_document(result: RefreshResult, saved_to: str | None) -> dict[str, Any]:
    """`catalog refresh -o json`: what a refresh read and added, and where it was saved (None: --dry-run)."""
    return {
        "schema": REFRESH_SCHEMA,
        "registry": result.registry,
        "endpoint": result.endpoint,
        "date": result.day,
        "repositories": list(result.repositories),
        "tags_listed": result.tags_listed,
        "tags_selected": result.tags_selected,
        "images": [
            {
                "repository": i.repository,
                "tags": list(i.tags),
                "digest": i.manifest_digest,
                "config_digest": i.config_digest,
                "family": i.family,
                "channel": i.channel,
                "os_version": i.os_version,
                "month": i.month,
                "layers": [
                    {
                        "role": row.role,
                        "digest": row.digest,
                        "diff_id": row.diff_id,
                        "compressed_bytes": row.compressed_bytes,
                        "media_kind": row.media_kind,
                        "history_label": row.history_label,
                    }
                    for row in i.layers
                ],
            }
            for i in result.images
        ],
        "added": list(result.added),
        "filled": list(result.filled),
        "unchanged": list(result.unchanged),
        "new_diff_ids": result.new_diff_ids,
        "new_pins": result.new_pins,
        "skipped": [{"repository": s.repository, "tag": s.tag, "reason": s.reason} for s in result.skipped],
        "saved_to": saved_to,
    }
