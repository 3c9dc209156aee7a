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
from urllib.parse import urlsplit

from mailaudit.errors import UnreadableFile
from mailaudit.machine import ABSENT, DENIED, IgnoreRule, MachineFiles, UserHome
from mailaudit.model import (
    Account,
    Client,
    Endpoint,
    LocalMailbox,
    LocalStore,
    Protocol,
    Security,
    Skipped,
)
from mailaudit.sources.base import Found
from mailaudit.sources.keyed_archive import NotAnArchive, NotAPlist, parse_plist, unarchive
from mailaudit.sources.sqlite_snapshot import Snapshot, describe, snapshot

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
# Where an Exchange account keeps its server, in the order tried: Mail's own key, then the
# DataAccess (DA*) keys the Accounts framework writes for Exchange; URLs give their host.
EXCHANGE_HOST_KEYS = ("Hostname", "DAAccountHost", "ExternalHostname", "InternalHostname")
EXCHANGE_URL_KEYS = ("DAAccountExternalURL", "ExternalURL", "EWSExternalURL", "InternalURL")
MAX_DIGITS = 10  # a port or a count; int() of 5,000 digits is refused or slow
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
    try:
        if files.find_folder(mail) is None:
            return
        files.children(mail)
    except UnreadableFile as exc:
        reason = exc.reason
        if reason == DENIED:
            # macOS 10.14+ guards ~/Library/Mail: only a program with Full Disk Access may list
            # it; on a mounted disk, only root may read another user's 0700 folders.
            reason = (
                "cannot be listed (permission denied); run as administrator, and on a "
                "Mac give the terminal Full Disk Access in System Settings > Privacy"
            )
        yield Skipped(SOURCE, files.display(Path(exc.path)), reason)
        return
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
    try:
        info = _load_plist(files, persistence)
    except (UnreadableFile, NotAPlist) as exc:
        if not (isinstance(exc, UnreadableFile) and exc.reason == ABSENT):
            notes.append(f"PersistenceInfo.plist {_reason(exc)}; using the newest V folder")
    else:
        name = info.get("LastUsedVersionDirectoryName") if isinstance(info, dict) else None
        if isinstance(name, str) and _VERSION.match(name) and files.is_folder(mail / name):
            return mail / name, notes
        notes.append("PersistenceInfo.plist names no existing data folder; using the newest")
    versions = [p for p in _children(files, mail) if _VERSION.match(p.name) and files.is_folder(p)]
    if not versions:
        return None, notes
    return max(versions, key=lambda p: int(p.name[1:])), notes


# ---------------------------------------------------------------- the database era (V3+)


def _database_era(files: MachineFiles, user: UserHome, version: Path) -> Iterator[Found]:
    accounts_folder = user.home / "Library" / "Accounts"
    for file_name in ("Accounts4.sqlite", "Accounts3.sqlite"):
        database = accounts_folder / file_name
        shown = files.display(database)
        try:
            with snapshot(files, database) as snap:
                for note in snap.notes:
                    yield Skipped(SOURCE, shown, note)
                rows, properties, problems = _read_accounts_database(snap)
        except UnreadableFile as exc:
            if exc.reason == ABSENT:
                continue
            yield Skipped(SOURCE, shown, f"{database.name} {exc.reason}")
            return
        except sqlite3.DatabaseError as exc:
            yield Skipped(
                SOURCE,
                shown,
                f"{database.name} is not a readable Accounts database ({describe(exc)})",
            )
            return
        break
    else:
        yield Skipped(
            SOURCE,
            files.display(accounts_folder),
            f"Mail data {version.name} but no Accounts4.sqlite or Accounts3.sqlite: "
            "its accounts cannot be listed",
        )
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
            folder=version / identifier if _is_folder_name(identifier) else None,
        )
    yield from _on_my_mac_and_orphans(files, user, version, claimed, local_ids)


