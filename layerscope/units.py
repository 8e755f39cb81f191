"""Sizes, rates and durations as people write them (`10GB`, `9.5GiB`, `62.5MB/s`, `5m`), and back.

Parsing accepts decimal SI units (kB, MB, GB, TB, PB: powers of 1000) and binary IEC units (KiB, MiB,
GiB, TiB, PiB: powers of 1024), case-insensitively, with or without a space, plus plain byte counts.
Formatting uses **decimal** units with three significant digits (`1.74 GB`) by default because that is
what the docker CLI prints (`docker images` SIZE, go-units HumanSize) and what registry consoles and the
reference figures in windows-base-sizes.csv use, so numbers compare at a glance; `binary=True` gives GiB.
Pure: no I/O.
"""

from __future__ import annotations

import math
import re

from layerscope.errors import UsageError

__all__ = ["format_duration", "format_size", "parse_duration", "parse_rate", "parse_size"]

_DECIMAL = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9}
_DECIMAL |= {"t": 10**12, "tb": 10**12, "p": 10**15, "pb": 10**15}
_BINARY = {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50}
_FACTORS = _DECIMAL | _BINARY
_SIZE = re.compile(r"\s*(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[a-zA-Z]*)\s*")
_DURATION = re.compile(r"\s*(?P<num>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>ms|s|m|min|h)?\s*")
_SECONDS = {None: 1.0, "s": 1.0, "ms": 0.001, "m": 60.0, "min": 60.0, "h": 3600.0}
_DEC_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")
_BIN_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def parse_size(text: str | int) -> int:
    """Bytes in *text* (`10GB`, `9.5GiB`, `512 MiB`, `1234`); fractions round to the nearest byte."""
    if isinstance(text, bool):
        raise UsageError(f"invalid size {text!r}")
    if isinstance(text, int):
        if text < 0:
            raise UsageError(f"invalid size {text}: must not be negative")
        return text
    if not isinstance(text, str):
        raise UsageError(f"invalid size {text!r}: expected text such as 10GB, 9.5GiB or 1234")
    m = _SIZE.fullmatch(text)
    factor: int | None = _FACTORS.get(m["unit"].lower()) if m else None
    if m is None or factor is None:
        raise UsageError(
            f"invalid size {text!r}",
            hint="write a byte count or a number with a unit: 10GB, 9.5GiB, 512MiB, 1.74 GB",
        )
    # Integer arithmetic where possible so `9.5GiB` is exact rather than a float product.
    whole, _, frac = str(m["num"]).partition(".")
    scale = int(10 ** len(frac))
    numerator = int(whole or "0") * scale + int(frac or "0")
    value, remainder = divmod(numerator * factor, scale)
    return value + (1 if remainder * 2 >= scale else 0)


def parse_rate(text: str | int) -> int:
    """Bytes per second in *text* (`62.5MB/s`, `500MB`, `1234`); the `/s` suffix is optional."""
    if isinstance(text, str):
        stripped = text.strip()
        # Only "/s": "Mbps" would be megabits, which parse_size would silently read as megabytes.
        if stripped.lower().endswith("/s"):
            stripped = stripped[:-2]
        text = stripped
    value = parse_size(text)
    if value <= 0:
        raise UsageError(f"invalid rate {text!r}: must be more than 0 bytes per second")
    return value


def parse_duration(text: str | int | float) -> float:
    """Seconds in *text* (`300`, `5m`, `2h`, `50ms`, `0.05s`); a bare number is seconds."""
    if isinstance(text, bool):
        raise UsageError(f"invalid duration {text!r}")
    if isinstance(text, int | float):
        if not math.isfinite(text) or text < 0:
            raise UsageError(f"invalid duration {text!r}: must be a non-negative number of seconds")
        return float(text)
    if not isinstance(text, str):
        raise UsageError(f"invalid duration {text!r}")
    m = _DURATION.fullmatch(text)
    if m is None:
        raise UsageError(f"invalid duration {text!r}", hint="write seconds or a number with ms, s, m or h")
    return float(m["num"]) * _SECONDS[m["unit"]]


def format_size(n: int | None, *, binary: bool = False) -> str:
    """Human size with three significant digits: `1.74 GB` (decimal) or `1.62 GiB` (binary)."""
    if n is None:
        return "unknown"
    if n < 0:
        return "-" + format_size(-n, binary=binary)
    base = 1024 if binary else 1000
    units = _BIN_UNITS if binary else _DEC_UNITS
    if n < base:
        return f"{n} B"
    value = float(n)
    index = 0
    while value >= base and index < len(units) - 1:
        value /= base
        index += 1
    text = f"{value:.3g}"
    # Rounding can reach the next unit (999.6 kB -> "1e+03"); move up rather than print an exponent.
    if float(text) >= base and index < len(units) - 1:
        value /= base
        index += 1
        text = f"{value:.3g}"
    if "e" in text:  # only possible past the largest unit
        text = f"{value:.0f}"
    return f"{text} {units[index]}"


def format_duration(seconds: float | None) -> str:
    """Human duration: `45 s`, `6 min 5 s`, `2 h 0 min`."""
    if seconds is None:
        return "unknown"
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    total = round(seconds)
    if total < 3600:
        return f"{total // 60} min {total % 60} s"
    return f"{total // 3600} h {(total % 3600) // 60} min"
