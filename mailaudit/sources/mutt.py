"""mutt and NeoMutt: the muttrc, with every `source`d file followed, read as mutt reads it.

What the reader relies on (mutt's manual, "Configuration Commands"; defaults checked with
`mutt -D` 2.2.12 and `neomutt -Q` 20220429):

- The first of ~/.muttrc, ~/.mutt/muttrc, ~/.config/mutt/muttrc (NeoMutt: ~/.neomuttrc,
  ~/.config/neomutt/neomuttrc, ~/.neomutt/neomuttrc first) is the user's configuration.
- `set a=x b="y z"`, `set flag`, `set noflag`, `unset flag`; `#` starts a comment outside quotes;
  a line ending in a backslash continues. `source FILE` reads another file in place (a relative
  name is taken from the sourcing file's folder); `source "cmd|"` runs a command: not followed.
- `pop_host` (`pop://` STARTTLS when offered, `pops://` TLS from the first byte; a user part
  `user:secret@` has its secret cut off unread) makes a POP3 account whose mail is fetched into
  `spoolfile` (`spool_file` in NeoMutt). `pop_delete` is a quad-option: yes, no, ask-yes, ask-no
  (the default). An `imap://`/`imaps://` `folder` or `spoolfile` is an IMAP account.
- Secrets (`pop_pass`, `imap_pass`, `smtp_pass`, the oauth refresh commands) are never kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import Account, Client, Endpoint, LocalStore, Protocol, Security, Skipped
from mailaudit.sources.base import Found

SOURCE = Client.MUTT.value
RC_FILES = (
    ".neomuttrc",
    ".config/neomutt/neomuttrc",
    ".neomutt/neomuttrc",
    ".muttrc",
    ".mutt/muttrc",
    ".config/mutt/muttrc",
)
RC_LIMIT = 1024 * 1024
MOST_FILES = 64  # files read through `source`, so that a loop or a flood ends
SECRET_WORDS = ("pass", "secret", "token", "oauth")
ALIASES = {"spool_file": "spoolfile"}  # NeoMutt's names for the same variables
NOT_MAIL = IgnoreRule(suffixes=(".lock",), names=frozenset())


@dataclass
class MuttConfig:
    values: dict[str, str] = field(default_factory=dict)
    read: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def words(line: str) -> list[str]:
    """A muttrc line split as mutt's tokenizer does: quotes, backslash escapes, '#' comments."""
    found: list[str] = []
    current: list[str] = []
    quote: str | None = None
    started = False
    index = 0
    while index < len(line):
        char = line[index]
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"' and index + 1 < len(line):
                index += 1
                current.append(line[index])
            else:
                current.append(char)
        elif char in "\"'":
            quote, started = char, True
        elif char == "\\" and index + 1 < len(line):
            index += 1
            current.append(line[index])
            started = True
        elif char == "#":
            break
        elif char in " \t":
            if started:
                found.append("".join(current))
                current, started = [], False
        elif char in "=;":
            if started:
                found.append("".join(current))
                current, started = [], False
            found.append(char)
        else:
            current.append(char)
            started = True
        index += 1
    if started:
        found.append("".join(current))
    return found


def read_config(files: MachineFiles, user: UserHome, first: Path) -> MuttConfig:
    config = MuttConfig()
    _read(files, user, first, config, depth=0)
    return config


def _read(files: MachineFiles, user: UserHome, path: Path, config: MuttConfig, depth: int) -> None:
    shown = files.display(path)
    if len(config.read) >= MOST_FILES or depth > 16:
        config.problems.append(f"{shown}: too many nested `source` files; not read")
        return
    if path in config.read:
        config.problems.append(f"{shown} is sourced twice (a loop); read once")
        return
    config.read.append(path)
    try:
        text = files.read_bytes(path, RC_LIMIT).decode("utf-8", "replace")
    except UnreadableFile as exc:
        config.problems.append(f"{shown} {exc.reason}")
        return
    for line in re.sub(r"\\\r?\n", "", text).splitlines():
        for command in _commands(words(line)):
            _run(files, user, path, command, config, depth)


def _commands(tokens: list[str]) -> Iterator[list[str]]:
    """Commands separated by ';' on one line."""
    current: list[str] = []
    for token in tokens:
        if token == ";":
            if current:
                yield current
            current = []
        else:
            current.append(token)
    if current:
        yield current


def _run(
    files: MachineFiles,
    user: UserHome,
    path: Path,
    command: list[str],
    config: MuttConfig,
    depth: int,
) -> None:
    verb, rest = command[0].lower(), command[1:]
    if verb == "source":
        for name in rest:
            if name.rstrip().endswith("|"):
                config.problems.append(
                    f"{files.display(path)}: `source {name}` runs a command; not followed"
                )
                continue
            _read(files, user, _expand(files, user, name, path.parent), config, depth + 1)
    elif verb in ("set", "unset", "reset", "toggle"):
        index = 0
        while index < len(rest):
            name = rest[index]
            value: str | None = None
            if index + 2 < len(rest) and rest[index + 1] == "=":
                value, index = rest[index + 2], index + 3
            else:
                index += 1
            _assign(verb, name, value, config)


def _assign(verb: str, name: str, value: str | None, config: MuttConfig) -> None:
    negated = False
    if name.startswith(("no", "inv")) and value is None and verb == "set":
        name, negated = name[2:] if name.startswith("no") else name[3:], True
    name = ALIASES.get(name.lower(), name.lower())
    if any(word in name for word in SECRET_WORDS):
        return
    if verb == "unset" or negated:
        config.values[name] = "no"
    elif verb == "reset":
        config.values.pop(name, None)
    elif verb == "toggle":
        config.values[name] = "no" if config.values.get(name, "no") == "yes" else "yes"
    else:
        config.values[name] = "yes" if value is None else value


