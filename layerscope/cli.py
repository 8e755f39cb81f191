"""The command line: parses options, calls the library, renders, and maps errors to exit codes.

The only importer of click, and the only place that prints errors (DESIGN.md, "Command line").
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from layerscope import __version__
from layerscope.errors import LayerscopeError
from layerscope.observer import NullObserver, Observer

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["main"]


class _StderrObserver(NullObserver):
    """Warnings to stderr, and a rich progress bar of compressed bytes when stderr is a terminal."""

    def __init__(self, progress: bool) -> None:
        self._lock = threading.Lock()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        if progress and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def __enter__(self) -> _StderrObserver:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def layer_started(self, digest: str, size: int) -> None:
        """Add a bar for the layer."""
        if self._progress is not None:
            with self._lock:
                self._tasks[digest] = self._progress.add_task(digest[7:19], total=size)

    def layer_progress(self, digest: str, nbytes: int) -> None:
        """Advance the layer's bar."""
        if self._progress is not None and digest in self._tasks:
            self._progress.advance(self._tasks[digest], nbytes)

    def layer_done(self, digest: str) -> None:
        """Remove the layer's bar."""
        if self._progress is not None:
            with self._lock:
                task = self._tasks.pop(digest, None)
            if task is not None:
                self._progress.remove_task(task)

    def warning(self, message: str) -> None:
        """Print one warning line on stderr."""
        text = f"layerscope: warning: {message}"
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            click.echo(text, err=True)


def _fail(exc: LayerscopeError) -> None:
    hint = f" (hint: {exc.hint})" if exc.hint else ""
    click.echo(f"layerscope: error: {exc.message}{hint}", err=True)
    sys.exit(exc.exit_code)


@contextmanager
def _errors() -> Iterator[None]:
    """Map library errors to one line on stderr and the documented exit code; never a traceback."""
    try:
        yield
    except LayerscopeError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        click.echo("layerscope: interrupted", err=True)
        sys.exit(130)
    except (click.exceptions.Exit, click.ClickException, SystemExit):
        raise
    except Exception as exc:  # a bug: say so in one line, keep the traceback for LAYERSCOPE_DEBUG=1
        if os.environ.get("LAYERSCOPE_DEBUG"):
            raise
        click.echo(
            f"layerscope: internal error: {type(exc).__name__}: {str(exc)[:200]}"
            " (hint: rerun with LAYERSCOPE_DEBUG=1 and report it)",
            err=True,
        )
        sys.exit(1)


def _store(no_store: bool, path: str | None, observer: Observer) -> Any:
    if no_store:
        return None
    from layerscope.store import MeasurementStore, default_store_path

    return MeasurementStore(Path(path) if path else default_store_path(), observer)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="layerscope")
def cli() -> None:
    """What a (Windows) container image really costs at node launch, and which images to bake into the AMI."""


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
    with _errors():
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
        with _StderrObserver(progress=not no_progress) as observer:
            store = _store(no_store, store_path, observer)
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
    with _errors():
        s = _store(False, store_path, _StderrObserver(progress=False))
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
    with _errors():
        from layerscope.errors import UsageError

        units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
        number, unit = older_than[:-1], older_than[-1:]
        if unit not in units or not number.replace(".", "", 1).isdigit():
            raise UsageError(f"invalid age {older_than!r}", hint="use a number with s, m, h or d, e.g. 30d")
        s = _store(False, store_path, _StderrObserver(progress=False))
        try:
            removed = s.prune(float(number) * units[unit])
        finally:
            s.close()
        click.echo(f"removed {removed} entries")


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="layerscope")
