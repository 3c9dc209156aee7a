"""Apple Mail: every macOS era, and where each account's mail lives.

Where the accounts are (the Mail data folder decides the era):

- `~/Library/Mail/V3` and later (10.11+): the Accounts framework's database,
  `~/Library/Accounts/Accounts4.sqlite` (10.13+) or `Accounts3.sqlite`; mail in
  `V<n>/<account id>/`.
- `~/Library/Mail/V2` (10.7-10.10): `V2/MailData/Accounts.plist`; mail in its `AccountPath`.
- no `V` folder (10.4-10.6): `~/Library/Preferences/com.apple.mail.plist`, same keys.

The data folder in use is named by `PersistenceInfo.plist`, else the newest `V<n>`: old `V*`
folders linger after upgrades and must not be counted again. Passwords live in the Keychain
and are never looked for. Key names and their evidence: the Accounts4Fixer tool (10.13),
mac_apt's inetaccounts plugin, real V2 Accounts.plist files; the POP deletion keys are iOS's
and unconfirmed on macOS, so they are read when present and otherwise reported as unknown.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import Account, Client, Endpoint, LocalStore, Protocol, Security, Skipped
from mailaudit.sources.base import Found
from mailaudit.sources.keyed_archive import NotAnArchive, NotAPlist, parse_plist, unarchive
from mailaudit.sources.sqlite_snapshot import snapshot

SOURCE = Client.APPLE_MAIL.value
PLIST_LIMIT = 16 * 1024 * 1024
EVERY_FILE = IgnoreRule(suffixes=(), names=frozenset())  # .emlx, .partial.emlx, Attachments/

# Accounts.plist / com.apple.mail.plist `AccountType` -> (declared type, protocol).
PLIST_TYPES = {
    "POPAccount": ("pop3", Protocol.POP3),
    "IMAPAccount": ("imap", Protocol.IMAP),
    "GmailAccount": ("gmail", Protocol.IMAP),
    "YahooAccount": ("yahoo", Protocol.IMAP),
    "AOLAccount": ("aol", Protocol.IMAP),
    "iToolsAccount": ("icloud", Protocol.IMAP),  # .Mac, MobileMe, iCloud
    "EWSAccount": ("exchange", Protocol.EXCHANGE),
    "RSSAccount": ("rss", Protocol.OTHER),
}

# ZACCOUNTTYPE.ZIDENTIFIER of Mail's own accounts.
DATABASE_TYPES = {
    "com.apple.account.POP": ("pop3", Protocol.POP3),
    "com.apple.account.IMAP": ("imap", Protocol.IMAP),
    "com.apple.account.IMAPMail": ("icloud", Protocol.IMAP),  # iCloud's mail child
    "com.apple.account.Exchange": ("exchange", Protocol.EXCHANGE),
}
ON_MY_MAC_TYPE = "com.apple.account.OnMyDevice"
# Internet Accounts parents whose IMAP child is the mail account; they lend it name and user.
PARENT_NAMES = {
    "com.apple.account.Google": "Google",
    "com.apple.account.Yahoo": "Yahoo",
    "com.apple.account.aol": "AOL",
    "com.apple.account.Hotmail": "Outlook.com",
    "com.apple.account.AppleAccount": "iCloud",
}

# iCloud does not store its server; Apple's published settings.
ICLOUD_IMAP = ("imap.mail.me.com", 993)
DEFAULT_PORTS = {Protocol.POP3: (110, 995), Protocol.IMAP: (143, 993)}

# Folders in Library/Mail/V<n> that hold no account's mail.
NOT_ACCOUNT_FOLDERS = {
    "maildata",
    "bundles",
    "bundles (disabled)",
    "pluginlogs",
    "smallcubed",
    "indev",
}
_VERSION = re.compile(r"^V(\d+)$")


@dataclass
class _Found:
    """What one era's reader collected before the shared account builder runs."""

    accounts: list[Found] = field(default_factory=list)
    folders: set[str] = field(default_factory=set)  # account folder names that are claimed


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    """Every Apple Mail account of one user, with On My Mac reported once."""
    mail = user.home / "Library" / "Mail"
    if not mail.is_dir():
        return
    try:
        next(mail.iterdir(), None)
    except PermissionError:
        # macOS 10.14+ guards ~/Library/Mail: only a program with Full Disk Access may list it.
        yield Skipped(
            SOURCE,
            files.display(mail),
            "cannot be listed (permission denied); on a "
            "Mac, give the terminal Full Disk Access in System Settings > Privacy",
        )
        return
    except OSError:
        pass
    version, notes = _data_folder(files, mail)
    for note in notes:
        yield Skipped(SOURCE, files.display(mail), note)
    found = _VERSION.match(version.name) if version else None
    number = int(found.group(1)) if found else 0
    if number >= 3 and version is not None:
        yield from _database_era(files, user, version)
    elif number == 2 and version is not None:
        yield from _plist_era(files, user, version / "MailData" / "Accounts.plist", version)
    else:
        preferences = user.home / "Library" / "Preferences" / "com.apple.mail.plist"
        yield from _plist_era(files, user, preferences, mail)


