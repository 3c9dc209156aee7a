"""The terminal report: one row per account, then conflicts and skipped input."""

from __future__ import annotations

from tabulate import tabulate

from mailaudit.model import (
    Account,
    MachineReport,
    ProbeError,
    ProbeResult,
    ProbeStatus,
    Protocol,
)
from mailaudit.report.words import leave_on_server, local_store, one_line
from mailaudit.units import human_bytes

# Probe errors the run's note already explains (no DNS answers, no route).
CUT_OFF = {ProbeError.DNS, ProbeError.UNREACHABLE, ProbeError.NO_SUCH_HOST}

HEADERS = (
    "User",
    "Client",
    "Account",
    "Email",
    "Protocol",
    "Server:port",
    "Security",
    "Leave on server",
    "Local store",
)


def render(report: MachineReport) -> str:
    machine = report.machine
    where = f" (files under {machine.root})" if machine.root else ""
    lines = [f"mailaudit {report.tool_version}: {machine.hostname}, {machine.os}{where}", ""]
    lines += [f"NOTE: {note.text}" for note in report.notes] + ([""] if report.notes else [])

    if report.accounts:
        rows = [_row(account) for account in report.accounts]
        lines.append(tabulate(rows, headers=HEADERS, tablefmt="simple", disable_numparse=True))
    else:
        lines.append("No mail accounts found.")

    conflicts = [
        f"- {a.user} / {a.name}: {c}"
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
        lines += [f"- {s.origin}: {s.reason}" for s in report.skipped]

    lines += _findings(report)

    summary = report.summary
    lines += [
        "",
        f"{summary.accounts} account(s): {summary.pop3} POP3, {summary.imap} IMAP, "
        f"{summary.exchange} Exchange, {summary.other} other.",
    ]
    # Names come from the audited machine: no control character reaches the terminal.
    return "\n".join(one_line(line) for line in "\n".join(lines).split("\n")) + "\n"


def _row(account: Account) -> tuple[str, ...]:
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
    return (
        account.user,
        account.client.value,
        account.name,
        account.email or "",
        protocol,
        server,
        endpoint.security.value,
        leave_on_server(account.leave_on_server, account.leave_on_server_days),
        local_store(account),
    )


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
        lines.append(
            f"- {account.user} / {account.name}: {result.host}:{result.port}: "
            f"{probe_summary(result)}"
        )
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


def _imap_for_pop(report: MachineReport) -> list[str]:
    found = [(a, a.discovery) for a in report.accounts if a.discovery is not None]
    if not found:
        return []
    lines = ["", "IMAP for the POP3 accounts:"]
    for account, discovery in found:
        best = discovery.best
        where = f"{best.host}:{best.port} ({best.security})" if best else ""
        origin = best.origin.replace("provider: ", "provider data for ") if best else ""
        text = DISCOVERY_WORDS.get(discovery.imap, discovery.imap).format(
            where=where, origin=origin, reason=discovery.reason or "not looked up"
        )
        if discovery.provider:
            text += f"; sign-in: {discovery.provider_auth}"
        lines.append(f"- {account.user} / {account.name}: {text}")
    return lines


def _findings(report: MachineReport) -> list[str]:
    rows = [
        (f.severity.value, f.rule, f"{a.user} / {a.name}", f.detail)
        for a in report.accounts
        for f in a.findings
    ]
    rows += [(f.severity.value, f.rule, "(machine)", f.detail) for f in report.findings]
    plans = [
        (a, a.recommendation)
        for a in report.accounts
        if a.recommendation and a.recommendation.get("action") != "keep"
    ]
    lines: list[str] = []
    if rows:
        order = ["critical", "high", "medium", "low", "info"]
        rows.sort(key=lambda r: order.index(r[0]))
        lines += [
            "",
            "Findings:",
            tabulate(
                rows,
                headers=("Severity", "Rule", "Account", "Detail"),
                tablefmt="simple",
                maxcolwidths=[None, None, 30, 70],
            ),
        ]
    if plans:
        lines += ["", "Plan:"]
        for account, plan in plans:
            lines.append(f"- {account.user} / {account.name}: {plan.get('summary')}")
            lines += [f"    {n}. {step}" for n, step in enumerate(plan.get("steps", []), start=1)]
    return lines
