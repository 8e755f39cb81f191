"""CLI side of the pull gate (layerscope/gate.py): a SIZE option type and the exit-6 path, shared by
`analyze --max-pull` and `report --max-pull` (old name `--fail-over`, hidden)."""

from __future__ import annotations

import sys
from typing import Any

import click

from layerscope.errors import UsageError
from layerscope.gate import GATE_EXIT_CODE, GateResult
from layerscope.units import parse_size
from layerscope.waste_gate import WasteGateResult

__all__ = ["SIZE", "WASTE", "SizeParam", "WasteParam", "enforce_gate"]


class SizeParam(click.ParamType):  # type: ignore[type-arg]  # generic only in some click versions
    """A size option (`10GB`, `9.5GiB`, `500MB`, plain bytes) converted to an int of bytes."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        """Bytes in *value*; a malformed size is a usage error (exit 2)."""
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        try:
            return parse_size(value)
        except UsageError as exc:
            self.fail(exc.message, param, ctx)


SIZE = SizeParam()


class WasteParam(click.ParamType):  # type: ignore[type-arg]  # generic only in some click versions
    """`--max-waste`: a size (`50MB`) or a percentage (`10%`), see layerscope/waste_gate.py."""

    name = "size|pct"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """A WasteLimit; a malformed value is a usage error (exit 2)."""
        from layerscope.waste_gate import WasteLimit, parse_waste_limit

        if isinstance(value, WasteLimit):
            return value
        try:
            return parse_waste_limit(str(value))
        except UsageError as exc:
            self.fail(exc.message, param, ctx)


WASTE = WasteParam()


def enforce_gate(result: GateResult | WasteGateResult | None) -> None:
    """Exit 6 with the gate's one-line reason on stderr when it was exceeded; otherwise return."""
    if result is not None and result.exceeded:
        click.echo(f"layerscope: gate exceeded: {result.reason}", err=True)
        sys.exit(GATE_EXIT_CODE)
