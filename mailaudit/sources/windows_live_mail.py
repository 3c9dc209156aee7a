"""Windows Live Mail 2009-2012 and Windows Mail (Vista): `.oeaccount` files below the store
root, and the `.eml` files beside them.

What the reader relies on (Mozilla's WLM importer, nsWMUtils.cpp and nsWMSettings.cpp):

- The store root is the value `Store Root` (REG_EXPAND_SZ) of HKCU\\Software\\Microsoft\\Windows
  Live Mail, or of ...\\Windows Mail for Vista; the importer finds accounts by searching the
  whole root for `*.oeaccount`, at any depth.
- An `.oeaccount` is XML (UTF-16 with a BOM as WLM writes it; UTF-8 seen too), root
  `<MessageAccount>`, one element per setting. DWORD text is hexadecimal without `0x`:
  `000003e1` is 993 (the importer parses every DWORD with base 16).
- The server element present tells the type; the importer tests IMAP, then NNTP, then POP3.
- `*_Password2` elements hold DPAPI-encrypted passwords: never read (dropped by the parser).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

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
from mailaudit.safe_xml import NotWellFormed, parse_xml
from mailaudit.sources.base import Found
from mailaudit.sources.local_store import measure_store
from mailaudit.sources.registry import RegistryError, RegistryKey
from mailaudit.sources.user_registry import is_windows_xp_home, user_registry

ACCOUNT_FILE_LIMIT = 1024 * 1024  # real files are a few KB
SEARCH_DEPTH = 8  # the importer searches without a limit; real roots are two or three deep
SEARCH_FOLDERS = 20_000  # folders looked into per root, so a hostile tree cannot stall the scan
MOST_NOTES = 20  # unlistable folders named one by one; more would drown the report

# Folder and note -> its measured store, for one store root: every POP3 account whose file
# lies in the root shares one folder, and a hostile root may hold thousands of account files.
Sizes = dict[tuple[Path, str | None], LocalStore]


@dataclass(frozen=True)
class Product:
    client: Client
    key: str  # below HKCU
    defaults: tuple[str, ...]  # the store root when the registry names none, below the home
    shared_folder: str  # where mail belongs to no single account, below the store root


PRODUCTS = (
    Product(
        Client.WINDOWS_LIVE_MAIL,
        r"Software\Microsoft\Windows Live Mail",
        (
            "AppData/Local/Microsoft/Windows Live Mail",
            "Local Settings/Application Data/Microsoft/Windows Live Mail",  # Windows XP
        ),
        "Storage Folders",
    ),
    Product(
        Client.WINDOWS_MAIL,
        r"Software\Microsoft\Windows Mail",
        ("AppData/Local/Microsoft/Windows Mail",),
        "Local Folders",
    ),
)

# Server element -> (protocol, declared type, plain port, TLS port), in the importer's order.
KINDS = (
    ("IMAP", Protocol.IMAP, "imap", 143, 993),
    ("NNTP", Protocol.OTHER, "nntp", 119, 563),
    ("POP3", Protocol.POP3, "pop3", 110, 995),
    ("HTTPMail", Protocol.OTHER, "httpmail", 80, 443),  # Hotmail over WebDAV, retired in 2011
)

SECRET_WORDS = ("password", "salt", "token", "secret")


class OnlyMessages(IgnoreRule):
    """WLM keeps one message a file; everything else in the tree is index or settings."""

    def __init__(self) -> None:
        super().__init__((), frozenset())

    def __call__(self, name: str) -> bool:
        return not name.lower().endswith(".eml")


MESSAGES = OnlyMessages()


class NotAnAccountFile(ValueError):
    """An .oeaccount that is not the XML WLM writes."""


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    # An unreadable hive is reported once, by the Outlook source; here the default store
    # folders are searched instead.
    registry = user_registry(files, user)
    for product in PRODUCTS:
        yield from _scan_product(files, user, product, registry.root, registry.origin)


def _scan_product(
    files: MachineFiles,
    user: UserHome,
    product: Product,
    registry: RegistryKey | None,
    registry_origin: str,
) -> Iterator[Found]:
    source = product.client.value
    defaults = []
    for default in product.defaults:
        try:
            if files.find_folder(user.home / default):
                defaults.append(user.home / default)
        except UnreadableFile as exc:  # a folder on the way is locked: named; go on
            yield Skipped(source, files.display(Path(exc.path)), exc.reason)
    if is_windows_xp_home(user.home):
        defaults = [d for d in defaults if "AppData" not in d.parts] or defaults
    named: Path | None = None
    try:
        written = _store_root_value(registry, product)
    except RegistryError as exc:
        yield Skipped(source, registry_origin, str(exc))
        written = None
    if written is not None:
        try:
            named = expand_store_root(files, written, user.home)
            files.check_inside(named)
        except UnreadableFile as exc:
            yield Skipped(
                source,
                f"{registry_origin}: HKCU\\{product.key}",
                f"Store Root {exc.reason}; the mail store cannot be read",
            )
            named = None
    roots = [named] if named is not None else defaults[:1]
    for root in roots:
        yield from _scan_root(files, user, product, root)
    if named is not None:
        for stale in defaults:
            if _same(files, stale, named) or not _has_account_files(files, stale):
                continue
            old = _measure(files, stale, None)
            size = f"{old.bytes} bytes of messages" if old.measured else "messages"
            yield Skipped(
                source,
                files.display(stale),
                f"account files in a store folder {CLIENT_WORDS[product.client]} no longer uses "
                f"(Store Root is {files.display(named)}); its {size} are an old copy",
            )


CLIENT_WORDS = {Client.WINDOWS_LIVE_MAIL: "Windows Live Mail", Client.WINDOWS_MAIL: "Windows Mail"}


def _store_root_value(registry: RegistryKey | None, product: Product) -> str | None:
    if registry is None:
        return None
    key = registry.subkey(product.key)
    if key is None:
        return None
    value = key.values().get("store root")
    if value is None or not isinstance(value.data, str | bytes):
        return None
    text = value.data
    if isinstance(text, bytes):
        text = text.decode("utf-16-le", "replace")
    return text.split("\0", 1)[0].strip() or None


def expand_store_root(files: MachineFiles, written: str, home: Path) -> Path:
    """Store Root as the audited user's Windows would expand it: %LOCALAPPDATA% and friends
    point into that user's profile, not into whoever runs the audit."""
    xp = is_windows_xp_home(home)
    folders = {
        "%USERPROFILE%": home,
        "%LOCALAPPDATA%": home / ("Local Settings/Application Data" if xp else "AppData/Local"),
        "%APPDATA%": home / ("Application Data" if xp else "AppData/Roaming"),
    }
    for variable, folder in folders.items():
        if written.upper().startswith(variable):
            rest = PureWindowsPath(written[len(variable) :].lstrip("\\/"))
            return folder.joinpath(*rest.parts)
    for variable in ("%SYSTEMDRIVE%", "%HOMEDRIVE%"):
        if written.upper().startswith(variable):
            written = "C:" + written[len(variable) :]
    if "%" in written:
        raise UnreadableFile(written, "names a variable mailaudit cannot expand")
    return files.client_path(written, base=home)


