"""Claws Mail and Sylpheed (Claws began as a Sylpheed fork and kept its files): `accountrc`,
the global `clawsrc` for its config_version, `folderlist.xml`, and the MH folders.

The rules that matter, with where each program implements them:

- `protocol` numbers changed: Claws from config_version 1 on (Claws 3.14) counts 0 POP3, 1 IMAP,
  2 NNTP, 3 LOCAL, 4 NONE; before that, and in Sylpheed always, 0 POP3, 1 APOP, 2 RPOP, 3 IMAP,
  4 NNTP, 5 LOCAL, 6 NONE (Claws prefs_account.c, Sylpheed prefs_account.h). An account's own
  config_version of -1 or none means the one in `clawsrc`, whose absence means 0.
- `ssl_pop`/`ssl_imap`: 0 none, 1 TLS from the first byte, 2 STARTTLS. Claws 4.3.1
  (config_version 5) made 1 the default for new accounts; before, 0.
- A port is honoured only with `set_popport=1` (`set_imapport=1`); else 995/110, 993/143.
- `remove_mail=1` (the default) removes mail from the server `message_leave_time` days (plus
  `message_leave_hour` hours in Claws) after download, 7 by default; at once only when both are
  0. `remove_mail=0` keeps it (Claws pop.c, pop3_session_recv_msg / pop3_delete_expired).
- Sylpheed keeps `password=` and `smtp_password=` in plain text here; Claws before 3.14 did too.
  Every key naming a secret is dropped by the parser, unread.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

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
from mailaudit.safe_xml import NotWellFormed, parse_xml
from mailaudit.sources.base import Found
from mailaudit.sources.local_store import measure_store
from mailaudit.sources.numbers import small_int


@dataclass(frozen=True)
class Program:
    client: Client
    folders: tuple[str, ...]  # the configuration folder, below the home
    global_rc: str  # the file holding the global config_version (Claws only)


PROGRAMS = (
    Program(
        Client.CLAWS_MAIL,
        (".claws-mail", "AppData/Roaming/Claws-mail", "Application Data/Claws-mail"),
        "clawsrc",
    ),
    Program(
        Client.SYLPHEED,
        (
            ".sylpheed-2.0",
            ".sylpheed",  # Sylpheed 1.x
            "AppData/Roaming/Sylpheed",
            "Library/Application Support/Sylpheed",
        ),
        "",
    ),
)

RC_LIMIT = 8 * 1024 * 1024
SECRET_WORDS = ("password", "passwd", "secret", "token")

# (declared type, protocol) by protocol number, for each numbering.
NEW_PROTOCOLS = {0: "pop3", 1: "imap", 2: "nntp", 3: "local", 4: "none"}
OLD_PROTOCOLS = {0: "pop3", 1: "apop", 2: "rpop", 3: "imap", 4: "nntp", 5: "local", 6: "none"}
PROTOCOL_OF_TYPE = {
    "pop3": Protocol.POP3,
    "apop": Protocol.POP3,
    "rpop": Protocol.POP3,
    "imap": Protocol.IMAP,
    "nntp": Protocol.OTHER,
    "local": Protocol.OTHER,
}
SECURITY_OF_SSL = {0: Security.NONE, 1: Security.TLS, 2: Security.STARTTLS}
# key prefix, server key, (plain, TLS) ports
SERVER_KEYS = {
    Protocol.POP3: ("pop", "receive_server", (110, 995)),
    Protocol.IMAP: ("imap", "receive_server", (143, 993)),
}
SECURE_DEFAULT_FROM = 5  # Claws 4.3.1's config_version: new accounts default to TLS


class OnlyMessages(IgnoreRule):
    """MH keeps one message a file named by its number; the rest is index and marks."""

    def __init__(self) -> None:
        super().__init__((), frozenset())

    def __call__(self, name: str) -> bool:
        return not name.isdigit()


MESSAGES = OnlyMessages()


class NotAnAccountrc(ValueError):
    """A file with no [Account: N] section in it."""


Sections = dict[str, dict[str, str]]


def parse_rc(text: str) -> Sections:
    """prefs.c's format: [Section] lines and key=value lines; later keys win. Keys naming a
    secret are dropped unread; lines of any other shape are passed over, as Claws does."""
    sections: Sections = {}
    current: dict[str, str] | None = None
    for line in text.splitlines():
        if line.startswith("[") and line.rstrip().endswith("]"):
            current = sections.setdefault(line.strip()[1:-1], {})
            continue
        key, equals, value = line.partition("=")
        if not equals or current is None or any(w in key.lower() for w in SECRET_WORDS):
            continue
        current[key.strip()] = value
    return sections


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    for program in PROGRAMS:
        for relative in program.folders:
            folder = user.home / relative
            try:
                found = files.find_file(folder / "accountrc")
            except (
                UnreadableFile
            ) as exc:  # a folder on the way is locked: named, and on to the next
                yield Skipped(program.client.value, files.display(Path(exc.path)), exc.reason)
                continue
            if found is not None:
                yield from _scan_folder(files, user, program, folder)


def _scan_folder(
    files: MachineFiles, user: UserHome, program: Program, folder: Path
) -> Iterator[Found]:
    source = program.client.value
    path = folder / "accountrc"
    origin = files.display(path)
    try:
        text = files.read_bytes(path, RC_LIMIT).decode("utf-8")
        accounts = {
            name: keys for name, keys in parse_rc(text).items() if name.startswith("Account:")
        }
        if not accounts:
            raise NotAnAccountrc("no [Account: N] section")
    except UnreadableFile as exc:
        yield Skipped(source, origin, f"accountrc {exc.reason}")
        return
    except UnicodeDecodeError as exc:
        yield Skipped(source, origin, f"accountrc is not text (byte {exc.start} is not UTF-8)")
        return
    except NotAnAccountrc as exc:
        yield Skipped(source, origin, f"accountrc has {exc}: damaged or not an account file")
        return
    global_version, problem = _global_version(files, program, folder)
    if problem:
        yield Skipped(source, files.display(folder / program.global_rc), problem)
    mailboxes, problem = _mailboxes(files, user, folder)
    if problem:
        yield Skipped(source, files.display(folder / "folderlist.xml"), problem)
    # Each mailbox measured once, named by its first name: an accountrc may list thousands of
    # accounts delivering into one mailbox.
    measured: dict[Path, LocalStore] = {}
    box_names = {box: name for name, box in reversed(mailboxes.items())}
    for name, keys in accounts.items():
        for item in _account(files, user, program, folder, origin, name, keys, global_version):
            if isinstance(item, Account) and item.protocol is Protocol.POP3:
                # POP3 mail lands in the account's inbox folder: its MH mailbox is the store.
                box = _inbox_mailbox(user, mailboxes, keys.get("inbox", ""))
                if box not in measured:
                    box_name = box_names.get(box, box.name)
                    note = f"MH mailbox {box_name!r}, shared by the POP3 accounts that use it"
                    measured[box] = _measure(files, box, note)
                item = replace(item, local_store=measured[box])
            yield item
    for name, box in mailboxes.items():
        if box in measured:
            continue
        store = _measure(files, box, "MH folders no account delivers into")
        if store.exists and (store.bytes or not store.measured):
            yield LocalMailbox(
                client=program.client,
                user=user.name,
                profile=files.display(folder),
                name=name,
                store=store,
                origin=files.display(folder / "folderlist.xml"),
            )


def _global_version(files: MachineFiles, program: Program, folder: Path) -> tuple[int, str | None]:
    """clawsrc's config_version; 0 when there is none (Sylpheed, or Claws before 3.14)."""
    if not program.global_rc or files.find_file(folder / program.global_rc) is None:
        return 0, None
    try:
        text = files.read_bytes(folder / program.global_rc, RC_LIMIT).decode("utf-8", "replace")
    except UnreadableFile as exc:
        return 0, f"{program.global_rc} {exc.reason}; config_version 0 assumed"
    for keys in parse_rc(text).values():
        value = small_int(keys.get("config_version"))
        if value is not None:
            return value, None
    return 0, None