def _data_folder(files: MachineFiles, mail: Path) -> tuple[Path | None, list[str]]:
    """The V<n> folder Mail uses now, or None for Mail 2-4 (no V folder at all)."""
    notes: list[str] = []
    persistence = mail / "PersistenceInfo.plist"
    if persistence.exists():
        try:
            info = _load_plist(files, persistence)
            name = info.get("LastUsedVersionDirectoryName") if isinstance(info, dict) else None
            if isinstance(name, str) and _VERSION.match(name) and (mail / name).is_dir():
                return mail / name, notes
            notes.append(f"PersistenceInfo.plist names no existing data folder ({name!r})")
        except (UnreadableFile, NotAPlist) as exc:
            notes.append(f"PersistenceInfo.plist {_reason(exc)}; using the newest V folder")
    versions = [p for p in _children(mail) if _VERSION.match(p.name) and p.is_dir()]
    if not versions:
        return None, notes
    return max(versions, key=lambda p: int(p.name[1:])), notes


# ---------------------------------------------------------------- the database era (V3+)


def _database_era(files: MachineFiles, user: UserHome, version: Path) -> Iterator[Found]:
    accounts_folder = user.home / "Library" / "Accounts"
    database = next(
        (
            accounts_folder / n
            for n in ("Accounts4.sqlite", "Accounts3.sqlite")
            if (accounts_folder / n).exists()
        ),
        None,
    )
    if database is None:
        yield Skipped(
            SOURCE,
            files.display(accounts_folder),
            f"Mail data {version.name} but no Accounts4.sqlite or Accounts3.sqlite: "
            "its accounts cannot be listed",
        )
        return
    shown = files.display(database)
    try:
        with snapshot(files, database) as snap:
            for note in snap.notes:
                yield Skipped(SOURCE, shown, note)
            rows, properties, problems = _read_accounts_database(snap.connection)
    except UnreadableFile as exc:
        yield Skipped(SOURCE, shown, f"{database.name} {exc.reason}")
        return
    except sqlite3.DatabaseError as exc:
        yield Skipped(SOURCE, shown, f"{database.name} is not a readable Accounts database ({exc})")
        return
    for problem in problems:
        yield Skipped(SOURCE, shown, problem)

    claimed: set[str] = set()
    local_ids: list[str] = []
    by_pk = {row["pk"]: row for row in rows}
    for row in rows:
        type_id = row["type"] or ""
        if type_id == ON_MY_MAC_TYPE and row["identifier"]:
            local_ids.append(row["identifier"])
            continue
        if type_id not in DATABASE_TYPES:
            continue  # provider parents, SMTP, calendars, contacts, notes...
        parent = by_pk.get(row["parent"])
        settings = dict(properties.get(row["pk"], {}))
        declared, protocol = DATABASE_TYPES[type_id]
        parent_name = PARENT_NAMES.get(parent["type"] or "") if parent else None
        if parent_name and declared == "imap":
            declared = f"imap ({parent_name})"
        name = row["description"] or (parent["description"] if parent else None) or parent_name
        username = row["username"] or (parent["username"] if parent else None)
        identifier = row["identifier"] or str(row["pk"])
        claimed.add(identifier.lower())
        yield _account(
            files,
            user,
            key=identifier,
            name=name or username or identifier,
            declared=declared,
            protocol=protocol,
            username=username,
            settings=settings,
            origin=f"{shown}: ZACCOUNT {row['pk']}",
            profile=version.name,
            folder=version / identifier,
        )
    yield from _on_my_mac_and_orphans(files, user, version, claimed, local_ids)


