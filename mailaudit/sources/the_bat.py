"""The Bat! (Ritlabs, Windows): detected, accounts named, local mail measured.

Its mail folder (by default %APPDATA%\\The Bat!\\MAIL, in old versions the program folder's
MAIL) holds one folder per account, named after it, with ACCOUNT.CFN (settings: a proprietary,
obfuscated and optionally encrypted binary, so not parsed) and one subfolder per mail folder
with MESSAGES.TBB, the messages [C]. The Bat! is POP3-first and keeps POP3 mail only here.
"""

from __future__ import annotations

from collections.abc import Iterator

from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import Client
from mailaudit.sources.base import Found
from mailaudit.sources.detection import measure, unknown_account

MAIL_FOLDERS = (
    "AppData/Roaming/The Bat!",
    "AppData/Roaming/The Bat!/MAIL",
    "Application Data/The Bat!",  # Windows XP
    "Application Data/The Bat!/MAIL",
)
SETTINGS = ("ACCOUNT.CFN", "ACCOUNT.CFG", "account.cfn", "account.cfg")


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
        folder = user.home / relative
        if not folder.is_dir():
            continue
        try:
            accounts = sorted(p for p in folder.iterdir() if p.is_dir())
        except OSError:
            continue  # an unreadable folder: nothing to name
        for account in accounts:
            settings = next((account / n for n in SETTINGS if (account / n).is_file()), None)
            if settings is None or account in seen:
                continue
            seen.add(account)
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