def _account(
    files: MachineFiles,
    user: UserHome,
    program: Program,
    folder: Path,
    origin: str,
    section: str,
    keys: dict[str, str],
    global_version: int,
) -> Iterator[Found]:
    source = program.client.value
    problems: list[str] = []
    number = _int(keys, "protocol", 0, problems)
    version = global_version
    if program.client is Client.CLAWS_MAIL:
        own = _int(keys, "config_version", -1, problems)
        version = own if own >= 0 else global_version
    numbering = NEW_PROTOCOLS if program.client is Client.CLAWS_MAIL and version >= 1 else None
    declared = (numbering or OLD_PROTOCOLS).get(number)
    name = keys.get("account_name", "").strip() or section
    if declared is None:
        yield Skipped(source, origin, f"[{section}] has protocol={number}, which is no protocol")
        return
    if declared == "none":
        return  # sends only: no incoming mail
    protocol = PROTOCOL_OF_TYPE[declared]
    email = keys.get("address", "").strip() or None
    incoming = _endpoint(keys, protocol, declared, version, program, problems)
    leave = days = detail = None
    if protocol is Protocol.POP3:
        leave, days, detail = _leave_on_server(keys, program, problems)
    store = None
    if protocol is Protocol.IMAP and incoming.host:
        cache = folder / "imapcache" / incoming.host / (incoming.username or "")
        store = _measure(files, cache, "offline copy of the mail on the IMAP server")
    yield Account(
        client=program.client,
        user=user.name,
        profile=files.display(folder),
        key=section,
        name=name,
        email=email,
        protocol=protocol,
        declared_type=declared,
        incoming=incoming,
        origin=origin,
        addresses=(email,) if email else (),
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=store,
    )
    for problem in problems:
        yield Skipped(source, origin, f"[{section}] {problem}")