def _same(files: MachineFiles, one: Path, other: Path) -> bool:
    try:
        return files.check_inside(one) == files.check_inside(other)
    except UnreadableFile:
        return False


@dataclass
class _Search:
    found: list[Path]
    cut_short: bool = False  # stopped at SEARCH_FOLDERS
    unlisted: list[UnreadableFile] = field(default_factory=list)  # not listable


def _has_account_files(files: MachineFiles, folder: Path) -> bool:
    try:
        return bool(_account_files(files, folder).found)
    except UnreadableFile:
        return False


def _account_files(files: MachineFiles, root: Path) -> _Search:
    """Every *.oeaccount below `root` (a FIFO or a link of that name too: reading it says why
    it cannot be used), the folders that could not be searched, and whether the search stopped
    at its bounds. Raises UnreadableFile when `root` itself cannot be listed."""
    found: list[Path] = []
    unlisted: list[UnreadableFile] = []
    pending = [(root, 0)]
    looked = 0
    while pending:
        folder, depth = pending.pop()
        looked += 1
        if looked > SEARCH_FOLDERS:
            return _Search(sorted(found), True, unlisted)
        try:
            entries = files.entries(folder)
        except UnreadableFile as exc:
            if folder == root:
                raise
            unlisted.append(exc)
            continue
        for path, is_folder in entries:
            if is_folder and depth < SEARCH_DEPTH:
                pending.append((path, depth + 1))
            elif not is_folder and path.name.lower().endswith(".oeaccount"):
                found.append(path)
    return _Search(sorted(found), False, unlisted)


