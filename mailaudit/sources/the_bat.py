"""The Bat! (Ritlabs, Windows): detected, accounts named, local mail measured.

Its mail folder (by default %APPDATA%\\The Bat!\\MAIL, in old versions the program folder's
MAIL) holds one folder per account, named after it, with ACCOUNT.CFN (settings: a proprietary,
obfuscated and optionally encrypted binary, so not parsed) and one subfolder per mail folder
with MESSAGES.TBB, the messages [C]. The Bat! is POP3-first and keeps POP3 mail only here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import Client, Skipped
from mailaudit.sources.base import Found
from mailaudit.sources.detection import measure, unknown_account

MAIL_FOLDERS = (
    "AppData/Roaming/The Bat!",
    "AppData/Roaming/The Bat!/MAIL",
    "Application Data/The Bat!",  # Windows XP
    "Application Data/The Bat!/MAIL",
)
SETTINGS = ("account.cfn", "account.cfg")  # compared case-insensitively, as Windows does


class OnlyMessageBases(IgnoreRule):
    """MESSAGES.TBB (and the encrypted .EBB) hold the mail; the rest is index and settings."""

    def __init__(self) -> None:
        super().__init__((), frozenset())

    def __call__(self, name: str) -> bool:
        return not name.lower().endswith((".tbb", ".ebb"))


MESSAGE_BASES = OnlyMessageBases()


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    seen = set()
    for relative in MAIL_FOLDERS:
        try:
            folder = files.find_folder(user.home / relative)
        except UnreadableFile as exc:  # a folder on the way is locked: named; go on
            yield Skipped(Client.THE_BAT.value, files.display(Path(exc.path)), exc.reason)
            continue
        if folder is None:
            continue
        accounts = [path for path, is_folder in files.entries(folder) if is_folder]
        for account in accounts:
            if account in seen:
                continue
            seen.add(account)
            try:
                settings = _settings_file(files, account)
            except UnreadableFile as exc:
                yield Skipped(
                    Client.THE_BAT.value,
                    files.display(account),
                    f"{exc.reason}; if it is an account's folder, that account is not listed",
                )
                continue
            if settings is None:
                continue
            yield unknown_account(
                Client.THE_BAT,
                user,
                files.display(folder),
                account.name,
                account.name,
                files.display(settings),
                measure(files, account, "The Bat!'s message bases (.TBB)", MESSAGE_BASES),
                note="protocol unknown: check in The Bat! (usually POP3, mail kept only here)",
            )


def _settings_file(files: MachineFiles, account: Path) -> Path | None:
    """ACCOUNT.CFN (or .CFG) in an account folder, whatever its case; None when the folder has
    none. Raises UnreadableFile when it cannot be listed."""
    names = {path.name.lower(): path for path, _ in files.entries(account)}
    return next((names[n] for n in SETTINGS if n in names), None)
