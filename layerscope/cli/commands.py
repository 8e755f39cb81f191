"""Subcommands `analyze` and `store` (the others live beside this module, one file per command group)."""

from __future__ import annotations

from collections.abc import Sequence

import click

from layerscope.cli.app import StderrObserver, cli, errors, open_store


@cli.command()
@click.argument("refs", nargs=-1, required=True, metavar="REF...")
@click.option("--platform", "platform", help="OS/ARCH[/VARIANT][:OS_VERSION_PREFIX] of an index to analyse.")
@click.option(
    "-o", "--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table", show_default=True
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
@click.option("--plain-http", is_flag=True, help="Use http:// for every registry (loopback hosts always do).")
@click.option("--no-progress", is_flag=True, help="No progress bars (they only show on a terminal anyway).")
@click.option("--no-store", is_flag=True, help="Do not read or write the measurement store.")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), help="Measurement store file.")
@click.option("--concurrency", type=click.IntRange(1, 64), help="Layers measured at once (default 4).")
@click.option(
    "--exact/--estimate",
    default=True,
    help="Stream and count every byte (default), or estimate from a few bytes per layer, labelled in size_source.",
)
@click.option(
    "--estimate-fallback",
    type=click.Choice(["unknown", "exact"]),
    default="unknown",
    show_default=True,
    help="With --estimate: what to do for a layer with no safe estimate.",
)
def analyze(
    refs: Sequence[str],
    platform: str | None,
    fmt: str,
    output: str | None,
    plain_http: bool,
    no_progress: bool,
    no_store: bool,
    store_path: str | None,
    concurrency: int | None,
    exact: bool,
    estimate_fallback: str,
) -> None:
    """Measure every layer of REF... (registry references or oci:PATH[:TAG])."""
    with errors():
        from layerscope.analysis import Analyzer, Mode
        from layerscope.platforms import parse_platform_filter
        from layerscope.reference import parse_reference
        from layerscope.report import AnalysisFormat, render_analysis
        from layerscope.results import AnalysisRun
        from layerscope.sources import RoutingSource

        parsed = [parse_reference(r) for r in refs]
        pfilter = parse_platform_filter(platform) if platform else None
        registry_config = None
        if plain_http:
            from layerscope.registry import RegistryConfig

            registry_config = RegistryConfig(plain_http=True)
        with StderrObserver(progress=not no_progress) as observer:
            store = open_store(no_store, store_path, observer)
            source = RoutingSource(registry_config, observer)
            mode = Mode.EXACT if exact else Mode.ESTIMATE if estimate_fallback == "unknown" else Mode.ESTIMATE_OR_EXACT
            analyzer = Analyzer(source, store=store, observer=observer, workers=concurrency, mode=mode)
            try:
                images = analyzer.analyze(parsed, pfilter)
            finally:
                analyzer.close()
                source.close()
                if store is not None:
                    store.close()
        run = AnalysisRun(images=tuple(images))
        from layerscope.output import write_output

        write_output(render_analysis(run, AnalysisFormat(fmt)), output)


@cli.group()
def store() -> None:
    """The measurement store (per-layer results kept across runs)."""


@store.command("stats")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), help="Measurement store file.")
def store_stats(store_path: str | None) -> None:
    """Where the store is, how many layers it holds, its size."""
    with errors():
        s = open_store(False, store_path, StderrObserver(progress=False))
        try:
            info = s.stats()
        finally:
            s.close()
        for key, value in info.items():
            click.echo(f"{key}: {value if value is not None else 'unknown'}")


@store.command("prune")
@click.option("--older-than", default="90d", show_default=True, help="Age, e.g. 30d, 12h, 0s (everything).")
@click.option("--store", "store_path", type=click.Path(dir_okay=False), help="Measurement store file.")
def store_prune(older_than: str, store_path: str | None) -> None:
    """Delete measurements stored longer ago than --older-than."""
    with errors():
        from layerscope.errors import UsageError

        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        number, unit = older_than[:-1], older_than[-1:]
        if unit not in units or not number.replace(".", "", 1).isdigit():
            raise UsageError(f"invalid age {older_than!r}", hint="use a number with s, m, h or d, e.g. 30d")
        s = open_store(False, store_path, StderrObserver(progress=False))
        try:
            removed = s.prune(float(number) * units[unit])
        finally:
            s.close()
        click.echo(f"removed {removed} entries")
