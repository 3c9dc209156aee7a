"""The report of `mailaudit probe`: one row per endpoint, or the results as JSON."""

from __future__ import annotations

from dataclasses import asdict

from tabulate import tabulate

from mailaudit.model import ProbeResult
from mailaudit.report import ResultsFormat, assert_never
from mailaudit.report.table import probe_summary
from mailaudit.report.words import json_document


def render(results: list[ProbeResult], fmt: ResultsFormat) -> str:
    if fmt is ResultsFormat.JSON:
        return json_document({"probes": [{**asdict(r), "transport": r.transport} for r in results]})
    if fmt is ResultsFormat.TABLE:
        rows = [(f"{r.host}:{r.port}", r.status.value, probe_summary(r)) for r in results]
        return tabulate(rows, headers=("Server", "Status", "Result"), tablefmt="simple") + "\n"
    return assert_never(fmt)
