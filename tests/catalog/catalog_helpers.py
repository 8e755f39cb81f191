"""Build image configs and descriptors in-test for the catalog matching tests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from layerscope.oci import Descriptor, ImageConfig, MediaType, parse_config

# Real catalog rows (base-layers.csv), named for readability.
SC2019_RTM_2022 = ("sha256:b111c3320c949bea81612bf4554f1b6592c2f504920b5bf57ba340a1d4d52c93", 1877166088)
SC2019_UPD_2022_05 = ("sha256:8b534d64a7c337eb8a23b425e4f598cd3e7407ddf8c7b2f714d1e7f7ed6a04be", 626889777)
SC2019_UPD_2022_09 = ("sha256:cee64bf279e2ca8e924884a10ecb98bfa79c7f0cc8d25e73039b9aeb940815b6", 826398623)
SC2019_RTM_2020 = ("sha256:4612f6d0b889cad0ed0292fae3a0b0c8a9e49aff6dea8eb049b2386d9b07986f", 1718332879)
SC2019_UPD_2020_10 = ("sha256:406ffb8432a757e84f7594e85c676620dec6955e0475ac271aa4dd5c0531190d", 655757265)
SC2019_RTM_2018 = ("sha256:65014b3c312172f10bd6701a063f9b5aaf9a916c2d2cb843d406a6f77ded3f8d", 1534685324)
SC2022_RTM_2021 = ("sha256:8f616e6e9eec767c425fd9346648807d1b658d20ff6097be1d955aac69c26642", 1251699055)
SC2022_UPD_2022_01 = ("sha256:0e02c12b1310e6c76c29fcd6f81905400fdb6a01caac9dc825939ad004baffef", 955800778)
SC2022_RTM_DIFF_ID = "sha256:c18686406f96b263d986714a2d88add06ea9ddbb3e52fb936222711da7d9d395"
SC2022_UPD_DIFF_ID = "sha256:ab796afc7ed7e8762e69f652a7b4a524915e8737908d20a080273f8be7258ca7"
NANO1809_2025_05 = ("sha256:67993f619eb734923df34b48b82cc62be3bba8b8a12116cccde4695b2546a3ba", 108780592)
APP_LABEL = 'cmd /S /C powershell -Command "Install-WindowsFeature Web-Server"'


def fake_digest(seed: str) -> str:
    """A valid digest that is in no catalog."""
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def desc(digest: str, size: int, media_type: str = MediaType.DOCKER_LAYER) -> Descriptor:
    """A layer descriptor."""
    return Descriptor(media_type=media_type, digest=digest, size=size)


def config(
    labels: Sequence[str],
    *,
    os: str = "windows",
    os_version: str | None = "10.0.17763.2928",
    diff_ids: Sequence[str] | None = None,
    extra_history: int = 0,
) -> ImageConfig:
    """An image config with one history entry per label (plus *extra_history* empty-layer entries)."""
    ids = list(diff_ids) if diff_ids is not None else [fake_digest(f"diff-{i}-{lab}") for i, lab in enumerate(labels)]
    history: list[dict[str, object]] = [{"created_by": lab} for lab in labels]
    history += [{"created_by": "ENV X=1", "empty_layer": True}] * extra_history
    doc: dict[str, object] = {
        "architecture": "amd64",
        "os": os,
        "rootfs": {"type": "layers", "diff_ids": ids},
        "history": history,
    }
    if os_version is not None:
        doc["os.version"] = os_version
    return parse_config(json.dumps(doc).encode())
