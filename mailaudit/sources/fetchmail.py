"""fetchmail: ~/.fetchmailrc, one account per `user` clause of each `poll` (or `skip`) entry.

The file is read with the grammar of fetchmail's own lexer and parser (rcfile_l.l,
rcfile_y.y): words, "double" or 'single' quoted strings with C escapes, `#` comments; `with`,
`and`, `has`, `wants`, `options` and the characters `,;:` are noise; `no` negates the flag after
it (`nokeep` is `no keep`). `defaults` sets what the entries after it start from. fetchmail
refuses a whole file with a syntax error, and so does this reader: one Skipped record.

What matters for the audit: `proto` (pop3, apop, rpop, kpop, sdps: POP3; imap; auto tries IMAP
then POP3), `port`/`service`, `ssl` (TLS from the first byte) or `sslproto` (STARTTLS, required;
an empty sslproto switches TLS off), and `keep` (default off: fetchmail deletes what it fetched).
Passwords (`password`, `pass`, `esmtppassword`) are skipped unread.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mailaudit.errors import UnreadableFile
from mailaudit.machine import IgnoreRule, MachineFiles, UserHome
from mailaudit.model import Account, Client, Endpoint, LocalStore, Protocol, Security, Skipped
from mailaudit.sources.base import Found

SOURCE = Client.FETCHMAIL.value
RC_LIMIT = 4 * 1024 * 1024

NOISE = frozenset({"with", "and", "has", "wants", "options"})
# Keywords followed by one value (rcfile_y.y). The value after a secret keyword is never kept.
ONE_VALUE = {
    "via", "proto", "protocol", "service", "port", "interval", "auth", "authenticate",
    "preauth", "preauthenticate", "timeout", "qvirtual", "principal", "esmtpname",
    "smtpaddress", "smtpname", "mda", "bsmtp", "pre", "preconnect", "post", "postconnect",
    "interface", "monitor", "plugin", "plugout", "batchlimit", "fetchlimit", "fetchsizelimit",
    "fastuidl", "expunge", "limit", "sslkey", "sslcert", "sslproto", "sslcertfile",
    "sslcertpath", "sslcommonname", "sslfingerprint", "warnings", "properties", "bad-header",
    "logfile", "idfile", "pidfile", "daemon", "postmaster",
}  # fmt: skip
SECRET = frozenset({"password", "pass", "esmtppassword"})
# Keywords followed by a list of values, up to the next keyword.
LISTS = frozenset(
    {"aka", "local", "localdomains", "folder", "folders", "smtp", "smtphost", "fetchdomains",
     "antispam", "is", "to", "="}
)  # fmt: skip
FLAGS = frozenset(
    {"keep", "flush", "limitflush", "fetchall", "rewrite", "forcecr", "stripcr", "pass8",
     "pass8bits", "dropstatus", "dropdelivered", "mimedec", "mimedecode", "idle", "dns", "uidl",
     "ssl", "sslcertck", "checkalias", "lmtp", "here", "there", "kpop", "sdps", "spambounce",
     "softbounce", "bouncemail", "syslog", "invisible", "showdots", "tracepolls"}
)  # fmt: skip
NO_FLAGS = re.compile(
    r"^no(bouncemail|uidl|checkalias|dns|envelope|keep|flush|limitflush|fetchall|rewrite|"
    r"forcecr|stripcr|pass8|pass8bits|dropstatus|dropdelivered|mimedec|mimedecode|spambounce|"
    r"idle)$"
)
ENTRY = frozenset({"poll", "server", "skip", "defaults"})

PROTOCOLS = {
    "pop3": (Protocol.POP3, 110, 995),
    "apop": (Protocol.POP3, 110, 995),
    "rpop": (Protocol.POP3, 110, 995),
    "kpop": (Protocol.POP3, 1109, 1109),
    "sdps": (Protocol.POP3, 110, 995),
    "imap": (Protocol.IMAP, 143, 993),
}

NOT_MAIL = IgnoreRule(suffixes=(".lock",), names=frozenset())


class RcSyntaxError(ValueError):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Token:
    text: str
    line: int
    quoted: bool = False


@dataclass
class Settings:
    """Options of a server entry or of one user in it; None: not said."""

    values: dict[str, str] = field(default_factory=dict)
    flags: dict[str, bool] = field(default_factory=dict)

    def merged(self, later: Settings) -> Settings:
        return Settings(self.values | later.values, self.flags | later.flags)


@dataclass
class User:
    remote: str
    line: int
    settings: Settings = field(default_factory=Settings)


@dataclass
class Entry:
    host: str
    active: bool
    line: int
    settings: Settings = field(default_factory=Settings)
    users: list[User] = field(default_factory=list)


def tokens(text: str) -> Iterator[Token]:
    """rcfile_l.l's tokens: quoted strings, words, '=' and the noise characters dropped."""
    pattern = re.compile(
        r"""(?P<newline>\n)|(?P<space>[ \t\r]+)|(?P<comment>\#[^\n]*)|(?P<noise>[;:,])"""
        r"""|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<equals>=)|(?P<word>[^=;:,\s"']+)"""
        r"""|(?P<bad>["'])"""
    )
    line = 1
    for match in pattern.finditer(text):
        kind = match.lastgroup
        if kind == "newline":
            line += 1
        elif kind in ("dq", "sq"):
            value = match.group(kind)
            yield Token(_escapes(value), line, quoted=True)
            line += value.count("\n")
        elif kind == "equals":
            yield Token("=", line)
        elif kind == "word":
            yield Token(_escapes(match.group("word")), line)
        elif kind == "bad":
            raise RcSyntaxError(line, "a quote that is never closed")