def _read_accounts_database(
    snap: Snapshot,
) -> tuple[list[dict[str, Any]], dict[int, dict[str, Any]], list[str]]:
    """Accounts with their type and parent, and each account's decoded properties. Every
    column is type-checked: a BLOB, a number or a NUL where text belongs counts as absent."""
    snap.require("ZACCOUNT", "ZACCOUNTTYPE", "ZACCOUNTPROPERTY")
    rows = [
        {
            "pk": pk,
            "type": _column_text(type_id),
            "parent": parent if isinstance(parent, int) else None,
            "identifier": _column_text(identifier),
            "description": _column_text(description),
            "username": _column_text(username),
        }
        for pk, type_id, parent, identifier, description, username in snap.rows(
            """SELECT a.Z_PK, t.ZIDENTIFIER, a.ZPARENTACCOUNT, a.ZIDENTIFIER,
                      a.ZACCOUNTDESCRIPTION, a.ZUSERNAME
               FROM ZACCOUNT a LEFT JOIN ZACCOUNTTYPE t ON t.Z_PK = a.ZACCOUNTTYPE
               ORDER BY a.Z_PK"""
        )
        if isinstance(pk, int)
    ]
    properties: dict[int, dict[str, Any]] = {}
    problems: list[str] = []
    for owner, raw_key, blob in snap.rows(
        "SELECT ZOWNER, ZKEY, ZVALUE FROM ZACCOUNTPROPERTY ORDER BY Z_PK"
    ):
        key = _column_text(raw_key)
        if key is None or any(word in key.lower() for word in ("password", "token")):
            continue
        try:
            value = unarchive(blob) if isinstance(blob, bytes) else blob
        except NotAnArchive:
            problems.append(f"a property of account {owner} is not an archive; left out")
            continue
        properties.setdefault(owner, {})[key] = value
    return rows, properties, problems


def _column_text(value: Any) -> str | None:
    """Text from a column, or None for anything else (a BLOB, a number, a NUL inside)."""
    if isinstance(value, str) and value.strip() and "\0" not in value:
        return value.strip()
    return None


def _is_folder_name(name: str) -> bool:
    """A name that can be one folder: no separator, not '.' or '..', not over NAME_MAX."""
    return "/" not in name and name not in (".", "..") and len(name.encode()) <= 255


