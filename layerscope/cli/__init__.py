"""The command line: the only importer of click, and the only place that prints errors (DESIGN.md).

`app.py` holds the group, progress rendering and error mapping; each command group lives in its own
module, which `app.LAZY_COMMANDS` imports when that command is used.
"""

from layerscope.cli.app import cli, main

__all__ = ["cli", "main"]
