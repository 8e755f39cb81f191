"""`layerscope catalog list|show|refresh`: the Windows base catalog (shipped data plus the user catalog)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import click

from layerscope.cli.app import StderrObserver, cli, errors
from layerscope.cli.commands import registry_options
from layerscope.cli.formats import CATALOG_FORMAT_OPTION as FORMAT_OPTION
from layerscope.cli.windows import catalog_amis, catalog_when
from layerscope.report import CatalogFormat

_CATALOG_OPTION = click.option(
    "--catalog",
    "catalog_path",
    type=click.Path(dir_okay=False),
    help="User catalog file (default: $XDG_DATA_HOME/layerscope/catalog.json).",
)


@cli.group()
def catalog() -> None:
    """The Windows base catalog: known Server Core / Nano Server layers, revisions and MCR index pins."""


@catalog.command("list")
@FORMAT_OPTION
@_CATALOG_OPTION
def catalog_list(fmt: str, catalog_path: str | None) -> None:
    """Known bases by image and channel, with their monthly revisions and layers."""
    with errors():
        from layerscope.catalog.browse import load_view
        from layerscope.report.catalog_json import dump, list_document
        from layerscope.report.catalog_table import render_list

        doc = list_document(load_view(catalog_path))
        click.echo(dump(doc) if fmt == CatalogFormat.JSON else render_list(doc), nl=False)


@catalog.command("show")
@click.argument("name")
@FORMAT_OPTION
@_CATALOG_OPTION
def catalog_show(name: str, fmt: str, catalog_path: str | None) -> None:
    """Every revision and layer of NAME: a base (servercore:ltsc2019), a build (10.0.17763.2928) or a digest."""
    with errors():
        from layerscope.catalog.browse import load_view, select
        from layerscope.report.catalog_json import dump, show_document
        from layerscope.report.catalog_table import render_show

        view = load_view(catalog_path)
        doc = show_document(view, select(view, name))
        click.echo(dump(doc) if fmt == CatalogFormat.JSON else render_show(doc), nl=False)


@catalog.command("refresh")
@click.option(
    "--registry",
    default="mcr.microsoft.com",
    show_default=True,
    help="Registry that serves Microsoft's base repositories.",
)
@click.option(
    "--repository",
    "repositories",
    multiple=True,
    metavar="REPO",
    help="Repository to read (repeatable; default windows/servercore and windows/nanoserver).",
)
@click.option(
    "--tags",
    "patterns",
    multiple=True,
    metavar="PATTERN",
    help="Glob of tags to read (repeatable; default: the LTSC channel tags and 10.0.* build tags).",
)
@click.option(
    "--max-tags",
    type=click.IntRange(1),
    help="Read at most N tags per repository: channel tags first, then builds newest first.",
)
@click.option("--dry-run", is_flag=True, help="Show what would be added; do not write the user catalog.")
@registry_options
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Tags read at once.")
@FORMAT_OPTION
@_CATALOG_OPTION
def catalog_refresh(
    registry: str,
    repositories: Sequence[str],
    patterns: Sequence[str],
    max_tags: int | None,
    dry_run: bool,
    mirror: Sequence[str],
    plain_http: bool,
    timeout: float | None,
    concurrency: int,
    fmt: str,
    catalog_path: str | None,
) -> None:
    """Add base layers and index pins to the user catalog from a registry, reading configs only (no layers)."""
    with errors():
        from layerscope.catalog import load, save_user_entries
        from layerscope.catalog.refresh import DEFAULT_REPOSITORIES, refresh_catalog, require_images
        from layerscope.registry import DockerCredentialStore, RegistryClient
        from layerscope.report.catalog_json import dump, refresh_document
        from layerscope.report.catalog_table import render_refresh
        from layerscope.session import Settings, parse_mirrors

        host = registry.strip().lower()
        settings = Settings(mirrors=parse_mirrors(mirror), plain_http=plain_http, timeout=timeout)
        observer = StderrObserver(progress=False)
        credentials = DockerCredentialStore()
        # A --catalog file that does not exist yet is where this refresh starts the user catalog.
        exists = catalog_path is None or Path(catalog_path).exists()
        current = load(catalog_path) if exists else load(include_user=False)
        with RegistryClient(settings.registry_config(), credentials) as client:
            result = refresh_catalog(
                client,
                current,
                registry=host,
                repositories=tuple(repositories) or DEFAULT_REPOSITORIES,
                patterns=tuple(patterns) or None,
                max_tags=max_tags,
                endpoint=settings.mirrors.get(host),
                workers=concurrency,
                observer=observer,
            )
        for message in credentials.warnings:
            observer.warning(message)
        require_images(result, patterns)
        saved = None if dry_run else str(save_user_entries(result.layers, result.pins, catalog_path))
        doc = refresh_document(result, saved)
        click.echo(dump(doc) if fmt == CatalogFormat.JSON else render_refresh(doc, saved), nl=False)


# `catalog when|amis` live in their own module (issue #14).
catalog.add_command(catalog_when)
catalog.add_command(catalog_amis)
