"""`layerscope profile list|show`: the shipped node profiles, or a user profile file, with every value's source."""

from __future__ import annotations

import click

from layerscope.cli.app import cli, errors
from layerscope.report.profile_view import ProfileFormat

_FORMAT_OPTION = click.option(
    "-o", "--format", "fmt", type=click.Choice([f.value for f in ProfileFormat]), default="table", show_default=True
)


@cli.group()
def profile() -> None:
    """Node profiles: what an EKS/ECS Windows node brings to a pod launch (host build, runtime, disk, baked images)."""


@profile.command("list")
@_FORMAT_OPTION
def profile_list(fmt: str) -> None:
    """The shipped profiles: orchestrator, runtime, host build, root volume, description."""
    with errors():
        from layerscope.plan.profile_files import list_profiles, load_profile
        from layerscope.report.profile_view import render_profile_list

        profiles = [load_profile(name) for name in list_profiles()]
        click.echo(render_profile_list(profiles, ProfileFormat(fmt)), nl=False)


@profile.command("show")
@click.argument("name", metavar="NAME|FILE")
@_FORMAT_OPTION
@click.option(
    "--ami",
    metavar="NAME|ami-ID|YYYY-MM-DD|latest",
    help="Also show which base revision a node from this AMI holds, and why (dates and latest use ami_family).",
)
def profile_show(name: str, fmt: str, ami: str | None) -> None:
    """Every value of a profile (shipped NAME, or a YAML/JSON FILE that may `extends:` one) with its source."""
    with errors():
        from layerscope.plan.profile_files import load_profile
        from layerscope.report.profile_view import render_profile_show

        prof = load_profile(name)
        node = None
        if ami is not None or prof.ami is not None:
            from layerscope.aws_amis import aws_lookups
            from layerscope.windows.node import NodeInputs, node_revision

            inputs = NodeInputs(ami=ami or prof.ami, ami_family=prof.ami_family, runtime=prof.runtime)
            found, warnings = node_revision(inputs, aws_lookups())
            node = {
                **found.to_json(),
                "images": dict(found.images),
                "explanation": found.explanation,
                "warnings": list(warnings),
            }
        click.echo(render_profile_show(prof, ProfileFormat(fmt), node), nl=False)


@profile.command("init")
@click.argument("name")
@click.option(
    "--from",
    "parent",
    required=True,
    metavar="NAME|FILE",
    help="The profile to start from: a shipped NAME (layerscope profile list) or a profile FILE.",
)
@click.option("--output", type=click.Path(dir_okay=False), help="Write to FILE (atomically) instead of stdout.")
def profile_init(name: str, parent: str, output: str | None) -> None:
    """Write a commented profile NAME that extends NAME|FILE: every key, its meaning, units and inherited value.

    \b
    layerscope profile init my-node --from eks-ws2019-core --output my-node.yaml
    """
    with errors():
        import os

        from layerscope.errors import UsageError
        from layerscope.output import write_output
        from layerscope.plan.profile import _NAME
        from layerscope.plan.profile_files import load_profile
        from layerscope.report.profile_template import profile_template

        if not _NAME.fullmatch(name):
            raise UsageError(
                f"invalid profile name {name!r}",
                hint="use lower-case letters, digits, '.', '_' or '-' (at most 64), e.g. my-node",
            )
        source = load_profile(parent)  # an unknown or broken parent fails here, before anything is written
        extends = parent
        if source.origin != "shipped" and output and not os.path.isabs(parent):
            # `extends:` of a file is relative to the file that says it: point from the new file to the parent.
            extends = os.path.relpath(parent, os.path.dirname(os.path.abspath(output)))
        write_output(profile_template(source, name, extends), output)
