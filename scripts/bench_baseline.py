"""The code before issue #15, beside the current code, so `make bench` times both in one run.

Issue #15 asks that exact analysis stay within 10% of its speed before the file index and the image contents
were added. `BASELINE_REV` is main as it was when the issue was filed (it also predates issue #12's per-path
table, so the comparison is conservative). Its package is extracted from git history into the bench's work
directory and run by the same interpreter, so both sides share the venv, the registry and the bytecode rules.
"""

from __future__ import annotations

import io
import shutil
import statistics
import subprocess
import sys
import tarfile
from collections.abc import Sequence
from pathlib import Path

#: main before issue #15 (2026-11-26): no file index, no contents, no per-path table.
BASELINE_REV = "f411258"

#: How a checkout's CLI is started: the same launcher for both sides (an entry-point script does the same).
#: `-P`: the working directory is not put first on sys.path, so PYTHONPATH decides which checkout runs.
LAUNCH = ("-P", "-c", "from layerscope.cli import main; main()")


def baseline_tree(root: Path, into: Path) -> Path | None:
    """`layerscope/` at BASELINE_REV extracted under *into*; None without git history (a source tarball)."""
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        return None
    archive = subprocess.run(
        [git, "-C", str(root), "archive", "--format=tar", BASELINE_REV, "layerscope"], capture_output=True, check=False
    )
    if archive.returncode != 0:
        return None
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuse links and paths out of *into*
            tar.extractall(into, filter="data")
        else:  # our own git history, nothing hostile
            tar.extractall(into)
    compiled = [sys.executable, "-m", "compileall", "-q", str(into / "layerscope")]
    subprocess.run(compiled, check=True, capture_output=True)
    return into


def imported_from(tree: Path, env: dict[str, str]) -> Path:
    """Where `import layerscope` resolves with PYTHONPATH=*tree* (an editable install must not win)."""
    out = subprocess.run(
        [sys.executable, *LAUNCH[:-1], "import layerscope; print(layerscope.__file__)"],
        env={**env, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip()).resolve().parent.parent


def paired(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """Median, min and max of a[i] / b[i]: runs taken in turn, so drift of the machine cancels pair by pair."""
    ratios = [x / y for x, y in zip(a, b, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)
