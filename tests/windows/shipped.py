"""The shipped tables read with the csv module only (an oracle independent of layerscope.windows.load)."""

from __future__ import annotations

import csv
import io
from importlib import resources
from pathlib import Path

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"


def rows(name: str) -> list[dict[str, str]]:
    """Rows of a shipped data file under layerscope/windows/data."""
    text = (resources.files("layerscope") / "windows" / "data" / name).read_bytes().decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))
