"""Small phrases every report uses the same way."""

from __future__ import annotations

import json
from typing import Any

from mailaudit import __version__

TOOL_NAME = "mailaudit"


def leave_on_server(leave: bool | None, days: int | None) -> str:
    """POP3's "leave a copy on the server": blank when unknown or not POP3."""
    if leave is None:
        return ""
    if not leave:
        return "no"
    return f"{days} days" if days is not None else "yes"


def json_document(body: dict[str, Any]) -> str:
    """A JSON answer with the header every mailaudit document carries."""
    document = {"schema_version": 1, "tool": {"name": TOOL_NAME, "version": __version__}, **body}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
