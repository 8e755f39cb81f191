"""`recommend` and `report` agree on a workload holding images a WS2019 node cannot run (issue #12 item 6).

The workload (a real registry): an ltsc2019 app (10.0.17763), an ltsc2022 app (10.0.20348), a Linux app and an
index holding an ltsc2019 and an ltsc2022 entry. A WS2019 node runs only the ltsc2019 images; both commands must
leave the others out of the candidates with a `cannot run on this node: …` reason, warn, and choose the same set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import push, simple_image
from tests.support.push import Pusher
from tests.support.registry import RegistryProcess

LTSC2019 = "10.0.17763.2928"
LTSC2022 = "10.0.20348.1006"


def _image(seed: str, os_name: str, os_version: str | None, architecture: str = "amd64") -> fixturegen.Image:
    layers = [
        fixturegen.make_layer(fixturegen.windows_app_entries(f"{seed}-0", size_kib=48), "gzip"),
        fixturegen.make_layer(fixturegen.windows_app_entries(f"{seed}-1", size_kib=16), "gzip"),
    ]
    if architecture == "amd64":
        return simple_image(layers, os_name=os_name, os_version=os_version)
    config = fixturegen.make_config(
        [layer.diff_id for layer in layers],
        [{"created_by": f"COPY {i}", "created": fixturegen.CREATED} for i in range(len(layers))],
        os_name=os_name,
        architecture=architecture,
        os_version=os_version,
    )
    return fixturegen.make_image(layers, config)


@pytest.fixture(scope="module")
def mixed(registry: RegistryProcess, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Pushes the workload; returns its file, a WS2019 profile without a baked set, and the pushed refs."""
    both = [_image("multi-2019", "windows", LTSC2019), _image("multi-2022", "windows", LTSC2022)]
    index = fixturegen.make_index(both)
    with Pusher(registry.url) as p:
        refs = {
            "ltsc2019": push(p, "shop/app2019", "1", _image("app2019", "windows", LTSC2019)).ref,
            "ltsc2022": push(p, "shop/app2022", "1", _image("app2022", "windows", LTSC2022)).ref,
            "linux": push(p, "shop/applinux", "1", _image("applinux", "linux", None)).ref,
            "arm64": push(p, "shop/apparm", "1", _image("apparm", "windows", LTSC2019, "arm64")).ref,
        }
        blobs = {b.digest: b for img in both for b in (img.manifest, *img.blobs())}
        refs["index"] = p.push_image("shop/multi", "1", index.index, blobs).ref
    directory = tmp_path_factory.mktemp("mixed")
    workload = directory / "workload.yaml"
    workload.write_text(yaml.safe_dump({"images": [{"ref": ref, "weight": 10} for ref in refs.values()]}))
    profile = directory / "node.yaml"
    profile.write_text("extends: eks-ws2019-core\nname: ws2019-bare\nbaked: []\n")
    return {
        "refs": refs,
        "workload": str(workload),
        "profile": str(profile),
        "digests": {"index-2019": both[0].digest, "index-2022": both[1].digest},
    }


def _check(rec: dict[str, Any], mixed: dict[str, Any]) -> tuple[set[str], dict[str, str]]:
    """The chosen digests and the reasons of the images left out; asserts what both commands must say."""
    refs, digests = mixed["refs"], mixed["digests"]
    chosen = {c["digest"] for c in rec["chosen"]}
    reasons = {n["digest"]: n["reason"] for n in rec["not_chosen"]}
    # Every image the node runs is baked (nothing else competes for the default budget)...
    assert len(chosen) == 2 and digests["index-2019"] in chosen
    assert all(not r.startswith("cannot run") for d, r in reasons.items() if d in chosen)
    # ...and every image it cannot run is left out, with its own reason and zero savings.
    cannot = {d: r for d, r in reasons.items() if r.startswith("cannot run on this node: ")}
    assert len(cannot) == 4 and digests["index-2022"] in cannot
    assert all(n["seconds_saved_per_day"] == 0 for n in rec["not_chosen"] if n["digest"] in cannot)
    by_ref = {n["reference"].split(" [")[0]: n["reason"] for n in rec["not_chosen"] if n["digest"] in cannot}
    assert "OS build 10.0.20348.1006 cannot run with process isolation on host build" in by_ref[refs["ltsc2022"]]
    assert "linux/amd64 image" in by_ref[refs["linux"]]
    assert "windows/arm64" in by_ref[refs["arm64"]]
    for ref in (refs["ltsc2022"], refs["linux"], refs["arm64"]):
        assert any(
            w.startswith(f"{ref} is left out of the candidates: cannot run on this node") for w in rec["warnings"]
        )
    return chosen, cannot


def test_recommend_leaves_out_what_the_node_cannot_run(mixed: dict[str, Any], layerscope: Callable[..., Run]) -> None:
    run = layerscope("recommend", "--workload", mixed["workload"], "--profile", mixed["profile"], "-o", "json")
    assert run.exit_code == 0, run.stderr
    _check(run.json(), mixed)
    table = layerscope("recommend", "--workload", mixed["workload"], "--profile", mixed["profile"])
    assert table.exit_code == 0, table.stderr
    assert "cannot run on this node: OS build 10.0.20348.1006" in table.stdout


def test_report_and_recommend_agree(mixed: dict[str, Any], layerscope: Callable[..., Run]) -> None:
    args = ("--workload", mixed["workload"], "--profile", mixed["profile"], "-o", "json")
    report = layerscope("report", *args)
    assert report.exit_code == 0, report.stderr
    from_report = report.json()["fleet"]["recommendation"]
    recommend = layerscope("recommend", *args)
    assert recommend.exit_code == 0, recommend.stderr
    from_recommend = recommend.json()
    assert _check(from_report, mixed) == _check(from_recommend, mixed)
    assert from_report["seconds_saved_per_day"] == from_recommend["seconds_saved_per_day"]
    assert from_report["disk_bytes"] == from_recommend["disk_bytes"]
    assert any("cannot run on this node" in w for w in report.json()["warnings"])
