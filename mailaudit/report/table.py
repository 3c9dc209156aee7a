"""The terminal report: a three-line summary, the accounts, then conflicts, servers, findings
and the plan. It fits the width it is given (columns are dropped, then each account stacked
into a few lines, rather than wrapped), and colours severities only when told to (a terminal,
without NO_COLOR): a file or a pipe never gets an escape sequence.
"""

from __future__ import annotations

import re
import textwrap

from tabulate import tabulate

from mailaudit.advise import severity_counts, store_words
from mailaudit.model import (
    PRODUCT_NAMES,
    Account,
    Discovery,
    LocalMailbox,
    MachineReport,
    ProbeError,
    ProbeResult,
    ProbeStatus,
    Protocol,
)
from mailaudit.report.at_risk import only_copies
from mailaudit.report.words import cell, display_width, leave_on_server, one_line
from mailaudit.units import human_bytes

DETAIL_LIMIT = 1000  # a finding's detail or a skipped line: names from the disk are cut to it
# Probe errors the run's note already explains (no DNS answers, no route).
CUT_OFF = {ProbeError.DNS, ProbeError.UNREACHABLE, ProbeError.NO_SUCH_HOST}

HEADERS = {
    "user": "User",
    "client": "Client",
    "account": "Account",
    "email": "Email",
    "protocol": "Protocol",
    "server": "Server:port",
    "security": "Security",
    "leave": "Leave on server",
    "store": "Local store",
}
# The widest first; each next one leaves out what a technician misses least.
LAYOUTS = (
    tuple(HEADERS),
    ("user", "client", "account", "protocol", "server", "security", "leave", "store"),
    ("user", "client", "account", "protocol", "server", "store"),
    ("user", "account", "protocol", "server", "store"),
)
COLOURS = {  # SGR codes (ECMA-48 8.3.117)
    "critical": "1;31",
    "high": "31",
    "medium": "33",
    "low": "36",
    "info": "2",
}
SEVERITY_AT_START = re.compile(r"^(critical|high|medium|low|info)\b")


def render(report: MachineReport, width: int | None = None, colour: bool = False) -> str:
    """width: the terminal's columns, or None for a file (no limit)."""
    machine = report.machine
    where = f" (files under {machine.root})" if machine.root else ""
    # The run's notes (no DNS answers) come first: everything below depends on them.
    lines = [f"NOTE: {note.text}" for note in report.notes] + ([""] if report.notes else [])
    lines += [
        *summary_lines(report),
        "",
        f"mailaudit {report.tool_version}: {machine.hostname}, {machine.os}{where}",
        "",
    ]
    lines += _accounts(report, width) if report.accounts else ["No mail accounts found."]
    if report.local_mailboxes:
        lines += ["", "Local mailboxes (mail that no account fetches, kept only here):"]
        lines += [
            f"- {_who(m)} ({PRODUCT_NAMES[m.client]}): {store_words(m.store, m.platform)}"
            for m in report.local_mailboxes
        ]

    conflicts = [
        f"- {_who(a)}: {c}"
        for a in report.accounts
        if a.classification
        for c in a.classification.conflicts
    ]
    if conflicts:
        lines += ["", "Conflicts between declared type, port and security:", *conflicts]

    lines += _probes(report)
    lines += _imap_for_pop(report)

    if report.skipped:
        lines += ["", f"Skipped ({len(report.skipped)}):"]
        lines += [cell(f"- {s.origin}: {s.reason}", DETAIL_LIMIT) for s in report.skipped]

    lines += _findings(report, width)
    # Names come from the audited machine: no control character reaches the terminal.
    shown = [one_line(line) for line in "\n".join(lines).split("\n")]
    if width is not None:
        shown = [part for line in shown for part in _fit(line, width)]
    if colour:
        shown = [_coloured(line) for line in shown]
    return "\n".join(shown) + "\n"


def summary_lines(report: MachineReport) -> list[str]:
    """What the technician reads first: mail at risk, findings, accounts to move."""
    only = only_copies(report)
    measured = [c.bytes for c in only if c.bytes is not None]
    unmeasured = len(only) - len(measured)
    at_risk = (
        f"{human_bytes(sum(measured))} in {len(measured)} mailbox(es)"
        + (f", {unmeasured} more not measured" if unmeasured else "")
        if only
        else "none"
    )
    counts = [f"{n} {s.value}" for s, n in severity_counts(report).items() if n]
    moves = sum(
        1 for a in report.accounts if (a.recommendation or {}).get("action") == "switch-to-imap"
    )
    summary = report.summary
    return [
        f"Mail only on this PC: {at_risk}",
        f"Findings: {', '.join(counts) if counts else 'none'}",
        f"Accounts: {summary.accounts} ({summary.pop3} POP3, {summary.imap} IMAP, "
        f"{summary.exchange} Exchange, {summary.other} other); {moves} to move to IMAP",
    ]


