"""Renderers of analysis results; the only importer of tabulate (DESIGN.md, report/)."""

from __future__ import annotations

from enum import StrEnum

from layerscope.report.analysis_csv import render_csv
from layerscope.report.analysis_json import analysis_document, render_json
from layerscope.report.analysis_table import render_markdown, render_table
from layerscope.results import AnalysisRun

__all__ = ["AnalysisFormat", "analysis_document", "render_analysis"]


class AnalysisFormat(StrEnum):
    """`analyze -o` choices."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


def render_analysis(run: AnalysisRun, fmt: AnalysisFormat) -> str:
    """Render *run* in *fmt*."""
    match fmt:
        case AnalysisFormat.TABLE:
            return render_table(run)
        case AnalysisFormat.JSON:
            return render_json(run)
        case AnalysisFormat.CSV:
            return render_csv(run)
        case AnalysisFormat.MARKDOWN:
            return render_markdown(run)
