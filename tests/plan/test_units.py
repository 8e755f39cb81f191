"""Sizes, rates and durations: parse_size/format_size and friends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layerscope.errors import UsageError
from layerscope.units import format_duration, format_size, parse_duration, parse_rate, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10GB", 10_000_000_000),
        ("9.5GiB", 10_200_547_328),
        ("512 MiB", 536_870_912),
        ("1.74 GB", 1_740_000_000),
        ("10gb", 10_000_000_000),
        ("1234", 1234),
        (" 1234 ", 1234),
        (1234, 1234),
        ("1kB", 1000),
        ("1KiB", 1024),
        ("2TB", 2 * 10**12),
        ("0", 0),
        (".5KB", 500),
        ("1.0005kB", 1001),  # rounds to the nearest byte
        ("50GiB", 53_687_091_200),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "GB", "-1", "10 parsecs", "1.5.2GB", "1e9", "ten", -5, True, None, 1.5])
def test_parse_size_rejects(text: object) -> None:
    with pytest.raises(UsageError):
        parse_size(text)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "0 B"),
        (999, "999 B"),
        (1000, "1 kB"),
        (1_740_000_000, "1.74 GB"),
        (5_740_000_000, "5.74 GB"),
        (257_000_000, "257 MB"),
        (999_999, "1 MB"),  # 999.999 kB rounds up into the next unit, not "1e+03 kB"
        (12_345_678_901, "12.3 GB"),
        (None, "unknown"),
        (-1_500_000, "-1.5 MB"),
    ],
)
def test_format_size(n: int | None, expected: str) -> None:
    assert format_size(n) == expected


def test_format_size_binary() -> None:
    assert format_size(2**30, binary=True) == "1 GiB"
    assert format_size(53_687_091_200, binary=True) == "50 GiB"
    assert format_size(1023, binary=True) == "1023 B"


@given(st.integers(min_value=1000, max_value=10**18))
def test_format_then_parse_is_within_rounding(n: int) -> None:
    back = parse_size(format_size(n).replace(" ", ""))
    assert abs(back - n) <= n * 0.005 + 1  # three significant digits


def test_parse_rate() -> None:
    assert parse_rate("62.5MB/s") == 62_500_000
    assert parse_rate("16MB") == 16_000_000
    assert parse_rate(1000) == 1000
    with pytest.raises(UsageError):
        parse_rate("0")
    with pytest.raises(UsageError):
        parse_rate("100Mbps")  # megabits are not silently read as megabytes


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300.0), ("5m", 300.0), ("2h", 7200.0), ("50ms", 0.05), ("0.05s", 0.05), (180, 180.0), (1.5, 1.5)],
)
def test_parse_duration(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5 minutes", "-1", "x", -1, float("nan"), True])
def test_parse_duration_rejects(text: object) -> None:
    with pytest.raises(UsageError):
        parse_duration(text)  # type: ignore[arg-type]


def test_format_duration() -> None:
    assert format_duration(5.25) == "5.2 s"
    assert format_duration(45) == "45 s"
    assert format_duration(365) == "6 min 5 s"
    assert format_duration(7200) == "2 h 0 min"
    assert format_duration(None) == "unknown"
