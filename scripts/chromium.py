"""Headless Chromium for the HTML report: screenshots, rendered DOM, console errors, and a small PNG reader.

A library for tests/report/test_html_chromium.py and scripts/screenshot_report.py (it does not import layerscope).
Chromium is the Debian `chromium` package (`make chromium-bin`) or $LAYERSCOPE_CHROMIUM. Every run gets a new
empty profile directory and the flags that keep it off the network: without `--disable-background-networking`
and friends Chromium contacts Google services at start-up, and the report must render with no network at all.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FLAGS",
    "Png",
    "console_errors",
    "decode_png",
    "dump_dom",
    "find_chromium",
    "screenshot",
]

FLAGS = (
    "--headless",
    "--no-sandbox",  # runs as root in CI containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # small /dev/shm in containers
    "--hide-scrollbars",
    "--force-color-profile=srgb",  # pixels keep the exact colours the CSS/SVG names
    "--enable-logging=stderr",
    "--v=0",
)
_TIMEOUT = 90


def find_chromium() -> str | None:
    """$LAYERSCOPE_CHROMIUM, or chromium / chromium-browser / google-chrome on PATH, or None."""
    configured = os.environ.get("LAYERSCOPE_CHROMIUM")
    if configured:
        return configured if Path(configured).exists() else shutil.which(configured)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(binary: str, target: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory(prefix="layerscope-chromium-") as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *extra, target.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )


def screenshot(binary: str, html: Path, png: Path, *, width: int = 1400, height: int = 2000) -> str:
    """Render *html* into *png* at *width* × *height*; returns Chromium's stderr (console messages included)."""
    done = _run(binary, html, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")
    if done.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stderr


def dump_dom(binary: str, html: Path, *, width: int = 1400, height: int = 1000) -> tuple[str, str]:
    """The DOM after *html* loaded and ran its scripts in a *width* × *height* window, and Chromium's stderr."""
    done = _run(binary, html, "--dump-dom", f"--window-size={width},{height}")
    if done.returncode != 0:
        raise RuntimeError(f"chromium failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout, done.stderr


def console_errors(stderr: str) -> list[str]:
    """Console errors and uncaught exceptions Chromium logged (`--enable-logging=stderr`)."""
    marks = ("Uncaught", "Error", ":ERROR:", "Content Security Policy")
    # "Refused to …" is how older versions word a Content-Security-Policy violation.
    return [
        line
        for line in stderr.splitlines()
        if (":CONSOLE" in line and any(m in line for m in marks)) or "Refused to" in line
    ]


@dataclass(frozen=True)
class Png:
    """A decoded 8-bit RGB/RGBA PNG: rows of RGBA pixels."""

    width: int
    height: int
    rgba: bytes  # width × height × 4

    def pixel(self, x: int, y: int) -> tuple[int, int, int, int]:
        """The RGBA value at (x, y)."""
        i = (y * self.width + x) * 4
        r, g, b, a = self.rgba[i : i + 4]
        return r, g, b, a

    def colours(self, step: int = 1) -> Counter[tuple[int, int, int]]:
        """How many pixels (every *step*-th in each direction) have each RGB colour."""
        counts: Counter[tuple[int, int, int]] = Counter()
        row_bytes = self.width * 4
        for y in range(0, self.height, step):
            row = self.rgba[y * row_bytes : (y + 1) * row_bytes]
            counts.update(zip(row[0 :: 4 * step], row[1 :: 4 * step], row[2 :: 4 * step], strict=False))
        return counts


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_png(data: bytes) -> Png:
    """Decode a non-interlaced 8-bit RGB or RGBA PNG (what Chromium writes) — enough to look at a screenshot."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, bytearray()
    width = height = channels = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    prev = bytearray(stride)
    out = bytearray()
    for y in range(height):
        start = y * (stride + 1)
        kind_byte, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind_byte == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xFF
        elif kind_byte == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev, strict=True))
        elif kind_byte == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind_byte == 4:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                up_left = prev[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, prev[i], up_left)) & 0xFF
        elif kind_byte != 0:
            raise ValueError(f"bad PNG filter {kind_byte} in row {y}")
        prev = line
        if channels == 4:
            out += line
        else:
            rgba = bytearray(width * 4)
            rgba[0::4], rgba[1::4], rgba[2::4] = line[0::3], line[1::3], line[2::3]
            rgba[3::4] = b"\xff" * width
            out += rgba
    return Png(width, height, bytes(out))
