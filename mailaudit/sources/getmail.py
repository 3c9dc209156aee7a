"""getmail 6 (and 5): one rc file per account in $XDG_CONFIG_HOME/getmail/ or ~/.getmail/.

What the reader relies on (getmail6's docs/configuration.txt and getmailcore/retrievers.py):

- `[retriever] type` names protocol and TLS: Simple/BrokenUIDL/Multidrop POP3 retrievers on 110,
  their ...SSLRetriever twins on 995; the IMAP ones on 143 and 993. getmail has no STARTTLS.
  `server`, `port`, `username`; `password` and `password_command` are never read.
- `[options] delete` (default false: mail stays on the server), `delete_after` (days after
  first seen, when delete is false; 0: never).
- `[destination]` is where mail goes: Maildir or Mboxrd at `path` (`~` is the user's home).

An rc file is an INI file (Python's configparser); any file in the folder with a [retriever]
section counts, because getmail takes whatever --rcfile names. oldmail-* files are getmail's
state, not configuration.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import Account, Client, Endpoint, LocalStore, Protocol, Security, Skipped
from mailaudit.sources.base import Found

SOURCE = Client.GETMAIL.value
FOLDERS = (".config/getmail", ".getmail")
RC_LIMIT = 1024 * 1024
MOST_FILES = 500
SECRET_WORDS = ("password", "passwd", "secret", "token")

# type -> protocol, port, implicit TLS
RETRIEVERS = {
    "simplepop3retriever": (Protocol.POP3, 110, False),
    "brokenuidlpop3retriever": (Protocol.POP3, 110, False),
    "multidroppop3retriever": (Protocol.POP3, 110, False),
    "multidropsdpsretriever": (Protocol.POP3, 110, False),
    "simplepop3sslretriever": (Protocol.POP3, 995, True),
    "brokenuidlpop3sslretriever": (Protocol.POP3, 995, True),
    "multidroppop3sslretriever": (Protocol.POP3, 995, True),
    "simpleimapretriever": (Protocol.IMAP, 143, False),
    "multidropimapretriever": (Protocol.IMAP, 143, False),
    "simpleimapsslretriever": (Protocol.IMAP, 993, True),
    "multidropimapsslretriever": (Protocol.IMAP, 993, True),
}
TRUE = frozenset({"1", "yes", "true", "on"})
NOT_MAIL = IgnoreRule(suffixes=(".lock",), names=frozenset())


class NotAnRcFile(ValueError):
    pass


def parse_ini(text: str) -> dict[str, dict[str, str]]:
    """configparser's dialect: [section], key = value or key: value, ';'/'#' comments,
    indented continuation lines. Keys naming a secret are dropped with their continuations."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    last: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if raw[0] in " \t" and last is not None:
            if current is not None and last in current:
                current[last] += "\n" + stripped
            continue
        if stripped.startswith("["):
            if not stripped.endswith("]"):
                raise NotAnRcFile(f"line {number} opens a section it does not close")
            current = sections.setdefault(stripped[1:-1].strip().lower(), {})
            last = None
            continue
        cut = min((i for i in (stripped.find("="), stripped.find(":")) if i > 0), default=-1)
        if cut < 0 or current is None:
            raise NotAnRcFile(f"line {number} is neither a [section] nor a key = value line")
        key = stripped[:cut].strip().lower()
        last = key
        if any(word in key for word in SECRET_WORDS):
            continue
        current[key] = stripped[cut + 1 :].strip()
    return sections


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    for relative in FOLDERS:
        folder = user.home / relative
        if not folder.is_dir():
            continue
        try:
            with os.scandir(folder) as entries:
                names = sorted(
                    entry.name
                    for entry in entries
                    if entry.is_file(follow_symlinks=False)
                    and not entry.name.startswith("oldmail-")
                )
        except OSError as exc:
            yield Skipped(SOURCE, files.display(folder), f"cannot be listed ({exc.strerror})")
            continue
        for name in names[:MOST_FILES]:
            yield from _scan_file(files, user, folder / name)


