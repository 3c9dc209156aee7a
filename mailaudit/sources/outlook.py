"""Outlook for Windows: MAPI profiles in the registry, and the PST/OST files they point to.

Where the accounts are (undocumented by Microsoft; the layout below is what Metasploit's
outlook.rb, RegRipper's outlook2.pl and OpaqueMail all read, and what the Account Management
API writes):

    Outlook 2013+:    Software\\Microsoft\\Office\\<15.0|16.0>\\Outlook\\Profiles\\<profile>
    2010 and older:   Software\\Microsoft\\Windows NT\\CurrentVersion\\
                          Windows Messaging Subsystem\\Profiles\\<profile>
        9375CFF0413111d3B88A00104B2A6676\\<00000001...>                  one subkey per account

The account type is its `clsid` (the Account Management API's CLSID_Olk* constants). Strings
are REG_BINARY UTF-16LE with a NUL, or REG_SZ when a PRF file or a tool wrote them. Passwords
(`POP3 Password2` and the like) are DPAPI blobs: never read here.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath

from mailaudit.errors import UnreadableFile, UsageError
from mailaudit.machine import ABSENT, MachineFiles, UserHome
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
from mailaudit.sources.reg_export import NotARegExport, parse_reg_export
from mailaudit.sources.registry import RegistryError, RegistryKey, RegValue, open_hive
from mailaudit.sources.registry_live import live_hives

SOURCE = Client.OUTLOOK.value
ACCOUNTS_KEY = "9375CFF0413111d3B88A00104B2A6676"
OFFICE_KEY = r"Software\Microsoft\Office"
MESSAGING_PROFILES = (
    r"Software\Microsoft\Windows NT\CurrentVersion\Windows Messaging Subsystem\Profiles"
)
GLOBAL_SECTION = "13dbb0c8aa05101a9bb000aa002fc45a"  # the profile's global MAPI section
REG_EXPORT_LIMIT = 256 * 1024 * 1024

# CLSID_Olk* (Account Management API constants).
CLSID_POP3 = "{ED475411-B0D6-11D2-8C3B-00104B2A6676}"
CLSID_IMAP = "{ED475412-B0D6-11D2-8C3B-00104B2A6676}"
CLSID_MAPI = "{ED475414-B0D6-11D2-8C3B-00104B2A6676}"  # Exchange, a PST data file, an address book
CLSID_HOTMAIL = "{4DB5CBF0-3B77-4852-BC8E-BB81908861F3}"
CLSID_LDAP = "{4DB5CBF2-3B77-4852-BC8E-BB81908861F3}"

PST_SERVICES = {"MSUPST MS", "MSPST MS"}  # Unicode and ANSI PST data files

# Metasploit's outlook.rb and Microsoft's PRF defaults: an absent port is the plain port.
DEFAULT_PORTS = {"POP3": 110, "IMAP": 143}

# PROP_INET_SSL: "zero = no SSL, otherwise SSL". Outlook 2010+ also offers STARTTLS and Auto
# in the same drop-down; whether they are stored as 2 and 3 here is unconfirmed, so other
# values are kept raw and read as unknown.
SECURITY_OF_USE_SSL = {0: Security.NONE, 1: Security.TLS, 2: Security.STARTTLS}

# Leave on Server: LEAVE_ON_SERVER, REMOVE_AFTER (days in the high word), REMOVE_ON_NUKE.
LEAVE_ON_SERVER, REMOVE_AFTER, REMOVE_ON_DELETE = 0x1, 0x2, 0x4

# Wrapped store EntryID (MS-OXCDATA 2.2.4.3): the PST/OST path sits behind the provider's DLL name.
MUIDSTOREWRAP = bytes.fromhex("38a1bb1005e5101aa1bb08002b2a56c2")
PATH_OFFSET_OF_DLL = {"mspst.dll": 36 + 16 + 1, "pstprx.dll": 36 + 4 + 16 + 1}


@dataclass(frozen=True)
class _Where:
    """Whose registry this is and how to show where an account came from."""

    files: MachineFiles
    user: str
    origin: str  # the hive file or export, as shown in the report
    home: Path | None  # the user's home on the audited machine; None for a .reg export
    measure_files: bool  # False for a .reg export without --root: its paths are elsewhere


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    """Outlook accounts of one user: the live registry on Windows, else the user's NTUSER.DAT."""
    if files.root is None:
        live = dict(live_hives())  # empty off Windows
        if user.name in live:
            where = _Where(files, user.name, "registry", user.home, measure_files=True)
            yield from read_registry(live[user.name], where)
            return
    hive_path = _find_ntuser(files, user.home)
    if hive_path is None:
        return
    shown = files.display(hive_path)
    try:
        opened = open_hive(files, hive_path)
    except UnreadableFile as exc:
        yield Skipped(SOURCE, shown, f"{hive_path.name} {exc.reason}")
        return
    except RegistryError as exc:
        yield Skipped(SOURCE, shown, f"{hive_path.name} is {exc}")
        return
    for note in opened.notes:
        yield Skipped(SOURCE, shown, note)
    yield from read_registry(opened.root, _Where(files, user.name, shown, user.home, True))


