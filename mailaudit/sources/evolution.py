"""GNOME Evolution: the account registry's `.source` key files (Evolution 3.6 and later), the
GConf XML of Evolution 2.x-3.4, and the local Maildir ("On This Computer").

What the reader relies on (evolution-data-server, checked by running its registry, 3.46):

- One GKeyFile per source in $XDG_CONFIG_HOME/evolution/sources/<uid>.source. A mail account
  has `[Mail Account] BackendName` (pop, imapx, ews, ...) and `IdentityUid`, the identity source
  with `[Mail Identity] Address`; the server is `[Authentication] Host/Port/User` and
  `[Security] Method` (none, ssl-on-alternate-port, starttls-on-standard-port;
  camel-enums.h CamelNetworkSecurityMethod).
- POP options are in `[Pop Backend]`: KeepOnServer, DeleteAfterDays (0: never). The registry
  always writes them; when a hand-edited file leaves KeepOnServer out, CamelPOP3Settings'
  default applies, and that changed: FALSE up to EDS 3.60, TRUE from 3.61 (commit 1bf4eb40).
- A source with `Enabled=false`, or below a GNOME Online Accounts collection whose mail is
  switched off, is hidden by Evolution (e-mail-session.c, mail_session_check_goa_mail_disabled).
- POP3 mail is delivered to "On This Computer", a Maildir++ at
  $XDG_DATA_HOME/evolution/mail/local (camel-maildir-store.c), shared by all POP3 accounts.
- Passwords are in the keyring, never in these files; any key naming one is dropped anyway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from pathlib import Path
from urllib.parse import unquote

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
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
from mailaudit.safe_xml import Element, parse_xml
from mailaudit.sources.base import Found
from mailaudit.sources.local_store import measure_store
from mailaudit.sources.numbers import port_number, small_int

SOURCE = Client.EVOLUTION.value
SOURCE_DIRS = (
    ".config/evolution/sources",
    ".var/app/org.gnome.Evolution/config/evolution/sources",  # Flatpak [I]
)
LOCAL_STORES = (
    ".local/share/evolution/mail/local",
    ".var/app/org.gnome.Evolution/data/evolution/mail/local",  # Flatpak [I]
)
IMAP_CACHE = ".cache/evolution/mail"  # <source uid>/ below it [I]
GCONF_ACCOUNTS = ".gconf/apps/evolution/mail/%gconf.xml"
OLD_LOCAL_STORE = ".evolution/mail/local"  # Evolution 2.x: mbox files
SOURCE_LIMIT = 1024 * 1024
GCONF_LIMIT = 16 * 1024 * 1024
MOST_SOURCES = 10_000
DPKG_STATUS = "var/lib/dpkg/status"
DPKG_LIMIT = 64 * 1024 * 1024

# BackendName -> protocol, (plain, implicit TLS) ports.
BACKENDS: dict[str, tuple[Protocol, tuple[int, int] | None]] = {
    "pop": (Protocol.POP3, (110, 995)),
    "imapx": (Protocol.IMAP, (143, 993)),
    "imap": (Protocol.IMAP, (143, 993)),  # the old IMAP provider, before imapx
    "ews": (Protocol.EXCHANGE, None),
    "mapi": (Protocol.EXCHANGE, None),
    "nntp": (Protocol.OTHER, (119, 563)),
}
# Not accounts on a server: local mail folders and the "none" of identity-only setups.
LOCAL_BACKENDS = frozenset({"none", "maildir", "mbox", "mh", "spool", "spooldir", "vfolder"})

SECURITY_OF_METHOD = {
    "none": Security.NONE,
    "ssl-on-alternate-port": Security.TLS,
    "starttls-on-standard-port": Security.STARTTLS,
}
# Evolution 2.x URL parameter use_ssl.
SECURITY_OF_USE_SSL = {
    "never": Security.NONE,
    "always": Security.TLS,
    "when-possible": Security.STARTTLS,
}
OAUTH_METHODS = frozenset({"xoauth2", "oauth2", "google", "outlook", "yahoo"})
SECRET_WORDS = ("password", "passwd", "secret", "token")
KEEP_ON_SERVER_DEFAULT_FROM = (3, 61)

# Summary databases and indexes beside the messages (camel-maildir-store.c, Evolution 2.x mbox).
NOT_MAIL = IgnoreRule(
    suffixes=(".db", ".db-journal", ".db-wal", ".db-shm", ".cmeta", ".ev-summary", ".ibex.index"),
    names=frozenset({"folders.db", "summary"}),
)


class NotAKeyFile(ValueError):
    """Text GKeyFile would refuse to load."""


KeyFile = dict[str, dict[str, str]]


def parse_key_file(text: str) -> KeyFile:
    """GKeyFile's format (GLib's gkeyfile.c): [Group] lines, Key=Value, '#' comments, later keys
    win, \\s \\n \\t \\r \\\\ escapes in values; Key[locale] entries are left out. Keys naming a
    secret are dropped unread. Raises NotAKeyFile where GKeyFile would refuse the file."""
    groups: KeyFile = {}
    current: dict[str, str] | None = None
    for number, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            if not line.rstrip().endswith("]"):
                raise NotAKeyFile(f"line {number} opens a group it does not close")
            current = groups.setdefault(line.rstrip()[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        key = key.strip()
        if not equals or not key:
            raise NotAKeyFile(f"line {number} is neither a [group] nor a key=value pair")
        if current is None:
            raise NotAKeyFile(f"line {number} has a key before the first group")
        if "[" in key or any(word in key.lower() for word in SECRET_WORDS):
            continue
        current[key] = _unescape(value.lstrip())
    return groups


def _unescape(value: str) -> str:
    escapes = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), value)


@dataclass(frozen=True)
class _Source:
    uid: str
    path: Path
    groups: KeyFile

    def get(self, group: str, key: str) -> str | None:
        value = self.groups.get(group, {}).get(key)
        return value.strip() if value is not None and value.strip() else None

    def flag(self, group: str, key: str) -> bool | None:
        value = self.get(group, key)
        return None if value is None else value.lower() == "true"


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    # Measured once: every POP3 account shares it, and a hostile registry may hold thousands.
    pop_store = cache(partial(_local_store, files, user))
    pop_store_used = False
    found_any = False
    for relative in SOURCE_DIRS:
        try:
            folder = files.find_folder(user.home / relative)
        except UnreadableFile as exc:  # a folder on the way is locked: named; go on
            yield Skipped(SOURCE, files.display(Path(exc.path)), exc.reason)
            continue
        if folder is None:
            continue
        found_any = True
        for item in _scan_registry(files, user, folder, pop_store):
            if isinstance(item, Account) and item.protocol is Protocol.POP3:
                pop_store_used = True
            yield item
    gconf = user.home / GCONF_ACCOUNTS
    if _may_be_there(files, gconf):
        found_any = True
        for item in _scan_gconf(files, user, gconf, pop_store):
            if isinstance(item, Account) and item.protocol is Protocol.POP3:
                pop_store_used = True
            yield item
    if found_any and not pop_store_used:
        for store in (pop_store(), _old_local_store(files, user)):
            if store is not None and store.exists and (store.bytes or not store.measured):
                yield LocalMailbox(
                    client=Client.EVOLUTION,
                    user=user.name,
                    profile=files.display(user.home),
                    name="On This Computer",
                    store=store,
                    origin=store.path,
                )


def _scan_registry(
    files: MachineFiles, user: UserHome, folder: Path, pop_store: Callable[[], LocalStore]
) -> Iterator[Found]:
    sources: dict[str, _Source] = {}
    # A FIFO or a link named *.source is kept: reading it says why it cannot be used.
    try:
        listed = files.entries(folder)
    except UnreadableFile as exc:
        yield Skipped(SOURCE, files.display(folder), f"the sources folder {exc.reason}")
        return
    paths = [p for p, is_folder in listed if not is_folder and p.suffix == ".source"]
    if len(paths) > MOST_SOURCES:
        yield Skipped(
            SOURCE,
            files.display(folder),
            f"{len(paths)} source files; only the first {MOST_SOURCES} were read",
        )
    for path in paths[:MOST_SOURCES]:
        try:
            data = files.read_bytes(path, SOURCE_LIMIT)
            groups = parse_key_file(data.decode("utf-8"))
        except UnreadableFile as exc:
            yield Skipped(SOURCE, files.display(path), f"{path.name} {exc.reason}")
            continue
        except UnicodeDecodeError as exc:
            yield Skipped(
                SOURCE,
                files.display(path),
                f"{path.name} is not UTF-8 text (byte {exc.start}); Evolution refuses it too",
            )
            continue
        except NotAKeyFile as exc:
            yield Skipped(
                SOURCE, files.display(path), f"{path.name} is not a key file ({exc}); left out"
            )
            continue
        sources[path.stem] = _Source(path.stem, path, groups)
    eds_version = _eds_version(files)
    for source in sources.values():
        if "Mail Account" not in source.groups:
            continue
        yield from _registry_account(files, user, folder, source, sources, eds_version, pop_store)


def _registry_account(
    files: MachineFiles,
    user: UserHome,
    folder: Path,
    source: _Source,
    sources: dict[str, _Source],
    eds_version: tuple[int, int] | None,
    pop_store: Callable[[], LocalStore],
) -> Iterator[Found]:
    origin = files.display(source.path)
    backend = (source.get("Mail Account", "BackendName") or "none").lower()
    if backend in LOCAL_BACKENDS or source.flag("Mail Account", "Builtin"):
        return
    name = source.get("Data Source", "DisplayName") or source.uid
    hidden = _hidden_because(source, sources)
    if hidden:
        yield Skipped(SOURCE, origin, f"account {name!r} ({backend}) is {hidden}")
        return
    identity = sources.get(source.get("Mail Account", "IdentityUid") or "")
    email = identity.get("Mail Identity", "Address") if identity else None
    protocol, ports = BACKENDS.get(backend, (Protocol.OTHER, None))
    incoming = _endpoint(source, backend, ports)
    leave = days = detail = None
    if protocol is Protocol.POP3:
        leave, days, detail = _leave_on_server(source, eds_version)
    if protocol is Protocol.POP3:
        store = pop_store()
    elif protocol is Protocol.IMAP:
        store = _measure(
            files, user.home / IMAP_CACHE / source.uid, "offline copy of the mail on the server"
        )
    else:
        store = None
    yield Account(
        client=Client.EVOLUTION,
        user=user.name,
        profile=files.display(folder),
        key=source.uid,
        name=name,
        email=email,
        protocol=protocol,
        declared_type=backend,
        incoming=incoming,
        origin=origin,
        addresses=(email,) if email else (),
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=store,
    )


def _hidden_because(source: _Source, sources: dict[str, _Source]) -> str | None:
    if source.flag("Data Source", "Enabled") is False:
        parent = sources.get(source.get("Data Source", "Parent") or "")
        if parent is not None and "GNOME Online Accounts" in parent.groups:
            return "switched off in GNOME Online Accounts; Evolution does not fetch it"
        return "disabled; Evolution does not fetch it"
    parent = sources.get(source.get("Data Source", "Parent") or "")
    if parent is not None and "Collection" in parent.groups:
        if parent.flag("Data Source", "Enabled") is False:
            return "in a disabled collection; Evolution does not fetch it"
        if parent.flag("Collection", "MailEnabled") is False:
            where = "GNOME Online Accounts" if "GNOME Online Accounts" in parent.groups else ""
            return f"mail switched off {'in ' + where if where else 'for its collection'}"
    return None


def _endpoint(source: _Source, backend: str, ports: tuple[int, int] | None) -> Endpoint:
    method = source.get("Security", "Method")
    security = SECURITY_OF_METHOD.get(method or "none", Security.UNKNOWN)
    raw = f"[Security] Method={method}" if method else "[Security] Method absent (Camel: none)"
    host = source.get("Authentication", "Host")
    port = port_number(source.get("Authentication", "Port"))
    if backend in ("ews", "mapi"):
        url = source.get("Ews Backend", "HostUrl")
        if url and "//" in url:
            host = url.split("//", 1)[1].split("/", 1)[0].split(":", 1)[0] or host
            security = Security.TLS if url.lower().startswith("https") else Security.NONE
            port, raw = port or (443 if security is Security.TLS else 80), f"HostUrl={url}"
    if port is None and ports is not None:
        port = ports[1] if security is Security.TLS else ports[0]
        raw += f"; Port absent, {port} assumed"
    auth_method = (source.get("Authentication", "Method") or "").lower()
    if auth_method in OAUTH_METHODS:
        auth = "oauth2"
    elif auth_method == "ntlm":
        auth = "ntlm"
    elif auth_method == "gssapi":
        auth = "kerberos"
    else:
        auth = "password"
    return Endpoint(
        host=host,
        port=port,
        security=security,
        username=source.get("Authentication", "User"),
        auth=auth,
        security_raw=raw,
    )


def _leave_on_server(
    source: _Source, eds_version: tuple[int, int] | None
) -> tuple[bool | None, int | None, str]:
    keep = source.flag("Pop Backend", "KeepOnServer")
    raw = f"KeepOnServer={source.get('Pop Backend', 'KeepOnServer')}"
    if keep is None:
        if eds_version is None:
            return (
                None,
                None,
                "KeepOnServer absent: evolution-data-server up to 3.60 then removes mail from "
                "the server, 3.61 and later keep it; the installed version is not known",
            )
        keep = eds_version >= KEEP_ON_SERVER_DEFAULT_FROM
        raw = (
            f"KeepOnServer absent: {'true' if keep else 'false'}, the default of "
            f"evolution-data-server {eds_version[0]}.{eds_version[1]}"
        )
    if not keep:
        return False, None, f"mail is removed from the server once downloaded ({raw})"
    days_text = source.get("Pop Backend", "DeleteAfterDays")
    days = small_int(days_text)
    days = days if days is not None and days > 0 else None
    words = ["keep a copy on the server"]
    if days is not None:
        words.append(f"remove it after {days} days")
    if source.flag("Pop Backend", "DeleteExpunged"):
        words.append("remove it when deleted here")
    return True, days, f"{', '.join(words)} ({raw}, DeleteAfterDays={days_text})"


def _eds_version(files: MachineFiles) -> tuple[int, int] | None:
    """evolution-data-server's version from the dpkg database of the audited system, if any."""
    status = (files.root or Path("/")) / DPKG_STATUS
    try:
        info = status.lstat()
    except OSError:
        return None
    return _eds_version_in(files, status, info.st_mtime_ns, info.st_size)


