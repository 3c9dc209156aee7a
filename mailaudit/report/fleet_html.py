"""The fleet summary as one self-contained HTML page for the client, in the client document's
layout and style: what is at risk first (mail held only on PCs, mailboxes split across PCs), a
chart of the machines holding the most, then the tables. No script, no external asset; every
text escaped; written row by row."""

from __future__ import annotations

from html import escape
from typing import TextIO

from mailaudit import __version__
from mailaudit.fleet import FleetSummary, MachineSummary, Pop3Account
from mailaudit.report.document import Bar, Chart
from mailaudit.report.html_report import STYLE, bar_chart, text, traffic_light
from mailaudit.report.words import leave_on_server
from mailaudit.units import human_bytes

CHART_MACHINES = 25  # bars drawn; the table below lists every machine


def write(summary: FleetSummary, out: TextIO) -> None:
    totals = summary.totals
    title = f"Mail on {totals.machines} computer(s)"
    out.write(
        '<!DOCTYPE html>\n<html lang="en">\n<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n<main>\n"
        f"<h1>{text(title)}</h1>\n"
    )
    if totals.bytes_only_on_pcs:
        verdict = (
            f"{human_bytes(totals.bytes_only_on_pcs)} of mail exist only on these computers, "
            f"in {totals.stores_only_on_pcs} mailbox(es)."
        )
    else:
        verdict = "No mail was found that exists only on these computers."
    sentences = [verdict]
    if summary.split_mailboxes:
        sentences.append(
            f"{len(summary.split_mailboxes)} mailbox(es) are downloaded by more than one "
            "computer, so each computer holds only part of their mail."
        )
    status = "red" if len(sentences) > 1 or totals.bytes_only_on_pcs else "green"
    label = "Mail at risk" if status == "red" else "No mail found only on these computers"
    out.write(
        f'<section class="verdict {status}">{traffic_light(status)}<div>'
        f'<p class="label">{text(label)}</p>'
        + "".join(f"<p>{text(sentence)}</p>" for sentence in sentences)
        + "</div></section>\n"
    )
    out.write(
        f"<p>{totals.accounts} account(s): {totals.pop3} POP3, {totals.imap} IMAP, "
        f"{totals.exchange} Exchange, {totals.other} other. mailaudit {escape(__version__)}.</p>\n"
    )
    _chart(summary.machines, out)
    if summary.split_mailboxes:
        out.write("<h2>Mailboxes downloaded by more than one computer</h2>\n<ul>\n")
        for mailbox in summary.split_mailboxes:
            where = "; ".join(
                f"{a.machine}: {a.user} ({a.client}, {a.name})" for a in mailbox.accounts
            )
            out.write(
                f'<li dir="auto"><b>{text(mailbox.login)}</b> at {text(mailbox.host)}: '
                f"{text(where)}</li>\n"
            )
        out.write(
            "</ul>\n<p>Move these mailboxes to IMAP first: then every computer sees all of the "
            "mail, and none holds the only copy.</p>\n"
        )
    out.write('</main>\n<section class="appendix">\n<h2>Computers</h2>\n')
    out.write(
        "<table><thead><tr><th>Computer</th><th>Report</th><th>Scanned</th><th>Accounts</th>"
        "<th>POP3</th><th>Mail only on this computer</th></tr></thead><tbody>\n"
    )
    for machine in summary.machines:
        out.write(
            f'<tr><td dir="auto">{text(machine.machine)}</td><td>{text(machine.report)}</td>'
            f"<td>{text(machine.generated_at)}</td><td>{machine.accounts}</td>"
            f"<td>{machine.pop3}</td><td>{human_bytes(machine.bytes_only_here)}</td></tr>\n"
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
        out.write(f'<p dir="auto">{text(warning)}</p>\n')
    out.write("</section>\n</body>\n</html>\n")


def _chart(machines: tuple[MachineSummary, ...], out: TextIO) -> None:
    """One bar per computer holding mail only there, the most first, drawn as the client
    document draws its charts."""
    holding = sorted(
        (m for m in machines if m.bytes_only_here > 0),
        key=lambda m: (-m.bytes_only_here, m.machine),
    )
    if not holding:
        return
    shown = holding[:CHART_MACHINES]
    chart = Chart(
        title="Mail that exists only on one computer",
        bars=tuple(
            Bar(m.machine, m.bytes_only_here, human_bytes(m.bytes_only_here)) for m in shown
        ),
        empty="",
    )
    out.write(f"<h2>{text(chart.title)}</h2>\n{bar_chart(chart)}\n")
    if len(holding) > len(shown):
        more = len(holding) - len(shown)
        out.write(f"<p>And {more} more computer(s): see the table.</p>\n")


def _pop3_row(account: Pop3Account) -> str:
    server = (account.host or "") + (f":{account.port}" if account.port is not None else "")
    if account.local_store_bytes is None:
        size = ""
    elif account.local_store_measured is False:
        size = "not measured"
    else:
        size = human_bytes(account.local_store_bytes)
    cells = (
        account.machine,
        account.user,
        account.name,
        server,
        leave_on_server(account.leave_on_server, account.leave_on_server_days),
        account.local_store_path or "",
        size,
    )
    return "<tr>" + "".join(f'<td dir="auto">{text(cell)}</td>' for cell in cells) + "</tr>\n"
