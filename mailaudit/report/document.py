"""The client-facing report's content, once, for the Markdown and HTML renderers to dress.

Everything here is plain text; each renderer escapes it for its own format.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailaudit.advise import SEVERITY_ORDER
from mailaudit.model import MachineReport, Protocol
from mailaudit.report.words import leave_on_server, local_store
from mailaudit.units import human_bytes

ACCOUNT_COLUMNS = (
    "User",
    "Program",
    "Account",
    "Address",
    "Type",
    "Server",
    "Security",
    "Copy on server",
    "Mail on this PC",
)


@dataclass(frozen=True)
class Plan:
    account: str
    summary: str
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    title: str
    notes: tuple[str, ...]  # about the whole run (no DNS answers): shown before everything
    facts: tuple[str, ...]  # the summary, sentence by sentence
    accounts: tuple[tuple[str, ...], ...]  # rows under ACCOUNT_COLUMNS
    risks: tuple[tuple[str, str, str], ...]  # (severity, title, detail), most severe first
    plans: tuple[Plan, ...]
    skipped: tuple[str, ...]


def document(report: MachineReport) -> Document:
    summary = report.summary
    only_here = _only_here(report)
    facts = [
        f"{summary.accounts} mail account(s) on {report.machine.hostname}: {summary.pop3} POP3, "
        f"{summary.imap} IMAP, {summary.exchange} Exchange, {summary.other} other.",
    ]
    if only_here:
        facts.append(
            f"{human_bytes(only_here)} of mail exist only on this computer: lose the disk "
            "and that mail is gone."
        )
    switches = [
        a for a in report.accounts if (a.recommendation or {}).get("action") == "switch-to-imap"
    ]
    if switches:
        facts.append(
            f"{len(switches)} account(s) can move to IMAP, which keeps the mail on the "
            "server and on every device."
        )
    rows = tuple(
        (
            a.user,
            a.client.value,
            a.name,
            a.email or "",
            a.protocol.value.upper() if a.protocol is not Protocol.OTHER else a.declared_type,
            f"{a.incoming.host}:{a.incoming.port}" if a.incoming.host else "",
            a.incoming.security.value,
            leave_on_server(a.leave_on_server, a.leave_on_server_days),
            local_store(a),
        )
        for a in report.accounts
    )
    risks = sorted(
        [
            (f.severity.value, f.title, f"{a.user} / {a.name}: {f.detail}")
            for a in report.accounts
            for f in a.findings
        ]
        + [(f.severity.value, f.title, f.detail) for f in report.findings],
        key=lambda r: -SEVERITY_ORDER.index(next(s for s in SEVERITY_ORDER if s.value == r[0])),
    )
    plans = tuple(
        Plan(
            f"{a.user} / {a.name}",
            str(a.recommendation.get("summary", "")),
            tuple(str(s) for s in a.recommendation.get("steps", [])),
        )
        for a in report.accounts
        if a.recommendation and a.recommendation.get("action") != "keep"
    )
    return Document(
        title=f"Mail audit of {report.machine.hostname}",
        notes=tuple(note.text for note in report.notes),
        facts=tuple(facts),
        accounts=rows,
        risks=tuple(risks),
        plans=plans,
        skipped=tuple(f"{s.origin}: {s.reason}" for s in report.skipped),
    )


def _only_here(report: MachineReport) -> int:
    """Bytes held only on this PC: POP3 stores the server does not keep, each store once."""
    seen: dict[str, int] = {}
    for account in report.accounts:
        store = account.local_store
        if account.protocol is not Protocol.POP3 or store is None or not store.exists:
            continue
        if account.leave_on_server is False or account.leave_on_server_days is not None:
            seen[store.path] = store.bytes
    return sum(seen.values())
