"""`-o/--format` and `--output` as every writing command takes them: the format follows the output file's
suffix unless -o names one (#18 item 11: `recommend --output rec.json` wrote a table)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any, TypeVar

import click

from layerscope.report import CatalogFormat

__all__ = ["CATALOG_FORMAT_OPTION", "SUFFIX_FORMATS", "choose_format", "output_options"]

F = TypeVar("F", bound=Callable[..., Any])

#: Output-file suffix -> the formats it can mean, first match among a command's choices wins.
SUFFIX_FORMATS: dict[str, tuple[str, ...]] = {
    ".json": ("json",),
    ".csv": ("csv",),
    ".md": ("markdown",),
    ".markdown": ("markdown",),
    ".html": ("html",),
    ".htm": ("html",),
    ".txt": ("table", "text"),
    ".yaml": ("awstoe",),
    ".yml": ("awstoe",),
    ".sh": ("shell",),
    ".ps1": ("powershell",),
}


def choose_format(fmt: str | None, output: str | None, choices: Sequence[str], default: str) -> str:
    """-o when given, else the format *output*'s suffix implies (if the command has it), else *default*."""
    if fmt:
        return fmt
    if output and output != "-":
        for candidate in SUFFIX_FORMATS.get(PurePath(output).suffix.lower(), ()):
            if candidate in choices:
                return candidate
    return default


def output_options(choices: Sequence[str], default: str) -> Callable[[F], F]:
    """`-o/--format` (default from --output's suffix, else *default*) and `--output FILE`."""
    suffixes = ", ".join(
        f"{s}={next(c for c in fmts if c in choices)}"
        for s, fmts in SUFFIX_FORMATS.items()
        if any(c in choices for c in fmts)
    )

    def decorate(f: F) -> F:
        f = click.option(
            "--output",
            type=click.Path(dir_okay=False),
            help="Write to FILE (atomically) instead of stdout.",
        )(f)
        return click.option(
            "-o",
            "--format",
            "fmt",
            type=click.Choice(list(choices)),
            help=f"Output format [default: from --output's suffix ({suffixes}), else {default}].",
        )(f)

    return decorate


#: `-o` of the catalog commands (cli/catalog.py, and `catalog when|amis` in cli/windows.py).
CATALOG_FORMAT_OPTION = click.option(
    "-o",
    "--format",
    "fmt",
    type=click.Choice([f.value for f in CatalogFormat]),
    default=CatalogFormat.TABLE.value,
    show_default=True,
)
