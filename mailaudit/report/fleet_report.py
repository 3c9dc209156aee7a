"""The fleet summary as text: a terminal table, JSON, Markdown for a ticket or a wiki page, or
HTML for the client.

Every name in it comes from the audited machines, where any user may have typed it: cells are
made inert for the terminal (no control characters) and for Markdown viewers (no table breaks,
no HTML, no links).
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, fields, is_dataclass
from operator import attrgetter
from typing import Any, TextIO

from mailaudit import __version__
from mailaudit.fleet import (
    FleetSummary,
    FleetTotals,
    MachineSummary,
    Pop3Account,
    SplitMailbox,
)
from mailaudit.report import fleet_html
from mailaudit.report.words import json_document, leave_on_server, markdown_text, one_line
from mailaudit.units import human_bytes

FORMATS = ("table", "json", "markdown", "html")

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
    out = io.StringIO()
    write(summary, fmt, out)
    return out.getvalue()


def write(summary: FleetSummary, fmt: str, out: TextIO) -> None:
    """Write the summary row by row: a fleet of ten thousand machines is never one string."""
    if fmt == "table":
        _table(summary, out)
    elif fmt == "json":
        _json(summary, out)
    elif fmt == "markdown":
        _markdown(summary, out)
    elif fmt == "html":
        fleet_html.write(summary, out)
    else:
        raise ValueError(f"fleet reports come as table, json, markdown or html, not {fmt}")


def _json(summary: FleetSummary, out: TextIO) -> None:
    """The summary as one JSON document, written a row at a time, one row a line: json's C
    encoder writes a compact row several times faster than its indenting one, which fleets of
    ten thousand machines notice. The summary holds only text, numbers, booleans and tuples."""
    header = json_document({"fleet": None}).rstrip()
    out.write(header[: header.rindex("null")] + "{\n")
    parts = [
        ("totals", _indented(asdict(summary.totals), 4)),
        ("machines", _rows(summary.machines)),
        ("pop3_accounts", _rows(summary.pop3_accounts)),
        ("split_mailboxes", _rows(summary.split_mailboxes)),
        ("refused", _rows(summary.refused)),
        ("duplicates", _rows(summary.duplicates)),
        ("warnings", _rows(summary.warnings)),
    ]
    for index, (key, chunks) in enumerate(parts):
        out.write(f"    {json.dumps(key)}: ")
        for chunk in chunks:
            out.write(chunk)
        out.write(",\n" if index < len(parts) - 1 else "\n")
    out.write("  }\n}\n")


def _rows(rows: Sequence[Any]) -> Iterator[str]:
    if not rows:
        yield "[]"
        return
    yield "[\n"
    for index, row in enumerate(rows):
        yield "      " + json.dumps(row, ensure_ascii=False, default=_shallow)
        yield ",\n" if index < len(rows) - 1 else "\n"
    yield "    ]"


def _shallow(value: Any) -> dict[str, Any]:
    """json's `default` for a row: its fields, the encoder goes on into rows inside it. Like
    asdict without its deep copy, which costs seconds on a big fleet."""
    if not is_dataclass(value):
        raise TypeError(f"not JSON: {type(value).__name__}")
    names = _FIELD_NAMES.get(type(value))
    if names is None:
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    return dict(zip(names, attrgetter(*names)(value), strict=True))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _indented(value: Any, level: int) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False).replace("\n", "\n" + " " * level)


def _table(summary: FleetSummary, out: TextIO) -> None:
    totals = summary.totals
    out.write(f"mailaudit {__version__}: fleet of {totals.machines} machine(s)\n\n")
    if summary.machines:
        _aligned([_machine_row(m) for m in summary.machines], MACHINE_HEADERS, out)
    else:
        out.write("No reports.\n")
    if summary.pop3_accounts:
        out.write(f"\nPOP3 accounts ({len(summary.pop3_accounts)}):\n")
        _aligned(_Rows(summary.pop3_accounts, _pop3_row), POP3_HEADERS, out)
    if summary.split_mailboxes:
        out.write(
            "\nMailboxes downloaded by more than one machine (each holds part of the mail):\n"
        )
        for mailbox in summary.split_mailboxes:
            where = "; ".join(one_line(w) for w in _set_up_as(mailbox))
            out.write(f"- {one_line(mailbox.login)} at {one_line(mailbox.host)}: {where}\n")
    out.write(f"\n{_totals_sentence(totals)}\n{_only_on_pcs_sentence(totals)}\n")


class _Rows:
    """Rows made on demand, twice over (widths, then lines), rather than held as strings."""

    def __init__(self, items: Sequence[Any], row: Any) -> None:
        self.items = items
        self.row = row

    def __iter__(self) -> Iterator[tuple[str, ...]]:
        return (self.row(item) for item in self.items)


def _aligned(rows: Iterable[tuple[str, ...]], headers: tuple[str, ...], out: TextIO) -> None:
    """A plain-text table in two passes: the widths, then the lines. Laid out as tabulate's
    "simple" format (headers get two columns of slack, lines end without padding)."""
    widths = [len(header) + 2 for header in headers]
    for row in rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(one_line(cell)))
    out.write(_line(headers, widths) + "\n")
    out.write("  ".join("-" * width for width in widths) + "\n")
    for row in rows:
        out.write(_line(tuple(one_line(cell) for cell in row), widths) + "\n")


def _line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def _markdown(summary: FleetSummary, out: TextIO) -> None:
    totals = summary.totals
    clients = ", ".join(f"{markdown_text(c.client)} {c.accounts}" for c in totals.by_client)
    split = len(summary.split_mailboxes)
    paragraph = (
        f"{_totals_sentence(totals)}"
        + (f" By client: {clients}." if clients else "")
        + f" {markdown_text(_only_on_pcs_sentence(totals))}"
        + f" {split} POP3 mailbox(es) are downloaded by more than one machine."
    )
    out.write(f"# Mail accounts on {totals.machines} machine(s)\n\n{paragraph}\n")
    out.write("\n## Machines\n\n")
    _markdown_table(MACHINE_HEADERS, _Rows(summary.machines, _machine_row), (3, 4, 5), out)
    out.write("\n## POP3 accounts\n\n")
    _markdown_table(POP3_HEADERS, _Rows(summary.pop3_accounts, _pop3_row), (8,), out)
    out.write("\n## Mailboxes downloaded by more than one machine\n\n")
    _markdown_table(
        SPLIT_HEADERS,
        [
            (m.host, m.login, str(len(m.machines)), "; ".join(_set_up_as(m)))
            for m in summary.split_mailboxes
        ],
        (2,),
        out,
    )


def _markdown_table(
    headers: tuple[str, ...],
    rows: Iterable[tuple[str, ...]],
    numeric: tuple[int, ...],
    out: TextIO,
) -> None:
    written = False
    for row in rows:
        if not written:
            rule = ["---:" if index in numeric else "---" for index in range(len(headers))]
            out.write(_markdown_row(headers) + "\n" + "| " + " | ".join(rule) + " |\n")
            written = True
        out.write(_markdown_row(tuple(markdown_text(cell) for cell in row)) + "\n")
    if not written:
        out.write("None.\n")


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
