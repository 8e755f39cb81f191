"""#14 item 1: every Windows image is dated from the build tables, whether or not its layers are catalogued.

Ground truth: the shipped build tables read with the csv module (tests/windows/shipped.py), never layerscope's
own loader; the catalogued base digest from the shipped base-layers.csv, read the same way.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from scripts import fixturegen
from tests.integration.conftest import Run
from tests.support.images import simple_image, write_image_layout
from tests.windows.shipped import rows

_APP = fixturegen.make_layer([fixturegen.file("app/app.exe", b"app\n")], "gzip")


def _layout_of_revisions(path: Path, versions: list[str]) -> list[str]:
    """One OCI layout with one small Windows image per revision (tag r0, r1 …); its references."""
    fs = fixturegen.FixtureSet()
    for i, version in enumerate(versions):
        fs.add(f"r{i}", simple_image([_APP], os_name="windows", os_version=version))
    fixturegen.write_layout(path, fs)
    return [f"oci:{path}:r{i}" for i in range(len(versions))]


def _bases(layerscope: Callable[..., Run], refs: list[str]) -> list[dict[str, Any]]:
    run = layerscope("analyze", *refs, "-o", "json", "--no-store", "--no-progress")
    assert run.exit_code == 0, run.stderr
    return [image["base"] for image in run.json()["images"]]


def test_every_container_release_of_the_build_table_is_dated(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    table = [r for r in rows("windows-builds.csv") if r["container_image"] == "yes"]
    assert len(table) > 250
    bases = _bases(layerscope, _layout_of_revisions(tmp_path / "ltsc", [r["os_version"] for r in table]))
    for row, base in zip(table, bases, strict=True):
        assert base is not None, row["os_version"]
        assert base["os_version"] == row["os_version"] and base["match"] == "config" and base["layers"] == 0
        assert base["kb"] == (row["kb"] or None), row["os_version"]
        if row["release_date"]:
            assert base["month"] == row["release_date"][:7], row["os_version"]
            assert base["release_date"] == row["release_date"]
        channel = {"14393": "ltsc2016", "17763": "ltsc2019", "20348": "ltsc2022", "26100": "ltsc2025"}[row["build"]]
        assert base["channel"] == channel and base["version"] is None


def test_sac_bases_get_their_version_no_channel_and_a_warning(tmp_path: Path, layerscope: Callable[..., Run]) -> None:
    sac = rows("windows-sac-builds.csv")
    picked = [sac[0], sac[len(sac) // 2], sac[-1]]
    refs = _layout_of_revisions(tmp_path / "sac", [r["os_version"] for r in picked])
    run = layerscope("analyze", *refs, "-o", "json", "--no-store", "--no-progress")
    assert run.exit_code == 0, run.stderr
    images = run.json()["images"]
    for row, image in zip(picked, images, strict=True):
        base = image["base"]
        assert (base["os_version"], base["channel"], base["version"]) == (row["os_version"], None, row["version"])
        assert base["kb"] == (row["kb"] or None) and base["month"] == row["release_date"][:7]
        assert any("SAC" in w and row["version"] in w for w in image["warnings"])
    assert "SAC" in run.stderr  # every warning reaches stderr too (#18 item 1)


def _catalog_row(prefix: str) -> dict[str, str]:
    text = (resources.files("layerscope") / "catalog" / "data" / "base-layers.csv").read_text(encoding="utf-8")
    found = [r for r in csv.DictReader(io.StringIO(text)) if r["digest"].startswith(prefix)]
    assert len(found) == 1
    return found[0]


def test_catalogued_base_digest_wins_over_history_and_the_month_comes_from_the_tables(
    tmp_path: Path, layerscope: Callable[..., Run]
) -> None:
    # The envoy case of #14: ltsc2019 10.0.17763.1879 (April 2021) on the catalogued base blob 4612f6d0…,
    # with an update layer the catalog does not know (only its history label speaks for it).
    row = _catalog_row("sha256:4612f6d0")
    base = fixturegen.foreign_layer(row["digest"], int(row["compressed_bytes"]), "sha256:" + "4" * 64)
    update = fixturegen.make_layer([fixturegen.file("Windows/update.dat", b"update-1879\n")], "gzip")
    image = simple_image(
        [base, update, _APP],
        os_name="windows",
        os_version="10.0.17763.1879",
        history=["Apply image 1809-RTM-amd64", "Install update 1809-amd64", "COPY app C:/app"],
    )
    ref = write_image_layout(tmp_path / "envoy", "envoy", image)
    (got,) = _bases(layerscope, [ref])
    truth = next(r for r in rows("windows-builds.csv") if r["os_version"] == "10.0.17763.1879")
    assert got["match"] == "digest" and got["layers"] == 2
    assert got["image"] == "mcr.microsoft.com/windows/servercore" and got["channel"] == "ltsc2019"
    assert (got["month"], got["kb"]) == (truth["release_date"][:7], truth["kb"]) == ("2021-04", truth["kb"])
    assert got["generation"] == "sha256:4612f6d0"
