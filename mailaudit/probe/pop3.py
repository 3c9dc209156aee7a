"""The POP3 side of a probe (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS): greeting, CAPA, STLS,
and on request a login that counts the mail left on the server.

A server is POP3 when its greeting is `+OK` or `-ERR` (RFC 1939 §4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailaudit.model import MailboxCheck, ProbeError
from mailaudit.probe.wire import Channel, WireError

MAX_LINES = 200  # capability lines; UIDL listings are counted, not stored, so have no limit


def is_greeting(line: str) -> bool:
    return line[:3] == "+OK" or line[:4] == "-ERR"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)  # never shown, never written

    def __str__(self) -> str:
        return f"Credentials({self.username})"


@dataclass
class Facts:
    greeting: str
    before_tls: list[str] | None = None
    after_tls: list[str] | None = None
    starttls_offered: bool | None = None
    starttls_enforced: bool | None = None
    mailbox: MailboxCheck | None = None
    login_refused: str | None = None
    notes: list[str] = field(default_factory=list)


async def converse(
    channel: Channel, greeting: str, login: Credentials | None, may_login: bool
) -> Facts:
    facts = Facts(greeting=greeting)
    if greeting.startswith("-ERR"):
        raise WireError(ProbeError.PROTOCOL, f"the server refused the session: {greeting[:200]}")
    first = await _capa(channel)
    if channel.encrypted:
        facts.after_tls = first
    else:
        facts.before_tls = first
        # Without CAPA (RFC 2449 is optional) STLS can only be tried.
        facts.starttls_offered = has(first, "STLS") if first is not None else None
        if first is not None:
            plaintext_login = has(first, "USER") or bool(sasl(first))
            facts.starttls_enforced = not plaintext_login
        if channel.try_starttls and facts.starttls_offered is not False:
            channel.send("STLS")
            answer = await channel.line()
            if answer.startswith("+OK"):
                facts.starttls_offered = True
                await channel.upgrade()
                facts.after_tls = await _capa(channel)  # RFC 2595 §4: ask again after TLS
            elif facts.starttls_offered:
                facts.notes.append(f"STLS was offered but refused: {answer[:120]}")
            else:
                facts.starttls_offered = False
    if login is not None:
        await _count_mail(channel, facts, login, may_login)
    await _quit(channel)
    return facts


async def _capa(channel: Channel) -> list[str] | None:
    """CAPA's lines, each `NAME args` with NAME upper-cased; None when CAPA is not supported."""
    channel.send("CAPA")
    answer = await channel.line()
    if not answer.startswith("+OK"):
        return None
    found: list[str] = []
    for _ in range(MAX_LINES):
        line = await channel.line()
        if line == ".":
            return found
        line = line[1:] if line.startswith("..") else line  # dot-stuffing, RFC 1939 §3
        name, _, arguments = line.strip().partition(" ")
        found.append(f"{name.upper()} {arguments.strip()}".strip())
    raise WireError(ProbeError.PROTOCOL, f"CAPA did not end within {MAX_LINES} lines")


async def _count_mail(channel: Channel, facts: Facts, login: Credentials, may_login: bool) -> None:
    """RFC 8314 §5.1: credentials only over TLS, and only to a server whose certificate passed."""
    if not channel.encrypted:
        facts.login_refused = "not logged in: the connection is not encrypted"
        return
    if not may_login:
        facts.login_refused = (
            "not logged in: the certificate failed verification (--insecure-login overrides)"
        )
        return
    channel.send(f"USER {login.username}")
    if not (await channel.line()).startswith("+OK"):
        facts.login_refused = "the server refused the user name"
        return
    channel.send(f"PASS {login.password}")
    answer = await channel.line()
    if not answer.startswith("+OK"):
        facts.login_refused = f"login refused: {answer[:120]}"
        return
    channel.send("STAT")
    stat = (await channel.line()).split()
    if len(stat) < 3 or stat[0] != "+OK" or not (stat[1].isdigit() and stat[2].isdigit()):
        raise WireError(ProbeError.PROTOCOL, "STAT answered in an unknown form")
    channel.send("UIDL")
    uidl_count: int | None = None
    if (await channel.line()).startswith("+OK"):
        uidl_count = 0
        while (await channel.line()) != ".":
            uidl_count += 1
    facts.mailbox = MailboxCheck(messages=int(stat[1]), bytes=int(stat[2]), uidl_count=uidl_count)


async def _quit(channel: Channel) -> None:
    try:
        channel.send("QUIT")
        await channel.line()
    except WireError:
        pass


def has(capabilities: list[str], name: str) -> bool:
    return any(entry.split(" ", 1)[0] == name for entry in capabilities)


def sasl(capabilities: list[str]) -> tuple[str, ...]:
    for entry in capabilities:
        name, _, arguments = entry.partition(" ")
        if name == "SASL":
            return tuple(arguments.upper().split())
    return ()
