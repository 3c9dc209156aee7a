"""Windows 10/11 Mail and Calendar (retired at the end of 2024): detected, local mail measured.

The accounts and the messages' index are in an ESE database (Comms/UnistoreDB/store.vol) with
no public schema for server settings [I]; the message bodies are files under
Comms/Unistore/data. So one entry stands for the app's accounts, to be checked in the app (or
in the new Outlook, which imports them).
"""

from __future__ import annotations

from collections.abc import Iterator

from mailaudit.machine import MachineFiles, UserHome
from mailaudit.model import Client
from mailaudit.sources.base import Found
from mailaudit.sources.detection import measure, unknown_account

PACKAGE = "AppData/Local/Packages/microsoft.windowscommunicationsapps_8wekyb3d8bbwe"
STORE = "AppData/Local/Comms/UnistoreDB/store.vol"
DATA = "AppData/Local/Comms/Unistore/data"


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    store = user.home / STORE
    if not store.is_file():
        return
    if not (user.home / PACKAGE).is_dir():
        return  # Comms is shared with People and Calendar: only the Mail app's package says Mail
    yield unknown_account(
        Client.WINDOWS_MAIL_APP,
        user,
        files.display(user.home / PACKAGE),
        "Mail and Calendar",
        "Mail and Calendar accounts",
        files.display(store),
        measure(files, user.home / DATA, "message bodies and attachments of the Mail app"),
        note="protocol unknown: check in the Mail app's account settings",
    )
