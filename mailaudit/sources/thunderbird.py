"""Thunderbird, Betterbird and SeaMonkey: profiles.ini, prefs.js and user.js, and the mail folders.

The rules that matter most, with where Thunderbird implements them:

- Thunderbird deletes a server pref that equals `mail.server.default.<name>`, so an absent
  pref means the default (nsMsgIncomingServer::Set*Value, MsgIncomingServer.sys.mjs).
- A port of -1, 0 or none means the protocol's default for the socketType
  (nsMsgIncomingServer::GetPort; MsgIncomingServer.port uses the default when port <= 1).
- A POP server with `deferred_to_account` (Global Inbox) stores its mail in that account's
  folders, Local Folders when the target is missing or hidden (Pop3IncomingServer.sys.mjs).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from mailaudit.errors import UnreadableFile
from mailaudit.machine import ABSENT, IgnoreRule, MachineFiles, UserHome
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
from mailaudit.sources.prefs_js import PrefsFile, PrefValue, parse_prefs

# Where each product keeps profiles.ini, relative to the user's home (nsXREDirProvider.cpp,
# the snap launcher, and the Flatpak manifests of Thunderbird and Betterbird).
PROFILE_ROOTS: tuple[tuple[str, Client], ...] = (
    ("AppData/Roaming/Thunderbird", Client.THUNDERBIRD),  # Windows (Betterbird too)
    ("AppData/Roaming/Mozilla/SeaMonkey", Client.SEAMONKEY),
    ("Library/Thunderbird", Client.THUNDERBIRD),  # macOS
    ("Library/Application Support/SeaMonkey", Client.SEAMONKEY),
    (".thunderbird", Client.THUNDERBIRD),  # Linux package or tarball
    ("snap/thunderbird/common/.thunderbird", Client.THUNDERBIRD),
    (".var/app/org.mozilla.Thunderbird/.thunderbird", Client.THUNDERBIRD),  # Flatpak
    (".var/app/net.thunderbird.Thunderbird/.thunderbird", Client.THUNDERBIRD),
    (".var/app/eu.betterbird.Betterbird/.thunderbird", Client.THUNDERBIRD),
    (".mozilla/seamonkey", Client.SEAMONKEY),
    (".icedove", Client.THUNDERBIRD),  # Debian before 2017
    (".mozilla-thunderbird", Client.THUNDERBIRD),  # old Ubuntu
    # Unverified: a future XDG layout, and the Microsoft Store package's redirected AppData.
    (".config/thunderbird", Client.THUNDERBIRD),
    (
        "AppData/Local/Packages/Mozilla.Thunderbird*/LocalCache/Roaming/Thunderbird",
        Client.THUNDERBIRD,
    ),
    # Postbox, a Thunderbird fork (discontinued 2024): the same profiles.ini and prefs.js.
    ("AppData/Roaming/Postbox", Client.POSTBOX),
    ("AppData/Roaming/PostboxApp", Client.POSTBOX),
    ("Library/Application Support/Postbox", Client.POSTBOX),
    ("Library/Application Support/PostboxApp", Client.POSTBOX),
)

PREFS_LIMIT = 32 * 1024 * 1024  # real prefs.js files are well under 1 MB
INI_LIMIT = 1024 * 1024

# mailnews.js `mail.server.default.*`, the values an absent pref stands for.
SERVER_DEFAULTS: dict[str, PrefValue] = {
    "port": -1,
    "socketType": 0,
    "authMethod": 3,
    "leave_on_server": False,
    "delete_by_age_from_server": False,
    "delete_mail_left_on_server": False,
    "num_days_to_leave_on_server": 7,
    "deferred_to_account": "",
    "hidden": False,
}
# Where a fork's own defaults differ: Postbox leaves POP3 mail on the server unless told not to
# (Postbox support, "Leave Messages on Server (POP Accounts)").
CLIENT_SERVER_DEFAULTS: dict[Client, dict[str, PrefValue]] = {
    Client.POSTBOX: {"leave_on_server": True},
}

# (plain, implicit TLS) ports: nsImapService.cpp, Pop3ProtocolInfo.sys.mjs, NNTP.
DEFAULT_PORTS = {"imap": (143, 993), "pop3": (110, 995), "nntp": (119, 563)}

PROTOCOL_OF_TYPE = {
    "pop3": Protocol.POP3,
    "imap": Protocol.IMAP,
    "ews": Protocol.EXCHANGE,
    "graph": Protocol.EXCHANGE,
    "owl": Protocol.EXCHANGE,
    "owl-ews": Protocol.EXCHANGE,
    "owl-eas": Protocol.EXCHANGE,
    "exquilla": Protocol.EXCHANGE,
}  # nntp, rss, im, movemail and add-on types are Protocol.OTHER

# Types whose "server" is only a name: feeds fetch their own URLs, chat has its own settings,
# movemail reads a local spool.
SERVERLESS_TYPES = frozenset({"rss", "im", "movemail"})

# MailNewsTypes2.idl nsMsgSocketType. 1 was "try STARTTLS", which fell back to plaintext;
# Thunderbird 132 rewrote it to 2.
SECURITY_OF_SOCKET_TYPE = {
    0: Security.NONE,
    1: Security.STARTTLS,
    2: Security.STARTTLS,
    3: Security.TLS,
}

# MailNewsTypes2.idl nsMsgAuthMethod.
AUTH_METHODS = {
    1: "none",
    2: "password",  # "old": POP USER/PASS, IMAP LOGIN
    3: "password",  # "normal password": sent as typed, protected only by the connection's TLS
    4: "password-encrypted",
    5: "kerberos",
    6: "ntlm",
    7: "tls-certificate",
    8: "password-encrypted",  # "secure", a migration leftover
    9: "any",
    10: "oauth2",
}

# Folders under each mail root (nsMailDirProvider.cpp): POP, Local Folders and feeds in Mail/.
MAIL_ROOT_OF_TYPE = {"imap": "ImapMail", "nntp": "News"}

# Not mail: summary indexes, filter rules, POP state, logs (nsMsgLocalStoreUtils.cpp).
NOT_MAIL = IgnoreRule(
    suffixes=(".msf", ".dat", ".html", ".log", ".snm", ".toc", ".json", ".sqlite", ".mozmsgs"),
    names=frozenset({"msgfilterrules.dat", "popstate.dat", "rules.dat", "sort.dat"}),
)

# [Profile0] ... [Profile9999]: ASCII digits only (str.isdigit also takes '²'), and few of them.
_PROFILE_SECTION = re.compile(r"Profile([0-9]{1,6})")

# Secrets never enter the model: prefs with these words in their last part are dropped on read.
SECRET_WORDS = ("password", "token", "secret", "passwd")


@dataclass(frozen=True)
class ProfileEntry:
    section: str
    name: str
    path: str
    is_relative: bool


@dataclass
class _Profile:
    """One profile's prefs, and what the accounts of it need to share."""

    files: MachineFiles
    user: UserHome
    client: Client
    folder: Path
    prefs: dict[str, PrefValue]
    origin: str
    store_cache: dict[Path, LocalStore] = field(default_factory=dict)
    delivered_into: frozenset[str] = frozenset()  # servers a POP3 account's Global Inbox uses

    def server(self, key: str, name: str) -> PrefValue | None:
        """A server pref as Thunderbird sees it: its own value, else mail.server.default.*."""
        value = self.prefs.get(f"mail.server.{key}.{name}")
        if value is None:
            default = CLIENT_SERVER_DEFAULTS.get(self.client, {}).get(name)
            if default is None:
                default = SERVER_DEFAULTS.get(name)
            value = self.prefs.get(f"mail.server.default.{name}", default)
        return value


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    """Every Thunderbird-family account in every profile of one user."""
    seen: set[Path] = set()
    for relative, client in PROFILE_ROOTS:
        try:
            roots = _expand(files, user.home, relative)
        except UnreadableFile as exc:
            yield Skipped(client.value, files.display(Path(exc.path)), exc.reason)
            continue
        for root in roots:
            yield from _scan_profile_root(files, user, client, root, seen)


