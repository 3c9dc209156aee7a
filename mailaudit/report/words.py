"""Small phrases every report uses the same way."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from mailaudit import __version__
from mailaudit.model import Account, shown_path
from mailaudit.units import human_bytes

TOOL_NAME = "mailaudit"


def leave_on_server(leave: bool | None, days: int | None) -> str:
    """POP3's "leave a copy on the server": blank when unknown or not POP3."""
    if leave is None:
        return ""
    if not leave:
        return "no"
    return f"{days} days" if days is not None else "yes"


def local_store(account: Account) -> str:
    """The account's local store in a cell: its size; a store not on the scanned disk by its
    path, so that the technician knows where the only copy may be."""
    store = account.local_store
    if store is None:
        return ""
    if not store.measured:
        return f"{shown_path(store.path, account.platform)} — not on this disk, not measured"
    if not store.exists:
        return "missing"
    return human_bytes(store.bytes)


def json_document(body: dict[str, Any]) -> str:
    """A JSON answer with the header every mailaudit document carries."""
    document = {"schema_version": 1, "tool": {"name": TOOL_NAME, "version": __version__}, **body}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# Markdown that a name cannot break: no table column, no emphasis, no link, no HTML.
MARKDOWN_ESCAPES = {
    "\\": "\\\\",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
}


CELL_LIMIT = 80  # characters of one table cell: a 1 MB account name must not pad every row


def cell(text: str, limit: int = CELL_LIMIT) -> str:
    """Text cut to `limit` characters, ending in '…' when cut. Cut before tabulating: a table
    pads every row to its widest cell, and wrapping a huge one takes quadratic time."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    """Text for a terminal line: names come from users, and must not move the cursor or split a
    row, so line breaks become spaces and other control characters visible escapes."""
    if text.isprintable():  # the common case, at C speed: fleet renders tens of thousands
        return text
    return "".join(_visible(char) for char in text)


_MARKDOWN_TABLE = str.maketrans(MARKDOWN_ESCAPES)


def markdown_text(text: str) -> str:
    return one_line(text).translate(_MARKDOWN_TABLE)


def _visible(char: str) -> str:
    if char.isprintable():
        return char
    if char.isspace():  # newlines, tabs, and Unicode's line and paragraph separators
        return " "
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def display_width(text: str) -> int:
    """The columns a terminal gives `text`: East Asian wide and fullwidth characters take two,
    combining marks none (UAX #11)."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
        for c in text
    )
