"""A squarified treemap of an image's largest directories, as inline SVG for the HTML report (issue #15). Pure.

Layout: Bruls, Huizing and van Wijk, "Squarified Treemaps" (2000): values largest first, laid in rows along the
shorter side of the free box, a row closed when adding the next value would make its worst aspect ratio worse.
Directories nest (`usr` holds `usr/lib`): a directory's children are the listed directories below it, tiled
inside its rectangle, and what it holds beyond them is one more tile ("other in usr"), so every rectangle's area
is proportional to its bytes across the whole chart. The files outside every listed directory are an "other
files" tile. Hand-built like report/svg.py (no library, no script): the text is escaped, numbers have one decimal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from layerscope.report.svg import shorten_middle

__all__ = ["Rect", "Tile", "squarify", "treemap_svg", "treemap_tiles"]

WIDTH, HEIGHT = 960.0, 360.0
_CHAR = 6.6  # px per character of the 11 px label font, for shortening a label to its tile
_PALETTE = ("#3b6fb6", "#4c9a6a", "#e08a2c", "#8e5ea2", "#c2504b", "#2f9aa0", "#b08d2b", "#6b7a8f", "#d06d9c")
_OTHER = "#c9ced6"


@dataclass(frozen=True, slots=True)
class Rect:
    """An axis-aligned rectangle: top-left corner, width, height."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class Tile:
    """One drawn rectangle: a listed directory ("dir"), the rest of one ("rest"), or files outside all ("other")."""

    kind: str
    path: str  # the directory ("" for "other")
    bytes: int
    files: int | None  # regular files below a listed directory; None for the others
    depth: int  # 0 for a top-level tile
    group: int  # index of its top-level directory (its colour); -1 for "other"
    rect: Rect
    leaf: bool  # nothing drawn inside it (it carries a label)


def _worst(row: Sequence[float], side: float) -> float:
    """The largest aspect ratio of *row* (areas) laid along *side*."""
    s = sum(row)
    return max(max(side * side * a / (s * s), s * s / (side * side * a)) for a in row)


def squarify(values: Sequence[float], box: Rect) -> list[Rect]:
    """One rectangle per value (same order) tiling *box*, each of area `value / sum × box area`; zero → empty."""
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError("treemap values must be finite and not negative")
    out = [Rect(box.x, box.y, 0.0, 0.0)] * len(values)
    total = sum(values)
    if total <= 0 or box.w <= 0 or box.h <= 0:
        return out
    scale = box.w * box.h / total
    order = sorted((k for k, v in enumerate(values) if v > 0), key=lambda k: -values[k])
    x, y, w, h = box.x, box.y, box.w, box.h
    row: list[int] = []

    def lay(row: list[int]) -> None:
        nonlocal x, y, w, h
        s = sum(values[k] * scale for k in row)
        if w >= h:  # a column at the left, as tall as the box
            cw = min(s / h, w) if h > 0 else 0.0
            yy = y
            for k in row:
                hh = values[k] * scale / cw if cw > 0 else 0.0
                out[k] = Rect(x, yy, cw, hh)
                yy += hh
            x, w = x + cw, max(w - cw, 0.0)
        else:  # a row at the top, as wide as the box
            rh = min(s / w, h) if w > 0 else 0.0
            xx = x
            for k in row:
                ww = values[k] * scale / rh if rh > 0 else 0.0
                out[k] = Rect(xx, y, ww, rh)
                xx += ww
            y, h = y + rh, max(h - rh, 0.0)

    for k in order:
        side = min(w, h)
        areas = [values[j] * scale for j in row]
        if row and _worst([*areas, values[k] * scale], side) > _worst(areas, side):
            lay(row)
            row = []
        row.append(k)
    if row:
        lay(row)
    return out


def _parent(path: str, listed: Sequence[str]) -> str | None:
    """The longest listed directory strictly above *path*, or None."""
    above = [p for p in listed if path.startswith(p + "/")]
    return max(above, key=len) if above else None