def _expand(files: MachineFiles, home: Path, relative: str) -> list[Path]:
    """The profile roots a PROFILE_ROOTS entry names: contained, never through a link out."""
    if "*" not in relative:
        root = files.find_folder(home / relative)
        return [root] if root is not None else []
    before, pattern, after = _split_pattern(relative)
    parent = files.find_folder(home / before)
    if parent is None:
        return []
    found = []
    for child in files.children(parent):
        if fnmatch.fnmatchcase(child.name, pattern):
            root = files.find_folder(child / after)
            if root is not None:
                found.append(root)
    return found


def _split_pattern(relative: str) -> tuple[str, str, str]:
    parts = relative.split("/")
    index = next(i for i, part in enumerate(parts) if "*" in part)
    return "/".join(parts[:index]), parts[index], "/".join(parts[index + 1 :])


def _scan_profile_root(
    files: MachineFiles, user: UserHome, client: Client, root: Path, seen: set[Path]
) -> Iterator[Found]:
    ini_path = root / "profiles.ini"
    try:
        ini = files.read_bytes(ini_path, INI_LIMIT)
    except UnreadableFile as exc:
        yield Skipped(client.value, files.display(ini_path), f"profiles.ini {exc.reason}")
        return
    entries, hidden = parse_profiles_ini(ini.decode("utf-8", "replace"))
    for section in hidden:
        yield Skipped(
            client.value,
            files.display(ini_path),
            f"[{section}] comes after a gap in the profile numbering; "
            f"{client.value} stops at the gap and never opens it",
        )
    for entry in entries:
        # IsRelative=1: a '/'-separated path below the folder of profiles.ini; else a native path.
        try:
            folder = files.client_path(entry.path, base=root)
            real = files.check_inside(folder)
        except UnreadableFile as exc:
            yield Skipped(
                client.value,
                files.display(ini_path),
                f"profile {entry.name!r}: {files.display(Path(exc.path))} {exc.reason}",
            )
            continue
        if real in seen:  # the same profile reached from two roots (a snap copy, a symlink)
            continue
        seen.add(real)
        yield from _scan_profile(files, user, client, folder)


