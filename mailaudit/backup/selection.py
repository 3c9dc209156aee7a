"""What a backup copies: the scan's local stores, turned into a list of files.

By default, the stores that hold the only copy of some mail: every POP3 account's store and every
local mailbox (On My Mac, Local Folders, a PST attached to no account). `--all` adds the IMAP
and Exchange caches; `--account ID` picks stores by the scan's stable ids. Each store is walked
without following a link; each file keeps the ids of the accounts whose mail it holds.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from mailaudit.errors import UnreadableFile, UsageError
from mailaudit.machine import MachineFiles
from mailaudit.model import Account, Client, LocalStore, MachineReport, Protocol

# Files that hold saved passwords, keys or tokens: never copied, wherever they lie.
SECRET_NAMES = frozenset(
    {
        "logins.json",  # Thunderbird, SeaMonkey: saved passwords and OAuth tokens
        "logins-backup.json",
        "key3.db",  # the keys that decrypt logins.json / signons
        "key4.db",
        "signons.sqlite",  # Thunderbird before 32
        "signons.txt",
        "signons2.txt",
        "signons3.txt",
        "keychain-2.db",  # the macOS data-protection keychain
    }
)
SECRET_SUFFIXES = (".keychain", ".keychain-db")
# "POP3 Password2", "IMAP Password": the names Outlook and Outlook Express give saved passwords.
SECRET_PATTERN = re.compile(r"^(pop3|imap|smtp|http|nntp)[ _]?password\d*$", re.IGNORECASE)

# Apple Mail's message index lies beside the account folders, shared by all of them.
APPLE_MAIL_INDEX = ("Envelope Index", "Envelope Index-shm", "Envelope Index-wal")


@dataclass(frozen=True)
class Owner:
    """An account or local mailbox whose store is copied."""

    id: str
    client: Client
    user: str
    name: str
    store: str  # the store's path as on the audited machine


@dataclass(frozen=True, slots=True)
class SourceFile:
    path: str  # where to open it here; a str, as a Path costs 250 bytes more for each file
    name: str  # the member's name in the archive: its path on the audited machine, without "/"
    client: Client
    accounts: tuple[str, ...]  # ids of the owners whose mail it holds
    size: int  # when listed; the copy records what it read


@dataclass(frozen=True)
class NotCopied:
    path: str  # as on the audited machine
    reason: str
    failed: bool  # True: mail that belongs in the archive is missing from it (the run is not clean)


@dataclass(frozen=True)
class Selection:
    owners: tuple[Owner, ...]
    files: tuple[SourceFile, ...]
    not_copied: tuple[NotCopied, ...]
    folders: tuple[Path, ...]  # real folders the files come from, and the profiles holding them

    @property
    def bytes(self) -> int:
        return sum(source.size for source in self.files)


@dataclass(frozen=True)
class _Store:
    owner: Owner
    store: LocalStore
    profile: str


def select(
    report: MachineReport,
    files: MachineFiles,
    accounts: Sequence[str] = (),
    everything: bool = False,
) -> Selection:
    """The files to copy, and what is left out with the reason. UsageError for an unknown id."""
    stores = _stores(report, accounts, everything)
    found: dict[str, SourceFile] = {}
    not_copied: list[NotCopied] = []
    folders: list[Path] = []
    for item in stores:
        for result in _files_of(item, files, folders):
            if isinstance(result, NotCopied):
                not_copied.append(result)
            elif result.name in found:  # a folder two accounts share (Global Inbox)
                before = found[result.name]
                merged = tuple(dict.fromkeys(before.accounts + result.accounts))
                found[result.name] = replace(before, accounts=merged)
            else:
                found[result.name] = result
    return Selection(
        owners=tuple(item.owner for item in stores),
        files=tuple(found[name] for name in sorted(found)),
        not_copied=tuple(dict.fromkeys(not_copied)),
        folders=tuple(dict.fromkeys(folders)),
    )


def holds_only_copy(account: Account) -> bool:
    """POP3 mail, and Apple Mail's On My Mac while the scan still lists it as an account."""
    local = account.protocol is Protocol.OTHER and account.declared_type == "local"
    return account.protocol is Protocol.POP3 or local


def _stores(report: MachineReport, wanted: Sequence[str], everything: bool) -> list[_Store]:
    known = {a.id for a in report.accounts} | {m.id for m in report.local_mailboxes}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise UsageError(
            f"--account {unknown[0]}: no account or local mailbox has this id "
            "(the scan's JSON report lists them)"
        )
    picked: list[_Store] = []
    for account in report.accounts:
        chosen = account.id in wanted if wanted else everything or holds_only_copy(account)
        if chosen and account.local_store is not None:
            owner = Owner(
                account.id, account.client, account.user, account.name, account.local_store.path
            )
            picked.append(_Store(owner, account.local_store, account.profile))
    for mailbox in report.local_mailboxes:
        if not wanted or mailbox.id in wanted:
            owner = Owner(
                mailbox.id, mailbox.client, mailbox.user, mailbox.name, mailbox.store.path
            )
            picked.append(_Store(owner, mailbox.store, mailbox.profile))
    return picked


