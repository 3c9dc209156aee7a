"""What every store reader needs: read a file read-only, put CRLF on the wire, name roles, date.

The readers keep no message bytes between calls: they remember where a message is (a path, an
offset and a length) and read it again in `load()`, in chunks, so that memory stays bounded by
one message however large the store; `chunks()` reads it again without joining the chunks, for
a message too large to hold whole.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TypeVar

from mailaudit.errors import MailauditError
from mailaudit.machine import open_read_only
from mailaudit.migrate.stores.base import Flag, Role, SourceFolder, StoredMessage

CHUNK = 1024 * 1024
MAX_DEPTH = 64  # deeper than any client nests folders: a bound on hostile or looping trees
HEADER_LIMIT = 256 * 1024  # header bytes kept to read flags and dates; a header block is tiny
FIRST_READ = 16 * 1024  # most header blocks fit; a longer one is read again, four times larger


class UnreadableStore(MailauditError, OSError):
    """A store (or the path given for one, or a message in it) that cannot be read as the format
    asked for. An OSError too: whoever catches the operating system's read errors catches it."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def refusing_load(path: Path, reason: str) -> Callable[[], bytes]:
    """The load() of a message that must not be uploaded: asking for its bytes is an error."""

    def load() -> bytes:
        raise UnreadableStore(path, reason)

    return load