def _read_accounts_database(
    connection: sqlite3.Connection,
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]], list[str]]:
    """Accounts with their type and parent, and each account's decoded properties."""
    rows = [
        {
            "pk": pk,
            "type": type_id,
            "parent": parent,
            "identifier": identifier,
            "description": description,
            "username": username,
        }
        for pk, type_id, parent, identifier, description, username in connection.execute(
            """SELECT a.Z_PK, t.ZIDENTIFIER, a.ZPARENTACCOUNT, a.ZIDENTIFIER,
                      a.ZACCOUNTDESCRIPTION, a.ZUSERNAME
               FROM ZACCOUNT a LEFT JOIN ZACCOUNTTYPE t ON t.Z_PK = a.ZACCOUNTTYPE
               ORDER BY a.Z_PK"""
        )
    ]
    properties: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    for owner, key, blob in connection.execute(
        "SELECT ZOWNER, ZKEY, ZVALUE FROM ZACCOUNTPROPERTY ORDER BY Z_PK"
    ):
        if not isinstance(key, str) or any(word in key.lower() for word in ("password", "token")):
            continue
        try:
            value = unarchive(blob) if isinstance(blob, bytes) else blob
        except NotAnArchive as exc:
            problems.append(
                f"property {key!r} of account {owner} is not an archive ({exc}); left out"
            )
            continue
        properties.setdefault(owner, {})[key] = value
    return rows, properties, problems


def _on_my_mac_and_orphans(
    files: MachineFiles, user: UserHome, version: Path, claimed: set[str], local_ids: list[str]
) -> Iterator[Found]:
    """On My Mac once per user: the OnMyDevice account's folder, else `Mailboxes`. A folder
    no account claims is named with its size (a deleted account's mail), not counted twice."""
    candidates = [version / identifier for identifier in local_ids] + [version / "Mailboxes"]
    local = next((folder for folder in candidates if folder.is_dir()), None)
    taken = claimed | {i.lower() for i in local_ids} | NOT_ACCOUNT_FOLDERS | {"mailboxes"}
    for folder in _children(version):
        if folder.name.lower() in taken or not folder.is_dir():
            continue
        size = files.mail_bytes(folder, EVERY_FILE)
        if size:
            yield Skipped(
                SOURCE,
                files.display(folder),
                f"{size} bytes of mail in a folder no configured account uses "
                "(an account deleted from Mail?)",
            )
    if local is not None:
        yield _on_my_mac(files, user, local, version.name)


# ---------------------------------------------------------------- the plist era (10.4-10.10)


def _plist_era(files: MachineFiles, user: UserHome, plist: Path, data: Path) -> Iterator[Found]:
    shown = files.display(plist)
    if not plist.exists() and not plist.is_symlink():
        return
    try:
        content = _load_plist(files, plist)
    except (UnreadableFile, NotAPlist) as exc:
        yield Skipped(SOURCE, shown, f"{plist.name} {_reason(exc)}")
        return
    entries = content.get("MailAccounts") if isinstance(content, dict) else None
    if not isinstance(entries, list):
        return  # preferences of a Mail that was never given an account
    local_done = False
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            yield Skipped(SOURCE, shown, f"MailAccounts entry {index} is not a dictionary")
            continue
        kind = str(entry.get("AccountType", ""))
        folder = _account_path(files, user, entry, data)
        if kind == "LocalAccount":
            if folder is not None and not local_done:
                local_done = True
                yield _on_my_mac(files, user, folder, data.name)
            continue
        if kind not in PLIST_TYPES:
            if kind != "SMTPAccount":
                yield Skipped(SOURCE, shown, f"account type {kind!r} is not one mailaudit knows")
            continue
        declared, protocol = PLIST_TYPES[kind]
        identifier = str(entry.get("uniqueId") or f"MailAccounts[{index}]")
        yield _account(
            files,
            user,
            key=identifier,
            name=str(entry.get("AccountName") or entry.get("Username") or identifier),
            declared=declared,
            protocol=protocol,
            username=_text(entry.get("Username")),
            settings=entry,
            origin=f"{shown}: MailAccounts[{index}]",
            profile=data.name if data.name.startswith("V") else "Mail",
            folder=folder,
        )