def _accounts(report: MachineReport, width: int | None) -> list[str]:
    cells = [_cells(account) for account in report.accounts]
    for layout in LAYOUTS:
        text = tabulate(
            [[row[c] for c in layout] for row in cells],
            headers=[HEADERS[c] for c in layout],
            tablefmt="simple",
            disable_numparse=True,
        )
        if width is None or max(display_width(line) for line in text.splitlines()) <= width:
            return text.splitlines()
    assert width is not None  # the first layout always fits no limit
    return _stacked(cells, width)


def _stacked(cells: list[dict[str, str]], width: int) -> list[str]:
    """Too narrow for a table: each account as its name, then its details packed into lines
    (a detail is never split: "local: 47.7 KB" stays together)."""
    lines = []
    for row in cells:
        details = [row["protocol"], row["server"], row["security"]]
        if row["leave"]:
            details.append(f"leave on server: {row['leave']}")
        if row["store"]:
            details.append(f"local: {row['store']}")
        email = f" <{row['email']}>" if row["email"] and row["email"] != row["account"] else ""
        lines.append(f"{row['user']} / {row['account']}{email} ({row['client']})")
        packed = "   "
        for detail in (d for d in details if d):
            if len(packed) + 2 + len(detail) > width and packed.strip():
                lines.append(packed)
                packed = "   "
            packed += "  " + detail
        lines.append(packed)
    return lines


def _cells(account: Account) -> dict[str, str]:
    endpoint = account.incoming
    server = endpoint.host or ""
    if endpoint.port is not None:
        server += f":{endpoint.port}"
    protocol = (
        account.protocol.value.upper()
        if account.protocol is not Protocol.OTHER
        else account.declared_type
    )
    if account.classification and account.classification.conflicts:
        protocol += " (!)"
    values = {
        "user": account.user,
        "client": PRODUCT_NAMES[account.client],
        "account": account.name,
        "email": account.email or "",
        "protocol": protocol,
        "server": server,
        "security": endpoint.security.value,
        "leave": leave_on_server(account.leave_on_server, account.leave_on_server_days),
        "store": _store(account),
    }
    # Escaped and cut before tabulate measures them, so that the columns line up and a 1 MB
    # name costs no more than a short one.
    return {key: one_line(cell(value)) for key, value in values.items()}


def _fit(line: str, width: int) -> list[str]:
    """A prose line wider than the terminal, wrapped under its own indent."""
    if display_width(line) <= width:
        return [line]
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    wrapped = textwrap.wrap(
        line, width, subsequent_indent=indent, break_on_hyphens=False, drop_whitespace=True
    )
    # textwrap counts characters; a wide character (CJK) takes two columns, so cut again.
    return [piece for part in wrapped for piece in _cut(part, width)]


def _cut(text: str, width: int) -> list[str]:
    pieces, current = [], ""
    for char in text:
        if display_width(current + char) > width:
            pieces.append(current)
            current = ""
        current += char
    return [*pieces, current]


def _coloured(line: str) -> str:
    def paint(match: re.Match[str]) -> str:
        return f"\x1b[{COLOURS[match.group(0)]}m{match.group(0)}\x1b[0m"

    if line.startswith("Findings: "):
        return "Findings: " + re.sub(
            r"(?<=\d )(critical|high|medium|low|info)\b", paint, line[len("Findings: ") :]
        )
    return SEVERITY_AT_START.sub(paint, line)


def _store(account: Account) -> str:
    """The account's local store in a cell: its size; a store not on the scanned disk by its
    path, so that the technician knows where the only copy may be."""
    store = account.local_store
    if store is None:
        return ""
    if not store.measured:
        return store_words(store, account.platform)
    if not store.exists:
        return "missing"
    return human_bytes(store.bytes)


def _probes(report: MachineReport) -> list[str]:
    probed = [(a, p) for a in report.accounts for p in a.probes]
    if not probed:
        return []
    if all(p.status is ProbeStatus.SKIPPED for _, p in probed):
        reasons = sorted({p.message or "" for _, p in probed})
        return ["", f"Servers: {len(probed)} probe(s) skipped ({'; '.join(reasons)})."]
    if report.notes and all(p.error in CUT_OFF for _, p in probed):
        return ["", f"Servers: {len(probed)} probe(s) could not reach their server (see the note)."]
    lines = ["", "Servers:"]
    for account, result in probed:
        lines.append(f"- {_who(account)}: {result.host}:{result.port}: {probe_summary(result)}")
    return lines