# Every sources folder of every user asks, and the status file runs to megabytes: read it once
# per machine. mtime_ns and size are only part of the key: a status file that changed is read
# again.
@lru_cache(maxsize=1)
def _eds_version_in(
    files: MachineFiles, status: Path, mtime_ns: int, size: int
) -> tuple[int, int] | None:
    try:
        text = files.read_bytes(status, DPKG_LIMIT).decode("utf-8", "replace")
    except UnreadableFile:
        return None
    found = re.search(
        r"^Package: evolution-data-server\n(?:[^\n]+\n)*?Version: (?:\d+:)?(\d+)\.(\d+)",
        text,
        re.MULTILINE,
    )
    return (int(found.group(1)), int(found.group(2))) if found else None


def _local_store(files: MachineFiles, user: UserHome) -> LocalStore:
    """On This Computer: where Evolution delivers POP3 mail, for every POP3 account alike."""
    for relative in LOCAL_STORES:
        if _may_be_folder(files, user.home / relative):
            return _measure(
                files, user.home / relative, "On This Computer, shared by the POP3 accounts"
            )
    old = _old_local_store(files, user)
    if old is not None:
        return old
    return LocalStore(
        files.display(user.home / LOCAL_STORES[0]), 0, exists=False, note="not created yet"
    )


