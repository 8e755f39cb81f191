"""`report -o` choices and the one function that renders a report model in any of them."""

from __future__ import annotations

from enum import StrEnum
from typing import assert_never

from layerscope.report.fleet_csv import render_csv
from layerscope.report.fleet_html import render_html
from layerscope.report.fleet_json import render_json
from layerscope.report.fleet_markdown import render_markdown
from layerscope.report.model import Report

__all__ = ["ReportFormat", "format_for_path", "render_report"]


class ReportFormat(StrEnum):
    """`report -o` choices."""

    HTML = "html"
    MARKDOWN = "markdown"
    CSV = "csv"
    JSON = "json"


_SUFFIXES = {".html": ReportFormat.HTML, ".htm": ReportFormat.HTML, ".md": ReportFormat.MARKDOWN}
_SUFFIXES |= {".markdown": ReportFormat.MARKDOWN, ".csv": ReportFormat.CSV, ".json": ReportFormat.JSON}


def format_for_path(path: str | None) -> ReportFormat:
    """The format an output file's suffix implies; Markdown for stdout or an unknown suffix."""
    if path is None or path == "-":
        return ReportFormat.MARKDOWN
    suffix = path[path.rfind(".") :].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return _SUFFIXES.get(suffix, ReportFormat.MARKDOWN)


def render_report(report: Report, fmt: ReportFormat) -> str:
    """Render *report* in *fmt*."""
    match fmt:
        case ReportFormat.HTML:
            return render_html(report)
        case ReportFormat.MARKDOWN:
            return render_markdown(report)
        case ReportFormat.CSV:
            return render_csv(report)
        case ReportFormat.JSON:
            return render_json(report)
        case _:
            assert_never(fmt)
