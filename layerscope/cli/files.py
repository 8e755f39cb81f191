"""`layerscope files REF`: a du/ls-style listing of one layer or of the final filesystem (issue #15)."""

from __future__ import annotations

from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import build_settings, settings_options


@cli.command()
@click.argument("ref")
@settings_options
@click.option("--layer", type=click.IntRange(0), help="List layer N (from 0) instead of the final filesystem.")
@click.option("--depth", type=click.IntRange(1, 64), default=1, show_default=True, help="Levels below --path.")
@click.option("--top", type=click.IntRange(1), default=50, show_default=True, help="Largest rows shown.")
@click.option("--path", "prefix", default="", metavar="PREFIX", help="Directory to list (default: the root).")
@click.option("-o", "--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
def files(
    ref: str, layer: int | None, depth: int, top: int, prefix: str, fmt: str, output: str | None, **options: Any
) -> None:
    """Where REF's bytes are: paths, sizes and file counts, largest first (like du over the image).

    Without --layer: the final filesystem (whiteouts and opaque directories applied). Layers without a file index
    (foreign or catalogued Windows base layers, --estimate) are left out and the header says so.
    """
    with errors():
        from layerscope.diff import select_one
        from layerscope.layer_index import layer_indexes
        from layerscope.listing import list_files
        from layerscope.output import write_output
        from layerscope.reference import parse_reference
        from layerscope.report.files_view import render_files
        from layerscope.session import Session

        progress = not options["no_progress"]
        settings = build_settings(options)
        with StderrObserver(progress=progress) as observer, Session(settings, observer) as session:
            platform = settings.platform
            resolved = session.analyzer.resolve(parse_reference(ref), platform)
            chosen = select_one(
                ref, resolved, str(platform) if platform else None, [str(r.config.platform) for r in resolved]
            )
            (image,) = session.analyzer.measure_images([chosen])
            indexes = layer_indexes(image.layers, session.store, only=layer)
        listing = list_files(indexes, layer=layer, depth=depth, top=top, prefix=prefix)
        write_output(render_files(listing, image, fmt), output)
