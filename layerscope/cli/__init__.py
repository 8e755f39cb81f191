"""The command line: the only importer of click, and the only place that prints errors (DESIGN.md).

`app.py` holds the group, progress rendering and error mapping; each command group lives in its own
module, imported here so that it registers itself on `cli`.
"""

# Imported for their side effect: each module registers its commands on `cli`.
from layerscope.cli import catalog, commands, diff, plan, profile, report, scan  # noqa: F401
from layerscope.cli.app import cli, main

__all__ = ["cli", "main"]