def treemap_tiles(dirs: Sequence[tuple[str, int, int]], total_bytes: int, box: Rect) -> list[Tile]:
    """The tiles of (path, bytes, files) directories nested by path, plus the other files up to *total_bytes*."""
    listed = [p for p, _, _ in dirs]
    info = {p: (b, n) for p, b, n in dirs}
    children: dict[str | None, list[str]] = {}
    for p in listed:
        children.setdefault(_parent(p, listed), []).append(p)
    tiles: list[Tile] = []

    def place(parent: str | None, rect: Rect, own: int, depth: int, group: int) -> None:
        kids = sorted(children.get(parent, []), key=lambda p: (-info[p][0], p))
        rest = max(own - sum(info[p][0] for p in kids), 0)
        rects = squarify([float(info[p][0]) for p in kids] + [float(rest)], rect)
        for n, (p, r) in enumerate(zip(kids, rects, strict=False)):
            g = n if parent is None else group
            leaf = p not in children
            tiles.append(Tile("dir", p, info[p][0], info[p][1], depth, g, r, leaf))
            if not leaf:
                place(p, r, info[p][0], depth + 1, g)
        if rest > 0:
            kind = "other" if parent is None else "rest"
            tiles.append(Tile(kind, parent or "", rest, None, depth, group, rects[-1], True))

    tops = sum(info[p][0] for p in children.get(None, []))
    place(None, box, max(total_bytes, tops), 0, -1)
    return tiles


def _num(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _colour(tile: Tile) -> str:
    if tile.group < 0:
        return _OTHER
    return _PALETTE[tile.group % len(_PALETTE)]


def _name(tile: Tile) -> str:
    if tile.kind == "other":
        return "other files (outside the directories listed)"
    if tile.kind == "rest":
        return f"other in {tile.path}/"
    return tile.path + "/"


def treemap_svg(
    dirs: Sequence[tuple[str, int, int]], total_bytes: int, *, chart_id: str, title: str, fmt: Callable[[int], str]
) -> str:
    """The treemap as an `<svg class="chart treemap">`: each tile a `<rect>` with its path and bytes in `data-*`
    and a `<title>`; a label, shortened in the middle to fit, on tiles large enough to hold one."""
    tiles = treemap_tiles(dirs, total_bytes, Rect(0.0, 0.0, WIDTH, HEIGHT))
    cid = escape(chart_id)
    body = [
        f'<svg class="chart treemap" id="{cid}" viewBox="0 0 {_num(WIDTH)} {_num(HEIGHT)}" width="100%" '
        f'role="img" aria-labelledby="{cid}-title">',
        f'<title id="{cid}-title">{escape(title)}</title>',
    ]
    for t in tiles:
        r = t.rect
        if r.w <= 0 or r.h <= 0:
            continue
        name = _name(t)
        files = f", {t.files} files" if t.files is not None else ""
        opacity = max(1.0 - 0.22 * t.depth, 0.35)
        body.append(
            f'<rect class="tile {t.kind}" x="{_num(r.x)}" y="{_num(r.y)}" width="{_num(r.w)}" height="{_num(r.h)}" '
            f'fill="{_colour(t)}" fill-opacity="{opacity:.2f}" stroke="#fff" stroke-width="{max(2.5 - t.depth, 1)}" '
            f'data-path="{escape(t.path)}" data-bytes="{t.bytes}" data-kind="{t.kind}">'
            f"<title>{escape(name)}: {escape(fmt(t.bytes))}{escape(files)}</title></rect>"
        )
        # Labels on leaves only: a directory with tiles inside is named by them and by its "other in" tile.
        chars = int((r.w - 8) / _CHAR)
        if t.leaf and chars >= 4 and r.h >= 16:
            body.append(
                f'<text class="label tm" x="{_num(r.x + 4)}" y="{_num(r.y + 13)}"><title>{escape(name)}</title>'
                f"{escape(shorten_middle(name, chars))}</text>"
            )
    body.append("</svg>")
    return "\n".join(body)