def _scan_root(
    files: MachineFiles, user: UserHome, product: Product, root: Path
) -> Iterator[Found]:
    source = product.client.value
    try:
        search = _account_files(files, root)
    except UnreadableFile as exc:
        if exc.reason != ABSENT:  # a Store Root not created yet holds nothing to report
            yield Skipped(source, files.display(Path(exc.path)), f"store folder {exc.reason}")
        return
    for folder in search.unlisted[:MOST_NOTES]:
        yield Skipped(
            source,
            files.display(Path(folder.path)),
            f"a folder of the store {folder.reason}; account files in it were not searched for",
        )
    if search.cut_short:
        yield Skipped(
            source,
            files.display(root),
            f"the store folder has over {SEARCH_FOLDERS} folders; accounts further in were not "
            "searched for",
        )
    shared = _shared_folder(files, root, product)
    shared_used = False
    sizes: Sizes = {}  # a folder is measured once, however many account files lie in it
    for path in search.found:
        try:
            settings = parse_account_file(files.read_bytes(path, ACCOUNT_FILE_LIMIT))
        except UnreadableFile as exc:
            yield Skipped(source, files.display(path), f"{path.name} {exc.reason}")
            continue
        except NotAnAccountFile as exc:
            yield Skipped(source, files.display(path), f"{path.name} is {exc}")
            continue
        found = list(_account(files, user, product, root, shared, path, settings, sizes))
        for item in found:
            if isinstance(item, Account) and item.local_store and shared is not None:
                shared_used |= item.local_store.path == files.display(shared)
        yield from found
    if shared is not None and not shared_used:
        store = _measure(files, shared, None)
        if store.bytes or not store.measured:
            yield LocalMailbox(
                client=product.client,
                user=user.name,
                profile=files.display(root),
                name=shared.name,
                store=store,
                origin=files.display(shared),
            )


def _shared_folder(files: MachineFiles, root: Path, product: Product) -> Path | None:
    for candidate in (product.shared_folder, "Storage Folders", "Local Folders"):
        if files.find_folder(root / candidate):
            return root / candidate
    return None


def parse_account_file(data: bytes) -> dict[str, str]:
    """Setting name -> text of one .oeaccount. Secret elements are dropped unread.

    Raises NotAnAccountFile for anything that is not a well-formed <MessageAccount>.
    expat honours the BOM and the encoding declaration; a DTD is refused, so no entity expands.
    """
    try:
        root = parse_xml(data, unread=_is_secret)
    except NotWellFormed as exc:
        raise NotAnAccountFile(f"not an account file: {exc}") from None
    if root.tag != "MessageAccount":
        raise NotAnAccountFile("XML without a <MessageAccount> root")
    return {c.tag: c.text.strip() for c in root.children if not _is_secret(c.tag)}


def _is_secret(name: str) -> bool:
    return any(word in name.lower() for word in SECRET_WORDS)


def _account(
    files: MachineFiles,
    user: UserHome,
    product: Product,
    root: Path,
    shared: Path | None,
    path: Path,
    settings: dict[str, str],
    sizes: Sizes,
) -> Iterator[Found]:
    origin = files.display(path)
    problems: list[str] = []
    values = AccountSettings(settings, problems)
    kind = account_kind(values)
    if kind is None:
        if values.text("LDAP_Server") is None:  # a directory service account is not mail
            yield Skipped(product.client.value, origin, "account names no incoming server")
        return
    prefix, protocol, declared, plain_port, tls_port = kind
    incoming = incoming_endpoint(values, prefix, declared, plain_port, tls_port)
    email = values.text("SMTP_Email_Address")
    leave, days, detail = leave_on_server(values) if protocol is Protocol.POP3 else (None,) * 3
    yield Account(
        client=product.client,
        user=user.name,
        profile=files.display(root),
        key=files.display(path),
        name=values.text("Account_Name") or email or path.stem,
        email=email,
        protocol=protocol,
        declared_type=declared,
        incoming=incoming,
        origin=origin,
        addresses=(email,) if email else (),
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=_local_store(files, product, root, shared, path.parent, protocol, sizes),
    )
    for problem in problems:
        yield Skipped(product.client.value, origin, problem)


def account_kind(values: AccountSettings) -> tuple[str, Protocol, str, int, int] | None:
    """The first server setting present, in the importer's order; None when none is."""
    return next((k for k in KINDS if values.text(f"{k[0]}_Server")), None)