def _files_of(
    item: _Store, files: MachineFiles, folders: list[Path]
) -> Iterator[SourceFile | NotCopied]:
    store = item.store
    if not store.path.strip():
        # The client records no place for it (an Outlook data file named only in the profile):
        # an empty path would resolve to the root and copy the whole disk.
        yield NotCopied(
            f"{item.owner.user} / {item.owner.name}",
            store.note or "its place is not recorded",
            failed=True,
        )
        return
    base = files.root or Path(Path.cwd().anchor)
    try:
        logical = files.client_path(store.path, base)
    except UnreadableFile as exc:
        yield NotCopied(store.path, exc.reason, failed=True)
        return
    if not os.path.lexists(logical):
        # Missing where the scan measured it: no mail was ever stored there. Not measured (a
        # registry export's path): the mail is on a machine this run cannot see.
        reason = "does not exist" if store.measured else "is not on this machine"
        yield NotCopied(store.path, reason, failed=not store.measured)
        return
    try:
        real = files.check_inside(logical)
    except UnreadableFile as exc:
        yield NotCopied(store.path, exc.reason, failed=True)
        return
    profile = _profile_folder(files, item.profile, base)
    if profile is not None:
        folders.append(profile)
    owner = (item.owner.id,)
    client = item.owner.client
    if real.is_dir():
        folders.append(real)
        yield from _walk(real, _member(files, logical), client, owner)
    else:
        folders.append(real.parent)
        yield from _one(real, _member(files, logical), client, owner, store.path)
    if client is Client.APPLE_MAIL:
        yield from _apple_mail_index(files, logical.parent / "MailData", owner)


def _apple_mail_index(
    files: MachineFiles, mail_data: Path, owner: tuple[str, ...]
) -> Iterator[SourceFile | NotCopied]:
    if not mail_data.is_dir():
        return
    try:
        real = files.check_inside(mail_data)
    except UnreadableFile as exc:
        yield NotCopied(files.display(mail_data), exc.reason, failed=True)
        return
    for name in APPLE_MAIL_INDEX:
        if os.path.lexists(real / name):
            index = mail_data / name
            member = _member(files, index)
            yield from _one(real / name, member, Client.APPLE_MAIL, owner, files.display(index))


def _walk(
    folder: Path, prefix: str, client: Client, owner: tuple[str, ...]
) -> Iterator[SourceFile | NotCopied]:
    """Every regular file under `folder`; links and special files are listed, never followed."""
    pending = [(folder, prefix)]
    while pending:
        current, name = pending.pop()
        try:
            with os.scandir(current) as scan:
                for entry in scan:  # in any order: select() sorts the members by name
                    member = f"{name}/{entry.name}"
                    yield from _entry(Path(entry.path), entry, member, client, owner, pending)
        except OSError as exc:
            yield NotCopied("/" + name, f"cannot be listed ({_why(exc)})", failed=True)


def _entry(
    path: Path,
    entry: os.DirEntry[str],
    member: str,
    client: Client,
    owner: tuple[str, ...],
    pending: list[tuple[Path, str]],
) -> Iterator[SourceFile | NotCopied]:
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError as exc:
        yield NotCopied("/" + member, f"cannot be read ({_why(exc)})", failed=True)
        return
    if stat.S_ISDIR(info.st_mode):
        pending.append((path, member))
        return
    yield from _checked(path, info, member, client, owner, "/" + member)


def _one(
    path: Path, member: str, client: Client, owner: tuple[str, ...], shown: str
) -> Iterator[SourceFile | NotCopied]:
    try:
        info = path.lstat()
    except OSError as exc:
        yield NotCopied(shown, f"cannot be read ({_why(exc)})", failed=True)
        return
    yield from _checked(path, info, member, client, owner, shown)


def _checked(
    path: Path,
    info: os.stat_result,
    member: str,
    client: Client,
    owner: tuple[str, ...],
    shown: str,
) -> Iterator[SourceFile | NotCopied]:
    if is_secret(path.name):
        yield NotCopied(shown, "holds saved passwords or keys: never copied", failed=False)
    elif stat.S_ISLNK(info.st_mode):
        target = path.readlink()
        yield NotCopied(shown, f"is a symbolic link (to {target}): not followed", failed=False)
    elif not stat.S_ISREG(info.st_mode):
        yield NotCopied(shown, f"is a {_kind(info.st_mode)}, not a file: not read", failed=False)
    else:
        yield SourceFile(str(path), member, client, owner, info.st_size)


def is_secret(name: str) -> bool:
    lower = name.lower()
    return (
        lower in SECRET_NAMES
        or lower.endswith(SECRET_SUFFIXES)
        or SECRET_PATTERN.match(name) is not None
    )


def _member(files: MachineFiles, path: Path) -> str:
    """The path as on the audited machine, relative to its root: `Users/anna/AppData/...`."""
    # Live, without the anchor ("/" or "C:\"): the same names as under a --root.
    parts = path.relative_to(files.root).parts if files.root is not None else path.parts[1:]
    return PurePosixPath(*parts).as_posix()


def _profile_folder(files: MachineFiles, profile: str, base: Path) -> Path | None:
    """The client's profile folder when the scan names one by its path (Thunderbird does)."""
    if not (profile.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", profile)):
        return None
    try:
        folder = files.client_path(profile, base)
    except UnreadableFile:
        return None
    return Path(os.path.realpath(folder)) if folder.is_dir() else None


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()
