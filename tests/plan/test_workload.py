"""Workload files (YAML/JSON) and `kubectl get pods -A -o json` output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from layerscope.errors import UsageError
from layerscope.plan.workload import (
    Workload,
    WorkloadImage,
    is_windows_pod,
    load_workload,
    workload_from_document,
    workload_from_pods,
)

WEB = "123456789012.dkr.ecr.us-west-2.amazonaws.com/shop/web:2.4"
ASPNET = "mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2019"


def test_yaml_workload(tmp_path: Path) -> None:
    path = tmp_path / "workload.yaml"
    path.write_text(
        f"images:\n  - ref: {WEB}\n    weight: 40\n  - ref: {ASPNET}\n"
        f"  - {WEB.replace(':2.4', ':2.5')}\n  - reference: {WEB}\n    launches_per_day: 2.5\n"
    )
    wl = load_workload(path)
    assert wl == Workload(
        images=(WorkloadImage(WEB, 42.5), WorkloadImage(ASPNET, 1.0), WorkloadImage(WEB.replace(":2.4", ":2.5"), 1.0)),
        source=str(path),
    )
    assert wl.references == [WEB, ASPNET, WEB.replace(":2.4", ":2.5")]


def test_json_workload_and_top_level_list(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"images": [{"ref": WEB, "weight": 3}, {"image": ASPNET, "replicas": 0}]}))
    assert load_workload(path).images == (WorkloadImage(WEB, 3.0), WorkloadImage(ASPNET, 0.0))
    # "docker.io/library/x:latest" and "x" are one image: the first spelling is kept.
    assert workload_from_document(["nginx", {"ref": "docker.io/library/nginx:latest", "weight": 2}]).images == (
        WorkloadImage("nginx", 3.0),
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"images": []}, "expected a non-empty list of images"),
        ({"imgs": [WEB]}, "unknown keys imgs"),
        ({"images": [{"weight": 2}]}, "needs exactly one of ref, reference, image"),
        ({"images": [{"ref": WEB, "wieght": 2}]}, "unknown keys wieght"),
        ({"images": [{"ref": WEB, "weight": -1}]}, "weight must be a number"),
        ({"images": [{"ref": WEB, "weight": "many"}]}, "weight must be a number"),
        ({"images": [{"ref": WEB, "weight": True}]}, "weight must be a number"),
        ({"images": [{"ref": WEB, "weight": 1, "replicas": 2}]}, "give only one of"),
        ({"images": ["Not A Ref!"]}, "images[0]: invalid reference"),
        ({"images": [42]}, "must be a reference or a mapping"),
        ("just text", "expected a non-empty list of images"),
    ],
)
def test_malformed_workloads(doc: Any, message: str) -> None:
    with pytest.raises(UsageError) as err:
        workload_from_document(doc, "w.yaml")
    assert message in err.value.message and "\n" not in err.value.message


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read workload file"):
        load_workload(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("images: [unclosed\n")
    with pytest.raises(UsageError, match="is not valid YAML") as err:
        load_workload(bad)
    assert err.value.hint and "images:" in err.value.hint
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"images": [}')
    with pytest.raises(UsageError, match=r"is not valid JSON: .* \(line 1\)"):
        load_workload(bad_json)


def _pod(
    name: str, images: list[str], spec: dict[str, Any] | None = None, init: list[str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "containers": [{"name": f"c{i}", "image": im} for i, im in enumerate(images)],
        **(spec or {}),
    }
    if init:
        body["initContainers"] = [{"name": f"i{i}", "image": im} for i, im in enumerate(init)]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"}, "spec": body}


WINDOWS_SELECTOR = {"nodeSelector": {"kubernetes.io/os": "windows"}}
AFFINITY = {
    "affinity": {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["windows"]}]}
                ]
            }
        }
    }
}
TOLERATION = {"tolerations": [{"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}]}


@pytest.mark.parametrize(
    ("spec", "windows"),
    [
        (WINDOWS_SELECTOR, True),
        ({"nodeSelector": {"beta.kubernetes.io/os": "windows"}}, True),
        ({"nodeSelector": {"node.kubernetes.io/windows-build": "10.0.17763"}}, True),
        ({"os": {"name": "windows"}}, True),
        (AFFINITY, True),
        (TOLERATION, True),
        ({"nodeSelector": {"kubernetes.io/os": "linux"}, **TOLERATION}, False),  # an explicit other OS wins
        ({"os": {"name": "linux"}}, False),
        ({}, False),
        ({"tolerations": [{"key": "os", "operator": "Exists"}]}, False),
        (
            {
                "affinity": {
                    "nodeAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": [os]}]}
                                for os in ("windows", "linux")
                            ]
                        }
                    }
                }
            },
            False,  # one term allows Linux nodes
        ),
    ],
)
def test_windows_pod_detection(spec: dict[str, Any], windows: bool) -> None:
    assert is_windows_pod(_pod("p", [WEB], spec)) is windows


def test_kubectl_pods_weight_is_pod_count(tmp_path: Path) -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            _pod("web-1", [WEB, WEB], WINDOWS_SELECTOR, init=[ASPNET]),  # the same image twice in one pod: once
            _pod("web-2", [WEB], AFFINITY),
            _pod("web-3", [WEB], TOLERATION),
            _pod("linux", ["nginx:1.25"], {"nodeSelector": {"kubernetes.io/os": "linux"}}),
            _pod("plain", ["busybox"]),
        ],
    }
    path = tmp_path / "pods.json"
    path.write_text(json.dumps(doc))
    wl = load_workload(path)
    assert wl.kind == "kubectl" and wl.source == str(path)
    assert wl.images == (WorkloadImage(ASPNET, 1.0), WorkloadImage(WEB, 3.0))  # initContainers first, per pod
    assert wl.warnings == ("skipped 2 pod(s) not bound to Windows nodes",)
    assert workload_from_pods(_pod("one", [WEB], WINDOWS_SELECTOR)).images == (WorkloadImage(WEB, 1.0),)


def test_kubectl_errors() -> None:
    with pytest.raises(UsageError, match="no Windows pods with images among 1 pods") as err:
        workload_from_pods({"kind": "List", "items": [_pod("plain", ["busybox"])]})
    assert err.value.hint and "kubernetes.io/os=windows" in err.value.hint
    with pytest.raises(UsageError, match="is not kubectl pod output"):
        workload_from_pods({"kind": "Deployment"})
    with pytest.raises(UsageError, match="pod shop/bad: invalid reference"):
        workload_from_pods({"kind": "List", "items": [_pod("bad", ["Not Valid"], WINDOWS_SELECTOR)]})
