"""Platform filters and atomic output files."""

from __future__ import annotations

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
