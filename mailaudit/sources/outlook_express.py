"""Outlook Express 5 and 6 (Windows 98 to XP): the Internet Account Manager in each user's
registry, and the `.dbx` folders of each identity.

What the reader relies on (Mozilla's OE importer, nsOESettings.cpp and nsOEScanBoxes.cpp; the
DBX layout from forensic write-ups, [C] in the research notes, so read tolerantly):

- Accounts are subkeys 00000001... of `Software\\Microsoft\\Internet Account Manager\\Accounts`,
  shared by all identities in OE 5/6, or the same path below an identity
  (`Identities\\{GUID}\\Software\\...`); every one of them is read. The value names are WLM's
  `.oeaccount` names with spaces (`POP3 Server`, `Leave Mail On Server`), REG_SZ and REG_DWORD.
  `* Password2` values are never read.
- Each identity's folders are `.dbx` files in the `Store Root` of
  `Identities\\{GUID}\\Software\\Microsoft\\Outlook Express\\5.0`. A DBX starts with CF AD 12 FE
  and a class id (C5 FD 74 6F: a message folder; C6: Folders.dbx; C7: Pop3uidl.dbx). A message
  folder's file info, at 0x24BC, starts 01 00 00 00, then the source type (0 news, 1 IMAP,
  3 local) and the registry key of the account that owns it. POP3 mail lands in the local
  folders (Inbox.dbx, ...), shared by every POP3 account of the identity.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import MachineFiles, UserHome, open_read_only
from mailaudit.model import Account, Client, LocalMailbox, LocalStore, Protocol, Skipped
from mailaudit.sources.base import Found
from mailaudit.sources.registry import RegistryError, RegistryKey, RegValue
from mailaudit.sources.user_registry import user_registry
from mailaudit.sources.windows_live_mail import (
    AccountSettings,
    account_kind,
    expand_store_root,
    incoming_endpoint,
    leave_on_server,
)

SOURCE = Client.OUTLOOK_EXPRESS.value
ACCOUNTS = r"Software\Microsoft\Internet Account Manager\Accounts"
STORE_KEY = r"Software\Microsoft\Outlook Express\5.0"
MAGIC = bytes.fromhex("cfad12fe")
MESSAGE_CLASS = bytes.fromhex("c5fd746f")
FILE_INFO = 0x24BC
HEADER_READ = FILE_INFO + 512
SOURCE_LOCAL, SOURCE_IMAP, SOURCE_NEWS = 3, 1, 0


@dataclass(frozen=True)
class Dbx:
    path: Path
    size: int
    source_type: int | None  # None: not a message folder, or a file info not understood
    account_key: str | None
    damaged: bool = False  # no DBX signature at all


@dataclass(frozen=True)
class Identity:
    guid: str
    name: str
    key: RegistryKey


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    registry = user_registry(files, user)
    if registry.root is None:
        return  # no hive; an unreadable one is reported by the Outlook source
    try:
        yield from _scan_registry(files, user, registry.root, registry.origin)
    except RegistryError as exc:
        yield Skipped(SOURCE, registry.origin, str(exc))


def _scan_registry(
    files: MachineFiles, user: UserHome, root: RegistryKey, origin: str
) -> Iterator[Found]:
    identities = _identities(root)
    folders: dict[str, tuple[Path, list[Dbx]]] = {}
    for identity in identities:
        store = _store(files, user, identity, origin)
        if isinstance(store, Skipped):
            yield store
        elif store is not None:
            folders[identity.guid] = store
            for dbx in store[1]:
                if dbx.damaged:
                    yield Skipped(
                        SOURCE,
                        files.display(dbx.path),
                        f"{dbx.path.name} is not an Outlook Express folder file (no DBX "
                        "signature); its size is not counted",
                    )
    account_keys: list[tuple[RegistryKey, Identity | None]] = []
    shared = root.subkey(ACCOUNTS)
    if shared is not None:
        account_keys += [(k, None) for k in _sorted(shared.subkeys())]
    for identity in identities:
        own = identity.key.subkey(ACCOUNTS)
        if own is not None:
            account_keys += [(k, identity) for k in _sorted(own.subkeys())]
    pop_stores: set[str] = set()
    for key, owner in account_keys:
        for item in _account(files, user, origin, key, owner, identities, folders):
            if isinstance(item, Account) and item.protocol is Protocol.POP3 and item.local_store:
                pop_stores.add(item.local_store.path)
            yield item
    for identity in identities:
        found = folders.get(identity.guid)
        if found is None:
            continue
        root_path, dbx_files = found
        local = _local_folders(files, root_path, dbx_files, identity)
        if local.bytes and local.path not in pop_stores:
            yield LocalMailbox(
                client=Client.OUTLOOK_EXPRESS,
                user=user.name,
                profile=f"identity {identity.name}",
                name="Local Folders",
                store=local,
                origin=files.display(root_path),
            )


def _sorted(keys: list[RegistryKey]) -> list[RegistryKey]:
    return sorted(keys, key=lambda key: key.name.lower())


def _identities(root: RegistryKey) -> list[Identity]:
    parent = root.subkey("Identities")
    if parent is None:
        return []
    found = []
    for key in _sorted(parent.subkeys()):
        if not key.name.startswith("{"):
            continue
        name = _text(key.values().get("username")) or key.name
        found.append(Identity(key.name, name, key))
    return found


def _store(
    files: MachineFiles, user: UserHome, identity: Identity, origin: str
) -> tuple[Path, list[Dbx]] | Skipped | None:
    key = identity.key.subkey(STORE_KEY)
    written = _text(key.values().get("store root")) if key is not None else None
    if written is None:
        return None
    try:
        root = expand_store_root(files, written, user.home)
        real = files.check_inside(root)
    except UnreadableFile as exc:
        return Skipped(
            SOURCE,
            f"{origin}: {identity.key.path}\\{STORE_KEY}",
            f"Store Root {written!r} {exc.reason}; the .dbx folders cannot be read",
        )
    return root, _dbx_files(files, real)


def _dbx_files(files: MachineFiles, folder: Path) -> list[Dbx]:
    found = []
    try:
        with os.scandir(folder) as entries:
            names = sorted(
                e.name
                for e in entries
                if e.is_file(follow_symlinks=False) and e.name.lower().endswith(".dbx")
            )
    except OSError:
        return []
    for name in names:
        path = folder / name
        try:
            size = path.stat().st_size
            head = _head(files, path)
        except (OSError, UnreadableFile):
            continue
        found.append(Dbx(path, size, *read_file_info(head), damaged=head[:4] != MAGIC))
    return found


def _head(files: MachineFiles, path: Path) -> bytes:
    """The first bytes of a .dbx (the folders can be large: never read whole)."""
    real = files.check_inside(path)
    fd = open_read_only(real)
    try:
        return os.read(fd, HEADER_READ)
    finally:
        os.close(fd)


def read_file_info(head: bytes) -> tuple[int | None, str | None]:
    """(source type, owning account's registry key) of a message .dbx; (None, None) for other
    DBX files and for anything not understood."""
    if head[:4] != MAGIC or head[4:8] != MESSAGE_CLASS or len(head) < FILE_INFO + 6:
        return None, None
    info = head[FILE_INFO:]
    if info[:4] != b"\x01\x00\x00\x00":
        return None, None
    source_type = info[4]
    end = info.find(b"\0", 5)
    key = info[5:end].decode("ascii", "replace") if end > 5 else ""
    return source_type, key if len(key) == 8 and key.isdigit() else None


def _account(
    files: MachineFiles,
    user: UserHome,
    origin: str,
    key: RegistryKey,
    identity: Identity | None,
    identities: list[Identity],
    folders: dict[str, tuple[Path, list[Dbx]]],
) -> Iterator[Found]:
    where = f"{origin}: {key.path}"
    try:
        values = key.values()
    except RegistryError as exc:
        yield Skipped(SOURCE, origin, str(exc))
        return
    problems: list[str] = []
    settings = AccountSettings(_as_settings(values), problems)
    kind = account_kind(settings)
    if kind is None:
        return  # a directory service (LDAP) account, or an empty key
    prefix, protocol, declared, plain_port, tls_port = kind
    email = settings.text("SMTP_Email_Address")
    leave = days = detail = None
    if protocol is Protocol.POP3:
        leave, days, detail = leave_on_server(settings)
    owners = [identity] if identity is not None else identities
    yield Account(
        client=Client.OUTLOOK_EXPRESS,
        user=user.name,
        profile=f"identity {identity.name}" if identity else "all identities",
        key=key.path,
        name=settings.text("Account_Name") or email or key.name,
        email=email,
        protocol=protocol,
        declared_type=declared,
        incoming=incoming_endpoint(settings, prefix, declared, plain_port, tls_port),
        origin=where,
        addresses=(email,) if email else (),
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=_account_store(files, key.name, protocol, owners, folders),
    )
    for problem in problems:
        yield Skipped(SOURCE, where, problem.replace("_", " "))


def _as_settings(values: dict[str, RegValue]) -> dict[str, str]:
    """Registry values as WLM's settings: names with underscores, DWORDs as 8 hex digits."""
    settings = {}
    for value in values.values():
        if "password" in value.name.lower():
            continue
        name = value.name.replace(" ", "_")
        if isinstance(value.data, int):
            settings[name] = f"{value.data & 0xFFFFFFFF:08x}"
        elif (text := _text(value)) is not None:
            settings[name] = text
    return settings


def _text(value: RegValue | None) -> str | None:
    if value is None:
        return None
    data = value.data
    if isinstance(data, bytes) and value.kind != "REG_DWORD" and len(data) % 2 == 0:
        data = data.decode("utf-16-le", "replace")
    if not isinstance(data, str):
        return None
    return data.split("\0", 1)[0].strip() or None


def _account_store(
    files: MachineFiles,
    key_name: str,
    protocol: Protocol,
    owners: list[Identity],
    folders: dict[str, tuple[Path, list[Dbx]]],
) -> LocalStore | None:
    for identity in owners:
        found = folders.get(identity.guid)
        if found is None:
            continue
        root, dbx_files = found
        if protocol is Protocol.POP3:
            return _local_folders(files, root, dbx_files, identity)
        own = [d for d in dbx_files if d.account_key == key_name]
        if own:
            return LocalStore(
                files.display(root),
                sum(d.size for d in own),
                note=f"{len(own)} .dbx folder(s) of this account (offline copy)",
            )
    return None


def _local_folders(
    files: MachineFiles, root: Path, dbx_files: list[Dbx], identity: Identity
) -> LocalStore:
    local = [d for d in dbx_files if d.source_type == SOURCE_LOCAL]
    note = f"Local Folders of identity {identity.name}, shared by its POP3 accounts"
    if any(d.path.name.lower() == "pop3uidl.dbx" for d in dbx_files):
        note += "; Pop3uidl.dbx shows mail was once left on the server"
    # Deleted messages stay in a .dbx until it is compacted: the size can over-count.
    return LocalStore(files.display(root), sum(d.size for d in local), note=note)
