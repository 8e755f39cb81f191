"""Subcommands `recommend` (what to bake under a disk budget) and `pull-list` (the AMI's pre-pull list)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import build_settings, settings_options
from layerscope.plan.pulllist import PullListFormat
from layerscope.report.recommendation import RecommendFormat


@cli.command()
@click.option("--workload", "workload_path", required=True, type=click.Path(dir_okay=False), help="Workload file.")
@settings_options
@click.option("--budget", help="Disk budget for baked images (e.g. 20GB); default: what the root volume holds.")
@click.option("-o", "--format", "fmt", type=click.Choice([f.value for f in RecommendFormat]), default="table")
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
def recommend(workload_path: str, budget: str | None, fmt: str, output: str | None, **options: Any) -> None:
    """Which images of a workload to bake into the node's AMI to save the most launch time."""
    with errors():
        from layerscope.output import write_output
        from layerscope.plan.workload import load_workload
        from layerscope.report.recommendation import render_recommendation
        from layerscope.session import Session
        from layerscope.units import parse_size

        workload = load_workload(workload_path)
        budget_bytes = parse_size(budget) if budget else None
        progress = not options["no_progress"]
        settings = build_settings(options)
        with StderrObserver(progress=progress) as observer, Session(settings, observer) as session:
            for warning in workload.warnings:
                observer.warning(warning)
            rec = session.recommend(workload, budget_bytes)
        write_output(render_recommendation(rec, RecommendFormat(fmt)), output)


def _recommended(path: str) -> list[str]:
    """Pinned references chosen in a `layerscope.recommendation/v1` document (`recommend -o json`)."""
    from layerscope.errors import UsageError
    from layerscope.report.recommendation import SCHEMA

    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        chosen = doc["chosen"]
        if doc.get("schema") != SCHEMA:
            raise ValueError("not a layerscope.recommendation/v1 document")
        return [f"{c['reference'].split('@', 1)[0]}@{c['digest']}" for c in chosen]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read recommendation {path}: {exc}", hint="use `recommend -o json` output") from None


@cli.command("pull-list")
@click.argument("refs", nargs=-1, metavar="REF...")
@click.option("--workload", "workload_path", type=click.Path(dir_okay=False), help="Workload file.")
@click.option(
    "--from-recommendation", "recommendation", type=click.Path(dir_okay=False), help="`recommend -o json` output."
)
@settings_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice([f.value for f in PullListFormat]),
    default="text",
    show_default=True,
)
@click.option("--runtime", type=click.Choice(["containerd", "docker"]), help="Default: the profile's, else containerd.")
@click.option("--name", default="layerscope-prepull", show_default=True, help="Component name (awstoe).")
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
def pull_list(
    refs: Sequence[str],
    workload_path: str | None,
    recommendation: str | None,
    fmt: str,
    runtime: str | None,
    name: str,
    output: str | None,
    **options: Any,
) -> None:
    """Digest-pinned list of images to pre-pull into the AMI (EC2 Image Builder component, scripts, text)."""
    with errors():
        from layerscope.errors import UsageError
        from layerscope.output import write_output
        from layerscope.plan.pulllist import write_pull_list
        from layerscope.plan.workload import load_workload
        from layerscope.session import Session

        wanted = list(refs)
        if workload_path:
            wanted += [item.reference for item in load_workload(workload_path).images]
        if recommendation:
            wanted += _recommended(recommendation)
        if not wanted:
            raise UsageError("no images given", hint="pass REF..., --workload FILE or --from-recommendation FILE")
        settings = build_settings(options)
        with StderrObserver(progress=False) as observer, Session(settings, observer) as session:
            items = session.pins(wanted)
            chosen_runtime = runtime or (session.profile.runtime if session.profile else "containerd")
        unique = list({item.pinned: item for item in items}.values())
        write_output(write_pull_list(unique, PullListFormat(fmt), runtime=chosen_runtime, name=name), output)
