"""`recommend` gives an index's weight once, to the platform the node launches — as `report` does (#17 item 2).

The workload (a real registry): an index of two Windows entries a WS2019 node can both run (an ltsc2019 image
and one whose OS build is unknown), weight 40, and a plain ltsc2019 app, weight 7. The node launches the index's
first runnable entry; the other carries weight 0, so the candidates' weights add up to the workload's 47.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.integration.test_plan_compat_cli import LTSC2019, _image
from tests.support.images import push
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess

INDEX_WEIGHT, APP_WEIGHT = 40, 7


@pytest.fixture(scope="module")
def two_runnable(registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Pushes the workload; returns its file, a WS2019 profile without a baked set and the index's digests."""
    entries = [_image("idxw-2019", "windows", LTSC2019), _image("idxw-unknown", "windows", None)]
    index = fixturegen.make_index(entries)
    with Pusher(registry.url) as p:
        app = push(p, "shop/idxw-app", "1", _image("idxw-app", "windows", LTSC2019)).ref
        blobs = {b.digest: b for img in entries for b in (img.manifest, *img.blobs())}
        multi = p.push_image("shop/idxw-multi", "1", index.index, blobs).ref
    directory = tmp_path_factory.mktemp("index-weight")
    workload = directory / "workload.yaml"
    images = [{"ref": multi, "weight": INDEX_WEIGHT}, {"ref": app, "weight": APP_WEIGHT}]
    workload.write_text(yaml.safe_dump({"images": images}))
    profile = directory / "node.yaml"
    profile.write_text("extends: eks-ws2019-core\nname: ws2019-bare\nbaked: []\n")
    return {
        "args": ("--workload", str(workload), "--profile", str(profile), "-o", "json"),
        "launched": entries[0].digest,
        "other": entries[1].digest,
    }


def _weights(rec: dict[str, Any]) -> dict[str, float]:
    return {c["digest"]: c["weight"] for c in (*rec["chosen"], *rec["not_chosen"])}


def test_recommend_weights_sum_to_the_workload(two_runnable: dict[str, Any], layerscope: Callable[..., Run]) -> None:
    run = layerscope("recommend", *two_runnable["args"])
    assert run.exit_code == 0, run.stderr
    weights = _weights(run.json())
    assert len(weights) == 3
    assert sum(weights.values()) == INDEX_WEIGHT + APP_WEIGHT
    assert weights[two_runnable["launched"]] == INDEX_WEIGHT
    assert weights[two_runnable["other"]] == 0
    # The entry the node never launches saves nothing, so it is not baked.
    assert two_runnable["other"] not in {c["digest"] for c in run.json()["chosen"]}


def test_report_and_recommend_choose_the_same_digests(
    two_runnable: dict[str, Any], layerscope: Callable[..., Run]
) -> None:
    report = layerscope("report", *two_runnable["args"])
    assert report.exit_code == 0, report.stderr
    recommend = layerscope("recommend", *two_runnable["args"])
    assert recommend.exit_code == 0, recommend.stderr
    from_report, from_recommend = report.json()["fleet"]["recommendation"], recommend.json()
    assert {c["digest"] for c in from_report["chosen"]} == {c["digest"] for c in from_recommend["chosen"]}
    assert _weights(from_report) == _weights(from_recommend)
    assert from_report["seconds_saved_per_day"] == from_recommend["seconds_saved_per_day"]
    # The report lists the other entry as not applicable, with the same weights per image.
    images = {i["digest"]: i for i in report.json()["images"]}
    assert images[two_runnable["other"]]["applicable"] is False
    assert {d: i["weight"] for d, i in images.items()} == _weights(from_recommend)