def _account_path(
    files: MachineFiles, user: UserHome, entry: dict[str, Any], data: Path
) -> Path | None:
    """`AccountPath` with its `~` taken as this user's home; else the folder Mail would name."""
    written = _text(entry.get("AccountPath"))
    if written:
        if written.startswith("~/"):
            return user.home.joinpath(*written[2:].split("/"))
        try:
            return files.client_path(written, base=data)
        except UnreadableFile:
            return None
    host, username = _text(entry.get("Hostname")), _text(entry.get("Username"))
    prefix = {"POPAccount": "POP", "IMAPAccount": "IMAP", "EWSAccount": "EWS"}.get(
        str(entry.get("AccountType"))
    )
    if prefix and host and username:
        return data / f"{prefix}-{username}@{host}"
    return None


# ---------------------------------------------------------------- shared


def _account(
    files: MachineFiles,
    user: UserHome,
    *,
    key: str,
    name: str,
    declared: str,
    protocol: Protocol,
    username: str | None,
    settings: dict[str, Any],
    origin: str,
    profile: str,
    folder: Path | None,
) -> Account:
    addresses = _addresses(settings, username)
    leave, days, detail = (
        _pop_deletion(settings) if protocol is Protocol.POP3 else (None, None, None)
    )
    note = None
    if protocol in (Protocol.IMAP, Protocol.EXCHANGE):
        note = "offline copy of the mail on the server"
    return Account(
        client=Client.APPLE_MAIL,
        user=user.name,
        profile=profile,
        key=key,
        name=name,
        email=addresses[0] if addresses else None,
        protocol=protocol,
        declared_type=declared,
        incoming=_endpoint(settings, protocol, declared, username),
        origin=origin,
        addresses=addresses,
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=_measure(files, folder, note) if folder is not None else None,
    )


def _endpoint(
    settings: dict[str, Any], protocol: Protocol, declared: str, username: str | None
) -> Endpoint:
    host = _text(settings.get("Hostname"))
    port = _int(settings.get("PortNumber"))
    ssl = _bool(settings.get("SSLEnabled"))
    direct = _bool(settings.get("SSLIsDirect"))
    layer = _int(settings.get("SecurityLayerType"))
    raw = ", ".join(
        f"{name}={settings[name]!r}"
        for name in ("SSLEnabled", "SSLIsDirect", "SecurityLayerType")
        if name in settings
    )
    if declared == "icloud" and host is None:
        host, port, ssl = ICLOUD_IMAP[0], ICLOUD_IMAP[1], True
        raw = "iCloud stores no server; Apple's published imap.mail.me.com:993 assumed"
    if protocol is Protocol.EXCHANGE:
        return Endpoint(
            host=host,
            port=port or None,
            security=Security.UNKNOWN if ssl is None else (Security.TLS if ssl else Security.NONE),
            username=username,
            security_raw=raw or None,
        )
    if ssl is None:
        security = Security.NONE
        raw = raw or "SSLEnabled absent"
    elif not ssl:
        security = Security.NONE
    elif direct is False or layer == 2:  # SSLIsDirect=NO and SecurityLayerType 2 mean STARTTLS
        security = Security.STARTTLS
    else:
        security = Security.TLS
    if not port and protocol in DEFAULT_PORTS:
        port = DEFAULT_PORTS[protocol][1 if security is Security.TLS else 0]
    return Endpoint(
        host=host,
        port=port or None,
        security=security,
        username=username,
        auth=_text(settings.get("AuthenticationScheme")),
        security_raw=raw or None,
    )


