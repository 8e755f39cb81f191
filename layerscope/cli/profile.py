"""`layerscope profile list|show`: the shipped node profiles, or a user profile file, with every value's source."""

from __future__ import annotations

import json

import click

from layerscope.cli.app import cli, errors

_FORMAT_OPTION = click.option(
    "-o", "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)


@cli.group()
def profile() -> None:
    """Node profiles: what an EKS/ECS Windows node brings to a pod launch (host build, runtime, disk, baked images)."""


@profile.command("list")
@_FORMAT_OPTION
def profile_list(fmt: str) -> None:
    """The shipped profiles: orchestrator, runtime, host build, root volume, description."""
    with errors():
        from layerscope.plan.profile import list_profiles, load_profile
        from layerscope.report.profile_view import list_document, render_list

        doc = list_document([load_profile(name) for name in list_profiles()])
        click.echo(json.dumps(doc, indent=2) + "\n" if fmt == "json" else render_list(doc), nl=False)


@profile.command("show")
@click.argument("name", metavar="NAME|FILE")
@_FORMAT_OPTION
def profile_show(name: str, fmt: str) -> None:
    """Every value of a profile (shipped NAME, or a YAML/JSON FILE that may `extends:` one) with its source."""
    with errors():
        from layerscope.plan.profile import load_profile
        from layerscope.report.profile_view import render_show, show_document

        doc = show_document(load_profile(name))
        click.echo(json.dumps(doc, indent=2) + "\n" if fmt == "json" else render_show(doc), nl=False)