class AccountSettings:
    """One account's settings by WLM's element names; Outlook Express's registry values are the
    same names with spaces, and are read through this too."""

    def __init__(self, settings: dict[str, str], problems: list[str]) -> None:
        self.settings = settings
        self.problems = problems

    def text(self, name: str) -> str | None:
        return self.settings.get(name) or None

    def dword(self, name: str) -> int | None:
        """WLM writes DWORDs as 8 hex digits; a value that is not hex is noted, left out (and not
        quoted: a mistyped setting may hold anything)."""
        raw = self.settings.get(name)
        if raw is None or raw == "":
            return None
        digits = raw.strip().lower().removeprefix("0x")
        if 0 < len(digits) <= 8 and all(c in "0123456789abcdef" for c in digits):
            return int(digits, 16)
        self.problems.append(f"{name} is not a hexadecimal DWORD; left out")
        return None


def incoming_endpoint(
    values: AccountSettings, prefix: str, declared: str, plain_port: int, tls_port: int
) -> Endpoint:
    secure = values.dword(f"{prefix}_Secure_Connection")
    port = values.dword(f"{prefix}_Port")
    raw = f"{prefix}_Secure_Connection={secure if secure is not None else 'absent'}"
    if port is None or port == 0:
        # Absent port [I]: the protocol's default, the TLS one when the TLS box is ticked.
        port = tls_port if secure else plain_port
        raw += f"; {prefix}_Port absent, {port} assumed"
    if not secure:
        security = Security.NONE
    elif port == tls_port:
        security = Security.TLS
    else:
        # The flag only says "requires a secure connection"; what WLM does on a plain port with
        # it is undocumented (research: open question), so it is not guessed.
        security = Security.UNKNOWN
        raw += " (TLS on a non-TLS port: mode unknown)"
    host = values.text(f"{prefix}_Server")
    if declared == "httpmail" and host and "//" in host:
        host = host.split("//", 1)[1].split("/", 1)[0]
    return Endpoint(
        host=host,
        port=port,
        security=security,
        username=values.text(f"{prefix}_User_Name"),
        auth="ntlm" if values.dword(f"{prefix}_Use_Sicily") else "password",
        security_raw=raw,
    )


def leave_on_server(values: AccountSettings) -> tuple[bool, int | None, str]:
    leave = bool(values.dword("Leave_Mail_On_Server"))
    expire = bool(values.dword("Remove_When_Expired"))
    days = values.dword("Expire_Days") if leave and expire else None
    raw = (
        f"Leave_Mail_On_Server={int(leave)}, Remove_When_Expired={int(expire)}, "
        f"Expire_Days={values.settings.get('Expire_Days', 'absent')}"
    )
    if not leave:
        return False, None, f"mail is removed from the server once downloaded ({raw})"
    words = ["keep a copy on the server"]
    if days is not None:
        words.append(f"remove it after {days} days")
    if values.dword("Remove_When_Deleted"):
        words.append("remove it when deleted from Deleted Items")
    return True, days, f"{', '.join(words)} ({raw})"


def _local_store(
    files: MachineFiles,
    product: Product,
    root: Path,
    shared: Path | None,
    folder: Path,
    protocol: Protocol,
    sizes: Sizes,
) -> LocalStore | None:
    """The account's folder of .eml files: where its .oeaccount lies. POP3 mail of an account
    whose file lies in the root itself or in the shared folders goes to those shared folders
    (Windows Mail keeps all POP3 mail in Local Folders) [I: the split per WLM version]."""
    if protocol is Protocol.OTHER:
        return None
    in_shared = folder == root or (shared is not None and folder == shared)
    if protocol is Protocol.POP3 and (in_shared or product.client is Client.WINDOWS_MAIL):
        if shared is None:
            return LocalStore(files.display(root), 0, exists=False, note="no local mail folder")
        return _measure(files, shared, "shared by the POP3 accounts of this store", sizes)
    if folder == root:
        return None  # no folder of its own: nothing to measure that is this account's
    note = "offline copy of the mail on the IMAP server" if protocol is Protocol.IMAP else None
    return _measure(files, folder, note, sizes)


def _measure(
    files: MachineFiles, folder: Path, note: str | None, sizes: Sizes | None = None
) -> LocalStore:
    if sizes is None:
        return measure_store(files, folder, MESSAGES, note)
    if (folder, note) not in sizes:
        sizes[folder, note] = measure_store(files, folder, MESSAGES, note)
    return sizes[folder, note]