def scan_reg_file(files: MachineFiles, path: Path) -> Iterator[Found]:
    """Outlook accounts in a regedit export. The user is the file's name (export as anna.reg).

    Raises UsageError when the file named on the command line is unreadable or no export.
    """
    try:
        # The export is named on the command line: it need not lie under --root.
        data = MachineFiles(None).read_bytes(path, REG_EXPORT_LIMIT)
        export = parse_reg_export(data)
    except UnreadableFile as exc:
        raise UsageError(f"{path} {exc.reason}") from None
    except NotARegExport as exc:
        raise UsageError(f"{path} is not a registry export: {exc}") from None
    shown = str(path)
    for problem in export.problems:
        yield Skipped(SOURCE, shown, f"line {problem.line}: {problem.message}; left out")
    for root_name, root in export.roots.items():
        user = path.stem
        if root_name.upper().startswith(("HKEY_USERS\\", "HKU\\")):
            user = f"{path.stem} ({root.name.split(chr(92))[-1]})"
        where = _Where(files, user, shown, None, measure_files=files.root is not None)
        yield from read_registry(root, where)


def _find_ntuser(files: MachineFiles, home: Path) -> Path | None:
    """The user's hive, whatever its case and whatever it is: a FIFO, a link or a folder of
    that name is returned too, so that reading it fails with a reason instead of in silence."""
    try:
        entries = files.children(home)
    except UnreadableFile:
        return None
    return next((path for path in entries if path.name.lower() == "ntuser.dat"), None)


def read_registry(root: RegistryKey, where: _Where) -> Iterator[Found]:
    """Every account of every Outlook profile under one user's registry root, and each PST
    data file of a profile that no account delivers into."""
    try:
        eras = _profile_roots(root)
    except RegistryError as exc:
        yield Skipped(SOURCE, where.origin, str(exc))
        return
    for era, profiles in eras:
        try:
            names = _sorted(profiles.subkeys())
        except RegistryError as exc:
            yield Skipped(SOURCE, where.origin, str(exc))
            continue
        for profile in names:
            try:
                accounts = profile.subkey(ACCOUNTS_KEY)
                account_keys = _sorted(accounts.subkeys()) if accounts is not None else []
            except RegistryError as exc:
                yield Skipped(SOURCE, where.origin, str(exc))
                continue
            found: list[Found] = []
            for key in account_keys:
                found.extend(_account(key, profile, era, where))
            found.extend(_unattached_data_files(account_keys, profile, era, where, found))
            yield from found


def _sorted(keys: list[RegistryKey]) -> list[RegistryKey]:
    """By name, so that a hive (kept sorted) and an export (in file order) list alike."""
    return sorted(keys, key=lambda key: key.name.lower())


