"""The fleet summary as text: a terminal table, JSON, or Markdown for a ticket or a wiki page.

Every name in it comes from the audited machines, where any user may have typed it: cells are
made inert for the terminal (no control characters) and for Markdown viewers (no table breaks,
no HTML, no links).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from tabulate import tabulate

from mailaudit import __version__
from mailaudit.fleet import (
    FleetSummary,
    FleetTotals,
    MachineSummary,
    Pop3Account,
    SplitMailbox,
)
from mailaudit.report.words import json_document, leave_on_server, markdown_text, one_line
from mailaudit.units import human_bytes

FORMATS = ("table", "json", "markdown")

MACHINE_HEADERS = ("Machine", "Report", "Generated", "Accounts", "POP3", "Mail only on this PC")
POP3_HEADERS = (
    "Machine",
    "User",
    "Client",
    "Account",
    "Email",
    "Server:port",
    "Leave on server",
    "Local store",
    "Size",
)
SPLIT_HEADERS = ("Server", "Login", "Machines", "Set up as")

# Backslash escapes for what would end a cell or start emphasis, code or a link (GFM 0.29
# "Backslash escapes" and "Tables": `\|` keeps a pipe inside a cell); entities for what would
# start HTML, and for & so that a name holding "&lt;" still reads as typed.


def render(summary: FleetSummary, fmt: str) -> str:
    if fmt == "table":
        return _table(summary)
    if fmt == "json":
        return _json(summary)
    if fmt == "markdown":
        return _markdown(summary)
    raise ValueError(f"fleet reports come as table, json or markdown, not {fmt}")


def _json(summary: FleetSummary) -> str:
    # The summary holds only text, numbers, booleans and tuples: asdict gives plain JSON values.
    return json_document({"fleet": asdict(summary)})


def _table(summary: FleetSummary) -> str:
    totals = summary.totals
    lines = [f"mailaudit {__version__}: fleet of {totals.machines} machine(s)", ""]
    if summary.machines:
        lines.append(_tabulate([_machine_row(m) for m in summary.machines], MACHINE_HEADERS))
    else:
        lines.append("No reports.")
    if summary.pop3_accounts:
        lines += ["", f"POP3 accounts ({len(summary.pop3_accounts)}):"]
        lines.append(_tabulate([_pop3_row(a) for a in summary.pop3_accounts], POP3_HEADERS))
    if summary.split_mailboxes:
        lines += [
            "",
            "Mailboxes downloaded by more than one machine (each holds part of the mail):",
        ]
        lines += [
            f"- {one_line(mailbox.login)} at {one_line(mailbox.host)}: "
            + "; ".join(one_line(where) for where in _set_up_as(mailbox))
            for mailbox in summary.split_mailboxes
        ]
    lines += ["", _totals_sentence(totals), _only_on_pcs_sentence(totals)]
    return "\n".join(lines) + "\n"


def _tabulate(rows: Sequence[tuple[str, ...]], headers: tuple[str, ...]) -> str:
    cells = [tuple(one_line(cell) for cell in row) for row in rows]
    return tabulate(cells, headers=headers, tablefmt="simple", disable_numparse=True)


def _markdown(summary: FleetSummary) -> str:
    totals = summary.totals
    clients = ", ".join(f"{markdown_text(c.client)} {c.accounts}" for c in totals.by_client)
    split = len(summary.split_mailboxes)
    paragraph = (
        f"{_totals_sentence(totals)}"
        + (f" By client: {clients}." if clients else "")
        + f" {markdown_text(_only_on_pcs_sentence(totals))}"
        + f" {split} POP3 mailbox(es) are downloaded by more than one machine."
    )
    lines = [f"# Mail accounts on {totals.machines} machine(s)", "", paragraph]
    lines += ["", "## Machines", ""]
    lines += _markdown_table(
        MACHINE_HEADERS, [_machine_row(m) for m in summary.machines], numeric=(3, 4, 5)
    )
    lines += ["", "## POP3 accounts", ""]
    lines += _markdown_table(
        POP3_HEADERS, [_pop3_row(a) for a in summary.pop3_accounts], numeric=(8,)
    )
    lines += ["", "## Mailboxes downloaded by more than one machine", ""]
    if summary.split_mailboxes:
        lines += _markdown_table(
            SPLIT_HEADERS,
            [
                (m.host, m.login, str(len(m.machines)), "; ".join(_set_up_as(m)))
                for m in summary.split_mailboxes
            ],
            numeric=(2,),
        )
    else:
        lines.append("None.")
    return "\n".join(lines) + "\n"


def _markdown_table(
    headers: tuple[str, ...], rows: Sequence[tuple[str, ...]], numeric: tuple[int, ...]
) -> list[str]:
    if not rows:
        return ["None."]
    rule = ["---:" if index in numeric else "---" for index in range(len(headers))]
    return [
        _markdown_row(headers),
        "| " + " | ".join(rule) + " |",
        *(_markdown_row(tuple(markdown_text(cell) for cell in row)) for row in rows),
    ]


def _markdown_row(cells: tuple[str, ...]) -> str:
    return "| " + " | ".join(cells) + " |"


def _machine_row(machine: MachineSummary) -> tuple[str, ...]:
    return (
        machine.machine,
        machine.report,
        machine.generated_at,
        str(machine.accounts),
        str(machine.pop3),
        human_bytes(machine.bytes_only_here),
    )


def _pop3_row(account: Pop3Account) -> tuple[str, ...]:
    server = account.host or ""
    if account.port is not None:
        server += f":{account.port}"
    return (
        account.machine,
        account.user,
        account.client,
        account.name,
        account.email or "",
        server,
        leave_on_server(account.leave_on_server, account.leave_on_server_days),
        account.local_store_path or "",
        _store_size(account),
    )


def _store_size(account: Pop3Account) -> str:
    if account.local_store_bytes is None:
        return ""
    if account.local_store_measured is False:
        return "not measured"
    return human_bytes(account.local_store_bytes)


def _set_up_as(mailbox: SplitMailbox) -> list[str]:
    return [f"{a.machine}: {a.user} ({a.client}, {a.name})" for a in mailbox.accounts]


def _totals_sentence(totals: FleetTotals) -> str:
    return (
        f"{totals.machines} machine(s), {totals.accounts} account(s): {totals.pop3} POP3, "
        f"{totals.imap} IMAP, {totals.exchange} Exchange, {totals.other} other."
    )


def _only_on_pcs_sentence(totals: FleetTotals) -> str:
    sentence = (
        f"Mail held only on PCs: {human_bytes(totals.bytes_only_on_pcs)} "
        f"in {totals.stores_only_on_pcs} local store(s)"
    )
    if totals.stores_not_measured:
        sentence += f", {totals.stores_not_measured} of them not measured (not on the scanned disk)"
    if totals.local_mailboxes:
        sentence += (
            f"; and {human_bytes(totals.local_mailbox_bytes)} in "
            f"{totals.local_mailboxes} local mailbox(es) of no account"
        )
    return sentence + "."
