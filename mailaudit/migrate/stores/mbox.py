"""mbox folders: Thunderbird's and SeaMonkey's Local Folders and POP accounts, and other mbox files.

Layout (Thunderbird's berkeleystore): one file per folder, no extension (`Inbox`, `Sent`); its
subfolders in `Inbox.sbd/`; `Inbox.msf` beside it is the summary, never read. Files that are not
mail are skipped as the store itself skips them (comm-central `nsMsgLocalStoreUtils.cpp`
`nsShouldIgnoreFile`), and a folder file must begin with "From " (or be empty).

Splitting follows Thunderbird's own reader (comm-central `mailnews/base/src/MboxMsgInputStream.cpp`,
`MboxParser`): a message starts after a "From " line; in the body, a line starting "From " ends
the message only when the two lines after it look like header fields (old files left body lines
unescaped); the one blank line before the next "From " line (or the end of the file) is the
writer's separator, not part of the message.

Escaping, decided per message from its "From " line:

- mboxrd: Thunderbird since `MboxMsgOutputStream` writes "From <sender> <date>\\r\\n" (always CRLF)
  and prefixes one '>' to every line matching `>*From `, reversibly; the reader removes one '>'
  (`MboxMsgOutputStream.h`, "Uses reversible From escaping, as per mboxrd").
- mboxo: older mailnews versions and most other writers ended the "From " line with the file's
  own line end (LF on Linux and macOS) and quoted only `From ` lines, so a stored `>From ` line
  may have been either; the mboxo reading removes one '>' from `>From ` only and leaves `>>From `
  (RFC 4155 appendix; loc.gov fdd000383). That is lossy by nature: an original `>From ` line
  comes out as `From `. An old file written on Windows (CRLF "From " lines) is read as mboxrd;
  the two readings differ only on lines starting `>>From `.

The X-Mozilla-* header lines are kept: they are part of the stored message, the message stays
byte-identical to the file after unescaping and LF -> CRLF, and an IMAP client ignores them.
INTERNALDATE is the "From " line's date (Thunderbird writes the receipt time there, in UTC),
else the newest Received date.
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from mailaudit.machine import open_read_only
from mailaudit.migrate.stores.base import Flag, SourceFolder, StoredMessage
from mailaudit.migrate.stores.mozilla import mozilla_state
from mailaudit.migrate.stores.shared import (
    HEADER_LIMIT,
    MAX_DEPTH,
    UnreadableStore,
    add_folder,
    crlf_chunks,
    header_values,
    joined,
    message_date,
    read_chunks,
    read_head,
    role_for,
    unreadable_as_store_error,
)

LINE_LIMIT = 64 * 1024  # longer lines are read in pieces; only line starts matter here
BUFFER = 1024 * 1024
IGNORED_NAMES = frozenset(
    {
        "msgfilterrules.dat", "popstate.dat", "filterlog.html", "junklog.html", "rules.dat",
        "sort.dat", "mailfilt.log", "feeds.json", "feeditems.json", "folders.db",
    }
)  # fmt: skip
IGNORED_SUFFIXES = (".msf", ".sbd", ".dat", ".html", ".log", ".snm", ".toc", ".json", ".mozmsgs",
                    ".sqlite", ".db", ".bak", ".tmp")  # fmt: skip
SKIP_DELETED = "deleted (X-Status D), not yet expunged"
FROM_DATE = re.compile(
    rb"([A-Z][a-z]{2}) +([A-Z][a-z]{2}) +(\d{1,2}) +(\d{1,2}):(\d{2})(?::(\d{2}))? +(\d{4})"
)
MONTHS = {m: i for i, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
FIELD_NAME = re.compile(rb"[!-9;-~]*")  # printable US-ASCII but ':' (RFC 5322 §2.2)
LOOK_AHEAD = 8192
SKIP_WINDOW = 64 * 1024


def is_mbox_file(path: Path) -> bool:
    """A folder file: not a file the store ignores, and starting with "From " (or empty)."""
    name = path.name
    if name.startswith((".", "#")) or name.endswith("~") or name.lower() in IGNORED_NAMES:
        return False
    if name.lower().endswith(IGNORED_SUFFIXES):
        return False
    try:
        if not path.is_file() or path.is_symlink():
            return False
        head = read_head(path, 5)
    except OSError:
        return False
    return head == b"From " or (head == b"" and path.with_name(name + ".msf").exists())


# What other programs end an mbox file's name with: an export (`Archive.mbox`, Google Takeout),
# Eudora (`In.mbx`), Opera Mail (`.mbs`). Thunderbird's own folder files have no extension.
MAIL_FILE_EXTENSIONS = (".mbox", ".mbx", ".mbs")


def single_file_folder(name: str) -> str:
    """The folder one mbox file given alone becomes: its name without a mail file's extension
    (`Archive.mbox` is "Archive"; a '.' left in it would be a hierarchy separator to many
    servers, and Dovecot's Maildir++ refuses it)."""
    stem, dot, extension = name.rpartition(".")
    if dot and stem and f".{extension.lower()}" in MAIL_FILE_EXTENSIONS:
        return stem
    return name


class MboxStore:
    """One mbox file, or a folder tree of them (Thunderbird's `.sbd` nesting)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[SourceFolder, Path] = {}
        try:
            if root.is_dir():
                top = (root.name[: -len(".mbox")],) if _is_export(root.name) else ()
                found = list(self._walk(root, top))
            elif is_mbox_file(root):
                found = [((single_file_folder(root.name),), root)]
            else:
                raise UnreadableStore(root, "not an mbox file (it does not start with 'From ')")
        except OSError as error:
            raise UnreadableStore(root, error.strerror or str(error)) from error
        if not found:
            raise UnreadableStore(root, "no mbox folder in it")
        for path, file in found:
            add_folder(self._files, path, role_for(path), file)

    def folders(self) -> Iterator[SourceFolder]:
        yield from self._files

    def messages(self, folder: SourceFolder) -> Iterator[StoredMessage]:
        file = self._files[folder]
        relative = file.name if file == self.root else file.relative_to(self.root).as_posix()
        for found in scan(file):
            yield _stored(folder, file, relative, found)

    def _walk(
        self, directory: Path, parent: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], Path]]:
        if len(parent) >= MAX_DEPTH:
            return
        with os.scandir(directory) as scan_dir:
            names = sorted(e.name for e in scan_dir)
        exported = _is_export(directory.name)
        for name in names:
            path = directory / name
            if path.is_symlink():
                continue
            if is_mbox_file(path):
                # An Apple Mail export (and Mail 1.x's own layout): `Inbox.mbox/mbox` is "Inbox".
                yield (parent if exported and name == "mbox" and parent else (*parent, name)), path
            elif path.is_dir() and name.endswith(".sbd"):
                yield from self._walk(path, (*parent, name[:-4]))
            elif path.is_dir() and not name.startswith("."):
                yield from self._walk(path, (*parent, name[:-5] if _is_export(name) else name))


def _is_export(name: str) -> bool:
    """A folder named like `Inbox.mbox`: a mailbox Apple Mail exported (or Mail 1.x kept),
    its messages in a file named `mbox` inside."""
    return name.lower().endswith(".mbox") and len(name) > len(".mbox")


@dataclass(frozen=True)
class FoundMessage:
    offset: int  # of its "From " line
    start: int  # first byte of the message
    end: int  # first byte after it (its separator blank line excluded)
    mboxrd: bool
    size: int  # len(load())
    headers: bytes  # the header section, up to HEADER_LIMIT
    from_date: datetime | None


def scan(path: Path) -> Iterator[FoundMessage]:
    """Find the messages of one mbox file in one pass, holding one message's headers at most."""
    fd = open_read_only(path)
    with io.BufferedReader(io.FileIO(fd, "rb", closefd=True), BUFFER) as stream:
        lines = _Lines(stream)
        line = lines.next()
        while line is not None and not line.startswith(b"From "):
            line = lines.next()  # a file not starting with "From ": skip to the first message
        while line is not None:
            offset = lines.offset_of_last
            mboxrd = line.endswith(b"\r\n")
            from_date = _from_line_date(line)
            while line is not None and not line.endswith(b"\n"):
                line = lines.next()  # the rest of an overlong "From " line
            start = lines.position
            size = _Size(mboxrd)
            headers = bytearray()
            in_headers = True
            held_blank: bytes | None = None
            held_at = 0
            line = lines.next()
            while line is not None:
                at = lines.offset_of_last
                if in_headers:
                    if lines.starts_line and line in (b"\n", b"\r\n"):
                        in_headers = False
                    elif len(headers) < HEADER_LIMIT:
                        headers += line
                    size.add(line, lines.starts_line)
                    line = lines.next()
                    continue
                if lines.starts_line and line.startswith(b"From ") and lines.looks_like_headers():
                    break
                if lines.starts_line and line in (b"\n", b"\r\n"):
                    if held_blank is not None:
                        size.add(held_blank, True)
                    held_blank, held_at = line, at
                else:
                    if held_blank is not None:
                        size.add(held_blank, True)
                        held_blank = None
                    size.add(line, lines.starts_line)
                    if line.endswith(b"\n"):
                        lines.skip_ordinary(size)
                line = lines.next()
            end = held_at if held_blank is not None else lines.offset_of_last
            yield FoundMessage(offset, start, end, mboxrd, size.total(), bytes(headers), from_date)


class _Lines:
    """Lines of a file with their offsets; a line longer than LINE_LIMIT comes in pieces, and
    `starts_line` tells whether the current piece begins a line. One line of look-ahead."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.position = 0  # offset after the current piece
        self.offset_of_last = 0  # offset of the current piece
        self.starts_line = True
        self._ended_line = True

    def next(self) -> bytes | None:
        piece = self.stream.readline(LINE_LIMIT)
        if not piece:
            self.offset_of_last = self.position
            return None
        self.offset_of_last = self.position
        self.position += len(piece)
        self.starts_line = self._ended_line
        self._ended_line = piece.endswith(b"\n")
        return piece

    def skip_ordinary(self, size: _Size) -> None:
        """Count in the body lines ahead that can neither end the message nor be the blank line
        before its end (none starts with "From " or is empty), a window at a time: most of a
        mailbox is such lines, and reading them one by one is the slow part of a scan."""
        while True:
            back = self.stream.tell()
            ahead = self.stream.read(SKIP_WINDOW)
            stop = _special_line(ahead)
            cut = stop if stop >= 0 else ahead.rfind(b"\n") + 1
            self.stream.seek(back + cut)
            if cut:
                size.add_lines(ahead[:cut])
                self.position += cut
            if stop >= 0 or not cut:
                return

    def looks_like_headers(self) -> bool:
        """Thunderbird's test for a real separator (`IsReallyReallyFromLine`): the two lines
        after the "From " line start with a header field name (folded lines skipped); when the
        data runs out before anything shows otherwise, the benefit of the doubt. Unlike
        Thunderbird, a message with a single header field also counts (other writers)."""
        back = self.stream.tell()
        ahead = self.stream.read(LOOK_AHEAD)
        self.stream.seek(back)
        lines = ahead.split(b"\n")
        seen = 0
        for number, line in enumerate(lines):
            if seen == 2:
                return True
            if seen and line.startswith((b" ", b"\t")):
                continue
            if seen and line in (b"", b"\r"):
                return True  # one header field, then the end of the header section
            name = FIELD_NAME.match(line)
            length = name.end() if name else 0
            if length == len(line) and number == len(lines) - 1:
                return True
            if line[length : length + 1] != b":":
                return False
            seen += 1
        return True


def _special_line(data: bytes) -> int:
    """Where the first line that starts with "From " or is empty starts in `data` (which starts
    at a line start), or -1: found with bytes.find, many times faster than a pattern."""
    if data.startswith((b"From ", b"\n", b"\r\n")):
        return 0
    found = [data.find(needle) for needle in (b"\nFrom ", b"\n\n", b"\n\r\n")]
    return min((at + 1 for at in found if at >= 0), default=-1)


class _Size:
    """len() of a message after unescaping and LF -> CRLF, added up one line piece at a time."""

    def __init__(self, mboxrd: bool) -> None:
        self.mboxrd = mboxrd
        self.count = 0
        self.ends_cr = False

    def add(self, piece: bytes, starts_line: bool) -> None:
        if starts_line and is_escaped(piece, self.mboxrd):
            piece = piece[1:]
        bare = piece.count(b"\n") - piece.count(b"\r\n")
        if self.ends_cr and piece.startswith(b"\n"):
            bare -= 1
        self.count += len(piece) + bare
        self.ends_cr = piece.endswith(b"\r")

    def add_lines(self, lines: bytes) -> None:
        """Whole lines at once (they start at a line start and end with LF), as add() would
        count them one by one: escape_pattern() is is_escaped() for a block."""
        escapes = 0
        if lines.startswith(b">") or b"\n>" in lines:  # the pattern is slow; most blocks have none
            escapes = len(escape_pattern(self.mboxrd).findall(lines))
        bare = lines.count(b"\n") - lines.count(b"\r\n")
        self.count += len(lines) - escapes + bare
        self.ends_cr = False

    def total(self) -> int:
        return self.count


def is_escaped(line: bytes, mboxrd: bool) -> bool:
    """Whether a line (seen as its first LINE_LIMIT bytes, as `scan` sees it) is escaped."""
    head = line[:LINE_LIMIT]
    if mboxrd:
        return head.startswith(b">") and head.lstrip(b">").startswith(b"From ")
    return head.startswith(b">From ")


def escape_pattern(mboxrd: bool) -> re.Pattern[bytes]:
    """is_escaped() as one pattern for whole blocks: the '>' run and "From " must fit in the
    line's first LINE_LIMIT bytes, so `scan` and load() agree on every line."""
    return _escape_pattern(mboxrd, LINE_LIMIT)


@functools.lru_cache(maxsize=4)
def _escape_pattern(mboxrd: bool, limit: int) -> re.Pattern[bytes]:
    if limit < len(b">From "):
        return re.compile(rb"(?!)()")  # no escaped line fits
    if mboxrd:
        return re.compile(rb"^>(>{0,%d}From )" % (limit - len(b">From ")), re.M)
    return re.compile(rb"^>(From )", re.M)


def message_chunks(path: Path, start: int, end: int, mboxrd: bool) -> Iterator[bytes]:
    with unreadable_as_store_error(path):
        yield from crlf_chunks(_unescaped(path, start, end, mboxrd))


def _unescaped(path: Path, start: int, end: int, mboxrd: bool) -> Iterator[bytes]:
    """The message's bytes with one '>' taken from each escaped line, a block at a time.

    Blocks are cut after their last LF so that every line start is seen whole; a line longer
    than LINE_LIMIT is checked at its start only, as `scan` does when it sizes the message.
    """
    escaped = escape_pattern(mboxrd)
    carry = b""
    at_line_start = True
    for block in read_chunks(path, start, end - start):
        data = carry + block
        cut = data.rfind(b"\n") + 1
        ends_line = cut > 0
        if not ends_line:
            if len(data) <= LINE_LIMIT:
                carry = data
                continue
            cut = len(data)  # an overlong line: out it goes, checked at its start only
        head, carry = data[:cut], data[cut:]
        if not at_line_start:  # the rest of an overlong line: never escaped
            first = head.find(b"\n") + 1 or len(head)
            yield head[:first]
            head = head[first:]
        if head.startswith(b">") or b"\n>" in head:  # the pattern is slow; most blocks have none
            head = escaped.sub(rb"\1", head)
        yield head
        at_line_start = ends_line
    if carry:
        yield carry[1:] if at_line_start and is_escaped(carry, mboxrd) else carry


def _from_line_date(line: bytes) -> datetime | None:
    """The asctime-style date of a "From " line ("From - Sat Jan 03 01:05:34 1996"), UTC."""
    match = FROM_DATE.search(line, 5)
    if not match or match[2] not in MONTHS:
        return None
    _, month, day, hour, minute, second, year = match.groups()
    try:
        return datetime(
            int(year), MONTHS[month], int(day), int(hour), int(minute), int(second or 0),
            tzinfo=timezone.utc,
        )  # fmt: skip
    except ValueError:
        return None


def _stored(folder: SourceFolder, file: Path, relative: str, found: FoundMessage) -> StoredMessage:
    flags: frozenset[Flag] = frozenset()
    skip = note = None
    state = mozilla_state(found.headers)
    if state is not None:
        flags, skip, note = state.flags, state.skip, state.note
    else:
        flags, skip = _status_flags(found.headers)
    if found.size == 0:
        skip = "empty message"  # APPEND of zero octets must fail (RFC 3501 §6.3.11)
    date = found.from_date or message_date(found.headers)
    start, end, mboxrd = found.start, found.end, found.mboxrd  # not the headers: load() is kept
    chunks = lambda: message_chunks(file, start, end, mboxrd)  # noqa: E731
    return StoredMessage(
        folder=folder,
        key=f"{relative}:{found.offset}",
        size=found.size,
        flags=flags,
        internal_date=date,
        load=joined(chunks),
        skip=skip,
        note=note,
        chunks=chunks,
    )


def _status_flags(headers: bytes) -> tuple[frozenset[Flag], str | None]:
    """mutt's, pine's and elm's `Status: RO` and `X-Status: AFTD` (mutt `mbox.c`)."""
    status = b"".join(header_values(headers, b"Status"))
    x_status = b"".join(header_values(headers, b"X-Status"))
    flags = {Flag.SEEN} if b"R" in status else set()
    flags |= {flag for letter, flag in ((b"A", Flag.ANSWERED), (b"F", Flag.FLAGGED),
                                        (b"T", Flag.DRAFT)) if letter in x_status}  # fmt: skip
    return frozenset(flags), SKIP_DELETED if b"D" in x_status else None
