"""`layerscope files`, `analyze --contents` and the waste gates (issue #15), on OCI layouts built here;
every figure from an independent extraction (tests/support/contents_truth.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.contents_truth import extract_truth
from tests.support.images import simple_image, write_image_layout
from tests.test_contents import linux_entries


@pytest.fixture
def layout(tmp_path: Path) -> tuple[str, Path]:
    entries = linux_entries()
    ref = write_image_layout(tmp_path / "layout", "contents", simple_image([fixturegen.make_layer(e) for e in entries]))
    truth_root = tmp_path / "rootfs"
    extract_truth([fixturegen.tar_bytes(e) for e in entries], truth_root)
    return ref, truth_root


def _du(root: Path, under: str, depth: int) -> dict[str, tuple[int, int]]:
    """Path -> (bytes, regular files) of every path at most *depth* levels below *under*, by walking the tree
    (a hard-linked inode counts once, at the path sorting first: the target the tar wrote before its links)."""
    seen: set[int] = set()
    files: dict[str, int] = {}
    for path in sorted(p for p in (root / under).rglob("*") if not p.is_symlink() and p.is_file()):
        st = path.stat()
        if st.st_ino in seen:
            continue
        seen.add(st.st_ino)
        files[path.relative_to(root).as_posix()] = st.st_size
    out: dict[str, tuple[int, int]] = {}
    start = len(under.split("/")) if under else 0
    for p in (root / under).rglob("*"):
        rel = p.relative_to(root).as_posix()
        if len(rel.split("/")) - start > depth:
            continue
        if p.is_dir() and not p.is_symlink():
            below = [s for f, s in files.items() if f.startswith(rel + "/")]
            out[rel] = (sum(below), len(below))
        else:
            out[rel] = (files.get(rel, 0), 1 if rel in files else 0)
    return out


@pytest.mark.parametrize(("under", "depth"), [("", 1), ("", 3), ("var", 2), ("data", 1)])
def test_files_lists_the_final_filesystem_like_du(
    under: str, depth: int, layout: tuple[str, Path], layerscope: Callable[..., Run]
) -> None:
    ref, root = layout
    run = layerscope("files", ref, "--depth", str(depth), "--path", under, "--top", "1000", "-o", "json")
    assert run.exit_code == 0, run.stderr
    doc = run.json()
    assert doc["schema"] == "layerscope.files/v1" and doc["scope"] == "all-layers"
    got = {e["path"]: (e["bytes"], e["files"]) for e in doc["entries"]}
    assert got == _du(root, under, depth)
    assert [e["bytes"] for e in doc["entries"]] == sorted((e["bytes"] for e in doc["entries"]), reverse=True)


def test_files_of_one_layer_and_its_errors(layout: tuple[str, Path], layerscope: Callable[..., Run]) -> None:
    ref, _ = layout
    run = layerscope("files", ref, "--layer", "2", "--depth", "5", "-o", "csv")
    assert run.exit_code == 0, run.stderr
    rows = {r["path"]: r for r in csv.DictReader(io.StringIO(run.stdout))}
    assert rows["app/.wh.tmp.bin"]["type"] == "whiteout"
    assert rows["etc/a.conf"]["bytes"] == "120" and rows["etc/a.conf"]["layer"] == "2"
    assert rows["var/cache/x1"]["bytes"] == "64"
    assert "usr/lib/keep.so" not in rows  # a layer-0 file is not in layer 2
    missing = layerscope("files", ref, "--layer", "7")
    assert missing.exit_code == 2 and "no layer 7" in missing.stderr and "Traceback" not in missing.stderr


def test_analyze_contents_table_and_waste_gates(layout: tuple[str, Path], layerscope: Callable[..., Run]) -> None:
    ref, _ = layout
    table = layerscope("analyze", ref, "--contents")
    assert table.exit_code == 0, table.stderr
    assert "Where the bytes are" in table.stdout and "app/app.bin" in table.stdout
    wasted = layerscope("analyze", ref, "-o", "json").json()["images"][0]["contents"]["wasted_bytes"]
    assert wasted == 10964  # dive 0.13 on the same layers (tests/test_contents.py checks it against dive)
    assert layerscope("analyze", ref, "--max-waste", str(wasted)).exit_code == 0  # at the limit passes
    over = layerscope("analyze", ref, "--max-waste", str(wasted - 1))
    assert over.exit_code == 6 and "gate exceeded" in over.stderr
    assert layerscope("analyze", ref, "--max-waste", "100%").exit_code == 0
    assert layerscope("analyze", ref, "--max-waste", "10%").exit_code == 6
    assert layerscope("analyze", ref, "--min-efficiency", "0.5").exit_code == 0
    assert layerscope("analyze", ref, "--min-efficiency", "0.6").exit_code == 6  # dive's score is 0.588
    bad = layerscope("analyze", ref, "--max-waste", "lots")
    assert bad.exit_code == 2 and "Traceback" not in bad.stderr
