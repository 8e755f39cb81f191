"""The report test harness: scripts/chromium.decode_png (which judges the screenshots) against PNGs encoded here
with every row filter, and the generator scripts' independence from layerscope."""

from __future__ import annotations

import ast
import struct
import zlib

import pytest

from scripts.chromium import decode_png
from tests.support.paths import ROOT


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


def _encode(rows: list[bytes], width: int, channels: int) -> bytes:
    """PNG spec §9 filters, row i using filter i % 5 (predictors on the unfiltered bytes)."""
    out = bytearray()
    prev = bytes(len(rows[0]))
    for i, raw in enumerate(rows):
        f = i % 5
        line = bytearray()
        for x, value in enumerate(raw):
            left = raw[x - channels] if x >= channels else 0
            up, up_left = prev[x], prev[x - channels] if x >= channels else 0
            pred = [0, left, up, (left + up) // 2, _paeth(left, up, up_left)][f]
            line.append((value - pred) & 0xFF)
        out += bytes([f]) + line
        prev = raw
    colour = 2 if channels == 3 else 6
    header = struct.pack(">IIBBBBB", width, len(rows), 8, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(out)))
        + _chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("channels", [3, 4])
def test_every_filter_round_trips(channels: int) -> None:
    width, height = 7, 10
    rows = [
        bytes((x * 37 + y * 91 + c * 13) % 256 for x in range(width) for c in range(channels)) for y in range(height)
    ]
    png = decode_png(_encode(rows, width, channels))
    assert (png.width, png.height) == (width, height)
    for y in range(height):
        for x in range(width):
            pixel = rows[y][x * channels : (x + 1) * channels]
            assert png.pixel(x, y) == (*pixel[:3], pixel[3] if channels == 4 else 255)
    assert sum(png.colours().values()) == width * height


def test_rejects_what_it_cannot_read() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        decode_png(b"GIF89a")
    header = struct.pack(">IIBBBBB", 1, 1, 16, 2, 0, 0, 0)
    with pytest.raises(ValueError, match="unsupported"):
        decode_png(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header))


def test_generators_do_not_import_layerscope() -> None:
    # Ground truth must not come from the code under test (DESIGN.md "Tests and dependencies").
    for name in ("report_fleet.py", "chromium.py"):
        tree = ast.parse((ROOT / "scripts" / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n == "layerscope" or n.startswith("layerscope.") for n in names), name
