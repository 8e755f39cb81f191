"""Subcommands `analyze` and `store` (the others live beside this module, one file per command group)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from layerscope.cli.app import StderrObserver, cli, errors, open_store
from layerscope.cli.fleet import fleet_options, pop_fleet_options
from layerscope.cli.formats import choose_format, output_options
from layerscope.cli.gate import SIZE, WASTE, enforce_gate

if TYPE_CHECKING:
    from layerscope.session import Settings as Settings

F = TypeVar("F", bound=Callable[..., Any])

#: The store's default, as store.default_store_path() computes it (#18 item 12).
STORE_HELP = (
    "Measurement store file [default: $LAYERSCOPE_STORE, else $XDG_CACHE_HOME/layerscope/measurements.sqlite3,"
    " i.e. ~/.cache/layerscope/measurements.sqlite3]."
)

#: `analyze` and `scan` -o choices.
ANALYSIS_FORMATS = ("table", "json", "csv", "markdown")


#: How to reach registries: shared by every command that talks to one (settings_options, catalog refresh).
REGISTRY_OPTIONS = (
    click.option("--plain-http", is_flag=True, help="Use http:// for every registry (loopback hosts always do)."),
    click.option(
        "--mirror",
        multiple=True,
        metavar="HOST=ENDPOINT",
        help="Contact ENDPOINT for registry HOST (repeatable), e.g. mcr.microsoft.com=127.0.0.1:5000.",
    ),
    click.option(
        "--timeout",
        type=click.FloatRange(0.1, 3600),
        help="Seconds to wait to connect and for each read (default: 10 to connect, 60 per read).",
    ),
)


def registry_options(f: F) -> F:
    """--plain-http, --mirror and --timeout."""
    for option in reversed(REGISTRY_OPTIONS):
        f = option(f)
    return f


def settings_options(f: F) -> F:
    """Options shared by every command that reads images (analyze, report, recommend, pull-list)."""
    options = [
        click.option(
            "--platform",
            "platform",
            help="OS/ARCH[/VARIANT][:OS_VERSION_PREFIX] of an index to analyse (one; not repeatable; default: all).",
        ),
        click.option("--profile", help="Node profile: a shipped name (see `profile list`) or a YAML/JSON file."),
        click.option(
            "--baked",
            multiple=True,
            metavar="REF|FILE",
            help="Image the node holds at boot (repeatable; a pull list file works), added to the profile's.",
        ),
        click.option(
            "--ami",
            metavar="NAME|ami-ID|YYYY-MM-DD|latest",
            help="The node's AMI: its base revision is inferred from the AMI's date (ID and latest: AWS access).",
        ),
        click.option(
            "--nodes",
            "nodes_file",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="`kubectl get nodes -o json` output: the Windows nodes' kernelVersion is their base revision.",
        ),
        *REGISTRY_OPTIONS,
        click.option("--no-progress", is_flag=True, help="No progress bars (they only show on a terminal anyway)."),
        click.option("--no-store", is_flag=True, help="Do not read or write the measurement store."),
        click.option("--store", "store_path", type=click.Path(dir_okay=False), help=STORE_HELP),
        click.option(
            "--concurrency",
            type=click.IntRange(1, 64),
            help="Layers measured, and references resolved, at once (default: $LAYERSCOPE_CONCURRENCY, else 4 "
            "layers and 8 references).",
        ),
        click.option(
            "--exact/--estimate",
            default=True,
            help=(
                "Count every byte (default), or estimate the tar size from a few bytes per layer (labelled in "
                "size_source; unknown where unsafe). Limit: a multi-member gzip whose last member exceeds 60 KiB "
                "and has no eStargz annotation is estimated as that member (README: --estimate)."
            ),
        ),
        click.option(
            "--estimate-fallback",
            type=click.Choice(["unknown", "exact"]),
            default="unknown",
            show_default=True,
            help="With --estimate: what to do for a layer with no safe estimate.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def with_warnings(run: Any, observer: StderrObserver) -> Any:
    """*run* (an AnalysisRun) with the run's warnings in its document, and its images' warnings on stderr.

    Every warning reaches both places whichever format is chosen (#18 item 1): a warning printed during
    the run (an unresolved baked image) joins the JSON `warnings`; one that belongs to an image (it cannot
    run with process isolation) is in the image's `warnings` and now on stderr too.
    """
    from dataclasses import replace

    observer.image_warnings(run.images)
    extra = tuple(w for w in observer.recorded if w not in run.warnings)
    return replace(run, warnings=(*run.warnings, *extra))


def build_settings(options: dict[str, Any]) -> Settings:
    """Settings from the shared options (pops them from *options*)."""
    from layerscope.analysis import Mode
    from layerscope.platforms import parse_platform_filter
    from layerscope.session import Settings, parse_mirrors
    from layerscope.store import default_store_path

    platform = options.pop("platform")
    exact, fallback = options.pop("exact"), options.pop("estimate_fallback")
    no_store, store_path = options.pop("no_store"), options.pop("store_path")
    options.pop("no_progress")
    return Settings(
        platform=parse_platform_filter(platform) if platform else None,
        mode=Mode.EXACT if exact else Mode.ESTIMATE if fallback == "unknown" else Mode.ESTIMATE_OR_EXACT,
        store_path=None if no_store else Path(store_path) if store_path else default_store_path(),
        concurrency=options.pop("concurrency"),
        plain_http=options.pop("plain_http"),
        mirrors=parse_mirrors(options.pop("mirror")),
        timeout=options.pop("timeout"),
        profile=options.pop("profile"),
        baked=tuple(options.pop("baked")),
        ami=options.pop("ami"),
        nodes=Path(nodes) if (nodes := options.pop("nodes_file")) else None,
    )


@cli.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@settings_options
@fleet_options
@output_options(ANALYSIS_FORMATS, "table")
@click.option(
    "--max-pull", type=SIZE, metavar="SIZE", help="Exit 6 when an image pulls more than SIZE beyond the baked set."
)
@click.option("--contents", is_flag=True, help="Table output: add where the bytes are (largest paths, waste).")
@click.option(
    "--max-waste",
    type=WASTE,
    metavar="SIZE|PCT",
    help="Exit 6 when an image wastes (dive's wasted bytes) more than SIZE, or PCT% of its layers' bytes.",
)
@click.option(
    "--min-efficiency",
    type=click.FloatRange(0, 1),
    metavar="F",
    help="Exit 6 when an image's efficiency (dive's score, 0-1) is below F.",
)
def analyze(
    refs: Sequence[str],
    fmt: str | None,
    output: str | None,
    max_pull: int | None,
    contents: bool,
    max_waste: Any,
    min_efficiency: float | None,
    **options: Any,
) -> None:
    """Measure every layer of REF... (registry references or oci:PATH[:TAG])."""
    with errors():
        from layerscope.gate import check_pull_gate
        from layerscope.output import write_output
        from layerscope.report import AnalysisFormat, render_analysis
        from layerscope.session import Session

        progress = not options["no_progress"]
        fleet = pop_fleet_options(options)
        settings = build_settings(options)
        with StderrObserver(progress=progress) as observer, Session(settings, observer) as session:
            if fleet.any:
                from layerscope.fleet import FleetSession

                with FleetSession(session, fleet) as extras:
                    run = extras.analyze(refs)
            else:
                run = session.analyze(refs)
        run = with_warnings(run, observer)
        chosen = choose_format(fmt, output, ANALYSIS_FORMATS, "table")
        text = render_analysis(run, AnalysisFormat(chosen))
        if contents and chosen == "table":
            from layerscope.report.files_view import render_contents_table

            text += "\n" + render_contents_table(run)
        write_output(text, output)
        # The output is written first so a pipeline can archive it, then the gate decides the exit code.
        enforce_gate(check_pull_gate(run.images, max_pull) if max_pull is not None else None)
        if max_waste is not None or min_efficiency is not None:
            from layerscope.waste_gate import check_waste_gate

            enforce_gate(check_waste_gate(run.images, max_waste, min_efficiency))


@cli.group()
def store() -> None:
    """The measurement store (per-layer results kept across runs)."""


@store.command("stats")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), help=STORE_HELP)
def store_stats(store_path: str | None) -> None:
    """Where the store is, how many layers it holds, its size."""
    with errors():
        if not _existing_store(store_path):
            from layerscope.store import default_store_path

            click.echo(f"path: {default_store_path()}\nentries: 0\nfile_bytes: unknown")
            return
        s = open_store(False, store_path, StderrObserver(progress=False))
        try:
            info = s.stats()
        finally:
            s.close()
        for key, value in info.items():
            click.echo(f"{key}: {value if value is not None else 'unknown'}")


def _existing_store(store_path: str | None) -> bool:
    """Whether the store exists; a missing `--store FILE` is an error (read-only commands never create one).

    A missing default store is no error (nothing measured yet): the caller reports it as empty (#18 item 8).
    """
    from layerscope.errors import UsageError
    from layerscope.store import default_store_path

    path = Path(store_path) if store_path else default_store_path()
    if path.exists():
        return True
    if store_path:
        raise UsageError(
            f"no measurement store at {store_path}",
            hint=f"check the path; `analyze` creates the store, by default {default_store_path()} ($LAYERSCOPE_STORE)",
        )
    return False


@store.command("prune")
@click.option("--older-than", default="90d", show_default=True, help="Age, e.g. 30d, 12h, 0s (everything).")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), help=STORE_HELP)
def store_prune(older_than: str, store_path: str | None) -> None:
    """Delete measurements stored longer ago than --older-than."""
    with errors():
        from layerscope.errors import UsageError

        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        number, unit = older_than[:-1], older_than[-1:]
        if unit not in units or not number.replace(".", "", 1).isdigit():
            raise UsageError(f"invalid age {older_than!r}", hint="use a number with s, m, h or d, e.g. 30d")
        if not _existing_store(store_path):
            click.echo("removed 0 entries")
            return
        s = open_store(False, store_path, StderrObserver(progress=False))
        try:
            removed = s.prune(float(number) * units[unit])
        finally:
            s.close()
        click.echo(f"removed {removed} entries")
