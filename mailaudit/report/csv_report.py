"""One row per account, for spreadsheets. Cells that a spreadsheet would run as a formula
(starting with =, +, -, @) are prefixed with an apostrophe. The text starts with a byte order
mark: without it Excel reads UTF-8 as the Windows code page and garbles every umlaut."""

from __future__ import annotations

import csv
import io

from mailaudit.advise import SEVERITY_ORDER
from mailaudit.model import Account, MachineReport, shown_path

COLUMNS = (
    "machine",
    "user",
    "client",
    "account",
    "email",
    "protocol",
    "server",
    "port",
    "security",
    "leave_on_server",
    "leave_on_server_days",
    "local_store",
    "local_bytes",
    "findings",
    "highest_severity",
    "recommendation",
    "account_id",
    "notes",  # about the whole run (no DNS answers), on every row: a CSV has no header text
)


def render(report: MachineReport) -> str:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for a in report.accounts:
        store = a.local_store
        writer.writerow(
            [
                _safe(str(v))
                for v in (
                    report.machine.hostname,
                    a.user,
                    a.client.value,
                    a.name,
                    a.email or "",
                    a.protocol.value,
                    a.incoming.host or "",
                    a.incoming.port or "",
                    a.incoming.security.value,
                    "" if a.leave_on_server is None else str(a.leave_on_server).lower(),
                    a.leave_on_server_days or "",
                    shown_path(store.path, a.platform) if store else "",
                    store.bytes if store and store.exists and store.measured else "",
                    " ".join(f.rule for f in a.findings),
                    _highest(a),
                    (a.recommendation or {}).get("action", ""),
                    a.id,
                    " ".join(note.text for note in report.notes),
                )
            ]
        )
    return out.getvalue()


def _safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _highest(account: Account) -> str:
    found = [f.severity for f in account.findings]
    return max(found, key=SEVERITY_ORDER.index).value if found else ""