def probe_summary(result: ProbeResult) -> str:
    """One probe in a line: what answered, how securely, what it offers."""
    if result.status is ProbeStatus.SKIPPED:
        return f"skipped ({result.message})"
    if result.status is ProbeStatus.ERROR and result.protocol is None:
        return f"{result.error.value if result.error else 'error'}: {result.message}"
    parts = [(result.protocol or "?").upper()]
    if result.tls is not None:
        tls = result.tls
        cert = "certificate valid" if tls.verified else f"certificate {tls.verify_error}"
        if tls.certificate is not None:
            cert += f", {tls.certificate.days_left} days left"
        parts.append(f"{'TLS' if result.implicit_tls else 'STARTTLS'} {tls.version or ''}".strip())
        parts.append(cert)
    else:
        parts.append("no TLS")
    if not result.implicit_tls:
        if result.starttls_offered:
            parts.append("STARTTLS required" if result.starttls_enforced else "STARTTLS optional")
        else:
            parts.append("plaintext only")
    if result.sasl:
        parts.append("auth " + " ".join(result.sasl))
    if result.mailbox is not None:
        parts.append(
            f"{result.mailbox.messages} message(s) left on the server, "
            f"{human_bytes(result.mailbox.bytes)}"
        )
    if result.message:
        parts.append(result.message)
    return ", ".join(parts)


DISCOVERY_WORDS = {
    "offered": "IMAP answers at {where}, found by {origin}",
    "known": "IMAP at {where} by {origin} (not probed)",
    "not offered": "IMAP not offered: {reason}",
    "unknown": "unknown ({reason})",
}


def discovery_summary(discovery: Discovery) -> str:
    """Where a POP3 account's provider offers IMAP, in a line."""
    best = discovery.best
    where = f"{best.host}:{best.port} ({best.security})" if best else ""
    origin = best.origin.replace("provider: ", "provider data for ") if best else ""
    text = DISCOVERY_WORDS.get(discovery.imap, discovery.imap).format(
        where=where, origin=origin, reason=discovery.reason or "not looked up"
    )
    if discovery.provider:
        text += f"; sign-in: {discovery.provider_auth}"
    return text


def _imap_for_pop(report: MachineReport) -> list[str]:
    found = [(a, a.discovery) for a in report.accounts if a.discovery is not None]
    if not found:
        return []
    lines = ["", "IMAP for the POP3 accounts:"]
    lines += [f"- {_who(a)}: {discovery_summary(d)}" for a, d in found]
    return lines


def _findings(report: MachineReport, width: int | None) -> list[str]:
    rows = [
        (f.severity.value, f.rule, _who(a), cell(f.detail, DETAIL_LIMIT))
        for a in report.accounts
        for f in a.findings
    ]
    rows += [
        (f.severity.value, f.rule, "(machine)", cell(f.detail, DETAIL_LIMIT))
        for f in report.findings
    ]
    planned: list[Account | LocalMailbox] = [*report.accounts, *report.local_mailboxes]
    plans = [
        (a, a.recommendation)
        for a in planned
        if a.recommendation and a.recommendation.get("action") != "keep"
    ]
    lines: list[str] = []
    if rows:
        order = ["critical", "high", "medium", "low", "info"]
        rows.sort(key=lambda r: order.index(r[0]))
        # Severity and rule take 16 columns with their gaps; the rest goes to the two texts.
        account_width, detail_width = (30, 70) if width is None else _split(width - 16)
        lines += [
            "",
            "Findings:",
            tabulate(
                [tuple(one_line(c) for c in row) for row in rows],
                headers=("Severity", "Rule", "Account", "Detail"),
                tablefmt="simple",
                maxcolwidths=[None, None, account_width, detail_width],
            ),
        ]
    if plans:
        lines += ["", "Plan:"]
        for account, plan in plans:
            lines.append(f"- {_who(account)}: {plan.get('summary')}")
            lines += [f"    {n}. {step}" for n, step in enumerate(plan.get("steps", []), start=1)]
    return lines


def _split(room: int) -> tuple[int, int]:
    """The widths of the findings' account and detail columns in `room` columns."""
    account = max(8, min(30, room // 3))
    return account, max(10, min(70, room - account - 2))


def _who(item: Account | LocalMailbox) -> str:
    """'user / name', each cut to a cell: names come from the audited machine."""
    return f"{cell(item.user)} / {cell(item.name)}"
