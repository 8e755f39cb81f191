"""Where the bytes are, in the HTML report in headless Chromium (issue #15 item 6): each image's treemap and waste
table, once expanded, match the `contents` of `report -o json`; an image without a file index says "unknown".

Needs the `chromium` binary, like tests/report/test_html_chromium.py (skipped without it locally, failed in CI).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from layerscope.report.svg_treemap import HEIGHT, WIDTH
from scripts import fixturegen
from tests.integration.conftest import Run
from tests.report.helpers import page_probe
from tests.report.test_html_chromium import browser  # noqa: F401  (the fixture)
from tests.support.images import simple_image, write_image_layout
from tests.test_contents import linux_entries

# Runs after the page's own scripts: records what is visible before, expands every image by clicking its summary,
# then reads each image's treemap tiles (as laid out by the browser), labels and waste rows.
PROBE = """<script>(function(){
var out={images:{}};
function shown(e){var r=e.getBoundingClientRect();return r.width>0&&r.height>0;}
var ids=Array.prototype.map.call(document.querySelectorAll("[id]"),function(e){return e.id;});
out.duplicateIds=ids.filter(function(id,i){return ids.indexOf(id)!==i;});
out.visibleBefore=Array.prototype.filter.call(document.querySelectorAll("svg.treemap"),function(s){
  return s.checkVisibility();}).length;
document.querySelector("#layers > details > summary").click();
Array.prototype.forEach.call(document.querySelectorAll("details.image"),function(d){
  d.querySelector("summary").click();
  var img={open:d.open,tiles:[],labels:[],waste:[],text:d.textContent};
  var svg=d.querySelector("svg.treemap");img.svgShown=svg?svg.checkVisibility()&&shown(svg):false;
  Array.prototype.forEach.call(d.querySelectorAll("svg.treemap rect.tile"),function(r){var b=r.getBBox();
    img.tiles.push({kind:r.getAttribute("data-kind"),path:r.getAttribute("data-path"),
      bytes:+r.getAttribute("data-bytes"),x:b.x,y:b.y,w:b.width,h:b.height,
      title:r.querySelector("title").textContent});});
  Array.prototype.forEach.call(d.querySelectorAll("svg.treemap text.tm"),function(t){var b=t.getBBox();
    img.labels.push({full:t.querySelector("title").textContent,shown:t.lastChild.textContent,x:b.x,w:b.width});});
  Array.prototype.forEach.call(d.querySelectorAll("table[id^=waste] tbody tr"),function(tr){
    img.waste.push({path:tr.cells[0].getAttribute("title"),shown:tr.cells[0].textContent,
      layers:tr.cells[1].textContent,bytes:+tr.cells[2].getAttribute("data-sort")});});
  out.images[d.getAttribute("data-reference")]=img;});
document.body.setAttribute("data-probe",JSON.stringify(out));})();</script></body>"""


@pytest.fixture
def refs(fixture_layout: Path, tmp_path: Path) -> list[str]:
    """A Linux image with overwrites and whiteouts, a Windows app on foreign base layers, a base with no index."""
    linux = write_image_layout(
        tmp_path / "layout", "contents", simple_image([fixturegen.make_layer(e) for e in linux_entries()])
    )
    return [
        linux,
        f"oci:{fixture_layout}:windows-app",
        f"oci:{fixture_layout}:servercore-ltsc2019-2022-05",
    ]


def _inside(a: dict[str, float], b: dict[str, float], eps: float = 0.11) -> bool:
    return (
        a["x"] >= b["x"] - eps
        and a["y"] >= b["y"] - eps
        and a["x"] + a["w"] <= b["x"] + b["w"] + eps
        and a["y"] + a["h"] <= b["y"] + b["h"] + eps
    )


def _check_treemap(img: dict[str, Any], contents: dict[str, Any]) -> None:
    tiles = img["tiles"]
    dirs = {t["path"]: t for t in tiles if t["kind"] == "dir"}
    assert {p: t["bytes"] for p, t in dirs.items()} == {d["path"]: d["bytes"] for d in contents["largest_dirs"]}
    for d in contents["largest_dirs"]:
        assert dirs[d["path"]]["title"].endswith(f", {d['files']} files")
    box = {"x": 0.0, "y": 0.0, "w": WIDTH, "h": HEIGHT}
    for t in tiles:
        assert _inside(t, box)
        # The share of the chart is the share of the image's bytes, within the one-decimal rounding of x, y, w, h.
        slack = 0.1 * (t["w"] + t["h"]) + 0.01
        assert abs(t["w"] * t["h"] - t["bytes"] / contents["bytes"] * WIDTH * HEIGHT) <= slack, t
        for p, parent in dirs.items():  # nested directories lie in their parent
            if t["path"].startswith(p + "/") or (t["kind"] == "rest" and t["path"] == p):
                assert _inside(t, parent), (t, parent)

    def holds(t: dict[str, Any]) -> bool:
        """A directory with tiles drawn inside it."""
        p = t["path"]
        return t["kind"] == "dir" and any(
            u["path"].startswith(p + "/") or u == {**u, "kind": "rest", "path": p} for u in tiles
        )

    leaves = [t for t in tiles if not holds(t)]  # together they tile the chart
    for a, b in itertools.combinations(leaves, 2):
        overlap_w = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
        overlap_h = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
        assert max(overlap_w, 0) * max(overlap_h, 0) <= 0.1 * (a["w"] + b["w"] + a["h"] + b["h"]), (a, b)
    assert sum(t["w"] * t["h"] for t in leaves) == pytest.approx(WIDTH * HEIGHT, rel=1e-3)
    # Labels: cut in the middle (the start kept), the full name on hover, drawn inside their tile.
    assert img["labels"]
    for label in img["labels"]:
        assert label["full"].startswith(label["shown"].split("…")[0]) and label["x"] >= 0
        (tile,) = [t for t in tiles if t["title"].startswith(label["full"] + ": ")]
        assert tile["x"] <= label["x"] and label["x"] + label["w"] <= tile["x"] + tile["w"], (label, tile)


def test_treemap_and_waste_table_match_the_json_contents(
    browser: str,  # noqa: F811
    refs: list[str],
    layerscope: Callable[..., Run],
    tmp_path: Path,
) -> None:
    as_json = layerscope("report", *refs, "-o", "json", "--no-progress")
    assert as_json.exit_code == 0, as_json.stderr
    contents = {i["reference"]: i["contents"] for i in as_json.json()["images"]}
    assert contents[refs[0]]["wasted"] and contents[refs[1]]["windows"] and contents[refs[2]] is None
    page = tmp_path / "report.html"
    as_html = layerscope("report", *refs, "-o", "html", "--output", str(page), "--no-progress")
    assert as_html.exit_code == 0, as_html.stderr
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE), encoding="utf-8")
    probe = page_probe(browser, probe_page)
    assert probe["duplicateIds"] == []
    assert probe["visibleBefore"] == 0  # collapsed: the page height before any expansion is unchanged
    assert set(probe["images"]) == set(refs)
    for ref in refs[:2]:
        img, c = probe["images"][ref], contents[ref]
        assert img["open"] and img["svgShown"]
        _check_treemap(img, c)
        expected = [
            {"path": w["path"], "layers": ", ".join(map(str, w["layers"])), "bytes": w["bytes"]} for w in c["wasted"]
        ]
        assert [{k: w[k] for k in ("path", "layers", "bytes")} for w in img["waste"]] == expected
        assert all(w["shown"] == w["path"] for w in img["waste"])  # short paths are not cut
    unknown = probe["images"][refs[2]]
    assert unknown["open"] and not unknown["tiles"] and not unknown["waste"]
    assert "Contents: unknown (no file index)" in unknown["text"]