def _addresses(settings: dict[str, Any], username: str | None) -> tuple[str, ...]:
    found: list[str] = []
    listed = settings.get("EmailAddresses")
    if isinstance(listed, list):
        found += [a for a in listed if isinstance(a, str)]
    aliases = settings.get("EmailAliases")
    if isinstance(aliases, list):  # [{EmailAddresses: [{EmailAddress, IsDefault}], IsPrimary}]
        for alias in aliases:
            entries = alias.get("EmailAddresses") if isinstance(alias, dict) else None
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and isinstance(entry.get("EmailAddress"), str):
                    if entry.get("IsDefault"):
                        found.insert(0, entry["EmailAddress"])
                    else:
                        found.append(entry["EmailAddress"])
    identity = _text(settings.get("IdentityEmailAddress"))
    if identity:
        found.append(identity)
    if not found and username and "@" in username:
        found.append(username)
    return tuple(dict.fromkeys(found))


def _pop_deletion(settings: dict[str, Any]) -> tuple[bool | None, int | None, str]:
    """ "Remove copy from server after retrieving a message". The key names are iOS's
    (DeletionPolicy, DeleteMessagesOnServerInterval) and older candidates; none is confirmed
    on macOS, so when none is present the setting is reported as unknown."""
    policy = _text(settings.get("DeletionPolicy") or settings.get("MessageDeletionPolicy"))
    interval = _int(
        settings.get(
            "DeleteMessagesOnServerInterval", settings.get("DelayedMessageDeletionInterval")
        )
    )
    raw = ", ".join(
        f"{k}={settings[k]!r}"
        for k in (
            "DeletionPolicy",
            "MessageDeletionPolicy",
            "DeleteMessagesOnServerInterval",
            "DelayedMessageDeletionInterval",
        )
        if k in settings
    )
    if policy is None and interval is None:
        return None, None, "not recorded in the account settings: check Mail > Settings > Accounts"
    if policy == "RightAway" or (policy is None and interval == 0):
        return False, None, f"mail is removed from the server once downloaded ({raw})"
    if policy == "Never":
        return True, None, f"keep a copy on the server ({raw})"
    if policy == "WhenTransferredOutOfInbox":
        return True, None, f"keep a copy until moved out of the Inbox ({raw})"
    days = interval if interval else 7
    return True, days, f"keep a copy on the server, remove it after {days} days ({raw})"


def _on_my_mac(files: MachineFiles, user: UserHome, folder: Path, profile: str) -> Account:
    return Account(
        client=Client.APPLE_MAIL,
        user=user.name,
        profile=profile,
        key="On My Mac",
        name="On My Mac",
        email=None,
        protocol=Protocol.OTHER,
        declared_type="local",
        incoming=Endpoint(host=None, port=None, security=Security.UNKNOWN),
        origin=files.display(folder),
        local_store=_measure(files, folder, "mailboxes kept only on this Mac"),
    )


def _measure(files: MachineFiles, folder: Path, note: str | None) -> LocalStore:
    shown = files.display(folder)
    try:
        real = files.check_inside(folder)
    except UnreadableFile as exc:
        reason = f"mail folder {exc.reason}"
        return LocalStore(shown, 0, exists=False, note=f"{note}; {reason}" if note else reason)
    return LocalStore(shown, files.mail_bytes(real, EVERY_FILE), note=note)


def _load_plist(files: MachineFiles, path: Path) -> Any:
    return parse_plist(files.read_bytes(path, PLIST_LIMIT))


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, UnreadableFile) else str(exc)


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir())
    except OSError:
        return []


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: Any) -> int | None:
    """PortNumber is sometimes archived as a string (Accounts4Fixer's fixWrongValueType)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _bool(value: Any) -> bool | None:
    """YES/NO strings (plists), booleans, 0/1."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    if isinstance(value, str):
        return value.strip().upper() in ("YES", "TRUE", "1")
    return None
