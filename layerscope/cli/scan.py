"""Subcommand `scan`: every image of a registry (or of a repository prefix), resumable."""

from __future__ import annotations

import sys
from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import ANALYSIS_FORMATS, build_settings, settings_options, with_warnings
from layerscope.cli.fleet import fleet_options, pop_fleet_options
from layerscope.cli.formats import choose_format, output_options


class ScanObserver(StderrObserver):
    """StderrObserver plus a bar of finished references (on a terminal only)."""

    def __init__(self, progress: bool) -> None:
        super().__init__(progress)
        self._images: Any = None

    def scan_listed(self, references: int, resumed: int) -> None:
        """Start the references bar."""
        if self._progress is not None:
            self._images = self._progress.add_task("images", total=references)

    def scan_done(self, reference: str) -> None:
        """Advance the references bar."""
        if self._progress is not None and self._images is not None:
            self._progress.advance(self._images, 1)


@cli.command()
@click.argument("target", metavar="REGISTRY[/PREFIX]")
@click.option(
    "--tags", "tags", multiple=True, metavar="PATTERN", help="Glob of tags to scan (repeatable; default all)."
)
@click.option("--since", help="Only images whose config was created on or after DATE (YYYY-MM-DD or RFC 3339).")
@click.option(
    "--checkpoint",
    type=click.Path(dir_okay=False),
    help="Resume file (default: under $XDG_STATE_HOME/layerscope/scans, per target and filters).",
)
@click.option("--fresh", is_flag=True, help="Ignore an existing checkpoint and start over.")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=32, show_default=True, help="Images per batch.")
@settings_options
@fleet_options
@output_options(ANALYSIS_FORMATS, "table")
def scan(
    target: str,
    tags: tuple[str, ...],
    since: str | None,
    checkpoint: str | None,
    fresh: bool,
    batch_size: int,
    fmt: str | None,
    output: str | None,
    **options: Any,
) -> None:
    """Analyse every tagged image of REGISTRY (or of repositories under PREFIX), resumably."""
    with errors():
        from pathlib import Path

        from layerscope.fleet import FleetSession
        from layerscope.output import write_output
        from layerscope.report import AnalysisFormat, render_analysis
        from layerscope.scan import ScanOptions, parse_since, parse_target
        from layerscope.scan import scan as run_scan
        from layerscope.session import Session

        scan_target = parse_target(target)
        scan_options = ScanOptions(
            tags=tags,
            since=parse_since(since) if since else None,
            checkpoint=Path(checkpoint) if checkpoint else None,
            fresh=fresh,
            batch_size=batch_size,
        )
        progress = not options["no_progress"]
        fleet_opts = pop_fleet_options(options)
        settings = build_settings(options)
        observer = ScanObserver(progress=progress)
        with observer, Session(settings, observer) as session, FleetSession(session, fleet_opts) as fleet:
            result = run_scan(fleet, scan_target, scan_options, observer)
        parts = [f"{len(result.run.images)} images from {result.references} references"]
        if result.resumed:
            parts.append(f"{result.resumed} resumed from the checkpoint")
        if result.left_out:
            parts.append(f"{result.left_out} older than --since")
        if result.skipped:
            parts.append(f"{len(result.skipped)} skipped")
        click.echo(f"layerscope: scanned {scan_target}: {', '.join(parts)}", err=True)
        chosen = choose_format(fmt, output, ANALYSIS_FORMATS, "table")
        write_output(render_analysis(with_warnings(result.run, observer), AnalysisFormat(chosen)), output)
        sys.stdout.flush()