def parse_profiles_ini(text: str) -> tuple[list[ProfileEntry], list[str]]:
    """The profiles Thunderbird would open, and the [ProfileN] sections it would not see.

    nsToolkitProfileService::Init reads [Profile0], [Profile1], ... and stops at the first
    section without IsRelative; a section without Path or Name is passed over.
    """
    sections = _parse_ini(text)
    entries: list[ProfileEntry] = []
    number = 0
    while True:
        section = sections.get(f"Profile{number}")
        if section is None or "IsRelative" not in section:
            break
        if section.get("Path") and section.get("Name"):
            entries.append(
                ProfileEntry(
                    section=f"Profile{number}",
                    name=section["Name"],
                    path=section["Path"],
                    is_relative=section["IsRelative"].strip() == "1",
                )
            )
        number += 1
    numbered = {
        int(match.group(1)): name
        for name in sections
        if (match := _PROFILE_SECTION.fullmatch(name)) is not None
    }
    hidden = [numbered[n] for n in sorted(numbered) if n > number]
    return entries, hidden


def _parse_ini(text: str) -> dict[str, dict[str, str]]:
    """nsINIParser's dialect: [section], key=value, ';' and '#' comments, later keys win."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.lstrip("\ufeff").splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("["):
            name = line[1:].split("]", 1)[0].strip()
            current = sections.setdefault(name, {})
        elif "=" in line and current is not None:
            key, value = line.split("=", 1)
            current[key.strip()] = value.strip()
    return sections


def _scan_profile(
    files: MachineFiles, user: UserHome, client: Client, folder: Path
) -> Iterator[Found]:
    prefs_path = folder / "prefs.js"
    origin = files.display(prefs_path)
    try:
        parsed = parse_prefs(files.read_bytes(prefs_path, PREFS_LIMIT))
    except UnreadableFile as exc:
        yield Skipped(client.value, origin, f"prefs.js {exc.reason}")
        return
    yield from _parse_problems(client, origin, parsed)
    prefs = dict(parsed.prefs)

    # user.js is read after prefs.js and wins (Mozilla's documented order).
    user_js = folder / "user.js"
    try:
        overrides = parse_prefs(files.read_bytes(user_js, PREFS_LIMIT))
    except UnreadableFile as exc:
        if exc.reason != ABSENT:
            yield Skipped(client.value, files.display(user_js), f"user.js {exc.reason}")
    else:
        yield from _parse_problems(client, files.display(user_js), overrides)
        prefs.update(overrides.prefs)

    prefs = {name: value for name, value in prefs.items() if not _is_secret(name)}
    profile = _Profile(files, user, client, folder, prefs, origin)
    account_list = prefs.get("mail.accountmanager.accounts")
    if not isinstance(account_list, str):
        if parsed.error_count:
            return  # the parse problem is already reported
        yield Skipped(client.value, origin, "no mail accounts configured in this profile")
        return
    keys = list(dict.fromkeys(k.strip() for k in account_list.split(",") if k.strip()))
    profile.delivered_into = _global_inbox_targets(profile, keys)
    for key in keys:
        yield from _account(profile, key)


def _global_inbox_targets(profile: _Profile, keys: list[str]) -> frozenset[str]:
    """The servers whose folders receive a POP3 account's mail (Global Inbox)."""
    targets = set()
    for key in keys:
        server = _text(profile.prefs.get(f"mail.account.{key}.server"))
        if server is None or _text(profile.server(server, "type")) != "pop3":
            continue
        target = _text(profile.server(server, "deferred_to_account"))
        if target:
            targets.add(_global_inbox(profile, target)[0])
    return frozenset(targets)