def _escapes(text: str) -> str:
    return re.sub(r"\\\n", "", text)  # the only escape that matters here: a joined line


def parse_rc(text: str) -> list[Entry]:
    """The server entries of a fetchmailrc. Raises RcSyntaxError where fetchmail would."""
    entries: list[Entry] = []
    defaults = Settings()
    entry: Entry | None = None
    target: Settings | None = None  # where options go: the entry, a user, or the defaults
    stream = list(tokens(text))
    index = 0
    negate = False

    def value() -> Token:
        nonlocal index
        index += 1
        if index >= len(stream):
            raise RcSyntaxError(stream[-1].line, f"{stream[index - 1].text!r} needs a value")
        return stream[index]

    while index < len(stream):
        token = stream[index]
        word = token.text if token.quoted else token.text.lower()
        if not token.quoted and word in NOISE:
            index += 1
            continue
        if not token.quoted and word == "set":
            index += 1
            if index < len(stream) and stream[index].text.lower() == "no":
                index += 1
            if index < len(stream) and stream[index].text.lower() in ONE_VALUE:
                index += 1
            index += 1
            continue
        if not token.quoted and word in ENTRY:
            if word == "defaults":
                entry, target = None, defaults
            else:
                host = value()
                entry = Entry(host.text, active=word != "skip", line=token.line)
                entry.settings = Settings(dict(defaults.values), dict(defaults.flags))
                entries.append(entry)
                target = entry.settings
            index += 1
            continue
        if not token.quoted and word in ("user", "username"):
            if entry is None:
                raise RcSyntaxError(token.line, "a user outside any poll entry")
            remote = value()
            user = User(remote.text, token.line)
            entry.users.append(user)
            target = user.settings
            index += 1
            continue
        if target is None:
            raise RcSyntaxError(token.line, "a word before any poll or defaults entry")
        if not token.quoted and word == "no":
            negate = True
            index += 1
            continue
        bare = NO_FLAGS.match(word) if not token.quoted else None
        if bare:
            target.flags[bare.group(1)] = False
            index += 1
            continue
        if not token.quoted and word in SECRET:
            value()  # the password: stepped over, never kept
            index += 1
            continue
        if not token.quoted and word == "envelope":
            if negate:
                negate = False
            else:  # envelope [skip count] header
                if value().text.lstrip("-").isdigit():
                    value()
            index += 1
            continue
        if not token.quoted and word in ONE_VALUE:
            target.values[_canonical(word)] = value().text
            index += 1
            continue
        if not token.quoted and word in LISTS:
            index += 1
            while index < len(stream) and not _is_keyword(stream[index]):
                index += 1
            continue
        if not token.quoted and word in FLAGS:
            target.flags[_canonical(word)] = not negate
            negate = False
            index += 1
            continue
        if not token.quoted and word in ("pop3", "imap", "apop", "rpop", "auto", "pop2", "etrn"):
            target.values["proto"] = word  # `poll host pop3` without the keyword
            index += 1
            continue
        # The word itself is not shown: after a mistyped keyword it may be a password.
        raise RcSyntaxError(token.line, "a word fetchmail does not expect there")
    return entries


def _canonical(word: str) -> str:
    return {
        "protocol": "proto",
        "service": "port",
        "authenticate": "auth",
        "preauth": "auth",
        "preauthenticate": "auth",
        "pre": "preconnect",
        "post": "postconnect",
        "pass8": "pass8bits",
        "mimedec": "mimedecode",
    }.get(word, word)


def _is_keyword(token: Token) -> bool:
    if token.quoted:
        return False
    word = token.text.lower()
    return (
        word in ONE_VALUE
        or word in LISTS
        or word in FLAGS
        or word in SECRET
        or word in ENTRY
        or word in NOISE
        or word in ("user", "username", "no", "set", "envelope")
        or bool(NO_FLAGS.match(word))
    )


