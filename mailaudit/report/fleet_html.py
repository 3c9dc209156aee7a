"""The fleet summary as one self-contained HTML page for the client: what is at risk first (mail
held only on PCs, mailboxes split across PCs), a chart of the machines holding the most, then
the tables. No script, no external asset; every text escaped; written row by row."""

from __future__ import annotations

from html import escape
from typing import TextIO

from mailaudit import __version__
from mailaudit.fleet import FleetSummary, MachineSummary, Pop3Account
from mailaudit.report.words import leave_on_server
from mailaudit.units import human_bytes

CHART_MACHINES = 25  # bars drawn; the table below lists every machine
BAR_WIDTH = 360  # pixels of the longest bar

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #111; max-width: 60em; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; }
.verdict { font-size: 1.15em; padding: 0.6em 0.9em; border-left: 0.4em solid; }
.verdict.red { border-color: #c0392b; background: #fdecea; }
.verdict.green { border-color: #2e7d32; background: #e8f5e9; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; }
th, td { border: 1px solid #999; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.n { text-align: right; white-space: nowrap; }
tr { break-inside: avoid; page-break-inside: avoid; }
svg text { font: 12px system-ui, sans-serif; fill: #111; }
.meta { color: #555; font-size: 0.9em; }
@page { size: auto; margin: 15mm; }
@media print { body { margin: 0; max-width: none; } .appendix { break-before: page; } }
"""


def write(summary: FleetSummary, out: TextIO) -> None:
    totals = summary.totals
    e = escape
    out.write(
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>Mail on {totals.machines} computers</title><style>{STYLE}</style></head>\n<body>\n"
    )
    out.write(f"<h1>Mail on {totals.machines} computer(s)</h1>\n")
    at_risk = totals.bytes_only_on_pcs > 0 or bool(summary.split_mailboxes)
    verdict = (
        f"{human_bytes(totals.bytes_only_on_pcs)} of mail exist only on these computers, "
        f"in {totals.stores_only_on_pcs} mailbox(es)"
        if totals.bytes_only_on_pcs
        else "No mail was found that exists only on these computers"
    )
    if summary.split_mailboxes:
        verdict += (
            f"; {len(summary.split_mailboxes)} mailbox(es) are downloaded by more than one "
            "computer, so each holds only part of the mail"
        )
    out.write(f'<p class="verdict {"red" if at_risk else "green"}">{e(verdict)}.</p>\n')
    out.write(
        f'<p class="meta">{totals.accounts} account(s): {totals.pop3} POP3, {totals.imap} IMAP, '
        f"{totals.exchange} Exchange, {totals.other} other. mailaudit {e(__version__)}.</p>\n"
    )
    _chart(summary.machines, out)
    if summary.split_mailboxes:
        out.write("<h2>Mailboxes downloaded by more than one computer</h2>\n<ul>\n")
        for mailbox in summary.split_mailboxes:
            where = "; ".join(
                f"{a.machine}: {a.user} ({a.client}, {a.name})" for a in mailbox.accounts
            )
            out.write(
                f'<li dir="auto"><b>{e(mailbox.login)}</b> at {e(mailbox.host)}: {e(where)}</li>\n'
            )
        out.write(
            "</ul>\n<p>Move these mailboxes to IMAP first: then every computer sees all of the "
            "mail, and none holds the only copy.</p>\n"
        )
    out.write('<section class="appendix">\n<h2>Computers</h2>\n')
    out.write(
        "<table><thead><tr><th>Computer</th><th>Report</th><th>Scanned</th><th>Accounts</th>"
        "<th>POP3</th><th>Mail only on this computer</th></tr></thead><tbody>\n"
    )
    for machine in summary.machines:
        out.write(
            f'<tr><td dir="auto">{e(machine.machine)}</td><td>{_breakable(machine.report)}</td>'
            f"<td>{e(machine.generated_at)}</td><td class=n>{machine.accounts}</td>"
            f"<td class=n>{machine.pop3}</td>"
            f"<td class=n>{human_bytes(machine.bytes_only_here)}</td></tr>\n"
        )
    out.write("</tbody></table>\n<h2>POP3 accounts</h2>\n")
    if not summary.pop3_accounts:
        out.write("<p>None.</p>\n")
    else:
        out.write(
            "<table><thead><tr><th>Computer</th><th>User</th><th>Account</th><th>Server</th>"
            "<th>Leave on server</th><th>Local store</th><th>Size</th></tr></thead><tbody>\n"
        )
        for account in summary.pop3_accounts:
            out.write(_pop3_row(account))
        out.write("</tbody></table>\n")
    for warning in summary.warnings:
        out.write(f'<p class="meta" dir="auto">{e(warning)}</p>\n')
    out.write("</section>\n</body>\n</html>\n")


def _chart(machines: tuple[MachineSummary, ...], out: TextIO) -> None:
    """One bar per computer holding mail only there, the most first; no script, no font."""
    holding = sorted(
        (m for m in machines if m.bytes_only_here > 0),
        key=lambda m: (-m.bytes_only_here, m.machine),
    )
    if not holding:
        return
    shown = holding[:CHART_MACHINES]
    largest = shown[0].bytes_only_here
    label_width, row = 200, 22
    height = row * len(shown) + 4
    out.write("<h2>Mail that exists only on one computer</h2>\n")
    width = label_width + BAR_WIDTH + 90
    out.write(
        f'<svg role="img" aria-label="Mail held only on each computer" width="{width}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">\n'
    )
    for index, machine in enumerate(shown):
        y = index * row + 2
        bar = max(1, round(BAR_WIDTH * machine.bytes_only_here / largest))
        name = machine.hostname if len(machine.hostname) <= 28 else machine.hostname[:27] + "…"
        size = human_bytes(machine.bytes_only_here)
        out.write(
            f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{bar}" height="{row - 6}" '
            f'fill="#c0392b"><title>{escape(machine.machine)}: {size}</title></rect>'
            f'<text x="{label_width + bar + 6}" y="{y + 15}">{size}</text>\n'
        )
    out.write("</svg>\n")
    if len(holding) > len(shown):
        more = len(holding) - len(shown)
        out.write(f'<p class="meta">And {more} more computer(s): see the table.</p>\n')


def _pop3_row(account: Pop3Account) -> str:
    e = escape
    server = (account.host or "") + (f":{account.port}" if account.port is not None else "")
    if account.local_store_bytes is None:
        size = ""
    elif account.local_store_measured is False:
        size = "not measured"
    else:
        size = human_bytes(account.local_store_bytes)
    return (
        f'<tr><td dir="auto">{e(account.machine)}</td><td dir="auto">{e(account.user)}</td>'
        f'<td dir="auto">{e(account.name)}</td><td>{_breakable(server)}</td>'
        f"<td>{e(leave_on_server(account.leave_on_server, account.leave_on_server_days))}</td>"
        f"<td>{_breakable(account.local_store_path or '')}</td><td class=n>{size}</td></tr>\n"
    )


def _breakable(text: str) -> str:
    """Long paths and host names may wrap after / \\ . @ only, never inside a word."""
    escaped = escape(text)
    for mark in ("/", "\\", ".", "@"):
        escaped = escaped.replace(mark, mark + "<wbr>")
    return escaped
