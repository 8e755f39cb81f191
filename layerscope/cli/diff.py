"""`layerscope diff REF_A REF_B`: what two images share by chain ID, and what each costs on a node holding the other."""

from __future__ import annotations

from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import build_settings, settings_options


@cli.command()
@click.argument("ref_a")
@click.argument("ref_b")
@settings_options
@click.option(
    "-o", "--format", "fmt", type=click.Choice(["table", "json", "markdown"]), default="table", show_default=True
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
def diff(ref_a: str, ref_b: str, fmt: str, output: str | None, **options: Any) -> None:
    """Compare two images: shared chain, layers only in each, and the bytes pulled each way."""
    with errors():
        from layerscope.diff import diff_images, select_one
        from layerscope.errors import UsageError
        from layerscope.output import write_output
        from layerscope.reference import parse_reference
        from layerscope.report.diff_view import render_diff
        from layerscope.session import Session

        progress = not options["no_progress"]
        settings = build_settings(options)
        if settings.profile or settings.baked:
            # The node in a diff holds exactly the other image; a baked set would change what "holding A" means.
            raise UsageError(
                "diff compares the two images with each other; --profile and --baked do not apply",
                hint="use 'layerscope analyze REF --profile NAME' for what a node with a baked set pulls",
            )
        refs = [parse_reference(ref_a), parse_reference(ref_b)]
        with StderrObserver(progress=progress) as observer, Session(settings, observer) as session:
            chosen = []
            for text, ref in zip((ref_a, ref_b), refs, strict=True):
                resolved = session.analyzer.resolve(ref, settings.platform)
                platforms = [str(r.config.platform) for r in resolved]
                platform = str(settings.platform) if settings.platform else None
                chosen.append(select_one(text, resolved, platform, platforms))
            a, b = session.analyzer.measure_images(chosen)
        write_output(render_diff(diff_images(a, b), fmt), output)
