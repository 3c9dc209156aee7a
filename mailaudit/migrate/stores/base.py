"""What every store reader gives the uploader: folders, and messages with flags and dates.

A reader streams: it holds one message at a time, opens every client file read-only (through
`mailaudit.machine.open_read_only`), and never the stdlib `mailbox` module, which opens mbox files
read-write and creates Maildir folders. A message it cannot read is yielded with `skip` set, so
the report counts it; it never ends the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol


class Flag(str, Enum):
    """The IMAP flags a store can carry over (RFC 9051 §2.3.2; $Forwarded: RFC 5788 registry)."""

    SEEN = "\\Seen"
    ANSWERED = "\\Answered"
    FLAGGED = "\\Flagged"
    DRAFT = "\\Draft"
    FORWARDED = "$Forwarded"


class Role(str, Enum):
    """What a folder is for, so that it maps onto the server's SPECIAL-USE folder (RFC 6154)
    whatever its name or language. INBOX maps onto the server's INBOX."""

    INBOX = "inbox"
    SENT = "sent"
    DRAFTS = "drafts"
    TRASH = "trash"
    JUNK = "junk"
    ARCHIVE = "archive"


@dataclass(frozen=True)
class SourceFolder:
    path: tuple[str, ...]  # folder names from the store's top, as the client shows them
    role: Role | None = None


@dataclass(frozen=True)
class StoredMessage:
    folder: SourceFolder
    key: str  # stable within the store: the same message has the same key on every run
    # Its size in the store, known without reading it (a file's size, an .emlx byte count):
    # what reports and progress count. load() can give a little more (CR before each LF).
    size: int
    flags: frozenset[Flag]
    internal_date: datetime | None  # timezone-aware; None: let the server choose
    load: Callable[[], bytes]  # the RFC 5322 message, CRLF line ends, deterministic bytes
    skip: str | None = None  # why it must never be uploaded ("deleted, not yet compacted")
    note: str | None = None  # reported, uploaded all the same ("partial POP download")
    # The bytes of load(), a chunk at a time, read again on every call: how a message too large
    # to hold goes out. None where the store builds the message whole (PST, a re-joined .emlx).
    chunks: Callable[[], Iterator[bytes]] | None = None


class StoreReader(Protocol):
    """One local mail store (a file or a folder tree) of one format."""

    def folders(self) -> Iterator[SourceFolder]: ...

    def messages(self, folder: SourceFolder) -> Iterator[StoredMessage]: ...
