"""The report of `mailaudit probe`: one row per endpoint, or the results as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

from tabulate import tabulate

from mailaudit import __version__
from mailaudit.model import ProbeResult
from mailaudit.report import ResultsFormat, assert_never
from mailaudit.report.table import probe_summary


def render(results: list[ProbeResult], fmt: ResultsFormat) -> str:
    if fmt is ResultsFormat.JSON:
        document = {
            "schema_version": 1,
            "tool": {"name": "mailaudit", "version": __version__},
            "probes": [asdict(result) for result in results],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if fmt is ResultsFormat.TABLE:
        rows = [(f"{r.host}:{r.port}", r.status.value, probe_summary(r)) for r in results]
        return tabulate(rows, headers=("Server", "Status", "Result"), tablefmt="simple") + "\n"
    return assert_never(fmt)
