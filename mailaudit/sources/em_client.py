"""eM Client (Windows, macOS): detected, accounts named, local mail measured.

Its account settings sit in accounts.dat, an SQLite database whose schema is not described
anywhere public [I], so they are not read. Each account has a folder <GUID>/<GUID>/ in the data
folder holding its databases (mail_data.dat, mail_index.dat, ...) and an `<account name>.acn`
marker file (forensic descriptions of the layout [C]); the marker gives the name, the folder's
size the local mail.
"""

from __future__ import annotations

from collections.abc import Iterator

from mailaudit.machine import MachineFiles, UserHome
from mailaudit.model import Client
from mailaudit.sources.base import Found
from mailaudit.sources.detection import measure, unknown_account

DATA_FOLDERS = (
    "AppData/Roaming/eM Client",
    "AppData/Local/eM Client",
    "Library/Application Support/eM Client",
)
MOST_MARKERS = 500


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    for relative in DATA_FOLDERS:
        folder = user.home / relative
        if not (folder / "accounts.dat").is_file():
            continue
        markers = sorted(folder.glob("*/*/*.acn"))[:MOST_MARKERS]
        for marker in markers:
            account_folder = marker.parent.parent  # <account GUID>/<store GUID>/name.acn
            yield unknown_account(
                Client.EM_CLIENT,
                user,
                files.display(folder),
                f"{account_folder.name}/{marker.parent.name}",
                marker.stem,
                files.display(marker),
                measure(files, account_folder, "eM Client's databases for this account"),
            )