def scan_user(files: MachineFiles, user: UserHome) -> Iterator[Found]:
    path = user.home / ".fetchmailrc"
    if not path.is_file():
        return
    origin = files.display(path)
    try:
        text = files.read_bytes(path, RC_LIMIT).decode("utf-8", "replace")
        entries = parse_rc(text)
    except UnreadableFile as exc:
        yield Skipped(SOURCE, origin, f".fetchmailrc {exc.reason}")
        return
    except RcSyntaxError as exc:
        yield Skipped(
            SOURCE, origin, f".fetchmailrc has a syntax error ({exc}); fetchmail refuses it too"
        )
        return
    store = _spool(files, user)
    for entry in entries:
        if not entry.active:
            yield Skipped(
                SOURCE,
                f"{origin}: line {entry.line}",
                f"skip {entry.host}: fetchmail does not poll this entry unless named on its "
                "command line",
            )
            continue
        if not entry.users:
            yield Skipped(SOURCE, origin, f"poll {entry.host} names no user; nothing is fetched")
        for polled in entry.users:
            yield _account(files, user, origin, entry, polled, store)


def _account(
    files: MachineFiles, user: UserHome, origin: str, entry: Entry, polled: User, store: LocalStore
) -> Account:
    settings = entry.settings.merged(polled.settings)
    proto = settings.values.get("proto", "auto").lower()
    protocol, plain, tls = PROTOCOLS.get(proto, (Protocol.OTHER, None, None))
    ssl = settings.flags.get("ssl", False)
    sslproto = settings.values.get("sslproto")
    if ssl:
        security, raw = Security.TLS, "ssl"
    elif sslproto == "":
        security, raw = Security.NONE, "sslproto '' (TLS switched off)"
    elif sslproto is not None:
        security, raw = Security.STARTTLS, f"sslproto {sslproto} (STARTTLS required)"
    else:
        security, raw = Security.STARTTLS, "no ssl, no sslproto: STARTTLS when offered, else plain"
    port_text = settings.values.get("port", "")
    port = int(port_text) if port_text.isdigit() else (tls if ssl else plain)
    keep = settings.flags.get("keep", False)
    leave = keep if protocol is Protocol.POP3 else None
    detail = None
    if protocol is Protocol.POP3:
        detail = (
            "keep a copy on the server (keep)"
            if keep
            else "mail is removed from the server once fetched (no keep, the default)"
        )
    via = settings.values.get("via")
    remote = polled.remote
    name = f"{remote}@{entry.host}"
    return Account(
        client=Client.FETCHMAIL,
        user=user.name,
        profile=origin,
        key=f"{entry.host}/{remote}/{polled.line}",
        name=name,
        email=remote if "@" in remote else None,
        protocol=protocol,
        declared_type=proto,
        incoming=Endpoint(via or entry.host, port, security, remote, _auth(settings), raw),
        origin=f"{origin}: line {polled.line}",
        addresses=(remote,) if "@" in remote else (),
        leave_on_server=leave,
        leave_on_server_detail=detail,
        local_store=store if proto not in ("etrn", "odmr") else None,  # those fetch nothing
    )


def _auth(settings: Settings) -> str | None:
    auth = settings.values.get("auth", "any").lower()
    return {
        "password": "password",
        "any": "password",
        "cram-md5": "password-encrypted",
        "ntlm": "ntlm",
        "gssapi": "kerberos",
        "kerberos": "kerberos",
        "kerberos_v5": "kerberos",
        "external": "tls-certificate",
    }.get(auth, auth)


def _spool(files: MachineFiles, user: UserHome) -> LocalStore:
    """fetchmail hands mail to the local mail system (SMTP to localhost or an MDA); where it ends
    is that system's choice [I]: ~/Maildir when there is one, else the user's spool file."""
    maildir = user.home / "Maildir"
    note = "where the local mail system delivers fetched mail (fetchmail keeps none itself)"
    if maildir.is_dir():
        try:
            real = files.check_inside(maildir)
        except UnreadableFile as exc:
            return LocalStore(files.display(maildir), 0, exists=False, note=exc.reason)
        return LocalStore(files.display(maildir), files.mail_bytes(real, NOT_MAIL), note=note)
    spool = (files.root or Path("/")) / "var" / "mail" / user.name
    try:
        real = files.check_inside(spool)
        size = real.stat().st_size
    except (UnreadableFile, OSError):
        return LocalStore(files.display(spool), 0, exists=False, note=note)
    return LocalStore(files.display(spool), size, note=note)