def _profile_roots(root: RegistryKey) -> list[tuple[str, RegistryKey]]:
    """(Outlook version, Profiles key): every Office version present, then the pre-2013 one."""
    found = []
    office = root.subkey(OFFICE_KEY)
    versions = office.subkeys() if office is not None else []
    for version in _sorted(versions):
        profiles = version.subkey(r"Outlook\Profiles")
        if profiles is not None:
            found.append((f"Outlook {version.name}", profiles))
    legacy = root.subkey(MESSAGING_PROFILES)
    if legacy is not None:
        found.append(("Outlook 2010 or older", legacy))
    return found


def _account(key: RegistryKey, profile: RegistryKey, era: str, where: _Where) -> Iterator[Found]:
    origin = f"{where.origin}: {key.path}"
    try:
        values = {name: v for name, v in key.values().items() if "password" not in name}
    except RegistryError as exc:
        yield Skipped(SOURCE, where.origin, str(exc))
        return
    problems: list[str] = []
    reader = _Values(values, problems)

    kind = _kind(reader)
    if kind is None:
        return  # a data file, an address book or a directory: not a mail account
    if kind == "POP3" or kind == "IMAP":
        incoming = _mail_endpoint(reader, kind)
    else:
        incoming = _exchange_endpoint(reader, profile)
    account_name = reader.text("account name")
    email = reader.text("email") or _section_text(reader, profile, "001f6641")
    if email is None and kind == "EXCHANGE" and account_name and "@" in account_name:
        email = account_name  # Exchange accounts often keep their address only here
    name = account_name or email or key.name
    leave, days, detail = _leave_on_server(reader) if kind == "POP3" else (None, None, None)

    yield Account(
        client=Client.OUTLOOK,
        user=where.user,
        profile=f"{profile.name} ({era})",
        key=f"{era}/{profile.name}/{key.name}",
        name=name,
        email=email,
        protocol={"POP3": Protocol.POP3, "IMAP": Protocol.IMAP}.get(kind, Protocol.EXCHANGE),
        declared_type=kind.lower(),
        incoming=incoming,
        origin=origin,
        addresses=(email,) if email else (),
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=_data_file(reader, profile, kind, where),
    )
    for problem in problems:
        yield Skipped(SOURCE, origin, problem)


