"""A generated fleet of Windows app images for the report tests and the rendered example (a library).

Eight images on the two Server Core LTSC 2019 stand-ins of fixtures/layout (foreign base layers, as MCR serves
them): five on the September 2022 revision the demo node bakes and three on May 2022 (drift), most of them sharing
an "ASP.NET runtime" layer — the same blob, so one copy in the registry, but on two bases, so two chains on a node.
Together with four images of fixtures/layout (`FIXTURE_TAGS`) that makes twelve. Deterministic, built with
scripts/fixturegen.py; like it, this module does not import layerscope.

    write_fleet(out_dir, scale_kib=...)         the OCI layout of the eight images (tag → descriptor)
    workload(fleet_dir, fixtures_dir)           a workload document (refs as oci:PATH:TAG, launches per day)
    demo_profile(fixtures_dir)                  a node profile document: fixtures/demo-node.yaml with an absolute path
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scripts import fixturegen as fg

__all__ = ["FIXTURE_TAGS", "FLEET", "demo_profile", "workload", "write_fleet"]

_SEP = "sep"
_MAY = "may"
#: tag → (base revision, app layers as (seed, size in KiB at scale 1), uses the shared runtime layer, weight)
FLEET: dict[str, tuple[str, tuple[tuple[str, int], ...], bool, float]] = {
    "shop-web-2.4": (_SEP, (("shop-web-2.4", 160),), True, 40),
    "shop-web-2.3": (_SEP, (("shop-web-2.3", 150),), True, 2),
    "shop-api-1.8": (_SEP, (("shop-api-1.8", 120),), True, 25),
    "shop-worker-3.1": (_SEP, (("shop-worker-3.1", 90),), False, 10),
    "tools-1.0": (_SEP, (("tools-1.0", 40), ("tools-1.0-plugins", 60)), True, 1),
    "billing-1.2": (_MAY, (("billing-1.2", 110),), True, 6),
    "reports-0.9": (_MAY, (("reports-0.9", 70),), True, 3),
    "admin-5.0": (_MAY, (("admin-5.0", 50),), False, 1),
}
#: Images of fixtures/layout the report also covers, with their weights.
FIXTURE_TAGS: dict[str, float] = {
    "windows-app": 4,
    "windows-style": 1,
    "servercore-ltsc2019-2022-09": 1,
    "linux-gzip": 1,
}
_RUNTIME_KIB = 200


def _base(revision: str) -> tuple[list[fg.ForeignLayer], list[dict[str, Any]], str]:
    """Foreign layers, history and os.version of a Server Core stand-in (the same diff_ids the fixtures use)."""
    b = fg.SERVERCORE_2019_05
    if revision == _SEP:
        update_digest, update_size, update_label = fg.SERVERCORE_2019_09_UPDATE
        os_version, created = "10.0.17763.3406", "2022-09-08T12:00:00Z"
    else:
        update_digest, update_size, update_label = b.update_digest, b.update_size, b.update_label
        os_version, created = b.os_version, "2022-05-05T16:02:26Z"
    layers = [
        fg.foreign_layer(b.base_digest, b.base_size, fg.placeholder_diff_id(b.base_digest)),
        fg.foreign_layer(update_digest, update_size, fg.placeholder_diff_id(update_digest)),
    ]
    history = [
        {"created": "2022-04-08T09:46:40.4372578Z", "created_by": b.base_label},
        {"created": created, "created_by": update_label},
    ]
    return layers, history, os_version


def _runtime(scale: int) -> fg.Layer:
    entries = fg.windows_layer_entries(
        {
            "Program Files/dotnet/shared/Microsoft.AspNetCore.App/aspnetcore.dll": fg.random_bytes(
                _RUNTIME_KIB * 1024 * scale, "report-fleet-aspnet"
            ),
            "Program Files/dotnet/dotnet.exe": fg.random_bytes(32 * 1024, "report-fleet-dotnet"),
        },
        "report-fleet-runtime",
    )
    return fg.make_layer(entries, "gzip", media_type=fg.DOCKER_LAYER)


def _app(seed: str, kib: int, scale: int) -> fg.Layer:
    return fg.make_layer(fg.windows_app_entries(seed, size_kib=kib * scale), "gzip", media_type=fg.DOCKER_LAYER)


def build_fleet(scale_kib: int = 1) -> fg.FixtureSet:
    """The eight images; app and runtime layers are *scale_kib* times their listed sizes (1 for tests)."""
    fs = fg.FixtureSet()
    runtime = _runtime(scale_kib)
    for tag, (revision, apps, with_runtime, _) in FLEET.items():
        layers: list[fg.Layer | fg.ForeignLayer]
        base_layers, history, os_version = _base(revision)
        layers = list(base_layers)
        if with_runtime:
            layers.append(runtime)
            history.append({"created": "2022-10-01T10:00:00Z", "created_by": "RUN install-aspnet-runtime"})
        for seed, kib in apps:
            layers.append(_app(seed, kib, scale_kib))
            history.append({"created": "2022-10-02T10:00:00Z", "created_by": f"COPY {seed} C:\\app"})
        config = fg.make_config(
            [layer.diff_id for layer in layers],
            history,
            os_name="windows",
            os_version=os_version,
            docker=True,
            config={"Entrypoint": ["C:\\app\\App.exe"]},
        )
        fs.add(tag, fg.make_image(layers, config, docker=True))
    return fs


def write_fleet(out_dir: Path | str, scale_kib: int = 1) -> dict[str, dict[str, Any]]:
    """Write the eight images as an OCI layout at *out_dir*; tag → descriptor."""
    return fg.write_layout(out_dir, build_fleet(scale_kib))


def workload(fleet_dir: Path | str, fixtures_dir: Path | str) -> dict[str, Any]:
    """A workload document over the twelve images (`oci:` references to the two layouts)."""
    images = [{"ref": f"oci:{fleet_dir}:{tag}", "weight": spec[3]} for tag, spec in FLEET.items()]
    images += [{"ref": f"oci:{fixtures_dir}:{tag}", "weight": w} for tag, w in FIXTURE_TAGS.items()]
    return {"images": images}


def demo_profile(fixtures_dir: Path | str) -> dict[str, Any]:
    """fixtures/demo-node.yaml with the baked image's layout path made absolute (any working directory works)."""
    return {
        "extends": "eks-ws2019-core",
        "name": "demo-eks-ws2019-2022-09",
        "description": "EKS WS2019 Core node from a September 2022 AMI (fixture baked set, offline)",
        "baked": [
            {
                "reference": f"oci:{fixtures_dir}:servercore-ltsc2019-2022-09",
                "os_version": "10.0.17763.3406",
                "source": "fixtures/layout (stand-in for mcr.microsoft.com/windows/servercore:ltsc2019 of 2022-09)",
            }
        ],
    }
