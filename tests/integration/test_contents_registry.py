"""`analyze -o json` contents (issue #15) through the real registry: figures equal an independent extraction,
a warm re-run reads the file indexes from the store and downloads no layer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.contents_truth import extract_truth
from tests.support.images import push, simple_image
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess
from tests.test_contents import linux_entries


def _check(doc: dict[str, Any], tars: list[bytes], root: Path) -> None:
    truth = extract_truth(tars, root)
    contents = doc["contents"]
    assert contents["scope"] == "all-layers" and contents["indexed_layers"] == [0, 1, 2]
    assert contents["files"] == len(truth.files)
    assert contents["bytes"] == sum(size for size, _ in truth.files.values())
    assert contents["reclaimable_bytes"] == sum(lt.reclaimed for lt in truth.layers)
    expected = sorted((-s, p, layer) for p, (s, layer) in truth.files.items())[:10]
    assert [(-f["bytes"], f["path"], f["layer"]) for f in contents["largest_files"]] == expected
    for layer, lt in zip(doc["layers"], truth.layers, strict=True):
        got = (layer["added_files"], layer["modified_files"], layer["deleted_files"], layer["reclaimed_by_later_bytes"])
        assert got == (lt.added, lt.modified, lt.deleted, lt.reclaimed)


def test_contents_through_the_registry_and_from_the_store(
    registry: RegistryProcess, pusher: Pusher, repo_name: str, layerscope: Callable[..., Run], tmp_path: Path
) -> None:
    entries = linux_entries()
    image = simple_image([fixturegen.make_layer(e, c) for e, c in zip(entries, ("gzip", "zstd", "none"), strict=True)])
    tars = [fixturegen.tar_bytes(e) for e in entries]
    pushed = push(pusher, repo_name, "contents", image)
    first = layerscope("analyze", pushed.ref, "-o", "json")
    assert first.exit_code == 0, first.stderr
    doc = first.json()["images"][0]
    _check(doc, tars, tmp_path / "a")
    mark = registry.mark()
    again = layerscope("analyze", pushed.ref, "-o", "json")
    assert again.exit_code == 0 and again.stderr == ""
    layer_digests = {layer["digest"] for layer in doc["layers"]}
    assert [r for r in registry.blob_gets(mark, repo=pushed.repo) if r.path.rsplit("/", 1)[1] in layer_digests] == []
    warm = again.json()["images"][0]
    assert {layer["size_source"] for layer in warm["layers"]} == {"store"}
    assert warm["contents"] == doc["contents"]