def _parse_problems(client: Client, origin: str, parsed: PrefsFile) -> Iterator[Skipped]:
    name = origin.rsplit("/", 1)[-1]
    if parsed.error_count and not parsed.prefs:
        first = parsed.errors[0]
        yield Skipped(
            client.value,
            origin,
            f"{name} holds no readable prefs: it is damaged or not a prefs file "
            f"(line {first.line}: {first.message})",
        )
    elif parsed.cut_off and parsed.error_count == 1:
        yield Skipped(
            client.value,
            origin,
            f"{name} ends in the middle of a statement (line {parsed.errors[0].line}), as if a "
            "write was interrupted; the prefs before it were read",
        )
    elif parsed.error_count:
        first = parsed.errors[0]
        yield Skipped(
            client.value,
            origin,
            f"{parsed.error_count} statement(s) of {name} could not be read and were left out "
            f"(first at line {first.line}: {first.message})",
        )
    if parsed.invalid_utf8_at is not None:
        yield Skipped(
            client.value,
            origin,
            f"bytes from offset {parsed.invalid_utf8_at} are not UTF-8; "
            "they were read as replacement characters",
        )


def _account(profile: _Profile, key: str) -> Iterator[Found]:
    prefs, client = profile.prefs, profile.client
    server = prefs.get(f"mail.account.{key}.server")
    if not isinstance(server, str) or not server:
        # nsMsgAccountManager::LoadAccounts skips an account without a server.
        yield Skipped(
            client.value,
            profile.origin,
            f"account {key} names no server; {client.value} ignores it",
        )
        return
    declared = _text(profile.server(server, "type"))
    if declared is None:
        yield Skipped(client.value, profile.origin, f"account {key} ({server}) has no server type")
        return
    hidden = profile.server(server, "hidden") is True
    if declared == "none":
        # Local Folders, or the hidden unified-folders server: mail stores, not accounts. Local
        # Folders that no POP3 account delivers into is a mailbox of its own.
        if not hidden and server not in profile.delivered_into:
            yield from _local_folders(profile, server)
        return
    if hidden:
        yield Skipped(
            client.value, profile.origin, f"account {key} ({server}, {declared}) is hidden"
        )
        return

    incoming = _endpoint(profile, server, declared)
    if declared in SERVERLESS_TYPES:
        incoming = Endpoint(host=None, port=None, security=Security.UNKNOWN)
    addresses = _addresses(prefs, key)
    name = (
        _text(profile.server(server, "name")) or f"{incoming.username or ''}@{incoming.host or ''}"
    )
    protocol = PROTOCOL_OF_TYPE.get(declared, Protocol.OTHER)

    leave_on_server: bool | None = None
    leave_days: int | None = None
    leave_detail: str | None = None
    if protocol is Protocol.POP3:
        leave_on_server = profile.server(server, "leave_on_server") is True
        if leave_on_server and profile.server(server, "delete_by_age_from_server") is True:
            leave_days = _int(profile.server(server, "num_days_to_leave_on_server")) or 7
        leave_detail = _leave_detail(
            leave_on_server,
            leave_days,
            profile.server(server, "delete_mail_left_on_server") is True,
        )

    yield Account(
        client=client,
        user=profile.user.name,
        profile=profile.files.display(profile.folder),
        key=f"{key}/{server}",
        name=name,
        email=addresses[0] if addresses else None,
        protocol=protocol,
        declared_type=declared,
        incoming=incoming,
        origin=profile.origin,
        addresses=addresses,
        leave_on_server=leave_on_server,
        leave_on_server_days=leave_days,
        leave_on_server_detail=leave_detail,
        local_store=_local_store(profile, key, server, declared),
    )


