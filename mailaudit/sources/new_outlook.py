"""The new Outlook for Windows (olk.exe): detected, accounts listed by address.

Its local settings, AppData/Local/Microsoft/Olk/UserSettings.json, list the signed-in accounts
under "Identities" (CCL Solutions' forensic write-up, 2025). Third-party POP3 and IMAP accounts
are synchronised through Microsoft's cloud, not from this PC, so server settings are not kept
here [I]: the protocol is left to be checked in Outlook.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mailaudit.errors import UnreadableFile
from mailaudit.machine import MachineFiles, UserHome
from mailaudit.model import Client, Skipped
from mailaudit.sources.base import Found
from mailaudit.sources.detection import measure, unknown_account

SETTINGS = "AppData/Local/Microsoft/Olk/UserSettings.json"
SETTINGS_LIMIT = 16 * 1024 * 1024
ADDRESS_KEYS = ("EmailAddress", "emailAddress", "Email", "email", "UserPrincipalName", "upn")


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    path = user.home / SETTINGS
    if not path.is_file():
        return
    origin = files.display(path)
    try:
        document = json.loads(files.read_bytes(path, SETTINGS_LIMIT).decode("utf-8-sig"))
    except UnreadableFile as exc:
        yield Skipped(Client.OUTLOOK_NEW.value, origin, f"UserSettings.json {exc.reason}")
        return
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        yield Skipped(Client.OUTLOOK_NEW.value, origin, f"UserSettings.json is not JSON ({exc})")
        return
    store = measure(
        files, path.parent, "the new Outlook's local cache (the mail itself is on the server)"
    )
    for number, address in enumerate(identities(document)):
        yield unknown_account(
            Client.OUTLOOK_NEW,
            user,
            files.display(path.parent),
            f"identity/{number}/{address}",
            address,
            origin,
            store,
            email=address,
            note="protocol unknown: synchronised through Microsoft's cloud; check in Outlook",
        )


def identities(document: Any) -> list[str]:
    """The distinct e-mail addresses of the "Identities" entries, in order."""
    found: list[str] = []
    entries = document.get("Identities") if isinstance(document, dict) else None
    if isinstance(entries, dict):
        entries = list(entries.values())
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        address = next(
            (entry[k] for k in ADDRESS_KEYS if isinstance(entry.get(k), str) and "@" in entry[k]),
            None,
        )
        if address and address not in found:
            found.append(address)
    return found
