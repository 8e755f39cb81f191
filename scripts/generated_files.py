"""Write generated data files, or check that the shipped ones are current: `--check` of scripts/build_*.py."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["write_or_check"]


def write_or_check(files: Mapping[str, str], out: Path, *, check: bool, what: str) -> int:
    """Write *files* (name → text) under *out*; with *check*, compare them byte for byte with what is there.

    Returns the exit status: 1 (naming the stale files, as *what*, on stderr) when a check finds a difference.
    """
    if check:
        stale = [n for n, text in files.items() if not (out / n).exists() or (out / n).read_bytes() != text.encode()]
        if stale:
            print(f"stale {what}: {', '.join(sorted(stale))}", file=sys.stderr)
            return 1
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8", newline="")
    return 0
