"""Writing results: stdout, or a file replaced atomically so a failed run never leaves a partial file."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

from layerscope.errors import UsageError

__all__ = ["write_output"]


def write_output(text: str | bytes, path: str | None) -> None:
    """Write *text* to *path* atomically (temp file, fsync, rename), or to stdout when *path* is None/'-'."""
    data = text.encode() if isinstance(text, str) else text
    if path is None or path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror}", hint="check the directory exists and is writable"
        ) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
