"""Apple Mail mailbox trees: `.mbox` folders of `.emlx` and `.partial.emlx` files.

Layout (research `applemail.md` §4): a mailbox is a directory `Name.mbox` (`.imapmbox` in Mail
2-3); a child mailbox sits inside its parent (`[Gmail].mbox/All Mail.mbox`). Its messages are in
`Messages/` directly (10.4-10.6) or below a store folder and numeric partitions
(`<UUID>/Data/7/4/Messages/`, V2-V10); attachments of partial messages in an `Attachments/`
beside `Messages/`.

An `.emlx` is a decimal byte count on the first line, that many bytes of RFC 822 message (LF line
ends), then an XML plist with `flags` and `date-received` (Unix seconds). The flag bits are jwz's
table as Thunderbird's importer copies it (comm-central `import/applemail/src/nsEmlxHelperUtils.h`):
bit 0 read, 1 deleted, 2 answered, 4 flagged, 6 draft, 8 forwarded.

A `.partial.emlx` has its attachment bodies cut out: the part keeps its headers plus
`X-Apple-Content-Length` and an empty body; the file is
`Attachments/<message id>/<IMAP part number>/<name>`. Re-joining puts the file back, encoded
as the part's Content-Transfer-Encoding says (base64 in 76-column lines), as
partial-emlx-converter (`qqilihq/partial-emlx-converter`, `converter.ts`) does; the bytes then
differ from the original message's, its Message-ID does not. A missing attachment file makes
the message skipped, never uploaded half.
"""

from __future__ import annotations

import base64
import os
import plistlib
import quopri
import re
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from xml.parsers.expat import ExpatError

from mailaudit.migrate.stores.base import Flag, SourceFolder, StoredMessage
from mailaudit.migrate.stores.shared import (
    MAX_DEPTH,
    UnreadableStore,
    add_folder,
    crlf_chunks,
    file_chunks,
    header_values,
    join_chunks,
    joined,
    message_date,
    read_chunks,
    read_head,
    read_header_block,
    refusing_load,
    role_for,
    unreadable_as_store_error,
)

MAILBOX_SUFFIXES = (".mbox", ".imapmbox")
TRAILER_LIMIT = 1024 * 1024
EMLX_FLAGS = ((0, Flag.SEEN), (2, Flag.ANSWERED), (4, Flag.FLAGGED), (6, Flag.DRAFT),
              (8, Flag.FORWARDED))  # fmt: skip
DELETED_BIT = 1
SKIP_DELETED = "deleted in Apple Mail, not yet erased"
APPLE_LENGTH = re.compile(rb"(?im)^X-Apple-Content-Length:.*\n(?:[ \t].*\n)*")
EMLX_NAME = re.compile(r"(\d+)(\.partial)?\.emlx")