def _expand(files: MachineFiles, user: UserHome, written: str, base: Path) -> Path:
    if written.startswith("~/"):
        return user.home / written[2:]
    if written == "~":
        return user.home
    try:
        return files.client_path(written, base=base)
    except UnreadableFile:
        return base / written


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    first = next((user.home / n for n in RC_FILES if (user.home / n).is_file()), None)
    if first is None:
        return
    config = read_config(files, user, first)
    origin = files.display(first)
    for problem in config.problems:
        yield Skipped(SOURCE, origin, problem)
    values = config.values
    pop_host = values.get("pop_host", "")
    if pop_host:
        yield _pop_account(files, user, origin, values, pop_host)
    imap_urls = [v for k in ("folder", "spoolfile") if (v := values.get(k, "")).startswith("imap")]
    if imap_urls:
        yield _imap_account(user, origin, values, imap_urls[0])


@dataclass(frozen=True)
class _Url:
    scheme: str
    user: str | None
    host: str | None
    port: int | None


def parse_url(url: str) -> _Url:
    """scheme://[user[:secret]@]host[:port][/path]; the secret is cut off unread."""
    scheme, separator, rest = url.partition("://")
    if not separator:  # mutt accepts a bare host for pop_host
        scheme, rest = "pop", url
    location = rest.split("/", 1)[0]
    userinfo, at, hostport = location.rpartition("@")
    name = unquote(userinfo.split(":", 1)[0]) if at else None
    host, _, port_text = hostport.partition(":")
    if host.startswith("["):  # [IPv6]:port
        host, _, port_text = hostport[1:].partition("]")
        port_text = port_text.lstrip(":")
    port = int(port_text) if port_text.isdigit() else None
    return _Url(scheme.lower(), name or None, host or None, port)


def _pop_account(
    files: MachineFiles, user: UserHome, origin: str, values: dict[str, str], pop_host: str
) -> Account:
    url = parse_url(pop_host)
    implicit = url.scheme == "pops"
    if implicit:
        security, raw = Security.TLS, "pops://"
    elif values.get("ssl_starttls", "yes") == "yes":
        forced = values.get("ssl_force_tls", "yes") == "yes"
        security = Security.STARTTLS
        raw = f"pop://, ssl_starttls=yes, ssl_force_tls={'yes' if forced else 'no'}"
    else:
        security, raw = Security.NONE, "pop://, ssl_starttls=no"
    username = values.get("pop_user") or url.user or user.name  # mutt falls back to $USER
    delete = values.get("pop_delete", "ask-no").lower()
    leave, detail = {
        "yes": (False, "mail is removed from the server once fetched (pop_delete=yes)"),
        "no": (True, "keep a copy on the server (pop_delete=no)"),
        "ask-yes": (
            None,
            "mutt asks each time; the default answer removes it (pop_delete=ask-yes)",
        ),
    }.get(delete, (None, f"mutt asks each time; the default answer keeps it (pop_delete={delete})"))
    return Account(
        client=Client.MUTT,
        user=user.name,
        profile=origin,
        key=f"pop_host={url.host}",
        name=f"{username}@{url.host}",
        email=username if "@" in username else None,
        protocol=Protocol.POP3,
        declared_type=url.scheme,
        incoming=Endpoint(
            url.host, url.port or (995 if implicit else 110), security, username, "password", raw
        ),
        origin=origin,
        addresses=(username,) if "@" in username else (),
        leave_on_server=leave,
        leave_on_server_detail=detail,
        local_store=_spool(files, user, values),
    )


def _imap_account(user: UserHome, origin: str, values: dict[str, str], where: str) -> Account:
    url = parse_url(where)
    implicit = url.scheme == "imaps"
    username = values.get("imap_user") or url.user or user.name
    return Account(
        client=Client.MUTT,
        user=user.name,
        profile=origin,
        key=f"imap={url.host}",
        name=f"{username}@{url.host}",
        email=username if "@" in username else None,
        protocol=Protocol.IMAP,
        declared_type=url.scheme,
        incoming=Endpoint(
            url.host,
            url.port or (993 if implicit else 143),
            Security.TLS if implicit else Security.STARTTLS,
            username,
            "password",
            f"{url.scheme}://",
        ),
        origin=origin,
        addresses=(username,) if "@" in username else (),
    )


def _spool(files: MachineFiles, user: UserHome, values: dict[str, str]) -> LocalStore:
    """$spoolfile, where mutt puts fetched POP3 mail; by default $MAIL, /var/mail/$USER."""
    written = values.get("spoolfile", "")
    folder = values.get("folder", "~/Mail")
    if written.startswith(("+", "=")):
        written = folder.rstrip("/") + "/" + written[1:]
    note = "where mutt puts fetched mail ($spoolfile)"
    if not written or written.startswith("imap"):
        path = (files.root or Path("/")) / "var" / "mail" / user.name
        note = "the default $spoolfile, /var/mail/$USER"
    else:
        path = _expand(files, user, written, user.home)
    shown = files.display(path)
    try:
        real = files.check_inside(path)
        size = files.mail_bytes(real, NOT_MAIL) if real.is_dir() else real.stat().st_size
    except UnreadableFile as exc:
        return LocalStore(shown, 0, exists=False, note=f"{note}; {exc.reason}")
    except OSError as exc:
        return LocalStore(shown, 0, exists=False, note=f"{note}; {exc.strerror}")
    return LocalStore(shown, size, note=note)
