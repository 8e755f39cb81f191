"""The command line: the only importer of click, and the only place that prints errors (DESIGN.md).

`app.py` holds the group, progress rendering and error mapping; each command group lives in its own
module, imported here so that it registers itself on `cli`.
"""

from layerscope.cli import commands, scan  # noqa: F401  (registers analyze, store, scan)
from layerscope.cli.app import cli, main

__all__ = ["cli", "main"]
