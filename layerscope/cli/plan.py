"""Subcommands `recommend` (what to bake under a disk budget) and `pull-list` (the AMI's pre-pull list)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import build_settings, settings_options
from layerscope.cli.formats import choose_format, output_options
from layerscope.cli.gate import SIZE
from layerscope.plan.pulllist import PullListFormat
from layerscope.report.recommendation import RecommendFormat

RECOMMEND_FORMATS = tuple(f.value for f in RecommendFormat)
PULL_LIST_FORMATS = tuple(f.value for f in PullListFormat)
#: The real default, plan/recommend.py `recommend()` (#18 item 12: the help said "the root volume").
BUDGET_HELP = (
    "Disk budget for baked images, e.g. 20GB [default: 85% of the profile's root volume (kubelet's image-GC"
    " threshold) minus the OS footprint and the layers already baked]."
)


@cli.command()
@click.option("--workload", "workload_path", required=True, type=click.Path(dir_okay=False), help="Workload file.")
@settings_options
@click.option("--budget", type=SIZE, metavar="SIZE", help=BUDGET_HELP)
@output_options(RECOMMEND_FORMATS, "table")
def recommend(workload_path: str, budget: int | None, fmt: str | None, output: str | None, **options: Any) -> None:
    """Which images of a workload to bake into the node's AMI to save the most launch time."""
    with errors():
        from layerscope.output import write_output
        from layerscope.plan.workload import load_workload
        from layerscope.report.recommendation import render_recommendation
        from layerscope.session import Session

        workload = load_workload(workload_path)
        budget_bytes = budget
        progress = not options["no_progress"]
        settings = build_settings(options)
        with StderrObserver(progress=progress) as observer, Session(settings, observer) as session:
            for warning in workload.warnings:
                observer.warning(warning)
            rec = session.recommend(workload, budget_bytes)
            # Both places, whichever format (#18 item 1): the recommender's own warnings on stderr too, and
            # those printed during the run (the workload's, an unresolved baked image) in the document.
            for warning in rec.warnings:
                if warning not in observer.recorded:
                    observer.warning(warning)
        rec = replace(rec, warnings=tuple(observer.recorded))
        write_output(
            render_recommendation(rec, RecommendFormat(choose_format(fmt, output, RECOMMEND_FORMATS, "table"))), output
        )


def _recommended(path: str) -> list[str]:
    """Pinned references chosen in a `layerscope.recommendation/v1` document (`recommend -o json`)."""
    from layerscope.errors import UsageError

    expected = "layerscope.recommendation/v1"
    hint = "give the JSON that `layerscope recommend … -o json --output rec.json` writes"
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read recommendation {path}: {exc.strerror}", hint=hint) from None
    try:
        doc = json.loads(text)
    except ValueError:
        # The usual slip (#18 item 11/13): `recommend --output rec.json` used to write a table.
        raise UsageError(f"{path} is not JSON; expected a {expected} document", hint=hint) from None
    found = doc.get("schema") if isinstance(doc, dict) else None
    if found != expected:
        what = f"a {found} document" if isinstance(found, str) else "JSON without a layerscope schema"
        raise UsageError(f"{path} is {what}; expected a {expected} document", hint=hint)
    try:
        return [f"{c['reference'].split('@', 1)[0]}@{c['digest']}" for c in doc["chosen"]]
    except (KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{path}: malformed {expected} document ({exc!r})", hint=hint) from None


@cli.command("pull-list")
@click.argument("refs", nargs=-1, metavar="REF...")
@click.option("--workload", "workload_path", type=click.Path(dir_okay=False), help="Workload file.")
@click.option(
    "--from-recommendation", "recommendation", type=click.Path(dir_okay=False), help="`recommend -o json` output."
)
@settings_options
@output_options(PULL_LIST_FORMATS, "text")
@click.option("--runtime", type=click.Choice(["containerd", "docker"]), help="Default: the profile's, else containerd.")
@click.option("--name", default="layerscope-prepull", show_default=True, help="Component name (awstoe).")
def pull_list(
    refs: Sequence[str],
    workload_path: str | None,
    recommendation: str | None,
    fmt: str | None,
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
            chosen = _recommended(recommendation)
            if not chosen and not wanted:
                raise UsageError(
                    f"{recommendation} chose no image to bake",
                    hint="see its not_chosen reasons (`recommend -o table`); nothing to pre-pull",
                )
            wanted += chosen
        if not wanted:
            raise UsageError("no images given", hint="pass REF..., --workload FILE or --from-recommendation FILE")
        settings = build_settings(options)
        with StderrObserver(progress=False) as observer, Session(settings, observer) as session:
            items = session.pins(wanted)
            chosen_runtime = runtime or (session.profile.runtime if session.profile else "containerd")
        unique = list({item.pinned: item for item in items}.values())
        write_output(
            write_pull_list(
                unique,
                PullListFormat(choose_format(fmt, output, PULL_LIST_FORMATS, "text")),
                runtime=chosen_runtime,
                name=name,
            ),
            output,
        )
