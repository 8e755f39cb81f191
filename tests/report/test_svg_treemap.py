"""report/svg_treemap.py: the squarified layout (areas proportional to the values, inside the box, no overlap),
nesting by path, and the SVG read back as XML."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.report.contents_html import contents_html
from layerscope.report.svg_treemap import Rect, squarify, treemap_svg, treemap_tiles
from layerscope.results import DirSize, ImageContents, WastedFile

EPS = 1e-6


def _overlap(a: Rect, b: Rect) -> float:
    w = min(a.x + a.w, b.x + b.w) - max(a.x, b.x)
    h = min(a.y + a.h, b.y + b.h) - max(a.y, b.y)
    return max(w, 0.0) * max(h, 0.0)


def _check_tiling(values: list[float], box: Rect, rects: list[Rect]) -> None:
    assert len(rects) == len(values)
    total = sum(values)
    for v, r in zip(values, rects, strict=True):
        assert r.w >= 0 and r.h >= 0
        expected = v / total * box.w * box.h if total > 0 else 0.0
        assert r.w * r.h == pytest.approx(expected, rel=1e-6, abs=1e-6)
        if r.w * r.h > 0:
            assert r.x >= box.x - EPS and r.y >= box.y - EPS
            assert r.x + r.w <= box.x + box.w + EPS and r.y + r.h <= box.y + box.h + EPS
    for a, b in itertools.combinations(rects, 2):
        assert _overlap(a, b) <= EPS * box.w * box.h


@given(
    values=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=40),
    w=st.floats(min_value=1, max_value=2000),
    h=st.floats(min_value=1, max_value=2000),
    x=st.floats(min_value=-500, max_value=500),
    y=st.floats(min_value=-500, max_value=500),
)
def test_squarify_tiles_the_box_in_proportion(values: list[int], w: float, h: float, x: float, y: float) -> None:
    box = Rect(x, y, w, h)
    floats = [float(v) for v in values]
    rects = squarify(floats, box)
    _check_tiling(floats, box, rects)
    if sum(values) > 0:  # together they cover the whole box
        assert sum(r.w * r.h for r in rects) == pytest.approx(w * h, rel=1e-6)


def test_squarify_makes_squarish_tiles_and_refuses_bad_values() -> None:
    rects = squarify([6, 6, 4, 3, 2, 2, 1], Rect(0, 0, 6, 4))  # the example of Bruls et al.
    assert max(max(r.w / r.h, r.h / r.w) for r in rects) < 3  # a slice-and-dice layout would reach 24
    with pytest.raises(ValueError):
        squarify([1.0, -1.0], Rect(0, 0, 1, 1))
    with pytest.raises(ValueError):
        squarify([float("nan")], Rect(0, 0, 1, 1))


@st.composite
def _dirs(draw: st.DrawFn) -> tuple[list[tuple[str, int, int]], int]:
    """Directories of a random tree with consistent sizes (a parent holds at least its listed children)."""
    names = draw(st.lists(st.sampled_from(["a", "b", "c", "a/x", "a/y", "a/x/1", "b/z", "c/q/r"]), unique=True))
    own = {n: draw(st.integers(min_value=0, max_value=10**9)) for n in names}
    sizes = {n: sum(v for m, v in own.items() if m == n or m.startswith(n + "/")) for n in names}
    loose = draw(st.integers(min_value=0, max_value=10**9))
    total = sum(v for v in own.values()) + loose
    return [(n, sizes[n], 1) for n in names], total


@given(_dirs())
def test_nested_tiles_are_proportional_to_bytes_and_inside_their_parent(case: tuple[list, int]) -> None:
    dirs, total = case
    box = Rect(0.0, 0.0, 960.0, 360.0)
    tiles = treemap_tiles(dirs, total, box)
    drawn = {t.path: t for t in tiles if t.kind == "dir"}
    assert set(drawn) == {p for p, _, _ in dirs}
    for t in tiles:  # every tile, nested or not, has the share of the chart its bytes have of the image
        expected = t.bytes / total * box.w * box.h if total else 0.0
        assert t.rect.w * t.rect.h == pytest.approx(expected, rel=1e-6, abs=1e-3)
    for t in tiles:  # a directory's tiles lie inside it
        for p, parent in drawn.items():
            if t.path.startswith(p + "/") or (t.kind == "rest" and t.path == p):
                r, q = t.rect, parent.rect
                assert r.x >= q.x - EPS and r.y >= q.y - EPS
                assert r.x + r.w <= q.x + q.w + EPS and r.y + r.h <= q.y + q.h + EPS
    leaves = [t.rect for t in tiles if t.leaf]  # the leaves tile the box without overlap
    for a, b in itertools.combinations(leaves, 2):
        assert _overlap(a, b) <= 1e-3
    if total:
        assert sum(r.w * r.h for r in leaves) == pytest.approx(box.w * box.h, rel=1e-6)


def test_svg_rects_labels_and_escaping() -> None:
    dirs = [
        ("usr", 600, 10),
        ("usr/lib/<a-very-long-directory-name-that-needs-cutting-in-the-middle-to-fit>", 400, 5),
        ("var", 200, 3),
    ]
    root = ET.fromstring(treemap_svg(dirs, 1000, chart_id="t1", title="Largest", fmt=lambda n: f"{n} B"))
    assert root.get("id") == "t1" and "treemap" in root.get("class", "")
    rects = {(r.get("data-kind"), r.get("data-path")): r for r in root.iter("rect")}
    assert set(rects) == {
        ("dir", "usr"),
        ("dir", dirs[1][0]),
        ("rest", "usr"),
        ("dir", "var"),
        ("other", ""),
    }
    assert rects[("rest", "usr")].get("data-bytes") == "200" and rects[("other", "")].get("data-bytes") == "200"
    usr = rects[("dir", "usr")]
    assert float(usr.get("width", 0)) * float(usr.get("height", 0)) == pytest.approx(960 * 360 * 0.6, rel=1e-3)
    assert rects[("dir", dirs[1][0])].find("title").text == f"{dirs[1][0]}/: 400 B, 5 files"  # type: ignore[union-attr]
    labels = [t for t in root.iter("text") if "tm" in t.get("class", "")]
    assert "usr/" not in [t.find("title").text for t in labels]  # type: ignore[union-attr]  # a parent: no label
    long = next(t for t in labels if t.find("title").text == dirs[1][0] + "/")  # type: ignore[union-attr]
    shown = long.find("title").tail or ""  # type: ignore[union-attr]
    assert "…" in shown and shown.startswith("usr/lib/<") and shown.endswith("to-fit>/")


def test_contents_block_without_and_with_an_index() -> None:
    assert "Contents: unknown (no file index)." in contents_html(None, "0", "img")
    c = ImageContents(
        efficiency=0.5,
        wasted_bytes=300,
        reclaimable_bytes=200,
        scope="indexed-layers",
        indexed_layers=(2, 3),
        final_files=2,
        final_bytes=1000,
        wasted=(WastedFile("etc/<a>.conf", (2, 3), 300),),
        largest_files=(),
        largest_dirs=(DirSize("etc", 900, 2),),
        layers=(None, None, None, None),
        windows=False,
    )
    html = contents_html(c, "7", "img")
    assert 'id="treemap-7"' in html and 'id="waste-7"' in html
    assert "over the layers with a file index (2, 3)" in html and "efficiency 50.00%" in html
    assert (
        '<td class="mono" title="etc/&lt;a&gt;.conf">etc/&lt;a&gt;.conf</td><td data-field="layers">2, 3</td>' in html
    )
    assert '<td class="num" data-sort="300" data-field="bytes">' in html
