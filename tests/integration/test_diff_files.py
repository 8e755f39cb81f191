"""`diff A B --files` (issue #15): paths added, removed, grown and shrunk, against two independent extractions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.contents_truth import extract_truth
from tests.support.images import simple_image, write_image_layout
from tests.test_contents import linux_entries


def test_diff_files_equals_two_extractions(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    l0, l1, l2 = linux_entries()
    release = [fixturegen.file("app/app.bin", fixturegen.random_bytes(9000, "app2")), fixturegen.file("app/x", b"x")]
    images = {"a": [l0, l1], "b": [l0, l1, l2, release]}
    refs, truths = {}, {}
    for name, layers in images.items():
        image = simple_image([fixturegen.make_layer(e) for e in layers])
        refs[name] = write_image_layout(tmp_path / name, name, image)
        tars = [fixturegen.tar_bytes(e) for e in layers]
        truths[name] = {p: s for p, (s, _) in extract_truth(tars, tmp_path / f"root-{name}").files.items()}
    run = layerscope("diff", refs["a"], refs["b"], "--files", "--top", "1000", "-o", "json")
    assert run.exit_code == 0, run.stderr
    files = run.json()["files"]
    a, b = truths["a"], truths["b"]
    expected = {p: ("added", None, b[p]) for p in b.keys() - a.keys()}
    expected |= {p: ("removed", a[p], None) for p in a.keys() - b.keys()}
    expected |= {p: ("grown" if b[p] > a[p] else "shrunk", a[p], b[p]) for p in a.keys() & b.keys() if a[p] != b[p]}
    got = {c["path"]: (c["change"], c["a_bytes"], c["b_bytes"]) for c in files["changes"]}
    assert got == expected
    assert expected["app/app.bin"] == ("grown", 8000, 9000)  # the fixture does exercise each kind
    assert {v[0] for v in expected.values()} == {"added", "removed", "grown", "shrunk"}
    deltas = [abs(c["delta_bytes"]) for c in files["changes"]]
    assert deltas == sorted(deltas, reverse=True)
    assert files["unchanged"] == len(a.keys() & b.keys()) - sum(1 for v in expected.values() if v[1] and v[2])
    table = layerscope("diff", refs["a"], refs["b"], "--files")
    assert table.exit_code == 0 and "Files from A to B" in table.stdout and "app/tmp.bin" in table.stdout
