"""Every subcommand is reachable through the lazy group, and every command module is listed there."""

from __future__ import annotations

import importlib
import pkgutil

import click

import layerscope.cli as cli_package
from layerscope.cli.app import LAZY_COMMANDS, cli


def test_every_lazy_command_resolves() -> None:
    ctx = click.Context(cli)
    for name in LAZY_COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name


def test_no_command_is_missing_from_the_lazy_map() -> None:
    for module in pkgutil.iter_modules(cli_package.__path__):
        importlib.import_module(f"layerscope.cli.{module.name}")
    assert set(cli.commands) == set(LAZY_COMMANDS)
