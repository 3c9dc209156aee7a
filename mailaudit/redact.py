"""--redact: a report that can be shared. Pure.

Addresses lose their local part (the domain stays: it names the provider), OS user names,
login names and the machine's name become tokens, and the --root folder is hidden. The same
input always gets the same token within a report, so the report still reads consistently:
`/Users/user1/...` is still user1's store.
"""

from __future__ import annotations

import dataclasses
import re
from enum import Enum
from typing import Any

from mailaudit.model import MachineReport

_ADDRESS = re.compile(r"[A-Za-z0-9._%+'-]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def redact(report: MachineReport) -> MachineReport:
    tokens: dict[str, str] = {}

    def token(value: str | None, kind: str) -> None:
        if value and value not in tokens and len(value) > 1:
            tokens[value] = f"{kind}{_count(tokens, kind) + 1}"

    for account in report.accounts:
        for address in (account.email, *account.addresses, account.incoming.username):
            for found in _ADDRESS.finditer(address or ""):
                number = _count(tokens, "mailbox") + 1
                tokens.setdefault(found.group(0), f"mailbox{number}@{found.group(1)}")
        token(account.user, "user")
        if account.incoming.username and "@" not in account.incoming.username:
            token(account.incoming.username, "login")
    for mailbox in report.local_mailboxes:  # a user may have a local mailbox and no account
        token(mailbox.user, "user")
    token(report.machine.hostname, "machine")
    patterns = [
        (re.compile(rf"(?<![\w.@-]){re.escape(original)}(?![\w@-])"), new)
        for original, new in sorted(tokens.items(), key=lambda item: -len(item[0]))
    ]
    if report.machine.root:
        patterns.insert(0, (re.compile(re.escape(report.machine.root)), "<root>"))

    def clean(value: Any) -> Any:
        if isinstance(value, Enum):
            return value  # str enums are strings too; their values are the contract's words
        if isinstance(value, str):
            for pattern, new in patterns:
                value = pattern.sub(new, value)
            return value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            changes = {
                f.name: clean(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
            }
            return dataclasses.replace(value, **changes)
        if isinstance(value, tuple):
            return tuple(clean(v) for v in value)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        return value

    result: MachineReport = clean(report)
    return result


def _count(tokens: dict[str, str], kind: str) -> int:
    return sum(1 for t in tokens.values() if t.startswith(kind))