class EmlxStore:
    """An Apple Mail account folder, a folder of mailboxes, or one `.mbox` mailbox."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise UnreadableStore(root, "not a folder")
        self.root = root
        self._boxes: dict[SourceFolder, Path] = {}
        try:
            if root.name.endswith(MAILBOX_SUFFIXES):
                found = [
                    ((mailbox_name(root.name),), root),
                    *self._walk(root, (mailbox_name(root.name),)),
                ]
            else:
                found = list(self._walk(root, ()))
        except OSError as error:
            raise UnreadableStore(root, error.strerror or str(error)) from error
        if not found:
            raise UnreadableStore(root, "no Apple Mail mailbox (a .mbox folder) in it")
        for path, directory in found:
            add_folder(self._boxes, path, role_for(path), directory)

    def folders(self) -> Iterator[SourceFolder]:
        yield from self._boxes

    def messages(self, folder: SourceFolder) -> Iterator[StoredMessage]:
        box = self._boxes[folder]
        files: list[tuple[int, Path]] = []
        attachments: dict[str, Path] = {}
        for directory in _own_directories(box):
            if directory.name == "Messages":
                with os.scandir(directory) as scan:
                    for entry in scan:
                        match = EMLX_NAME.fullmatch(entry.name)
                        if match and entry.is_file(follow_symlinks=False):
                            files.append((int(match[1]), Path(entry.path)))
            elif directory.name == "Attachments":
                with os.scandir(directory) as scan:
                    for entry in scan:
                        if entry.is_dir(follow_symlinks=False):
                            attachments.setdefault(entry.name, Path(entry.path))
        relative = box.relative_to(self.root).as_posix() if box != self.root else box.name
        for number, path in sorted(files):
            yield _message(folder, path, f"{relative}/{number}", attachments.get(str(number)))

    def _walk(
        self, directory: Path, parent: tuple[str, ...], depth: int = 0
    ) -> Iterator[tuple[tuple[str, ...], Path]]:
        if depth >= MAX_DEPTH:
            return
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if entry.name.endswith(MAILBOX_SUFFIXES):
                name = (*parent, mailbox_name(entry.name))
                yield name, path
                yield from self._walk(path, name, depth + 1)
            elif not parent and entry.name not in ("MailData", "Bundles", "Bundles (Disabled)"):
                # V<n>/<account>/ levels above the mailboxes
                yield from self._walk(path, parent, depth + 1)


def mailbox_name(directory: str) -> str:
    for suffix in MAILBOX_SUFFIXES:
        if directory.endswith(suffix):
            return directory[: -len(suffix)]
    return directory


def _own_directories(box: Path) -> Iterator[Path]:
    """Every directory under a mailbox that is not inside a child mailbox."""
    stack = [box]
    while stack:
        directory = stack.pop()
        with os.scandir(directory) as scan:
            for entry in scan:
                if entry.is_dir(follow_symlinks=False) and not entry.name.endswith(
                    MAILBOX_SUFFIXES
                ):
                    yield Path(entry.path)
                    if entry.name not in ("Messages", "Attachments"):
                        stack.append(Path(entry.path))


def _message(folder: SourceFolder, path: Path, key: str, attachments: Path | None) -> StoredMessage:
    def skipped(reason: str) -> StoredMessage:
        return StoredMessage(folder, key, 0, frozenset(), None, refusing_load(path, reason), reason)

    try:
        start, length, trailer = _layout(path)
        headers = read_header_block(path, start, length)
        flags, deleted, received = _trailer_state(trailer)
        partial = path.name.endswith(".partial.emlx")
        load: Callable[[], bytes]
        chunks: Callable[[], Iterator[bytes]] | None = None
        if partial:
            missing = _missing_parts(path, start, length, attachments)
            if missing:
                return skipped(f"partial message: attachment {missing} is not on disk")
            load = lambda: _rejoined(path, start, length, attachments)  # noqa: E731
            size = len(load())
        else:
            chunks = lambda: file_chunks(path, start, length)  # noqa: E731
            load = joined(chunks)
            size = length
    except (OSError, ValueError, UnreadableStore) as error:
        return skipped(f"unreadable: {error}")
    return StoredMessage(
        folder=folder,
        key=key,
        size=size,
        flags=flags,
        internal_date=received or message_date(headers),
        load=load,
        skip=SKIP_DELETED if deleted else None,
        note="re-joined with its attachments from Attachments/" if partial else None,
        chunks=chunks,
    )


def _layout(path: Path) -> tuple[int, int, bytes]:
    """(offset of the message, its length, the plist trailer) of an .emlx file."""
    first = read_head(path, 64)
    newline = first.find(b"\n")
    if newline < 0 or not first[:newline].strip().isdigit():
        raise ValueError("the first line is not a byte count")
    start, length = newline + 1, int(first[:newline].strip())
    size = path.stat().st_size
    if start + length > size:
        raise ValueError(f"the byte count {length} runs past the end of the file")
    trailer = b"".join(read_chunks(path, start + length, min(size - start - length, TRAILER_LIMIT)))
    return start, length, trailer


def _trailer_state(trailer: bytes) -> tuple[frozenset[Flag], bool, datetime | None]:
    try:
        plist = plistlib.loads(trailer) if trailer.strip() else {}
    except (plistlib.InvalidFileException, ExpatError, ValueError, TypeError, OverflowError):
        plist = {}  # a damaged trailer loses the state, not the message
    if not isinstance(plist, dict):
        plist = {}
    bits = plist.get("flags", 0)
    bits = bits if isinstance(bits, int) else 0
    flags = frozenset(flag for bit, flag in EMLX_FLAGS if bits >> bit & 1)
    received = plist.get("date-received")
    date = None
    if isinstance(received, (int, float)) and 0 < received < 253402300800:
        date = datetime.fromtimestamp(received, timezone.utc)
    elif isinstance(received, datetime):
        date = received if received.tzinfo else received.replace(tzinfo=timezone.utc)
    return flags, bool(bits >> DELETED_BIT & 1), date


# ---------------------------------------------------------------- partial messages


def _rejoined(path: Path, start: int, length: int, attachments: Path | None) -> bytes:
    with unreadable_as_store_error(path):
        raw = b"".join(read_chunks(path, start, length))
        filled = _fill(raw, "", lambda number: _attachment(attachments, number))
        return join_chunks(crlf_chunks([filled]))


def _missing_parts(path: Path, start: int, length: int, attachments: Path | None) -> str | None:
    raw = b"".join(read_chunks(path, start, length))
    missing: list[str] = []

    def find(number: str) -> Path | None:
        found = _attachment(attachments, number)
        if found is None:
            missing.append(number)
        return found

    _fill(raw, "", find, dry_run=True)
    return missing[0] if missing else None


def _attachment(attachments: Path | None, number: str) -> Path | None:
    if attachments is None:
        return None
    directory = attachments / number
    try:
        files = sorted(e.name for e in os.scandir(directory) if e.is_file(follow_symlinks=False))
    except OSError:
        return None
    return directory / files[0] if files else None


def _fill(
    entity: bytes, number: str, find: Callable[[str], Path | None], dry_run: bool = False
) -> bytes:
    """The MIME entity with every cut-out part body put back (parts numbered as IMAP does)."""
    split = re.search(rb"\r?\n\r?\n", entity)
    if split is None:
        return entity
    head, body = entity[: split.end()], entity[split.end() :]
    content_type = b" ".join(header_values(head, b"Content-Type"))
    boundary = re.search(rb'boundary\s*=\s*(?:"([^"]+)"|([^\s;]+))', content_type, re.I)
    if content_type.lower().startswith(b"multipart/") and boundary:
        delimiter = re.escape(boundary[1] or boundary[2])
        pieces = re.split(rb"(^--" + delimiter + rb"(?:--)?[ \t]*(?:\r?\n|$))", body, flags=re.M)
        out = [pieces[0]]
        child = 0
        for index in range(1, len(pieces), 2):
            out.append(pieces[index])
            text = pieces[index + 1] if index + 1 < len(pieces) else b""
            if pieces[index].rstrip().endswith(b"--"):
                out.append(text)  # the epilogue
                continue
            child += 1
            ending = re.search(rb"\r?\n\Z", text)
            inner, tail = (text[: ending.start()], ending[0]) if ending else (text, b"")
            part = f"{number}.{child}" if number else str(child)
            out += [_fill(inner, part, find, dry_run), tail]
        return head + b"".join(out)
    if header_values(head, b"X-Apple-Content-Length") and not body.strip():
        file = find(number or "1")
        if file is None or dry_run:
            return entity
        data = b"".join(read_chunks(file))
        encoding = b"".join(header_values(head, b"Content-Transfer-Encoding")).strip().lower()
        if encoding == b"base64":
            encoded = base64.encodebytes(data)  # 76-column lines, as MIME asks (RFC 2045 §6.8)
        elif encoding == b"quoted-printable":
            encoded = quopri.encodestring(data)
        else:
            encoded = data
        return APPLE_LENGTH.sub(b"", head) + encoded  # Mail's marker was not in the message
    return entity
