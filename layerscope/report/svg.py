"""Small static SVG bar charts for the HTML report: horizontal stacked bars and grouped bars. Pure.

Hand-built rather than a plotting library: two chart kinds, a few hundred bytes per bar, no dependency, and the
output is plain text the tests can parse. Every text is escaped (`html.escape`), every number written with a fixed
precision, so the same data gives the same bytes. Each bar segment carries a `<title>` (a tooltip in browsers)
with its exact value; a non-zero segment is drawn at least `MIN_SEGMENT` px wide so a 100 kB app layer next to a
2 GB base stays visible (its tooltip and the row total still give the true number).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

__all__ = [
    "MIN_SEGMENT",
    "Row",
    "Series",
    "grouped_bars",
    "histogram",
    "nice_ticks",
    "shorten_middle",
    "sparkline",
    "stacked_bars",
    "time_ticks",
]

WIDTH = 960
LABEL_WIDTH = 300
VALUE_WIDTH = 120
MIN_SEGMENT = 2.0
_MAX_LABEL = 44  # characters of a row label before it is shortened (the full text is in its tooltip)


@dataclass(frozen=True, slots=True)
class Series:
    """One kind of value: its legend label and fill colour (a CSS colour)."""

    label: str
    color: str


@dataclass(frozen=True, slots=True)
class Row:
    """One bar (stacked) or group of bars (grouped): a label and one value per series."""

    label: str
    values: tuple[float, ...]


def _num(x: float) -> str:
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def shorten_middle(label: str, limit: int = _MAX_LABEL) -> str:
    """*label* in at most *limit* characters, cut in the middle: a name's start (registry, repository) and its end
    (tag, platform) both stay readable; the full text goes in a tooltip (issue #17)."""
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head) :]


def _short(label: str) -> str:
    return shorten_middle(label)


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least *maximum* (steps of 1, 2 or 5 × 10^k)."""
    if not maximum > 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    n = math.ceil(maximum / step - 1e-9)
    return [i * step for i in range(n + 1)]


_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400)


def time_ticks(seconds: float, count: int = 5) -> list[float]:
    """Tick values in seconds from 0 to at least *seconds*, on whole minutes and hours where the range allows."""
    if not seconds > 0 or not math.isfinite(seconds):
        return [0.0, 1.0]
    raw = seconds / count
    step = next((float(s) for s in _TIME_STEPS if s >= raw), None)
    if step is None:
        return nice_ticks(seconds, count)
    n = math.ceil(seconds / step - 1e-9)
    return [i * step for i in range(n + 1)]


def _legend(series: Sequence[Series], y: float) -> list[str]:
    out = []
    x = float(LABEL_WIDTH)
    for s in series:
        out.append(f'<rect x="{_num(x)}" y="{_num(y - 10)}" width="12" height="12" fill="{escape(s.color)}"/>')
        out.append(f'<text x="{_num(x + 16)}" y="{_num(y)}" class="legend">{escape(s.label)}</text>')
        x += 28 + 7.5 * len(s.label)
    return out


def _axis(ticks: Sequence[float], scale: float, top: float, bottom: float, fmt: Callable[[float], str]) -> list[str]:
    out = []
    for t in ticks:
        x = LABEL_WIDTH + t * scale
        out.append(f'<line x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" y2="{_num(bottom)}" class="grid"/>')
        out.append(
            f'<text x="{_num(x)}" y="{_num(bottom + 14)}" class="tick" text-anchor="middle">{escape(fmt(t))}</text>'
        )
    return out


def _frame(chart_id: str, title: str, height: float, body: list[str]) -> str:
    cid = escape(chart_id)
    head = (
        f'<svg class="chart" id="{cid}" viewBox="0 0 {WIDTH} {_num(height)}" '
        f'width="100%" role="img" aria-labelledby="{cid}-title">'
    )
    return "\n".join([head, f'<title id="{cid}-title">{escape(title)}</title>', *body, "</svg>"])


def _label(text: str, y: float) -> str:
    return (
        f'<text x="{LABEL_WIDTH - 8}" y="{_num(y)}" class="label" text-anchor="end">'
        f"<title>{escape(text)}</title>{escape(_short(text))}</text>"
    )


def _break(x: float, y: float, h: float) -> str:
    """Two slanted white strokes across a bar cut at the plot's edge: it is longer than drawn."""
    return (
        f'<path class="break" d="M{_num(x - 9)} {_num(y + h + 1)} L{_num(x - 5)} {_num(y - 1)} M{_num(x - 5)} '
        f'{_num(y + h + 1)} L{_num(x - 1)} {_num(y - 1)}" stroke="#fff" stroke-width="2"/>'
    )


