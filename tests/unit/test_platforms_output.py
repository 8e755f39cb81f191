"""Platform filters and atomic output files."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from layerscope.errors import UsageError
from layerscope.oci import Platform
from layerscope.output import write_output
from layerscope.platforms import PlatformFilter, parse_platform_filter

WIN = Platform("windows", "amd64", None, "10.0.17763.2928")


@pytest.mark.parametrize(
    ("spec", "selected"),
    [
        ("windows", True),
        ("windows/amd64", True),
        ("windows/amd64:10.0.17763", True),
        ("windows/amd64:10.0.17763.2928", True),
        ("windows/amd64:10.0.1776", False),  # whole components only
        ("windows/amd64:10.0.20348", False),
        ("linux/amd64", False),
        ("windows/arm64", False),
    ],
)
def test_filter(spec: str, selected: bool) -> None:
    assert parse_platform_filter(spec).matches(WIN) is selected


def test_variant() -> None:
    f = parse_platform_filter("linux/arm64/v8")
    assert f == PlatformFilter("linux", "arm64", "v8")
    assert f.matches(Platform("linux", "arm64", "v8"))
    assert not f.matches(Platform("linux", "arm64", None))


@pytest.mark.parametrize("spec", ["", "/amd64", "a/b/c/d", "windows/amd64:ten", "windows//x"])
def test_bad_filters(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_platform_filter(spec)


def test_output_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")

    write_output("new\n", str(target))
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temp files left behind


def test_output_to_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        write_output("x", str(tmp_path / "nope" / "out.json"))


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_output_file_honours_the_umask(tmp_path: Path, umask: int) -> None:
    # A report is meant to be shared: a new file gets 0666 less the umask, as `open(path, "w")` would give
    # (mkstemp's 0600 was what the file kept before). Run in a child so the umask change stays there.
    target = tmp_path / "report.json"
    code = (
        "import os, sys; os.umask(int(sys.argv[2], 8)); "
        "from layerscope.output import write_output; write_output('x', sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(target), oct(umask)[2:]], check=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_output_file_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "private.json"
    target.write_text("old")
    target.chmod(0o640)
    write_output("new", str(target))
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
