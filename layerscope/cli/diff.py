"""`layerscope diff REF_A REF_B`: what two images share by chain ID, and what each costs on a node holding the other."""

from __future__ import annotations

import json
from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import build_settings, settings_options
from layerscope.cli.formats import choose_format, output_options
from layerscope.report.diff_view import DiffFormat

DIFF_FORMATS = tuple(f.value for f in DiffFormat)


@cli.command()
@click.argument("ref_a")
@click.argument("ref_b")
@settings_options
@output_options(DIFF_FORMATS, "table")
@click.option("--files", "files", is_flag=True, help="Also: paths added, removed, grown or shrunk from A to B.")
@click.option("--top", type=click.IntRange(1), default=30, show_default=True, help="With --files: changes shown.")
def diff(ref_a: str, ref_b: str, fmt: str | None, output: str | None, files: bool, top: int, **options: Any) -> None:
    """Compare two images: shared chain, layers only in each, and the bytes pulled each way.

    With --profile/--baked, also what each image pulls on a node that holds the other image and the baked set.
    """
    with errors():
        from layerscope.output import write_output
        from layerscope.report.diff_view import diff_document, render_diff
        from layerscope.session import Session

        progress = not options["no_progress"]
        settings = build_settings(options)
        with StderrObserver(progress=progress) as observer, Session(settings, observer) as session:
            result = session.diff(ref_a, ref_b)
            if result.with_baked is not None:
                for warning in result.with_baked.warnings:
                    observer.warning(warning)
            if files:
                from layerscope.file_diff import diff_files
                from layerscope.layer_index import layer_indexes

                changes = diff_files(
                    layer_indexes(result.a.layers, session.store), layer_indexes(result.b.layers, session.store)
                )
        chosen = DiffFormat(choose_format(fmt, output, DIFF_FORMATS, "table"))
        text = render_diff(result, chosen)
        if files:
            from layerscope.report.file_diff_view import file_diff_document, render_file_diff

            if chosen == DiffFormat.JSON:
                doc = {**diff_document(result), "files": file_diff_document(changes, top)}
                text = json.dumps(doc, indent=2) + "\n"
            else:
                text += "\n" + render_file_diff(changes, top, markdown=chosen == DiffFormat.MARKDOWN)
        write_output(text, output)
