"""`layerscope catalog when|amis`: which month/KB a Windows build is, and which revision an AMI cached."""

from __future__ import annotations

import json
from typing import Any

import click

from layerscope.cli.app import errors
from layerscope.cli.formats import CATALOG_FORMAT_OPTION as FORMAT_OPTION
from layerscope.report import CatalogFormat


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2) + "\n"


@click.command("when")
@click.argument("query")
@FORMAT_OPTION
def catalog_when(query: str, fmt: str) -> None:
    """Which month and KB a build is: QUERY is an os_version (10.0.17763.1879) or a KB (KB5001342)."""
    with errors():
        from layerscope.errors import NotFoundError
        from layerscope.report.windows_view import render_when, when_document
        from layerscope.windows import lookup
        from layerscope.windows.load import build_table

        rows = lookup(query)
        if not rows:
            raise NotFoundError(f"{query} is not in the Windows build tables", hint=_when_hint(query, build_table()))
        doc = when_document(query, rows)
        click.echo(_json(doc) if fmt == CatalogFormat.JSON else render_when(doc), nl=False)


def _when_hint(query: str, table: Any) -> str:
    from layerscope.windows.builds import LTSC_CHANNELS, SAC_VERSIONS, parse_os_version

    parsed = parse_os_version(query)
    if parsed is None:
        return "the tables list every cumulative update of 14393/17763/20348/26100 (2016-08 to 2026-08) and SAC builds"
    build, ubr = parsed
    if build not in LTSC_CHANNELS and build not in SAC_VERSIONS:
        return f"build {build} is not covered: the tables hold 14393, 17763, 20348, 26100 and 18362/18363/19041/19042"
    below, above = table.nearest(build, ubr)
    around = ", ".join(f"{r.os_version} ({r.month or 'undated'})" for r in (below, above) if r is not None)
    return f"nearest known revisions of build {build}: {around}; a newer update needs a newer layerscope"


@click.command("amis")
@click.option("--service", type=click.Choice(["eks", "ecs"]), help="Only EKS or ECS optimized AMIs.")
@click.option("--build", "build", metavar="BUILD", help="Windows build: 2019, ltsc2019 or 17763 (also 1909, 2004…).")
@click.option(
    "--family",
    metavar="NAME",
    help="AMI family (the name without its date, = the SSM parameter name), an AMI name, or a glob of either.",
)
@click.option("--edition", type=click.Choice(["Core", "Full"], case_sensitive=False), help="Core or Full.")
@click.option("--k8s", "k8s_version", metavar="X.Y", help="EKS Kubernetes version, e.g. 1.31.")
@click.option(
    "--runtime",
    type=click.Choice(["docker", "containerd"]),
    help="Runtime of the nodes (default: the AMI's; EKS <= 1.23 on containerd caches no base image).",
)
@FORMAT_OPTION
def catalog_amis(
    service: str | None,
    build: str | None,
    family: str | None,
    edition: str | None,
    k8s_version: str | None,
    runtime: str | None,
    fmt: str,
) -> None:
    """EKS/ECS Windows AMI releases with the Server Core / Nano Server revision each one cached (inferred)."""
    with errors():
        from layerscope.errors import NotFoundError
        from layerscope.report.windows_view import amis_document, render_amis
        from layerscope.windows import amis, infer_ami_revision
        from layerscope.windows.amis import parse_ami_name
        from layerscope.windows.builds import IMAGES

        found = amis(service=service, build=build, family=family, edition=edition, k8s_version=k8s_version)
        releases: list[Any] = []
        for ami in found:
            # --runtime also filters: ECS runs Docker only, EKS from 1.24 containerd only.
            if (runtime == "containerd" and ami.service == "ecs") or (
                runtime == "docker" and ami.default_runtime == "containerd"
            ):
                continue
            inferred = {image: infer_ami_revision(ami, image=image, runtime=runtime) for image in IMAGES}
            releases.append((ami, ami.ami_name, inferred))
        parsed = parse_ami_name(family) if family else None
        if not releases and parsed is not None and parsed.ami_date is not None and parsed.name is not None:
            # A newer AMI than the table knows: its name carries all the rule needs (build, date, runtime).
            inferred = {image: infer_ami_revision(parsed, image=image, runtime=runtime) for image in IMAGES}
            releases.append((None, parsed.name, inferred))
        if not releases:
            raise NotFoundError(
                "no EKS/ECS Windows AMI release matches the filters",
                hint="check the filters; --family takes a family such as "
                "Windows_Server-2019-English-Core-EKS_Optimized-1.31, a full AMI name, or a glob",
            )
        filters = {
            "service": service,
            "build": build,
            "family": family,
            "edition": edition,
            "k8s_version": k8s_version,
            "runtime": runtime,
        }
        doc = amis_document(releases, filters)
        click.echo(_json(doc) if fmt == CatalogFormat.JSON else render_amis(doc), nl=False)