def _old_local_store(files: MachineFiles, user: UserHome) -> LocalStore | None:
    folder = user.home / OLD_LOCAL_STORE
    if not _may_be_folder(files, folder):
        return None
    return _measure(files, folder, "Evolution 2.x local folders (mbox)")


def _may_be_there(files: MachineFiles, path: Path) -> bool:
    """A file is there, or may be behind a folder that cannot be searched: reading it then
    says why it cannot be read."""
    try:
        return files.find_file(path) is not None
    except UnreadableFile:
        return True


def _may_be_folder(files: MachineFiles, path: Path) -> bool:
    """A folder is there, or may be behind a parent that cannot be searched: then measuring it
    says why it cannot be (never "no local mail", never the end of the accounts' list)."""
    try:
        return files.find_folder(path) is not None
    except UnreadableFile:
        return True


def _measure(files: MachineFiles, folder: Path, note: str) -> LocalStore:
    return measure_store(files, folder, NOT_MAIL, note)


# ---------------------------------------------------------------- Evolution 2.x - 3.4 (GConf)


def _scan_gconf(
    files: MachineFiles, user: UserHome, path: Path, pop_store: Callable[[], LocalStore]
) -> Iterator[Found]:
    origin = files.display(path)
    try:
        accounts = gconf_accounts(files.read_bytes(path, GCONF_LIMIT))
    except UnreadableFile as exc:
        yield Skipped(SOURCE, origin, f"%gconf.xml {exc.reason}")
        return
    except ValueError as exc:
        yield Skipped(SOURCE, origin, f"%gconf.xml: {exc}; left out")
        return
    for number, account in enumerate(accounts):
        try:
            yield from _gconf_account(files, user, origin, number, account, pop_store)
        except ValueError as exc:
            yield Skipped(SOURCE, origin, f"account {number + 1} is {exc}; left out")