def _check(rows: Sequence[Row], series: Sequence[Series]) -> None:
    for row in rows:
        if len(row.values) != len(series):
            raise ValueError(f"row {row.label!r} has {len(row.values)} values for {len(series)} series")
        if any(not math.isfinite(v) or v < 0 for v in row.values):
            raise ValueError(f"row {row.label!r}: values must be finite and not negative")


def stacked_bars(
    rows: Sequence[Row],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    fmt: Callable[[float], str],
    ticks: Callable[[float], list[float]] = nice_ticks,
    tick_fmt: Callable[[float], str] | None = None,
    scale_rows: int | None = None,
) -> str:
    """One horizontal bar per row, its values stacked left to right in series order, the total at the end.

    With *scale_rows*, the axis fits the first that many rows; a later row (an "all others" bar) that is longer is
    cut at the plot's edge with a break mark, its total still written after it (issue #17).
    """
    _check(rows, series)
    bar, gap, top = 20.0, 8.0, 34.0
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    maximum = max((sum(r.values) for r in rows[:scale_rows]), default=0.0)
    marks = ticks(maximum)
    scale = plot / marks[-1]
    bottom = top + len(rows) * (bar + gap)
    body = _legend(series, 16)
    body += _axis(marks, scale, top - 4, bottom, tick_fmt or fmt)
    for i, row in enumerate(rows):
        y = top + i * (bar + gap)
        body.append(f'<g class="bar" data-label="{escape(row.label)}">')
        body.append(_label(row.label, y + bar * 0.7))
        x = float(LABEL_WIDTH)
        for k, (value, s) in enumerate(zip(row.values, series, strict=True)):
            if value <= 0 or x >= LABEL_WIDTH + plot:
                continue
            w = min(max(value * scale, MIN_SEGMENT), LABEL_WIDTH + plot - x)
            body.append(
                f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(w)}" height="{_num(bar)}" fill="{escape(s.color)}" '
                f'class="seg s{k}" data-value="{_num(value)}"><title>{escape(row.label)}: {escape(s.label)} '
                f"{escape(fmt(value))}</title></rect>"
            )
            x += w
        if sum(row.values) * scale > plot + 0.5:
            body.append(_break(x, y, bar))
        body.append(
            f'<text x="{_num(x + 6)}" y="{_num(y + bar * 0.7)}" class="value">{escape(fmt(sum(row.values)))}</text>'
        )
        body.append("</g>")
    return _frame(chart_id, title, bottom + 24, body)


