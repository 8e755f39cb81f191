"""`make bench`'s baseline (issue #15): the code before the file index, taken from git history, really runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scripts.bench_baseline import BASELINE_REV, baseline_tree, imported_from, paired

ROOT = Path(__file__).resolve().parents[2]


def test_pairs_are_divided_run_by_run() -> None:
    assert paired([2.0, 3.0, 9.0], [1.0, 3.0, 3.0]) == (2.0, 1.0, 3.0)


def test_the_baseline_tree_is_the_old_package_and_is_what_python_imports(tmp_path: Path) -> None:
    tree = baseline_tree(ROOT, tmp_path / "baseline")
    if tree is None:
        pytest.skip(f"no git history with {BASELINE_REV} here (a shallow clone or a source tarball)")
    assert (tree / "layerscope" / "cli" / "__init__.py").is_file()
    assert not (tree / "layerscope" / "contents.py").exists()  # added by issue #15
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    assert imported_from(tree, env) == tree.resolve()
    assert imported_from(ROOT, env) == ROOT.resolve()