def _local_folders(profile: _Profile, server: str) -> Iterator[LocalMailbox]:
    """Local Folders as a local mailbox, when it holds mail or could not be measured (every
    profile has one, mostly empty: an empty one is not worth a line)."""
    try:
        folder = _server_folder(profile, server)
    except UnreadableFile:
        return
    store = _measure(profile.files, folder)
    if not store.exists or (store.measured and store.bytes == 0):
        return
    yield LocalMailbox(
        client=profile.client,
        user=profile.user.name,
        profile=profile.files.display(profile.folder),
        name=_text(profile.server(server, "name")) or "Local Folders",
        store=store,
        origin=profile.origin,
    )


def _leave_detail(leave: bool, days: int | None, remove_when_deleted: bool) -> str:
    if not leave:
        return "mail is removed from the server once downloaded"
    parts = ["keep a copy on the server"]
    if days is not None:
        parts.append(f"remove it after {days} days")
    if remove_when_deleted:
        parts.append("remove it when deleted here")
    return ", ".join(parts)


def _endpoint(profile: _Profile, server: str, declared: str) -> Endpoint:
    prefs = profile.prefs
    # realhostname/realuserName: Thunderbird <= 101 kept the edited values there.
    host = _text(prefs.get(f"mail.server.{server}.realhostname")) or _text(
        prefs.get(f"mail.server.{server}.hostname")
    )
    username = _text(prefs.get(f"mail.server.{server}.realuserName")) or _text(
        prefs.get(f"mail.server.{server}.userName")
    )

    socket_type = _int(prefs.get(f"mail.server.{server}.socketType"))
    if socket_type is None:
        # isSecure: before Thunderbird 3, true meant SSL.
        is_secure = prefs.get(f"mail.server.{server}.isSecure") is True
        socket_type = 3 if is_secure else _int(profile.server(server, "socketType"))
    security = (
        SECURITY_OF_SOCKET_TYPE.get(socket_type, Security.UNKNOWN)
        if socket_type is not None
        else Security.UNKNOWN
    )
    security_raw = f"socketType={socket_type}"
    if socket_type == 1:
        security_raw += " (try STARTTLS: falls back to plaintext)"

    port = _int(profile.server(server, "port"))
    if port is None or port <= 1:
        plain_and_tls = DEFAULT_PORTS.get(declared)
        port = None if plain_and_tls is None else plain_and_tls[1 if socket_type == 3 else 0]

    if PROTOCOL_OF_TYPE.get(declared) is Protocol.EXCHANGE:
        host, port, security = _exchange_url(prefs, server, host, port, security)

    return Endpoint(
        host=host,
        port=port,
        security=security,
        username=username,
        auth=_auth_method(profile, server),
        security_raw=security_raw,
    )


def _exchange_url(
    prefs: dict[str, PrefValue], server: str, host: str | None, port: int | None, security: Security
) -> tuple[str | None, int | None, Security]:
    """Exchange accounts talk HTTPS to a URL: ews_url (native), owa/eas (Owl), ewsURL (ExQuilla)."""
    for name in ("ews_url", "owa_url", "eas_url", "ewsURL"):
        url = _text(prefs.get(f"mail.server.{server}.{name}"))
        if url:
            try:
                parts = urlsplit(url)
                hostname = parts.hostname
            except ValueError:  # "https://[x/EWS": an unclosed IPv6 bracket
                return host, port, security
            tls = parts.scheme.lower() == "https"
            try:
                url_port = parts.port
            except ValueError:
                url_port = None
            return (
                hostname or host,
                url_port or (443 if tls else 80),
                Security.TLS if tls else Security.NONE,
            )
    return host, port, security


