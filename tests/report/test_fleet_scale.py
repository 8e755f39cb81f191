"""Markdown and CSV at fleet scale (issue #17 item 4): grouped by repository, the PR comment stays short."""

from __future__ import annotations

import csv
import io
import random

from layerscope.plan.launch import LaunchParameters
from layerscope.plan.profile_files import load_profile
from layerscope.report.fleet_csv import render_csv
from layerscope.report.fleet_groups import TOP_N, repository_of
from layerscope.report.fleet_markdown import render_markdown
from layerscope.report.model import Report, build_report
from tests.report.helpers import many_images

PROFILE = load_profile("eks-ws2019-core")


def _report(n: int, shuffle: bool = False) -> Report:
    images, weights = many_images(n)
    if shuffle:  # tags of one repository apart in the input
        random.Random(n).shuffle(images)
    params = LaunchParameters.from_profile(PROFILE)
    return build_report(images, profile=PROFILE, launch=params, launch_profile=PROFILE.name, weights=weights)


def test_markdown_lists_the_top_images_and_how_many_more() -> None:
    report = _report(1000)
    text = render_markdown(report)
    assert len(text.splitlines()) < 150  # a PR comment, not 1,000 rows
    repos = {repository_of(i.reference) for i in report.images}
    assert f"### Repositories ({len(repos)})" in text
    assert f"…and {len(repos) - TOP_N} more repositories" in text
    assert f"…and {1000 - TOP_N} more images" in text
    top = text.split("### Top 20 images", 1)[1].split("…and", 1)[0]
    rows = [line for line in top.splitlines() if line.startswith("| `")]
    assert len(rows) == TOP_N
    # They are the images of largest bytes × launches, computed here from the model.
    ranked = sorted((i for i in report.images if i.applicable), key=lambda i: -i.weight * i.pull_with_bake_bytes)
    assert [r.split("|")[1].strip().strip("`") for r in rows] == [i.name for i in ranked[:TOP_N]]


def test_markdown_of_a_small_fleet_lists_every_image() -> None:
    text = render_markdown(_report(10))
    assert "### Images" in text and "more images" not in text and "### Repositories" not in text


def test_csv_rows_come_grouped_by_repository() -> None:
    report = _report(300, shuffle=True)
    rows = list(csv.DictReader(io.StringIO(render_csv(report))))
    images = [r for r in rows if r["kind"] == "image"]
    assert len(images) == 300
    assert all(r["repository"] == repository_of(r["reference"]) for r in rows)
    runs = [r["repository"] for i, r in enumerate(rows) if i == 0 or rows[i - 1]["repository"] != r["repository"]]
    assert len(runs) == len(set(runs))  # each repository in one run of rows
    assert {r["applicable"] for r in images} == {"true", "false"}  # the Linux images a WS2019 node never runs


def test_html_lists_the_layers_of_the_costliest_images_only() -> None:
    from layerscope.report.fleet_html import LAYER_IMAGES, render_html

    report = _report(LAYER_IMAGES + 50)
    html = render_html(report)
    layers = html[html.index('<section id="layers">') :]
    assert layers.count('<table id="layers-') == LAYER_IMAGES
    assert f"the layers of the other {len(report.images) - LAYER_IMAGES} are in the CSV and JSON" in layers
    # The shared base layer is held by every Windows image: its holder list names 100 and counts the rest.
    shared = html[html.index('<section id="shared">') : html.index('<section id="warnings">')]
    holders = max(len(s.references) for s in report.fleet.shared_layers)
    assert f"…and {holders - 100} more (all in the JSON)" in shared
