"""Renderers: one pure function per format, from a MachineReport to text."""

from __future__ import annotations

from enum import Enum
from typing import NoReturn

from mailaudit.model import MachineReport
from mailaudit.report import csv_report, html_report, json_report, markdown, table


class Format(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    CSV = "csv"


class ResultsFormat(str, Enum):
    """The formats of `probe` and `lookup`, whose results are lists, not a machine's report."""

    TABLE = "table"
    JSON = "json"


class FleetFormat(str, Enum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"


def render(report: MachineReport, fmt: Format) -> str:
    if fmt is Format.TABLE:
        return table.render(report)
    if fmt is Format.JSON:
        return json_report.render(report)
    if fmt is Format.MARKDOWN:
        return markdown.render(report)
    if fmt is Format.HTML:
        return html_report.render(report)
    if fmt is Format.CSV:
        return csv_report.render(report)
    return assert_never(fmt)


def assert_never(value: NoReturn) -> NoReturn:
    """A format added to the enum but not wired above fails mypy here and the every-format test."""
    raise AssertionError(f"unhandled format: {value!r}")