def _auth_method(profile: _Profile, server: str) -> str | None:
    method = _int(profile.prefs.get(f"mail.server.{server}.authMethod"))
    if method is None:
        # Before authMethod existed: auth_login=false meant "old", useSecAuth=true "secure"
        # (MailnewsMigrator.migrateServerAuthPref).
        if profile.prefs.get(f"mail.server.{server}.useSecAuth") is True:
            method = 8
        elif profile.prefs.get(f"mail.server.{server}.auth_login") is False:
            method = 2
        else:
            method = _int(profile.server(server, "authMethod"))
    return AUTH_METHODS.get(method) if method is not None else None


def _addresses(prefs: dict[str, PrefValue], key: str) -> tuple[str, ...]:
    identities = _text(prefs.get(f"mail.account.{key}.identities")) or ""
    found: dict[str, None] = {}  # ordered and linear: a profile may list 100,000 identities
    for identity in identities.split(","):
        address = _text(prefs.get(f"mail.identity.{identity.strip()}.useremail"))
        if address:
            found[address] = None
    return tuple(found)


def _local_store(profile: _Profile, key: str, server: str, declared: str) -> LocalStore:
    note = None
    store_server = server
    if declared == "pop3":
        target = _text(profile.server(server, "deferred_to_account"))
        if target:
            store_server, target_name = _global_inbox(profile, target)
            note = f"Global Inbox: this account's mail is delivered into {target_name}"
    try:
        folder = _server_folder(profile, store_server)
    except UnreadableFile as exc:
        return LocalStore(
            exc.path, 0, exists=False, note=f"mail folder {exc.reason}", measured=False
        )
    if declared == "imap":
        note = "offline copy of the mail on the IMAP server"
    cached = profile.store_cache.get(folder)
    if cached is None:
        cached = _measure(profile.files, folder)
        profile.store_cache[folder] = cached
    notes = "; ".join(n for n in (note, cached.note) if n) or None
    return LocalStore(cached.path, cached.bytes, cached.exists, notes, cached.measured)


def _global_inbox(profile: _Profile, target_account: str) -> tuple[str, str]:
    """The server whose folders receive a deferred POP account's mail, and its name.

    A missing or hidden target falls back to Local Folders (Pop3IncomingServer.sys.mjs).
    """
    target_server = _text(profile.prefs.get(f"mail.account.{target_account}.server"))
    if target_server is None or profile.server(target_server, "hidden") is True:
        target_server = _text(profile.prefs.get("mail.accountmanager.localfoldersserver")) or ""
    name = _text(profile.server(target_server, "name")) or "Local Folders"
    return target_server, name


def _server_folder(profile: _Profile, server: str) -> Path:
    """directory-rel first ([ProfD]Mail/host); the absolute `directory` goes stale when a
    profile is copied; last, the folder Thunderbird would create: <mail root>/<hostname>."""
    relative = _text(profile.prefs.get(f"mail.server.{server}.directory-rel"))
    if relative:
        if relative.startswith("[") and "]" in relative:
            relative = relative.split("]", 1)[1]
        return profile.folder.joinpath(*[p for p in relative.replace("\\", "/").split("/") if p])
    absolute = _text(profile.prefs.get(f"mail.server.{server}.directory"))
    if absolute:
        return profile.files.client_path(absolute, base=profile.folder)
    declared = _text(profile.server(server, "type")) or ""
    hostname = _text(profile.prefs.get(f"mail.server.{server}.hostname")) or "Local Folders"
    return profile.folder / MAIL_ROOT_OF_TYPE.get(declared, "Mail") / hostname


def _measure(files: MachineFiles, folder: Path) -> LocalStore:
    shown = files.display(folder)
    try:
        size = files.measure_mail(folder, NOT_MAIL)
    except UnreadableFile as exc:
        if exc.reason == ABSENT:
            return LocalStore(shown, 0, exists=False, note=f"mail folder {exc.reason}")
        # There, but not readable: never "0 B".
        return LocalStore(shown, 0, note=f"mail folder {exc.reason}", measured=False)
    return LocalStore(shown, size.bytes, note=size.note)


def _is_secret(name: str) -> bool:
    last = name.rsplit(".", 1)[-1].lower()
    return any(word in last for word in SECRET_WORDS)


def _text(value: PrefValue | None) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _int(value: PrefValue | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
