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
            # mkstemp makes the file 0600; a report is meant to be shared, so give it the mode a plain
            # `open(path, "w")` would (an existing file keeps its own mode) — issue #17/#18.
            os.fchmod(f.fileno(), _mode_for(target))
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _mode_for(target: Path) -> int:
    """The permission bits *target* gets: its current ones if it exists, else 0666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process umask, read without changing it (Linux /proc), else by the set-and-restore idiom."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
