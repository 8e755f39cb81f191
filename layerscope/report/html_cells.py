"""Cells and tables of the HTML report (escaped, sortable by `data-sort`), shared by its sections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

from layerscope.report.svg import shorten_middle
from layerscope.units import format_size

__all__ = ["esc", "name_html", "num_cell", "size", "table", "text_cell"]

NAME_LIMIT = 64  # characters of an image or repository name before it is cut in the middle


def esc(value: object) -> str:
    """*value* as escaped HTML text (quotes too: safe in attributes)."""
    return escape(str(value), quote=True)


def size(n: int | None) -> str:
    """Bytes in decimal units, or "unknown"."""
    return format_size(n)


def num_cell(value: float | int | None, text: str, field: str = "") -> str:
    """A right-aligned cell sorting by *value* (-1: unknown), named *field* for tests and scripts."""
    sort = "-1" if value is None else (str(value) if isinstance(value, int) else f"{value:.3f}")
    attr = f' data-field="{esc(field)}"' if field else ""
    return f'<td class="num" data-sort="{sort}"{attr}>{esc(text)}</td>'


def text_cell(text: str, cls: str = "") -> str:
    """A text cell."""
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}>{esc(text)}</td>"


def name_html(name: str, limit: int = NAME_LIMIT) -> str:
    """A long name cut in the middle, never at its start, with the full name on hover (issue #17)."""
    short = shorten_middle(name, limit)
    return f'<span class="mono name" title="{esc(name)}">{esc(short)}</span>'


def table(
    headers: Sequence[tuple[str, bool]],
    rows: Iterable[str],
    *,
    table_id: str,
    sortable: bool = True,
    paged: bool = False,
    what: str = "",
) -> str:
    """A table; *paged* adds the filter box and pages of rows (assets/pager.js)."""
    head = "".join(f'<th class="num">{esc(h)}</th>' if num else f"<th>{esc(h)}</th>" for h, num in headers)
    classes = " ".join(c for c, on in (("sortable", sortable), ("paged", paged)) if on)
    cls = f' class="{classes}"' if classes else ""
    data = f' data-what="{esc(what)}"' if what else ""
    return (
        f'<div class="scroll"><table id="{esc(table_id)}"{cls}{data}><thead><tr>{head}</tr></thead><tbody>\n'
        + "\n".join(rows)
        + "\n</tbody></table></div>"
    )
