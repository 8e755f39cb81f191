"""Renderers of analysis results; the only importer of tabulate (DESIGN.md, report/).

Each format's module is imported only when that format is rendered (tabulate and the launch model cost
~35 ms of start-up that `-o json` does not need; issue 8).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from layerscope.plan.planned import AnalysisRun

__all__ = ["AnalysisFormat", "CatalogFormat", "render_analysis"]


class AnalysisFormat(StrEnum):
    """`analyze -o` choices."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


class CatalogFormat(StrEnum):
    """`catalog list|show|refresh|when|amis -o` choices."""

    TABLE = "table"
    JSON = "json"


def render_analysis(run: AnalysisRun, fmt: AnalysisFormat) -> str:
    """Render *run* in *fmt*."""
    match fmt:
        case AnalysisFormat.TABLE:
            from layerscope.report.analysis_table import render_table

            return render_table(run)
        case AnalysisFormat.JSON:
            from layerscope.report.analysis_json import render_json

            return render_json(run)
        case AnalysisFormat.CSV:
            from layerscope.report.analysis_csv import render_csv

            return render_csv(run)
        case AnalysisFormat.MARKDOWN:
            from layerscope.report.analysis_table import render_markdown

            return render_markdown(run)
