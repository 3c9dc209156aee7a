"""Thunderbird's and SeaMonkey's message state, kept in the message itself.

The mailnews store writes `X-Mozilla-Status: %04.4x` (flags & 0xFFFF) and
`X-Mozilla-Status2: %08.8x` (flags & 0xFFFF0000) at the top of every message, in the mbox and in
the maildir store alike, and rewrites them in place when the state changes (bit values:
comm-central `mailnews/base/public/nsMsgMessageFlags.idl`; writing: `nsMsgBrkMBoxStore.cpp`
`ChangeFlags`, `nsMsgLocalStoreUtils.cpp`).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailaudit.migrate.stores.base import Flag
from mailaudit.migrate.stores.shared import header_values

READ = 0x0001
REPLIED = 0x0002
MARKED = 0x0004
EXPUNGED = 0x0008  # "already gone, but the folder hasn't been compacted yet"; never unset
PARTIAL = 0x0400  # a POP message whose body was not downloaded (headers only)
QUEUED = 0x0800  # waiting in the Outbox, never sent
FORWARDED = 0x1000
IMAP_DELETED = 0x00200000  # in X-Mozilla-Status2: marked \Deleted, not yet expunged

SKIP_EXPUNGED = "deleted, not yet compacted"
SKIP_QUEUED = "unsent, waiting in the Outbox"
SKIP_IMAP_DELETED = "marked deleted, not yet expunged"
NOTE_PARTIAL = "partial POP download: only the headers were fetched"


@dataclass(frozen=True)
class MozillaState:
    flags: frozenset[Flag]
    skip: str | None
    note: str | None


def mozilla_state(headers: bytes) -> MozillaState | None:
    """The state a Thunderbird message's headers record; None when they carry none
    (an imported or hand-made mbox: nothing is known about it)."""
    status = _hex(header_values(headers, b"X-Mozilla-Status"))
    status2 = _hex(header_values(headers, b"X-Mozilla-Status2"))
    if status is None and status2 is None:
        return None
    bits = ((status or 0) & 0xFFFF) | ((status2 or 0) & 0xFFFF0000)
    flags = {
        flag
        for bit, flag in (
            (READ, Flag.SEEN),
            (REPLIED, Flag.ANSWERED),
            (MARKED, Flag.FLAGGED),
            (FORWARDED, Flag.FORWARDED),
        )
        if bits & bit
    }
    skip = None
    if bits & EXPUNGED:
        skip = SKIP_EXPUNGED
    elif bits & QUEUED:
        skip = SKIP_QUEUED
    elif bits & IMAP_DELETED:
        skip = SKIP_IMAP_DELETED
    note = NOTE_PARTIAL if bits & PARTIAL else None
    return MozillaState(frozenset(flags), skip, note)


def _hex(values: list[bytes]) -> int | None:
    """The first value that reads as hexadecimal; Thunderbird writes exactly one."""
    for value in values:
        try:
            return int(value, 16)
        except ValueError:
            continue
    return None
