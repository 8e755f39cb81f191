#!/usr/bin/env python3
"""Render the example fleet report: docs/report-example.html, and its screenshot docs/report-example.png.

Usage: .venv/bin/python scripts/screenshot_report.py [--scale N] [--out-dir docs] [--fleet 10 1000]

Builds the twelve-image fleet of scripts/report_fleet.py (app layers N times their test size, so that they show in
the charts next to the Server Core base) in a temporary directory, runs `layerscope report` on it offline against
the demo node profile (September 2022 base baked), and screenshots the result in headless Chromium. References read
`oci:fleet:TAG` and `oci:fixtures:TAG` because the layouts are linked under those names in the working directory.
Fails when Chromium is missing, when the page logs a console error, or when the PNG is 300 KB or more.

With --fleet N...: instead, the report over N generated images (tests/report/helpers.many_images: repositories of
1-8 tags on one Server Core base, the eks-ws2019-core profile), screenshotted as docs/report-fleet-N.png — the
page at fleet scale (issue #17); its full height and load time are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import chromium, report_fleet  # noqa: E402

MAX_PNG = 300_000
WIDTH, HEIGHT = 1280, 1900


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=200, help="app layer size multiplier (default 200: ~15-30 MB)")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "docs")
    parser.add_argument("--fleet", type=int, nargs="+", help="screenshot generated fleets of these sizes instead")
    args = parser.parse_args(argv)
    binary = chromium.find_chromium()
    if binary is None:
        print("chromium is not installed (apt-get install chromium, or `make chromium-bin`)", file=sys.stderr)
        return 1
    if args.fleet:
        return _fleets(binary, args.fleet, args.out_dir.resolve())
    from layerscope.cli import cli

    out_dir = args.out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    html, png = out_dir / "report-example.html", out_dir / "report-example.png"
    with tempfile.TemporaryDirectory(prefix="layerscope-report-example-") as tmp:
        work = Path(tmp)
        report_fleet.write_fleet(work / "fleet", scale_kib=args.scale)
        (work / "fixtures").symlink_to(ROOT / "fixtures" / "layout")
        (work / "workload.json").write_text(json.dumps(report_fleet.workload("fleet", "fixtures")), encoding="utf-8")
        (work / "node.json").write_text(json.dumps(report_fleet.demo_profile("fixtures")), encoding="utf-8")
        with _cwd(work):
            cli.main(
                ["report", "--workload", "workload.json", "--profile", "node.json", "--no-store", "--no-progress",
                 "-o", "html", "--output", str(html)],
                prog_name="layerscope",
                standalone_mode=False,
            )  # fmt: skip
    stderr = chromium.screenshot(binary, html, png, width=WIDTH, height=HEIGHT)
    errors = chromium.console_errors(stderr)
    if errors:
        print("\n".join(errors), file=sys.stderr)
        return 1
    size = png.stat().st_size
    print(f"{html}: {html.stat().st_size} bytes\n{png}: {size} bytes")
    if size >= MAX_PNG:
        print(f"{png} is {size} bytes, over the {MAX_PNG} limit: lower WIDTH/HEIGHT", file=sys.stderr)
        return 1
    return 0


def _fleets(binary: str, sizes: list[int], out_dir: Path) -> int:
    from layerscope.plan.launch import LaunchParameters
    from layerscope.plan.profile_files import load_profile
    from layerscope.report.fleet_html import render_html
    from layerscope.report.model import build_report
    from tests.report.helpers import many_images

    profile = load_profile("eks-ws2019-core")
    probe = (
        '<script>document.body.setAttribute("data-measure", document.documentElement.scrollHeight + " px, " + '
        'Math.round(performance.now()) + " ms");</script></body>'
    )
    for n in sizes:
        images, weights = many_images(n)
        params = LaunchParameters.from_profile(profile)
        report = build_report(images, profile=profile, launch=params, launch_profile=profile.name, weights=weights)
        with tempfile.TemporaryDirectory(prefix="layerscope-report-fleet-") as tmp:
            html = Path(tmp) / f"report-fleet-{n}.html"
            html.write_text(render_html(report), encoding="utf-8")
            png = out_dir / f"report-fleet-{n}.png"
            errors = chromium.console_errors(chromium.screenshot(binary, html, png, width=WIDTH, height=HEIGHT))
            html.write_text(render_html(report).replace("</body>", probe), encoding="utf-8")
            dom, _ = chromium.dump_dom(binary, html, width=1400, height=1000)
        if errors:
            print("\n".join(errors), file=sys.stderr)
            return 1
        measured = dom.split('data-measure="', 1)[1].split('"', 1)[0] if "data-measure" in dom else "?"
        print(f"{png}: {png.stat().st_size} bytes; {n} images: page {measured} at 1400 px")
        if png.stat().st_size >= MAX_PNG:
            print(f"{png} is over the {MAX_PNG} limit", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
