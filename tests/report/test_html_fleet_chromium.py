"""The HTML report at 10 and 1,000 images in headless Chromium (issue #17 item 5): the page stays a few screens
tall, no label is clipped at its start, paging, filtering, sorting and expanding work, no console error.

Needs the `chromium` binary, like tests/report/test_html_chromium.py (skipped without it locally, failed in CI).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from layerscope.plan.launch import LaunchParameters
from layerscope.plan.profile_files import load_profile
from layerscope.report.fleet_html import render_html
from layerscope.report.model import build_report
from tests.report.helpers import many_images, page_probe
from tests.report.test_html_chromium import browser  # noqa: F401  (the fixture)

PROFILE = load_profile("eks-ws2019-core")
WIDTH, SCREEN = 1400, 1000
MAX_SCREENS = 15

# Runs after the page's own scripts; writes what it saw on <body data-probe='{json}'>.
PROBE = """<script>(function(){
var out={};
function visible(t){return Array.prototype.filter.call(document.getElementById(t).tBodies[0].rows,
  function(r){return !r.hidden;});}
out.height=document.documentElement.scrollHeight;
out.images=document.getElementById("images-table").tBodies[0].rows.length;
out.shownBefore=visible("images-table").length;
/* no label clipped at its start: every chart label starts inside the drawing, every cut name keeps its start */
out.clipped=[];
function keepsStart(shown,full){var head=shown.split("\\u2026")[0];return head.length>0&&full.indexOf(head)===0;}
Array.prototype.forEach.call(document.querySelectorAll("svg.chart text.label"),function(t){
  var title=t.querySelector("title");if(!title)return;  /* legend and chart titles are never shortened */
  var full=title.textContent,shown=t.lastChild.textContent;
  if(t.getBBox().x<0||!keepsStart(shown,full))out.clipped.push(full);});
Array.prototype.forEach.call(document.querySelectorAll(".name[title]"),function(s){
  var full=s.getAttribute("title");
  if(!keepsStart(s.textContent,full)||s.getBoundingClientRect().left<0)out.clipped.push(full);});
/* filtering */
var box=document.querySelector("#images .pager input");
box.value="service-0003-api:";box.dispatchEvent(new Event("input"));
out.filtered=visible("images-table").map(function(r){return r.getAttribute("data-reference");});
box.value="";box.dispatchEvent(new Event("input"));
/* paging */
var next=document.querySelectorAll("#images .pager button")[1];
var first=visible("images-table")[0].getAttribute("data-reference");next.click();
var page2=visible("images-table");out.page2=page2.length;out.page2Differs=page2.length===0||
  page2[0].getAttribute("data-reference")!==first;
document.querySelectorAll("#images .pager button")[0].click();
/* sorting: ascending by compressed size, over every row, the first page shows the smallest */
var th=Array.prototype.find.call(document.getElementById("images-table").tHead.rows[0].cells,
  function(c){return c.textContent==="compressed";});
th.click();
var all=Array.prototype.map.call(document.getElementById("images-table").tBodies[0].rows,function(r){
  return +r.querySelector('[data-field="compressed_bytes"]').getAttribute("data-sort");});
out.sorted=all.every(function(v,i){return i===0||all[i-1]<=v;});
out.firstShown=+visible("images-table")[0].querySelector('[data-field="compressed_bytes"]').getAttribute("data-sort");
out.smallest=Math.min.apply(null,all);
/* expanding a repository shows its tags */
var repo=document.querySelector("#repos-table tr.group");
var details=0,n=repo.nextElementSibling;while(n&&n.classList.contains("detail")){if(!n.hidden)details++;
  n=n.nextElementSibling;}
out.detailsBefore=details;repo.querySelector("button.expand").click();
details=0;n=repo.nextElementSibling;var total=0;while(n&&n.classList.contains("detail")){total++;if(!n.hidden)details++;
  n=n.nextElementSibling;}
out.detailsAfter=details;out.detailsTotal=total;
document.body.setAttribute("data-probe",JSON.stringify(out));})();</script></body>"""


def _page(n: int, tmp_path: Path) -> Path:
    images, weights = many_images(n)
    params = LaunchParameters.from_profile(PROFILE)
    report = build_report(images, profile=PROFILE, launch=params, launch_profile=PROFILE.name, weights=weights)
    page = tmp_path / f"fleet-{n}.html"
    page.write_text(render_html(report).replace("</body>", PROBE), encoding="utf-8")
    return page


@pytest.mark.parametrize("n", [10, 1000])
def test_the_page_at_fleet_scale(browser: str, n: int, tmp_path: Path) -> None:  # noqa: F811
    page = _page(n, tmp_path)
    probe = page_probe(browser, page, width=WIDTH, height=SCREEN)
    assert probe["images"] == n
    assert probe["height"] <= MAX_SCREENS * SCREEN, probe["height"]  # before any expansion
    assert probe["clipped"] == []
    assert probe["shownBefore"] == min(n, 20)
    assert probe["filtered"] and all(":" in r and "service-0003-api:" in r for r in probe["filtered"])
    if n > 20:
        assert probe["page2"] > 0 and probe["page2Differs"]
    assert probe["sorted"] and probe["firstShown"] == probe["smallest"]
    assert probe["detailsBefore"] == 0 and probe["detailsAfter"] == probe["detailsTotal"] > 0
