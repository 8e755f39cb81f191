"""The `layerscope` click group, progress/warning rendering, and the one place errors become exit codes."""

from __future__ import annotations

import importlib
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

__all__ = ["StderrObserver", "cli", "errors", "main", "open_store"]


class StderrObserver(NullObserver):
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

    def __enter__(self) -> StderrObserver:
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
def errors() -> Iterator[None]:
    """Map library errors to one line on stderr and the documented exit code; never a traceback."""
    try:
        yield
    except LayerscopeError as exc:
        _fail(exc)
    except BrokenPipeError:
        # The reader went away (`layerscope … | head`): not an error worth a message. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again (Python docs, "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
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


def open_store(no_store: bool, path: str | None, observer: Observer) -> Any:
    if no_store:
        return None
    from layerscope.store import MeasurementStore, default_store_path

    return MeasurementStore(Path(path) if path else default_store_path(), observer)


#: Subcommand -> the module that registers it: imported only when that command runs (or for --help), so
#: `layerscope analyze` does not pay for report/catalog/scan imports (issue 8, start-up time).
LAZY_COMMANDS = {
    "analyze": "layerscope.cli.commands",
    "store": "layerscope.cli.commands",
    "recommend": "layerscope.cli.plan",
    "pull-list": "layerscope.cli.plan",
    "report": "layerscope.cli.report",
    "diff": "layerscope.cli.diff",
    "files": "layerscope.cli.files",
    "catalog": "layerscope.cli.catalog",
    "profile": "layerscope.cli.profile",
    "scan": "layerscope.cli.scan",
}


class LazyGroup(click.Group):
    """A group whose subcommands are registered by importing their module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand, loaded or not."""
        return sorted(set(self.commands) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the subcommand's module if needed, then look it up."""
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            importlib.import_module(LAZY_COMMANDS[cmd_name])
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="layerscope")
def cli() -> None:
    """What a (Windows) container image really costs at node launch, and which images to bake into the AMI."""


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""

    cli.main(args=list(argv) if argv is not None else None, prog_name="layerscope")
