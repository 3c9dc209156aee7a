"""The terminal report: one row per account, then conflicts and skipped input."""

from __future__ import annotations

from tabulate import tabulate

from mailaudit.model import Account, MachineReport, Protocol
from mailaudit.units import human_bytes

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

    if report.skipped:
        lines += ["", f"Skipped ({len(report.skipped)}):"]
        lines += [f"- {s.origin}: {s.reason}" for s in report.skipped]

    summary = report.summary
    lines += [
        "",
        f"{summary.accounts} account(s): {summary.pop3} POP3, {summary.imap} IMAP, "
        f"{summary.exchange} Exchange, {summary.other} other.",
    ]
    return "\n".join(lines) + "\n"


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
        _leave_on_server(account),
        _store(account),
    )


def _leave_on_server(account: Account) -> str:
    if account.leave_on_server is None:
        return ""
    if not account.leave_on_server:
        return "no"
    if account.leave_on_server_days is not None:
        return f"{account.leave_on_server_days} days"
    return "yes"


def _store(account: Account) -> str:
    store = account.local_store
    if store is None:
        return ""
    if not store.measured:
        return "not measured"
    if not store.exists:
        return "missing"
    return human_bytes(store.bytes)