def grouped_bars(
    rows: Sequence[Row],
    series: Sequence[Series],
    *,
    chart_id: str,
    title: str,
    fmt: Callable[[float], str],
    ticks: Callable[[float], list[float]] = nice_ticks,
    tick_fmt: Callable[[float], str] | None = None,
    scale_rows: int | None = None,
) -> str:
    """Per row, one thin horizontal bar per series, each with its value at the end (*scale_rows*: stacked_bars)."""
    _check(rows, series)
    bar, gap, top = 11.0, 10.0, 34.0
    group = bar * len(series)
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    maximum = max((max(r.values, default=0.0) for r in rows[:scale_rows]), default=0.0)
    marks = ticks(maximum)
    scale = plot / marks[-1]
    bottom = top + len(rows) * (group + gap)
    body = _legend(series, 16)
    body += _axis(marks, scale, top - 4, bottom, tick_fmt or fmt)
    for i, row in enumerate(rows):
        y = top + i * (group + gap)
        body.append(f'<g class="bar" data-label="{escape(row.label)}">')
        body.append(_label(row.label, y + group / 2 + 4))
        for k, (value, s) in enumerate(zip(row.values, series, strict=True)):
            yy = y + k * bar
            w = min(max(value * scale, MIN_SEGMENT), plot) if value > 0 else 0.0
            if value * scale > plot + 0.5:
                body.append(_break(LABEL_WIDTH + w, yy, bar - 1))
            body.append(
                f'<rect x="{LABEL_WIDTH}" y="{_num(yy)}" width="{_num(w)}" height="{_num(bar - 1)}" '
                f'fill="{escape(s.color)}" class="seg s{k}" data-value="{_num(value)}"><title>{escape(row.label)}: '
                f"{escape(s.label)} {escape(fmt(value))}</title></rect>"
            )
            body.append(
                f'<text x="{_num(LABEL_WIDTH + w + 5)}" y="{_num(yy + bar - 2)}" class="value small">'
                f"{escape(fmt(value))}</text>"
            )
        body.append("</g>")
    return _frame(chart_id, title, bottom + 24, body)


def histogram(
    values: Sequence[float], *, chart_id: str, title: str, color: str, fmt: Callable[[float], str], bins: int = 20
) -> str:
    """How many of *values* fall in each of *bins* equal ranges from the least to the largest: vertical bars."""
    if any(not math.isfinite(v) or v < 0 for v in values):
        raise ValueError("histogram values must be finite and not negative")
    low, top_value = min(values, default=0.0), max(values, default=0.0)
    width = (top_value - low) / bins if top_value > low else 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    height, left, base = 150.0, 40.0, 130.0
    step = (WIDTH - left - 20) / bins
    most = max(counts, default=0) or 1
    body = [f'<text x="{left}" y="12" class="label">{escape(title)}</text>']
    for k, count in enumerate(counts):
        h = (base - 34) * count / most
        x = left + k * step
        lo, hi = fmt(low + k * width), fmt(low + (k + 1) * width)
        body.append(
            f'<rect x="{_num(x + 1)}" y="{_num(base - h)}" width="{_num(step - 2)}" height="{_num(h)}" '
            f'fill="{escape(color)}" class="hbin" data-count="{count}"><title>{count} image(s): {escape(lo)} to '
            f"{escape(hi)}</title></rect>"
        )
        if count:
            body.append(f'<text x="{_num(x + step / 2)}" y="{_num(base - h - 3)}" class="value small" '
                        f'text-anchor="middle">{count}</text>')  # fmt: skip
    for k, anchor in ((0, "start"), (bins // 2, "middle"), (bins, "end")):
        body.append(
            f'<text x="{_num(left + k * step)}" y="{_num(base + 14)}" class="tick" text-anchor="{anchor}">'
            f"{escape(fmt(low + k * width))}</text>"
        )
    cid = escape(chart_id)
    return (
        f'<svg class="chart hist" id="{cid}" viewBox="0 0 {WIDTH} {_num(height)}" width="100%" role="img" '
        f'aria-label="{escape(title)}">' + "\n".join(body) + "</svg>"
    )


def sparkline(values: Sequence[float], *, label: str, width: float = 90.0, height: float = 18.0) -> str:
    """A tiny line of *values* in order (e.g. pull bytes across a repository's tags); empty for fewer than two."""
    if len(values) < 2:
        return ""
    top = max(values) or 1.0
    dx = width / (len(values) - 1)
    points = " ".join(f"{_num(i * dx)},{_num(height - 1 - (height - 2) * v / top)}" for i, v in enumerate(values))
    return (
        f'<svg class="spark" viewBox="0 0 {_num(width)} {_num(height)}" width="{_num(width)}" '
        f'height="{_num(height)}" role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
        f'<polyline points="{points}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>'
    )