def read_chunks(path: Path, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
    """The bytes of a file (or of one range of it), a chunk at a time, opened read-only."""
    fd = open_read_only(path)
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        left = length
        while left is None or left > 0:
            chunk = os.read(fd, CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                if left:
                    raise OSError(f"{path} is shorter than when it was first read")
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
    finally:
        os.close(fd)


def read_head(path: Path, limit: int) -> bytes:
    """At most `limit` bytes from the start of a file."""
    fd = open_read_only(path)
    try:
        parts: list[bytes] = []
        left = limit
        while left > 0:
            chunk = os.read(fd, min(CHUNK, left))
            if not chunk:
                break
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)
    finally:
        os.close(fd)


def crlf_chunks(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Bare LF -> CRLF (IMAP literals need CRLF, RFC 9051 §4.3); CRLF and lone CR kept as they are.

    A CR at the end of a chunk is held back until the next chunk shows whether an LF follows.
    """
    held = b""
    for chunk in chunks:
        data = held + chunk
        held = b""
        if data.endswith(b"\r"):
            data, held = data[:-1], b"\r"
        if not data:
            continue
        if b"\r" in data:
            yield data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        else:  # LF line ends only, the usual case: one pass less
            yield data.replace(b"\n", b"\r\n")
    if held:
        yield held


def join_chunks(chunks: Iterable[bytes]) -> bytes:
    """One bytes object without a second full copy: BytesIO hands over its own buffer."""
    buffer = io.BytesIO()
    for chunk in chunks:
        buffer.write(chunk)
    return buffer.getvalue()


def file_chunks(path: Path, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
    """A message file (or a range of one) as it goes on the wire, a chunk at a time."""
    with unreadable_as_store_error(path):
        yield from crlf_chunks(read_chunks(path, offset, length))


def joined(chunks: Callable[[], Iterable[bytes]]) -> Callable[[], bytes]:
    """The load() of a message whose chunks() a reader gives: those chunks, joined."""
    return lambda: join_chunks(chunks())


@contextmanager
def unreadable_as_store_error(path: Path) -> Iterator[None]:
    """load() fails with UnreadableStore only, also when a file went away or shrank after the
    store was listed (a client running, a disk failing)."""
    try:
        yield
    except UnreadableStore:
        raise
    except OSError as error:
        raise UnreadableStore(
            path, f"could not be read again: {error.strerror or error}"
        ) from error


def read_header_block(path: Path, offset: int = 0, length: int | None = None) -> bytes:
    """The header section of the message in a file (or in one range of it), read in growing
    pieces up to HEADER_LIMIT: a header block is a few kilobytes, the message may be megabytes."""
    want = FIRST_READ
    while True:
        cap = offset + (want if length is None else min(want, length))
        head = read_head(path, cap)[offset:]
        block = header_block(head)
        if len(block) < len(head) or len(head) < cap - offset or want >= HEADER_LIMIT:
            return block
        want *= 4


def header_block(head: bytes) -> bytes:
    """The header section of a message that starts with `head` (up to the first empty line)."""
    match = re.search(rb"(\r?\n)\r?\n", head)
    return head[: match.end(1)] if match else head


def header_values(headers: bytes, name: bytes) -> list[bytes]:
    """Every unfolded value of one header field (RFC 5322 §2.2.3), in order of appearance."""
    values = []
    pattern = re.compile(rb"^" + re.escape(name) + rb"[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.I | re.M)
    for match in pattern.finditer(headers):
        values.append(re.sub(rb"\r?\n[ \t]", b" ", match.group(1)).strip())
    return values


def parse_date(value: bytes | str) -> datetime | None:
    """An RFC 5322 date as an aware datetime; None when it cannot be read (never a guess)."""
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    try:
        date = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if date.tzinfo is None:  # "-0000" or no zone: RFC 5322 §3.3 says UTC is the best guess
        date = date.replace(tzinfo=timezone.utc)
    return date if 1970 <= date.year < 10000 else None


def newest_received(headers: bytes) -> datetime | None:
    """The date of the topmost Received field: when the last server took the message.

    Received fields are prepended on the way (RFC 5321 §4.4), so the first one is the newest;
    its date follows the last ';'.
    """
    for value in header_values(headers, b"Received"):
        _, sep, date = value.rpartition(b";")
        if sep:
            parsed = parse_date(date)
            if parsed is not None:
                return parsed
    return None


def message_date(headers: bytes) -> datetime | None:
    """INTERNALDATE for stores that keep no receipt time: the newest Received, else Date."""
    received = newest_received(headers)
    if received is not None:
        return received
    for value in header_values(headers, b"Date"):
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    return None


def whole_file_message(
    folder: SourceFolder, path: Path, key: str, flags: frozenset[Flag], skip: str | None = None
) -> StoredMessage:
    """A message that is one whole file (MH, .eml): its size on disk, its date from its
    headers, else the file's time; an empty or unreadable file is skipped with the reason."""
    try:
        info = path.lstat()
        date = message_date(read_header_block(path)) or mtime_date(info)
    except OSError as error:
        reason = f"unreadable: {error.strerror or error}"
        return StoredMessage(folder, key, 0, frozenset(), None, refusing_load(path, reason), reason)
    if info.st_size == 0 and skip is None:
        skip = "empty message"
    chunks = lambda: file_chunks(path)  # noqa: E731
    return StoredMessage(folder, key, info.st_size, flags, date, joined(chunks), skip, None, chunks)


def mtime_date(info: os.stat_result) -> datetime | None:
    return datetime.fromtimestamp(info.st_mtime, timezone.utc) if info.st_mtime > 0 else None


# Folder names clients give their special folders, lower-cased, in the languages we meet
# (Thunderbird, Apple Mail, Outlook, Evolution, KMail, Claws; English, German, French, Spanish,
# Italian, Dutch). Only top-level folders get a role: "Projects/Sent" is not the Sent folder.
ROLE_NAMES: dict[str, Role] = {
    **dict.fromkeys(["inbox", "posteingang", "boîte de réception", "bandeja de entrada",
                     "posta in arrivo", "postvak in"], Role.INBOX),
    **dict.fromkeys(["sent", "sent items", "sent messages", "sent mail", "sent-mail",
                     "gesendet", "gesendete elemente", "gesendete objekte", "envoyés",
                     "éléments envoyés", "enviados", "elementos enviados", "posta inviata",
                     "verzonden items", "verzonden"], Role.SENT),
    **dict.fromkeys(["drafts", "draft", "entwürfe", "brouillons", "borradores", "bozze",
                     "concepten"], Role.DRAFTS),
    **dict.fromkeys(["trash", "deleted items", "deleted messages", "deleted", "bin",
                     "papierkorb", "gelöschte elemente", "gelöschte objekte", "corbeille",
                     "éléments supprimés", "papelera", "elementos eliminados", "cestino",
                     "posta eliminata", "prullenbak", "verwijderde items"], Role.TRASH),
    **dict.fromkeys(["junk", "spam", "junk e-mail", "junk email", "junk mail", "bulk mail",
                     "junk-e-mail", "courrier indésirable", "correo no deseado",
                     "posta indesiderata", "ongewenste e-mail"], Role.JUNK),
    **dict.fromkeys(["archive", "archives", "archiv", "archivo", "archivio", "archief"],
                    Role.ARCHIVE),
}  # fmt: skip


def role_for(path: tuple[str, ...]) -> Role | None:
    if len(path) != 1:
        return None
    return ROLE_NAMES.get(unicodedata.normalize("NFC", path[0]).casefold())


Where = TypeVar("Where")


def add_folder(
    folders: dict[SourceFolder, Where], path: tuple[str, ...], role: Role | None, where: Where
) -> None:
    """Register a folder under a path no other folder has: a second "Sent" (a Maildir++ `.Sent`
    beside a `Sent/`) becomes "Sent (2)", so that neither hides the other's messages."""
    taken = {folder.path for folder in folders}
    unique, number = path, 2
    while unique in taken:
        unique = (*path[:-1], f"{path[-1]} ({number})")
        number += 1
    folders[SourceFolder(unique, role)] = where


def folder_tree(
    root: Path, holds_mail: Callable[[Path], bool], none: str
) -> dict[SourceFolder, Path]:
    """The folders of a tree (its top included) that hold mail by `holds_mail`, each named by
    its path from the top: an MH tree, a tree of .eml folders. A tree with none is an
    UnreadableStore saying `none`; hidden folders and links are not entered."""
    if not root.is_dir():
        raise UnreadableStore(root, "not a folder")
    try:
        top: tuple[str, ...] = (root.name,)
        found = [(top, root)] if holds_mail(root) else []
        found += _subfolders(root, top if found else (), holds_mail)
    except OSError as error:
        raise UnreadableStore(root, error.strerror or str(error)) from error
    if not found:
        raise UnreadableStore(root, none)
    folders: dict[SourceFolder, Path] = {}
    for path, directory in found:
        add_folder(folders, path, role_for(path), directory)
    return folders


def _subfolders(
    directory: Path, parent: tuple[str, ...], holds_mail: Callable[[Path], bool]
) -> list[tuple[tuple[str, ...], Path]]:
    found: list[tuple[tuple[str, ...], Path]] = []
    if len(parent) >= MAX_DEPTH:
        return found
    with os.scandir(directory) as scan:
        children = sorted(
            e.name for e in scan if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
        )
    for name in children:
        path = (*parent, name)
        if holds_mail(directory / name):
            found.append((path, directory / name))
        found += _subfolders(directory / name, path, holds_mail)
    return found
