"""The shipped build and AMI tables: verbatim copies of the reference, every row with a source, checkable."""

from __future__ import annotations

import hashlib
import json
import shutil
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from tests.windows.shipped import REFERENCE, rows

DATA = Path(str(resources.files("layerscope") / "windows" / "data"))
ROOT = Path(__file__).resolve().parents[2]
needs_reference = pytest.mark.skipif(not REFERENCE.is_dir(), reason=f"reference data not present at {REFERENCE}")


@needs_reference
def test_shipped_tables_are_reproducible_from_the_reference() -> None:
    from scripts import build_windows_tables

    files = build_windows_tables.build(REFERENCE)
    files["provenance.json"] = build_windows_tables.provenance(REFERENCE, files)
    for name, text in files.items():
        assert (DATA / name).read_bytes().decode("utf-8") == text, (
            f"{name} is stale: run scripts/build_windows_tables.py"
        )
    for name in ("windows-builds.csv", "windows-sac-builds.csv", "eks-windows-amis.csv"):
        assert (DATA / name).read_bytes() == (REFERENCE / name).read_bytes(), name
    assert build_windows_tables.main(["--check"]) == 0


@needs_reference
def test_check_fails_when_a_shipped_file_differs(tmp_path: Path) -> None:
    from scripts import build_windows_tables

    out = tmp_path / "data"
    shutil.copytree(DATA, out)
    assert build_windows_tables.main(["--check", "--out", str(out)]) == 0
    text = (out / "windows-builds.csv").read_text(encoding="utf-8")
    (out / "windows-builds.csv").write_text(text.replace("KB5001342", "KB5001343"), encoding="utf-8")
    assert build_windows_tables.main(["--check", "--out", str(out)]) == 1


@needs_reference
def test_provenance_records_the_sha256_of_every_input() -> None:
    doc = json.loads((DATA / "provenance.json").read_text(encoding="utf-8"))
    names = {"windows-builds.csv", "windows-sac-builds.csv", "eks-windows-amis.csv", "ami-cache-revision.md"}
    assert set(doc["inputs"]) == names
    for name, digest in doc["inputs"].items():
        assert hashlib.sha256((REFERENCE / name).read_bytes()).hexdigest() == digest, name
    assert sorted(p.name for p in DATA.iterdir()) == doc["outputs"]


def test_every_row_keeps_its_source() -> None:
    counts = {}
    for name in ("windows-builds.csv", "windows-sac-builds.csv", "eks-windows-amis.csv", "build-annotations.csv"):
        table = rows(name)
        counts[name] = len(table)
        assert all(r["source"].strip() for r in table), name
    # The reference README's row counts: 501 builds, 207 SAC builds, 1549 AMI releases (1333 EKS + 216 ECS).
    assert counts["windows-builds.csv"] == 501
    assert counts["windows-sac-builds.csv"] == 207
    assert counts["eks-windows-amis.csv"] == 1549
    services = [r["service"] for r in rows("eks-windows-amis.csv")]
    assert (services.count("eks"), services.count("ecs")) == (1333, 216)


def test_the_data_is_package_data() -> None:
    doc = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "windows/data/*" in doc["tool"]["setuptools"]["package-data"]["layerscope"]
