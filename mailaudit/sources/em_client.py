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
from mailaudit.model import Client, Skipped
from mailaudit.sources.base import Found
from mailaudit.sources.detection import measure, unknown_account

DATA_FOLDERS = (
    "AppData/Roaming/eM Client",
    "AppData/Local/eM Client",
    "Library/Application Support/eM Client",
)
MOST_MARKERS = 500
MOST_NOTES = 20  # unreadable folders named one by one


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    for relative in DATA_FOLDERS:
        folder = user.home / relative
        try:
            if files.find_file(folder / "accounts.dat") is None:
                continue
        except UnreadableFile as exc:  # a folder on the way is locked: named; go on
            yield Skipped(Client.EM_CLIENT.value, files.display(Path(exc.path)), exc.reason)
            continue
        markers, unreadable = _markers(files, folder)
        for locked in unreadable[:MOST_NOTES]:
            yield Skipped(
                Client.EM_CLIENT.value,
                files.display(Path(locked.path)),
                f"{locked.reason}; the account whose folder it is, if any, is not listed",
            )
        for marker in markers[:MOST_MARKERS]:
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


def _markers(files: MachineFiles, folder: Path) -> tuple[list[Path], list[UnreadableFile]]:
    """<account GUID>/<store GUID>/*.acn, listed inside the root, no link followed, and the
    GUID folders that could not be listed. Raises UnreadableFile when the data folder itself
    cannot be listed."""
    found: list[Path] = []
    unreadable: list[UnreadableFile] = []
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
        except UnreadableFile as exc:
            unreadable.append(exc)
            continue
        if len(found) >= MOST_MARKERS:
            break
    return sorted(found), unreadable
