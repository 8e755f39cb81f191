"""Options shared by `analyze` and `scan` for fleet-scale runs: attached analyses and the executor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["fleet_options", "pop_fleet_options"]


def fleet_options(f: F) -> F:
    """`--attach`, `--use-attached`, `--executor`."""
    options = [
        click.option(
            "--attach",
            is_flag=True,
            help=(
                "Push each image's exact measurements to its repository as an OCI artifact"
                " (needs push rights; not with --estimate)."
            ),
        ),
        click.option(
            "--use-attached",
            is_flag=True,
            help="Read layers from analyses attached to the image (verified) instead of downloading them.",
        ),
        click.option(
            "--executor",
            metavar="threads|dask[://HOST:PORT]",
            help="Where layers are measured: a thread pool, a local Dask cluster, or a Dask scheduler.",
        ),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def pop_fleet_options(options: dict[str, Any]) -> Any:
    """FleetOptions from the shared options (pops them from *options*)."""
    from layerscope.errors import UsageError
    from layerscope.fleet_options import FleetOptions

    fleet = FleetOptions(
        attach=options.pop("attach"), use_attached=options.pop("use_attached"), executor=options.pop("executor")
    )
    if fleet.executor is not None and not options.get("exact", True):
        raise UsageError("--executor measures exactly; it does not combine with --estimate")
    if fleet.attach and not options.get("exact", True):
        # An attachment is read back as exact numbers by every later run: estimates have no place in it (#18 item 10).
        raise UsageError(
            "--attach pushes exact measurements only; it does not combine with --estimate",
            hint="drop --estimate to measure and attach, or drop --attach",
        )
    return fleet
