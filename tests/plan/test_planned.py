"""PlannedImage: the node's view of an analysed image (cache states, totals on that node)."""

from __future__ import annotations

import pytest

from layerscope.measurement import LayerMeasurement, SizeSource
from layerscope.oci import Platform
from layerscope.plan.planned import PlannedImage
from layerscope.results import ImageResult, LayerResult


def _image(*sizes: int) -> ImageResult:
    layers = tuple(
        LayerResult(
            i,
            f"sha256:{i:064x}",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            False,
            None,
            None,
            LayerMeasurement(digest=f"sha256:{i:064x}", compressed_bytes=n, size_source=SizeSource.MEASURED),
        )
        for i, n in enumerate(sizes)
    )
    return ImageResult("reg/app:1", None, "sha256:" + "9" * 64, "m", Platform("windows", "amd64"), "c", layers)


def test_no_baked_set_means_every_layer_unknown_and_pulled() -> None:
    planned = PlannedImage(_image(100, 20))
    assert planned.cached == (None, None)
    assert planned.totals == planned.image.totals
    assert planned.totals.pull_compressed_bytes == 120 and planned.totals.cache_hit_ratio is None


def test_totals_on_the_node_count_only_what_it_does_not_hold() -> None:
    planned = PlannedImage(_image(100, 20, 5), cached=(True, False, None))
    assert planned.totals.pull_compressed_bytes == 25  # unknown counts as pulled
    assert planned.totals.cache_hit_ratio is None  # one state unknown: no ratio
    held = PlannedImage(_image(100, 20), cached=(True, False))
    assert held.totals.cache_hit_ratio == pytest.approx(100 / 120)
    assert held.image.totals.pull_compressed_bytes == 120  # the analysis alone knows no node


def test_cache_states_must_match_the_layers() -> None:
    with pytest.raises(ValueError, match="3 cache states for 2 layers"):
        PlannedImage(_image(1, 2), cached=(True, True, False))