def _endpoint(
    keys: dict[str, str],
    protocol: Protocol,
    declared: str,
    version: int,
    program: Program,
    problems: list[str],
) -> Endpoint:
    username = keys.get("user_id", "").strip() or None
    if declared == "local":
        return Endpoint(
            None, None, Security.NONE, None, None, f"local_mbox={keys.get('local_mbox')}"
        )
    if declared == "nntp":
        secure = _int(keys, "ssl_nntp", 0, problems)
        port = _int(keys, "nntp_port", 0, problems) if keys.get("set_nntpport") == "1" else 0
        security = SECURITY_OF_SSL.get(secure, Security.UNKNOWN)
        return Endpoint(
            keys.get("nntp_server", "").strip() or None,
            port or (563 if secure == 1 else 119),
            security,
            username,
            None,
            f"ssl_nntp={secure}",
        )
    prefix, server_key, (plain, tls) = SERVER_KEYS[protocol]
    secure_default = (
        1 if program.client is Client.CLAWS_MAIL and version >= SECURE_DEFAULT_FROM else 0
    )
    secure = _int(keys, f"ssl_{prefix}", secure_default, problems)
    raw = f"ssl_{prefix}={keys.get(f'ssl_{prefix}', f'absent, {secure_default} assumed')}"
    port = 0
    if keys.get(f"set_{prefix}port", "0").strip() == "1":
        port = _int(keys, f"{prefix}_port", 0, problems)
    if not port:
        port = tls if secure == 1 else plain
    auth: str | None = "password"
    if declared == "apop" or keys.get("use_apop_auth", "0").strip() == "1":
        auth = "password-encrypted"
    elif keys.get(f"{prefix}_auth_method", "0").strip() not in ("", "0"):
        auth = None  # a chosen SASL mechanism (CRAM-MD5, OAuth2, ...): not judged here
    return Endpoint(
        host=keys.get(server_key, "").strip() or None,
        port=port,
        security=SECURITY_OF_SSL.get(secure, Security.UNKNOWN),
        username=username,
        auth=auth,
        security_raw=raw,
    )


def _leave_on_server(
    keys: dict[str, str], program: Program, problems: list[str]
) -> tuple[bool, int | None, str]:
    remove = _int(keys, "remove_mail", 1, problems)
    days = _int(keys, "message_leave_time", 7, problems)
    hours = (
        _int(keys, "message_leave_hour", 0, problems) if program.client is Client.CLAWS_MAIL else 0
    )
    raw = f"remove_mail={remove}, message_leave_time={days}"
    if program.client is Client.CLAWS_MAIL:
        raw += f", message_leave_hour={hours}"
    if not remove:
        return True, None, f"keep a copy on the server ({raw})"
    if days <= 0 and hours <= 0:
        return False, None, f"mail is removed from the server once downloaded ({raw})"
    after = f"{days} days" + (f" {hours} hours" if hours > 0 else "")
    return True, days or None, f"keep a copy on the server, remove it after {after} ({raw})"


def _int(keys: dict[str, str], name: str, default: int, problems: list[str]) -> int:
    raw = keys.get(name)
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    if text.upper() in ("TRUE", "FALSE"):  # hand-written files; Claws itself writes 0/1
        return int(text.upper() == "TRUE")
    number = small_int(text)
    if number is None:  # not quoted: a hand-edited file may hold anything there
        problems.append(f"{name} is not a number; {default} assumed")
        return default
    return number


def _mailboxes(
    files: MachineFiles, user: UserHome, folder: Path
) -> tuple[dict[str, Path], str | None]:
    """MH mailbox name -> its folder, from folderlist.xml; a path is relative to the home."""
    default = {"Mailbox": user.home / "Mail"}  # the first-run wizard's default
    path = folder / "folderlist.xml"
    if files.find_file(path) is None:
        return default, None
    try:
        root = parse_xml(files.read_bytes(path, RC_LIMIT))
    except UnreadableFile as exc:
        return default, f"folderlist.xml {exc.reason}; ~/Mail assumed"
    except NotWellFormed as exc:
        return default, f"folderlist.xml: {exc}; ~/Mail assumed"
    found: dict[str, Path] = {}
    for mailbox in root.all("folder"):
        if mailbox.attributes.get("type", "").lower() != "mh":
            continue
        written = mailbox.attributes.get("path", "")
        name = mailbox.attributes.get("name") or written
        if not written:
            continue
        try:
            found[name] = files.client_path(written, base=user.home)
        except UnreadableFile as exc:
            return default, f"a mailbox's path {exc.reason}; ~/Mail assumed"
    return found or default, None


def _inbox_mailbox(user: UserHome, mailboxes: dict[str, Path], inbox: str) -> Path:
    """The MH mailbox of a folder id such as #mh/Mailbox/inbox; the first one when unknown."""
    parts = inbox.strip().split("/")
    if len(parts) >= 2 and parts[0] == "#mh" and parts[1] in mailboxes:
        return mailboxes[parts[1]]
    return next(iter(mailboxes.values()), user.home / "Mail")


def _measure(files: MachineFiles, folder: Path, note: str) -> LocalStore:
    return measure_store(files, folder, MESSAGES, note)