def _on_my_mac_and_orphans(
    files: MachineFiles, user: UserHome, version: Path, claimed: set[str], local_ids: list[str]
) -> Iterator[Found]:
    """On My Mac once per user: the OnMyDevice account's folder, else `Mailboxes`. A folder
    no account claims is named with its size (a deleted account's mail), not counted twice."""
    candidates = [version / i for i in local_ids if _is_folder_name(i)] + [version / "Mailboxes"]
    local = next((folder for folder in candidates if files.is_folder(folder)), None)
    taken = claimed | {i.lower() for i in local_ids} | NOT_ACCOUNT_FOLDERS | {"mailboxes"}
    for folder in _children(files, version):
        if folder.name.lower() in taken or not files.is_folder(folder):
            continue
        try:
            size = files.mail_bytes(folder, EVERY_FILE)
        except UnreadableFile as exc:
            yield Skipped(SOURCE, files.display(folder), f"a mail folder that {exc.reason}")
            continue
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
    try:
        content = _load_plist(files, plist)
    except (UnreadableFile, NotAPlist) as exc:
        if not (isinstance(exc, UnreadableFile) and exc.reason == ABSENT):
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
        kind = _text(entry.get("AccountType")) or ""
        folder = _account_path(files, user, entry, data)
        if kind == "LocalAccount":
            if folder is not None and not local_done:
                local_done = True
                yield _on_my_mac(files, user, folder, data.name)
            continue
        if kind not in PLIST_TYPES:
            if kind != "SMTPAccount":
                yield Skipped(
                    SOURCE, shown, f"MailAccounts entry {index} has a type mailaudit does not know"
                )
            continue
        declared, protocol = PLIST_TYPES[kind]
        identifier = _text(entry.get("uniqueId")) or f"MailAccounts[{index}]"
        yield _account(
            files,
            user,
            key=identifier,
            name=_text(entry.get("AccountName")) or _text(entry.get("Username")) or identifier,
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
        _text(entry.get("AccountType")) or ""
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
    if protocol is Protocol.EXCHANGE:
        host = _exchange_host(settings)
    port = _int(settings.get("PortNumber"))
    ssl = _bool(settings.get("SSLEnabled"))
    direct = _bool(settings.get("SSLIsDirect"))
    layer = _int(settings.get("SecurityLayerType"))
    raw = ", ".join(
        f"{name}={_shown(settings[name])}"
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


def _exchange_host(settings: dict[str, Any]) -> str | None:
    """The Exchange server: a host key, else the host of an EWS URL."""
    for key in EXCHANGE_HOST_KEYS:
        host = _text(settings.get(key))
        if host:
            return host
    for key in EXCHANGE_URL_KEYS:
        url = _text(settings.get(key))
        if url:
            try:
                host = urlsplit(url if "//" in url else f"//{url}").hostname
            except ValueError:  # an unclosed IPv6 bracket
                continue
            if host:
                return host
    return None


def _addresses(settings: dict[str, Any], username: str | None) -> tuple[str, ...]:
    found: list[str] = []
    listed = settings.get("EmailAddresses")
    if isinstance(listed, list):
        found += [a for a in listed if _text(a)]
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
        f"{k}={_shown(settings[k])}"
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


def _on_my_mac(files: MachineFiles, user: UserHome, folder: Path, profile: str) -> LocalMailbox:
    return LocalMailbox(
        client=Client.APPLE_MAIL,
        user=user.name,
        profile=profile,
        name="On My Mac",
        store=_measure(files, folder, "mailboxes kept only on this Mac"),
        origin=files.display(folder),
    )


def _measure(files: MachineFiles, folder: Path, note: str | None) -> LocalStore:
    shown = files.display(folder)
    try:
        size = files.measure_mail(folder, EVERY_FILE)
    except UnreadableFile as exc:
        reason = f"mail folder {exc.reason}"
        text = f"{note}; {reason}" if note else reason
        if exc.reason == ABSENT:
            return LocalStore(shown, 0, exists=False, note=text)
        return LocalStore(shown, 0, note=text, measured=False)  # there, but never "0 B"
    notes = "; ".join(n for n in (note, size.note) if n) or None
    return LocalStore(shown, size.bytes, note=notes)


def _load_plist(files: MachineFiles, path: Path) -> Any:
    return parse_plist(files.read_bytes(path, PLIST_LIMIT))


def _reason(exc: Exception) -> str:
    return exc.reason if isinstance(exc, UnreadableFile) else str(exc)


def _children(files: MachineFiles, folder: Path) -> list[Path]:
    try:
        return files.children(folder)
    except UnreadableFile:
        return []


def _text(value: Any) -> str | None:
    """Text from a plist or a column; anything else (a number, a nested dictionary, a NUL
    inside) is absent."""
    if isinstance(value, str) and value.strip() and "\0" not in value:
        return value.strip()
    return None


def _shown(value: Any) -> str:
    """A setting's raw value for the report: scalars only (repr of a plist nested 5,000 deep
    would recurse without end), cut short."""
    if isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value[:40])
    return f"<{type(value).__name__}>"


def _int(value: Any) -> int | None:
    """PortNumber is sometimes archived as a string (Accounts4Fixer's fixWrongValueType)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value if abs(value) < 2**31 else None
    if isinstance(value, str):
        digits = value.strip()
        if re.fullmatch(rf"-?[0-9]{{1,{MAX_DIGITS}}}", digits):
            return int(digits)
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