class _Values:
    """Typed reads of one key's values; a value of the wrong shape is noted and left out."""

    def __init__(self, values: dict[str, RegValue], problems: list[str]) -> None:
        self.values = values
        self.problems = problems

    def has(self, name: str) -> bool:
        return name in self.values

    def text(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value.data, str):
            return value.data.split("\0", 1)[0].strip() or None
        if isinstance(value.data, bytes) and value.kind != "REG_DWORD":
            if len(value.data) % 2:
                self.problems.append(
                    f"value {value.name!r} is {len(value.data)} bytes, an odd length for UTF-16 "
                    "text; left out"
                )
                return None
            return value.data.decode("utf-16-le", "replace").split("\0", 1)[0].strip() or None
        self.problems.append(f"value {value.name!r} is {value.kind}, not text; left out")
        return None

    def dword(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None:
            return None
        if value.kind == "REG_DWORD" and isinstance(value.data, int):
            return value.data
        if isinstance(value.data, bytes) and len(value.data) == 4:
            return int.from_bytes(value.data, "little")  # a DWORD stored as 4 raw bytes
        self.problems.append(f"value {value.name!r} is {value.kind}, not a DWORD; left out")
        return None

    def binary(self, name: str) -> bytes | None:
        value = self.values.get(name)
        return value.data if value is not None and isinstance(value.data, bytes) else None


def _kind(values: _Values) -> str | None:
    """POP3, IMAP, EXCHANGE or HOTMAIL; None for what is not a mail account."""
    clsid = (values.text("clsid") or "").upper()
    if clsid == CLSID_POP3:
        return "POP3"
    if clsid == CLSID_IMAP:
        return "IMAP"
    if clsid == CLSID_HOTMAIL:
        return "HOTMAIL"
    if clsid == CLSID_LDAP:
        return None
    # CLSID_MAPI, or no clsid at all: the values present tell.
    if values.has("pop3 server"):
        return "POP3"
    if values.has("imap server"):
        return "IMAP"
    if values.has("http server url"):
        return "HOTMAIL"
    service = (values.text("service name") or "").upper()
    if service == "MSEMS" or "EAS" in service.split():
        return "EXCHANGE"  # Exchange or Microsoft 365; EAS: the Outlook.com ActiveSync connector
    return None  # a PST data file (MSUPST MS), an address book (CONTAB, EMABLT), LDAP, ...


def _mail_endpoint(values: _Values, kind: str) -> Endpoint:
    prefix = kind.lower()
    port = values.dword(f"{prefix} port")
    use_ssl = values.dword(f"{prefix} use ssl")
    raw = f"{kind} Use SSL={use_ssl}" if use_ssl is not None else f"{kind} Use SSL absent"
    if port is None:
        raw += f"; {kind} Port absent, {DEFAULT_PORTS[kind]} assumed"
    uses_spa = bool(values.dword(f"{prefix} use spa") or values.dword(f"{prefix} use sicily"))
    return Endpoint(
        host=values.text(f"{prefix} server"),
        port=port if port else DEFAULT_PORTS[kind],
        security=SECURITY_OF_USE_SSL.get(use_ssl or 0, Security.UNKNOWN),
        username=values.text(f"{prefix} user"),
        auth="ntlm" if uses_spa else "password",
        security_raw=raw,
    )


def _exchange_endpoint(values: _Values, profile: RegistryKey) -> Endpoint:
    url = values.text("http server url")
    host = url.split("//", 1)[-1].split("/", 1)[0] if url else None
    return Endpoint(
        host=host or _section_text(values, profile, "001f6602"),  # the Exchange home server
        port=None,
        security=Security.UNKNOWN,
        username=None,
        auth=None,
    )


def _section_text(values: _Values, profile: RegistryKey, tag: str) -> str | None:
    """A MAPI property from the account's service section, else the profile's global one.

    Sections are subkeys named by a 16-byte UID in hex; `Service UID` links an account to
    its service (RegRipper outlook2.pl). A tag such as 001f6641 is the property's type and id.
    """
    sections = []
    uid = values.binary("service uid")
    if uid is not None and len(uid) == 16:
        sections.append(uid.hex())
    sections.append(GLOBAL_SECTION)
    for section in sections:
        try:
            key = profile.subkey(section)
            found = _Values(key.values(), []).text(tag) if key is not None else None
        except RegistryError:
            continue
        if found:
            return found
    return None


def _leave_on_server(values: _Values) -> tuple[bool, int | None, str]:
    setting = values.dword("leave on server") or 0  # absent: 0, the PRF default
    leave = bool(setting & LEAVE_ON_SERVER)
    days = setting >> 16 if leave and setting & REMOVE_AFTER else None
    if not leave:
        words = ["mail is removed from the server once downloaded"]
    else:
        words = ["keep a copy on the server"]
        if days is not None:
            words.append(f"remove it after {days} days")
        if setting & REMOVE_ON_DELETE:
            words.append("remove it when deleted from Deleted Items")
    return leave, days, f"{', '.join(words)} (Leave on Server=0x{setting:08x})"


def _unattached_data_files(
    keys: list[RegistryKey], profile: RegistryKey, era: str, where: _Where, found: list[Found]
) -> Iterator[LocalMailbox]:
    """PST data files (MSUPST MS, MSPST MS) of the profile that no account delivers into: an
    archive, or the mail of an account removed long ago. A data file is attached when its path
    is an account's store, or (its path unrecorded) its name is an account's name or address,
    which is how Outlook names the data file it creates for an account."""
    accounts = [a for a in found if isinstance(a, Account)]
    stores = {a.local_store.path.lower() for a in accounts if a.local_store is not None}
    names = {n.lower() for a in accounts for n in (a.name, a.email) if n}
    for key in keys:
        try:
            reader = _Values(key.values(), [])
        except RegistryError:
            continue  # reported with the accounts
        if (reader.text("service name") or "").upper() not in PST_SERVICES:
            continue
        name = reader.text("account name") or key.name
        written = _pst_path(reader, profile)
        if written is None:
            store = LocalStore(
                "",
                0,
                exists=False,
                note="the Outlook profile does not record where",
                measured=False,
            )
        else:
            store = _store_at(written, where)
        if store.path.lower() in stores or name.lower() in names:
            continue
        yield LocalMailbox(
            client=Client.OUTLOOK,
            user=where.user,
            profile=f"{profile.name} ({era})",
            name=name,
            store=store,
            origin=f"{where.origin}: {key.path}",
        )


def _pst_path(values: _Values, profile: RegistryKey) -> str | None:
    """A data file's path: its service section's PR_PST_PATH (001f6700), else that of the
    provider sections the service lists in PR_STORE_PROVIDERS (01023d00), RegRipper's route."""
    uid = values.binary("service uid")
    if uid is None or len(uid) != 16:
        return None
    try:
        section = profile.subkey(uid.hex())
        if section is None:
            return None
        own = _Values(section.values(), [])
        path = own.text("001f6700") or own.text("001e6700")
        providers = own.binary("01023d00") or b""
        for start in range(0, min(len(providers), 16 * 16), 16):
            if path:
                break
            provider = profile.subkey(providers[start : start + 16].hex())
            if provider is not None:
                path = _Values(provider.values(), []).text("001f6700")
    except RegistryError:
        return None
    return path


def _data_file(
    values: _Values, profile: RegistryKey, kind: str, where: _Where
) -> LocalStore | None:
    """The PST (POP3), the OST (IMAP in Outlook 2013+, Exchange) the account's mail lives in."""
    written = None
    if kind == "IMAP":
        written = store_path(values.binary("imap store eid"))
    if written is None:
        written = store_path(values.binary("delivery store entryid"))
    if written is None and kind in ("EXCHANGE", "HOTMAIL"):
        written = _section_text(values, profile, "001f6610")  # PR_PROFILE_OFFLINE_STORE_PATH
    if written is None:
        return None
    return _store_at(written, where)


def _store_at(written: str, where: _Where) -> LocalStore:
    """A PST or OST as the client wrote its path, measured on this machine when it is here."""
    if not where.measure_files:
        return LocalStore(written, 0, exists=False, note="on the exported machine", measured=False)
    files = where.files
    try:
        path = files.client_path(written, base=where.home or files.root or Path.cwd())
    except UnreadableFile as exc:
        return LocalStore(written, 0, exists=False, note=f"data file {exc.reason}", measured=False)
    shown = files.display(path)
    try:
        info = files.check_inside(path).stat()
    except UnreadableFile as exc:
        if exc.reason == ABSENT:
            return LocalStore(shown, 0, exists=False, note=f"data file {exc.reason}")
        return LocalStore(shown, 0, note=f"data file {exc.reason}", measured=False)
    except OSError as exc:
        return LocalStore(
            shown, 0, note=f"data file cannot be read ({exc.strerror})", measured=False
        )
    if not stat.S_ISREG(info.st_mode):
        return LocalStore(shown, 0, note="data file is not a regular file", measured=False)
    return LocalStore(
        shown, info.st_size, note=f"{PureWindowsPath(written).suffix.lstrip('.').upper()} file"
    )


def store_path(entry_id: bytes | None) -> str | None:
    """The file path inside a wrapped store EntryID (mspst.dll, pstprx.dll); None for other
    providers (emsmdb.dll: Exchange keeps no path here) and for anything malformed."""
    if not entry_id or len(entry_id) < 56 or entry_id[4:20] != MUIDSTOREWRAP:
        return None
    dll = entry_id[22:36].split(b"\0", 1)[0].decode("ascii", "replace").lower()
    offset = PATH_OFFSET_OF_DLL.get(dll)
    if offset is None or offset >= len(entry_id):
        return None
    end = entry_id.find(b"\0", offset)
    if end < 0:
        return None
    ansi = entry_id[offset:end].decode("latin-1")  # Outlook 97-2002 ANSI stores; else empty
    wide = entry_id[end + 1 :]
    wide = wide[: len(wide) - len(wide) % 2]
    unicode = wide.decode("utf-16-le", "replace").split("\0", 1)[0]
    return unicode or ansi or None
