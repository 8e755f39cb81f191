"""Synthetic analysed images for the report unit tests (no I/O): layers by hand, cached flags as given."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from layerscope.basematch import BaseDrift, BaseMatch
from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Platform
from layerscope.plan.chain import chain_ids
from layerscope.plan.planned import PlannedImage
from layerscope.results import ImageResult, LayerResult

WINDOWS = Platform("windows", "amd64", os_version="10.0.17763.3406")


def digest(n: int | str) -> str:
    """A well-formed sha256 digest from a number or a short name."""
    text = f"{n:064x}" if isinstance(n, int) else (n.encode().hex() * 64)[:64]
    return "sha256:" + text


def layer_spec(
    name: str, compressed: int, extracted: int | None, *, base: bool = False, foreign: bool = False
) -> tuple[str, int, int | None, bool, bool]:
    """(name, compressed, extracted, base, foreign) — a layer's blob is identified by its name."""
    return (name, compressed, extracted, base, foreign)


def image(
    reference: str,
    layers: Sequence[tuple[str, int, int | None, bool, bool]],
    *,
    cached: Sequence[bool | None] | None = None,
    platform: Platform = WINDOWS,
    base_month: str | None = None,
    drift: BaseDrift | None = None,
    warnings: tuple[str, ...] = (),
) -> PlannedImage:
    """A planned ImageResult whose layer *i* has digest/diff_id derived from its name and chain IDs from its parents."""
    diff_ids = [digest("diff-" + name) for name, *_ in layers]
    chains = chain_ids(diff_ids)
    results = []
    for i, ((name, compressed, extracted, base, foreign), chain) in enumerate(zip(layers, chains, strict=True)):
        source = SizeSource.ESTIMATED if foreign else SizeSource.MEASURED
        m = LayerMeasurement(
            digest=digest(name),
            compressed_bytes=compressed,
            size_source=source,
            diff_id=diff_ids[i],
            uncompressed_bytes=None if foreign else (extracted or 0) + 1024,
            extracted_bytes=extracted,
            files=None if foreign else 3,
        )
        results.append(
            LayerResult(
                index=i,
                digest=digest(name),
                media_type="application/vnd.docker.image.rootfs.diff.tar.gzip",
                foreign=foreign,
                diff_id=diff_ids[i],
                chain_id=chain,
                measurement=m,
                base=base,
            )
        )
    base_layers = sum(1 for spec in layers if spec[3])
    match = None
    if base_layers:
        match = BaseMatch(
            image="mcr.microsoft.com/windows/servercore",
            family="servercore",
            channel="ltsc2019",
            os_version=platform.os_version,
            month=base_month,
            layer_count=base_layers,
            match="digest",
            layers=(None,) * base_layers,
            evidence=("digest",) * base_layers,
        )
    analysed = ImageResult(
        reference=reference,
        index_digest=None,
        digest=digest("manifest-" + reference),
        media_type="application/vnd.docker.distribution.manifest.v2+json",
        platform=platform,
        config_digest=digest("config-" + reference),
        layers=tuple(results),
        base=match,
    )
    return PlannedImage(analysed, cached=tuple(cached or ()), drift=drift, warnings=warnings)


class _TableReader(HTMLParser):
    """Rows of one table: each row's attributes plus `data-field` → `data-sort` of its cells."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.inside = False
        self.rows: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self.inside = a.get("id") == self.table_id
        elif self.inside and tag == "tr" and "data-reference" in a:
            self.rows.append({"@" + k: v for k, v in a.items()})
        elif self.inside and tag == "td" and "data-field" in a and self.rows:
            self.rows[-1][a["data-field"]] = a["data-sort"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False


def html_table(html: str, table_id: str) -> list[dict[str, str]]:
    """The `data-field` cells of each `data-reference` row of table *table_id* (row attributes under `@name`)."""
    reader = _TableReader(table_id)
    reader.feed(html)
    return reader.rows


def number(text: str) -> int | None:
    """A `data-sort` value back to an int (-1 marks unknown)."""
    value = int(float(text))
    return None if value == -1 else value


def many_images(n: int, seed: int = 17) -> tuple[list[PlannedImage], dict[str, float]]:
    """*n* images in repositories of 1-8 tags on a shared Server Core base (some with a shared runtime layer), a
    few Linux ones, long registry names; and their weights (launches per day). For the fleet-scale page tests."""
    import random

    rng = random.Random(seed)
    images: list[PlannedImage] = []
    weights: dict[str, float] = {}
    repo = 0
    while len(images) < n:
        repo += 1
        linux = rng.random() < 0.08
        weight = float(rng.choice([1, 2, 5, 10, 40]))
        runtime = rng.randrange(3)
        for tag in range(rng.randint(1, 8)):
            if len(images) >= n:
                break
            ref = f"registry.internal.example.com/platform-team-{repo % 13}/service-{repo:04d}-api:2.{tag}.0"
            app = rng.randint(5, 400) * 10**6
            specs = [
                layer_spec("base-rtm", 1_900_000_000, 4_800_000_000, base=True, foreign=True),
                layer_spec("base-update", 700_000_000, 1_600_000_000, base=True, foreign=True),
                layer_spec(f"runtime-{runtime}", 150_000_000, 400_000_000),
                layer_spec(f"app-{repo}-{tag}", app, app * 3),
            ]
            if linux:
                specs = [layer_spec("alpine", 3_000_000, 8_000_000), layer_spec(f"app-{repo}-{tag}", app, app * 2)]
            platform = Platform("linux", "amd64") if linux else WINDOWS
            images.append(image(ref, specs, cached=[False] * len(specs), platform=platform))
            weights[ref] = weight
    return images, weights


def page_probe(browser: str, page: Path, *, width: int = 1400, height: int = 1000) -> dict[str, Any]:
    """What a page's probe script (run after the page's own) wrote on `<body data-probe='{json}'>`, in Chromium.

    The page must load without a console error and its scripts must have run to their end (`data-ready`).
    """
    from scripts import chromium

    dom, stderr = chromium.dump_dom(browser, page, width=width, height=height)
    assert chromium.console_errors(stderr) == []
    html_tag = re.search(r"<html[^>]*>", dom)
    assert html_tag is not None and 'data-ready="1"' in html_tag.group(0)
    assert "data-js-errors" not in html_tag.group(0)
    found = re.search(r"data-probe=\"([^\"]*)\"", dom)
    assert found is not None, dom[-2000:]
    probe: dict[str, Any] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return probe