def _scan_file(files: MachineFiles, user: UserHome, path: Path) -> Iterator[Found]:
    origin = files.display(path)
    looks_like_rc = path.name.startswith("getmailrc")
    try:
        data = files.read_bytes(path, RC_LIMIT)
        sections = parse_ini(data.decode("utf-8"))
    except UnreadableFile as exc:
        if looks_like_rc:
            yield Skipped(SOURCE, origin, f"{path.name} {exc.reason}")
        return
    except (UnicodeDecodeError, NotAnRcFile) as exc:
        if looks_like_rc:
            why = exc if isinstance(exc, NotAnRcFile) else "not UTF-8 text"
            yield Skipped(SOURCE, origin, f"{path.name} is not an rc file ({why}); left out")
        return
    retriever = sections.get("retriever")
    if retriever is None:
        if looks_like_rc:
            yield Skipped(SOURCE, origin, f"{path.name} has no [retriever] section")
        return
    kind = retriever.get("type", "")
    known = RETRIEVERS.get(kind.lower())
    protocol, default_port, tls = known if known else (Protocol.OTHER, None, False)
    port_text = retriever.get("port", "")
    port = int(port_text) if port_text.isdigit() else default_port
    options = sections.get("options", {})
    delete = options.get("delete", "false").lower() in TRUE
    after_text = options.get("delete_after", "0")
    after = int(after_text) if after_text.isdigit() else 0
    leave = days = detail = None
    if protocol is Protocol.POP3 or protocol is Protocol.IMAP:
        raw = f"delete={options.get('delete', 'absent')}, delete_after={after_text}"
        if delete:
            leave, detail = False, f"mail is removed from the server once fetched ({raw})"
        elif after > 0:
            leave, days = True, after
            detail = f"keep a copy on the server, remove it after {after} days ({raw})"
        else:
            leave, detail = True, f"keep a copy on the server ({raw})"
    if protocol is Protocol.IMAP:
        leave, days = None, None  # IMAP mail lives on the server anyway
    username = retriever.get("username") or None
    server = retriever.get("server") or None
    yield Account(
        client=Client.GETMAIL,
        user=user.name,
        profile=files.display(path.parent),
        key=path.name,
        name=f"{path.name}: {username or ''}@{server or ''}",
        email=username if username and "@" in username else None,
        protocol=protocol,
        declared_type=kind or "unknown",
        incoming=Endpoint(
            server,
            port,
            Security.TLS if tls else Security.NONE,
            username,
            "password",
            f"type={kind}",
        ),
        origin=origin,
        addresses=(username,) if username and "@" in username else (),
        leave_on_server=leave,
        leave_on_server_days=days,
        leave_on_server_detail=detail,
        local_store=_destination(files, user, sections.get("destination", {})),
    )


def _destination(files: MachineFiles, user: UserHome, destination: dict[str, str]) -> LocalStore:
    kind = destination.get("type", "")
    written = destination.get("path", "")
    if kind.lower() not in ("maildir", "mboxrd") or not written:
        return LocalStore(
            f"[destination] type={kind or 'absent'}",
            0,
            exists=False,
            note="delivered by another program; not measured",
            measured=False,
        )
    if written.startswith("~/"):
        path = user.home / written[2:]
    else:
        try:
            path = files.client_path(written, base=user.home)
        except UnreadableFile as exc:
            return LocalStore(written, 0, exists=False, note=exc.reason, measured=False)
    shown = files.display(path)
    try:
        real = files.check_inside(path)
    except UnreadableFile as exc:
        return LocalStore(shown, 0, exists=False, note=f"{kind} {exc.reason}")
    try:
        size = files.mail_bytes(real, NOT_MAIL) if real.is_dir() else real.stat().st_size
    except OSError as exc:
        return LocalStore(shown, 0, exists=False, note=f"{kind} cannot be read ({exc.strerror})")
    return LocalStore(shown, size, note=kind)
