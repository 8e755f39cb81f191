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


def stage_column() -> Any:
    """A rich column showing a layer task's `stage` field: how many bytes it inflated to so far (#18 item 16)."""
    from rich.progress import ProgressColumn, Task
    from rich.text import Text

    class StageColumn(ProgressColumn):
        def render(self, task: Task) -> Any:
            return Text(str(task.fields.get("stage", "")))

    return StageColumn()


def inflated_label(nbytes: int) -> str:
    """`→ 4.4 GB inflated`: the second stage of a layer's progress, beside the download bar."""
    from layerscope.units import format_size

    return f"→ {format_size(nbytes)} inflated"


class StderrObserver(NullObserver):
    """Warnings to stderr, and on a terminal a bar per layer: compressed bytes read, then bytes inflated."""

    def __init__(self, progress: bool, force_progress: bool = False) -> None:
        self._lock = threading.Lock()
        self._progress: Any = None
        self._tasks: dict[str, Any] = {}
        self._inflated: dict[str, int] = {}
        #: Every warning shown, in order and once each: the run's JSON `warnings` too (#18 item 1).
        self.recorded: list[str] = []
        if progress and (force_progress or sys.stderr.isatty()):
            from rich.console import Console
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                stage_column(),
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
                self._tasks[digest] = self._progress.add_task(digest[7:19], total=size, stage="")
                self._inflated[digest] = 0

    def layer_progress(self, digest: str, nbytes: int) -> None:
        """Advance the layer's bar."""
        if self._progress is not None and digest in self._tasks:
            self._progress.advance(self._tasks[digest], nbytes)

    def layer_inflated(self, digest: str, nbytes: int) -> None:
        """Show how far the layer's measurement got: a full download bar alone would look finished."""
        if self._progress is not None and digest in self._tasks:
            with self._lock:
                total = self._inflated[digest] = self._inflated.get(digest, 0) + nbytes
            self._progress.update(self._tasks[digest], stage=inflated_label(total))

    def attached(self, subject: str, artifact: str | None) -> None:
        """Confirm an `--attach` push (or that the attached analysis was already up to date)."""
        if artifact is None:
            self._echo(f"layerscope: {subject}: the attached analysis is up to date; nothing pushed")
        else:
            self._echo(f"layerscope: attached analysis {artifact} to {subject}")

    def layer_done(self, digest: str) -> None:
        """Remove the layer's bar."""
        if self._progress is not None:
            with self._lock:
                task = self._tasks.pop(digest, None)
                self._inflated.pop(digest, None)
            if task is not None:
                self._progress.remove_task(task)

    def warning(self, message: str) -> None:
        """Print one warning line on stderr, and keep it for the output document."""
        with self._lock:
            if message not in self.recorded:
                self.recorded.append(message)
        self._echo(f"layerscope: warning: {message}")

    def image_warnings(self, images: Sequence[Any]) -> None:
        """Print each image's own warnings on stderr (they are in the output per image already, #18 item 1)."""
        for image in images:
            launch = getattr(image, "launch", None)
            extra = launch.with_baking.warnings if launch is not None else ()
            for message in dict.fromkeys((*image.warnings, *extra)):
                self._echo(f"layerscope: warning: {image.reference}: {message}")

    def _echo(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            click.echo(text, err=True)


def _fail(exc: LayerscopeError) -> None:
    hint = f" (hint: {exc.hint})" if exc.hint else ""
    click.echo(f"layerscope: error: {exc.message}{hint}", err=True)
    if os.environ.get("LAYERSCOPE_DEBUG"):
        click.echo(f"layerscope: debug: {debug_context(exc)}", err=True)
    sys.exit(exc.exit_code)


def debug_context(exc: BaseException) -> str:
    """One line for LAYERSCOPE_DEBUG=1: the error's type and the chain of exceptions behind it (#18 item 15).

    `raise … from None` hides the context from tracebacks, not from `__context__`: the debug line shows it
    anyway, since the low-level cause (an OSError, an httpx error) is what a bug report needs.
    """
    parts = [f"{type(exc).__module__}.{type(exc).__qualname__}"]
    seen = {id(exc)}
    cause = exc.__cause__ or exc.__context__
    while cause is not None and id(cause) not in seen and len(parts) < 6:
        seen.add(id(cause))
        parts.append(f"caused by {type(cause).__module__}.{type(cause).__qualname__}: {str(cause)[:200]}")
        cause = cause.__cause__ or cause.__context__
    if len(parts) == 1:
        parts.append("no underlying exception")
    return "; ".join(parts)


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
    "calibrate": "layerscope.cli.calibrate",
    "diff": "layerscope.cli.diff",
    "files": "layerscope.cli.files",
    "catalog": "layerscope.cli.catalog",
    "profile": "layerscope.cli.profile",
    "scan": "layerscope.cli.scan",
}


def usage_error_line(exc: click.ClickException) -> str:
    """click's usage error as layerscope's one line: `layerscope: error: … (hint: …)` (#18 item 12)."""
    message = " ".join(exc.format_message().split())
    if message[1:2].islower():  # "Missing argument" -> "missing argument", like every other error line
        message = message[0].lower() + message[1:]
    hint = None
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        hint = f"see '{exc.ctx.command_path} --help'"
    return f"layerscope: error: {message.rstrip('.')}" + (f" (hint: {hint})" if hint else "")


class LazyGroup(click.Group):
    """A group whose subcommands are registered by importing their module on first use."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's main, with usage errors printed as one line (exit 2) instead of click's usage block."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `layerscope` / `layerscope catalog`: the help
                exc.show()
            else:
                click.echo(usage_error_line(exc), err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("layerscope: interrupted", err=True)
            sys.exit(130)
        # Without standalone mode click returns the exit code of `--help`, `--version` and ctx.exit().
        sys.exit(rv if isinstance(rv, int) else 0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every subcommand, loaded or not."""
        return sorted(set(self.commands) | set(LAZY_COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """Import the subcommand's module if needed, then look it up."""
        if cmd_name not in self.commands and cmd_name in LAZY_COMMANDS:
            importlib.import_module(LAZY_COMMANDS[cmd_name])
        return self.commands.get(cmd_name)


@click.group(
    "layerscope", cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110}
)
@click.version_option(__version__, prog_name="layerscope")
def cli() -> None:
    """What a (Windows) container image really costs at node launch, and which images to bake into the AMI."""


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point."""

    cli.main(args=list(argv) if argv is not None else None, prog_name="layerscope")
