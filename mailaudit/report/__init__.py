"""Renderers: one pure function per format, from a MachineReport to text."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import NoReturn

from mailaudit.model import MachineReport


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


# What an output file's name says about its format.
EXTENSIONS = {
    ".txt": Format.TABLE,
    ".json": Format.JSON,
    ".md": Format.MARKDOWN,
    ".markdown": Format.MARKDOWN,
    ".html": Format.HTML,
    ".htm": Format.HTML,
    ".csv": Format.CSV,
}


def format_of(path: Path) -> Format | None:
    """The format a file name asks for, or None when its extension names none."""
    return EXTENSIONS.get(path.suffix.lower())


@dataclass(frozen=True)
class RenderOptions:
    """How to dress one report: the client document's language, and for the terminal its width
    (None: a file, no limit) and whether to colour severities."""

    lang: str = "en"
    width: int | None = None
    colour: bool = False


def render(report: MachineReport, fmt: Format, options: RenderOptions | None = None) -> str:
    # Each renderer is imported when asked for: `migrate` or `backup` start without any.
    options = options or RenderOptions()
    if fmt is Format.TABLE:
        from mailaudit.report import table

        return table.render(report, options.width, options.colour)
    if fmt is Format.JSON:
        from mailaudit.report import json_report

        return json_report.render(report)
    if fmt is Format.MARKDOWN:
        from mailaudit.report import markdown

        return markdown.render(report, options.lang)
    if fmt is Format.HTML:
        from mailaudit.report import html_report

        return html_report.render(report, options.lang)
    if fmt is Format.CSV:
        from mailaudit.report import csv_report

        return csv_report.render(report)
    return assert_never(fmt)


def assert_never(value: NoReturn) -> NoReturn:
    """A format added to the enum but not wired above fails mypy here and the every-format test."""
    raise AssertionError(f"unhandled format: {value!r}")