def gconf_accounts(data: bytes) -> list[Element]:
    """The <account> documents of GConf's `accounts` list entry (each one an XML string)."""
    root = parse_xml(data)
    entry = next(
        (e for e in root.children if e.tag == "entry" and e.attributes.get("name") == "accounts"),
        None,
    )
    if entry is None:
        return []
    found = []
    for item in entry.children:
        value = item.first("stringvalue")
        if value is not None and value.text.strip():
            found.append(parse_xml(value.text.strip().encode("utf-8")))
    return found


def _gconf_account(
    files: MachineFiles,
    user: UserHome,
    origin: str,
    number: int,
    account: Element,
    pop_store: Callable[[], LocalStore],
) -> Iterator[Found]:
    name = account.attributes.get("name") or f"account {number + 1}"
    if account.attributes.get("enabled", "true").lower() == "false":
        yield Skipped(SOURCE, origin, f"account {name!r} is disabled; Evolution does not fetch it")
        return
    identity = account.first("identity")
    email = (identity.text_of("addr-spec") if identity is not None else "") or None
    source = account.first("source")
    url = source.text_of("url") if source is not None else ""
    if not url:
        return  # an identity that only sends
    scheme, username, host, port, params = _camel_url(url)
    if scheme in LOCAL_BACKENDS:
        return
    protocol, ports = BACKENDS.get(scheme, (Protocol.OTHER, None))
    if "security-method" in params:
        security = SECURITY_OF_METHOD.get(params["security-method"], Security.UNKNOWN)
        raw = f"security-method={params['security-method']}"
    elif "use_ssl" in params:
        security = SECURITY_OF_USE_SSL.get(params["use_ssl"], Security.UNKNOWN)
        raw = f"use_ssl={params['use_ssl']}"
    else:
        security, raw = Security.UNKNOWN, "no security setting in the URL"
    if port is None and ports is not None:
        port = ports[1] if security is Security.TLS else ports[0]
    leave = days = detail = None
    if protocol is Protocol.POP3:
        attribute = source.attributes.get("keep-on-server") if source is not None else None
        leave = (attribute or "").lower() == "true" or "keep_on_server" in params
        delete_after = small_int(params.get("delete_after")) if leave else None
        days = delete_after if delete_after is not None and delete_after > 0 else None
        detail = (
            f"keep a copy on the server{f', remove it after {days} days' if days else ''}"
            if leave
            else "mail is removed from the server once downloaded"
        ) + f" (keep-on-server={attribute})"
    yield Account(
        client=Client.EVOLUTION,
        user=user.name,
        profile=files.display(user.home / ".gconf/apps/evolution"),
        key=account.attributes.get("uid") or f"gconf-{number}",
        name=name,
        email=email,
        protocol=protocol,
        declared_type=scheme,
        incoming=Endpoint(host, port, security, username, "password", raw),
        origin=origin,
        addresses=(email,) if email else (),
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=pop_store() if protocol is Protocol.POP3 else None,
    )


def _camel_url(url: str) -> tuple[str, str | None, str | None, int | None, dict[str, str]]:
    """scheme://user;auth=X@host:port/path;param=value;flag (camel-url.c). A password in the
    user part (user:secret@) is cut off unread."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError("a source URL without a scheme")  # not quoted: it may hold a password
    location, _, path = rest.partition("/")
    params: dict[str, str] = {}
    for part in path.split(";")[1:]:
        key, _, value = part.partition("=")
        if key and not any(word in key.lower() for word in SECRET_WORDS):
            params[key] = unquote(value)
    userinfo, at, hostport = location.rpartition("@")
    username = unquote(userinfo.split(";", 1)[0].split(":", 1)[0]) if at else None
    host, _, port_text = hostport.partition(":")
    return scheme.lower(), username or None, host or None, port_number(port_text), params
