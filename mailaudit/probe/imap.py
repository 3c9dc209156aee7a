"""The IMAP side of a probe (RFC 3501, RFC 9051): greeting, CAPABILITY, STARTTLS, LOGOUT.

A server is IMAP when its greeting is `* OK`, `* PREAUTH` or `* BYE` (RFC 3501 §7.1): the
greeting's grammar decides, never a keyword somewhere in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailaudit.model import ProbeError
from mailaudit.probe.wire import Channel, WireError

MAX_LINES = 200  # untagged lines tolerated while waiting for one command's completion
_GREETING = re.compile(r"^\* (OK|PREAUTH|BYE)\b", re.IGNORECASE)
_CODE_CAPABILITY = re.compile(r"^\* (?:OK|PREAUTH) \[CAPABILITY ([^\]]*)\]", re.IGNORECASE)


def is_greeting(line: str) -> bool:
    return bool(_GREETING.match(line))


@dataclass
class Facts:
    greeting: str
    before_tls: list[str] | None = None
    after_tls: list[str] | None = None
    starttls_offered: bool | None = None
    starttls_enforced: bool | None = None
    notes: list[str] = field(default_factory=list)


def tokens(text: str) -> list[str]:
    """Capability atoms, upper-cased (they are case-insensitive), in order, once each."""
    return list(dict.fromkeys(word.upper() for word in text.split()))


async def converse(channel: Channel, greeting: str) -> Facts:
    facts = Facts(greeting=greeting)
    if greeting[:5].upper() == "* BYE":
        raise WireError(ProbeError.PROTOCOL, f"the server refused the session: {greeting[:200]}")
    from_greeting = _CODE_CAPABILITY.match(greeting)
    first = await _capability(
        channel, "ma1", tokens(from_greeting.group(1)) if from_greeting else None
    )
    if channel.encrypted:
        facts.after_tls = first
    else:
        facts.before_tls = first
        facts.starttls_offered = "STARTTLS" in first
        facts.starttls_enforced = "LOGINDISABLED" in first  # RFC 3501 §6.2.3
        if facts.starttls_offered and channel.try_starttls:
            channel.send("ma2 STARTTLS")
            answer = await _completion(channel, "ma2")
            if answer.upper().startswith("OK"):
                await channel.upgrade()
                # RFC 3501 §6.2.1: capabilities before TLS must be discarded and asked again.
                facts.after_tls = await _capability(channel, "ma3", None)
            else:
                facts.notes.append(f"STARTTLS was offered but refused: {answer[:120]}")
    await _logout(channel)
    return facts


async def _capability(channel: Channel, tag: str, fallback: list[str] | None) -> list[str]:
    channel.send(f"{tag} CAPABILITY")
    found: list[str] = []
    for _ in range(MAX_LINES):
        line = await channel.line()
        upper = line.upper()
        if upper.startswith("* CAPABILITY"):
            found += tokens(line[len("* CAPABILITY") :])
        elif upper.startswith(f"{tag.upper()} "):
            if upper[len(tag) + 1 :].startswith("OK") and found:
                return list(dict.fromkeys(found))
            if fallback is not None:
                return fallback
            raise WireError(ProbeError.PROTOCOL, f"CAPABILITY failed: {line[:120]}")
    raise WireError(ProbeError.PROTOCOL, f"CAPABILITY did not complete within {MAX_LINES} lines")


async def _completion(channel: Channel, tag: str) -> str:
    """The text after the tag of the command's completion (`OK ...`, `NO ...`, `BAD ...`)."""
    for _ in range(MAX_LINES):
        line = await channel.line()
        if line.upper().startswith(f"{tag.upper()} "):
            return line[len(tag) + 1 :]
    raise WireError(ProbeError.PROTOCOL, f"{tag} did not complete within {MAX_LINES} lines")


async def _logout(channel: Channel) -> None:
    """Say goodbye; a server that hangs up first is fine."""
    try:
        channel.send("ma9 LOGOUT")
        await _completion(channel, "ma9")
    except WireError:
        pass


def sasl(capabilities: list[str]) -> tuple[str, ...]:
    """The SASL mechanisms, from AUTH=... atoms (RFC 3501 §7.2.1)."""
    return tuple(c[5:] for c in capabilities if c.startswith("AUTH="))
