"""`layerscope calibrate`: fit a node profile's throughputs to the pulls a cluster recorded (issue #16)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import build_settings, settings_options

__all__ = ["calibrate"]


def _read(path: str, option: str) -> str:
    from layerscope.errors import UsageError

    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(
            f"{option} {path}: cannot read ({exc.strerror or exc})", hint="give an existing file"
        ) from None


def load_events(events: Sequence[str], ecs_tasks: Sequence[str]) -> Any:
    """Every --events and --ecs-tasks file parsed into one EventSet."""
    from layerscope.calibrate.events import EventSet, parse_ecs_tasks, parse_kubectl_events

    out = EventSet()
    for path in events:
        out = out + parse_kubectl_events(_read(path, "--events"), f"--events {path}")
    for path in ecs_tasks:
        out = out + parse_ecs_tasks(_read(path, "--ecs-tasks"), f"--ecs-tasks {path}")
    return out


@cli.command()
@click.option(
    "--events",
    "events",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="`kubectl get events -A -o json` output (core/v1 or events.k8s.io/v1); repeatable.",
)
@click.option(
    "--ecs-tasks",
    "ecs_tasks",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="`aws ecs describe-tasks` output (pullStartedAt/pullStoppedAt); repeatable.",
)
@click.option(
    "--write-profile",
    "write_profile",
    type=click.Path(dir_okay=False),
    metavar="OUT.yaml",
    help="Write a profile that extends --profile with the fitted values and their source.",
)
@click.option(
    "--loss",
    type=click.Choice(["soft_l1", "huber"]),
    default="soft_l1",
    show_default=True,
    help="Robust loss of the least-squares fit.",
)
@settings_options
@click.option("-o", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def calibrate(
    events: Sequence[str], ecs_tasks: Sequence[str], write_profile: str | None, loss: str, fmt: str, **options: Any
) -> None:
    """Fit the profile's network and extraction throughput (and registry latency when the data can tell) to
    recorded pulls, with 95% intervals and a cross-validated error."""
    with errors():
        from layerscope.calibrate.fit import require_solver
        from layerscope.errors import UsageError
        from layerscope.output import write_output
        from layerscope.report.calibration_view import CalibrationFormat, render_calibration

        require_solver()  # before any work: exit 2 with the install hint
        if not events and not ecs_tasks:
            raise UsageError(
                "give --events FILE or --ecs-tasks FILE", hint="kubectl get events -A -o json > events.json"
            )
        if not options.get("profile"):
            raise UsageError("calibrate needs --profile NAME|FILE", hint="see `layerscope profile list`")
        parsed = load_events(events, ecs_tasks)
        progress = not options.get("no_progress")
        settings = build_settings(options)
        from layerscope.calibrate.run import calibrate as run_calibration
        from layerscope.session import Session

        with StderrObserver(progress) as observer, Session(settings, observer) as session:
            result = run_calibration(session, parsed, loss=loss)
        click.echo(render_calibration(result, CalibrationFormat(fmt)), nl=False)
        if write_profile:
            if not result.fitted:
                raise UsageError(
                    f"no parameter could be fitted from {result.used} usable events; {write_profile} not written",
                    hint="give more Pulled events, of images of different sizes",
                )
            from layerscope.calibrate.profile_out import calibrated_profile_yaml

            write_output(calibrated_profile_yaml(result, settings.profile or "", write_profile), write_profile)
