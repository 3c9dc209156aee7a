"""eM Client (Windows, macOS): detected, accounts named, local mail measured.

Its account settings sit in accounts.dat, an SQLite database whose schema is not described
anywhere public [I], so they are not read. Each account has a folder <GUID>/<GUID>/ in the data
folder holding its databases (mail_data.dat, mail_index.dat, ...) and an `<account name>.acn`
marker file (forensic descriptions of the layout [C]); the marker gives the name, the folder's
size the local mail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mailaudit.errors import UnreadableFile
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
        if files.find_file(folder / "accounts.dat") is None:
            continue
        for marker in _markers(files, folder)[:MOST_MARKERS]:
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


def _markers(files: MachineFiles, folder: Path) -> list[Path]:
    """<account GUID>/<store GUID>/*.acn, listed inside the root, no link followed. Raises
    UnreadableFile when the data folder cannot be listed; a GUID folder that cannot be is
    passed over (its account is then not named)."""
    found: list[Path] = []
    for account, is_folder in files.entries(folder):
        if not is_folder:
            continue
        try:
            stores = [s for s, inner in files.entries(account) if inner]
            found += [
                marker
                for store in stores
                for marker, inner in files.entries(store)
                if not inner and marker.suffix.lower() == ".acn"
            ]
        except UnreadableFile:
            continue
        if len(found) >= MOST_MARKERS:
            break
    return sorted(found)
