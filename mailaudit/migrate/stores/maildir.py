"""Maildir stores: Dovecot, Courier, mbsync, Evolution, KMail, mutt, and Thunderbird's maildir.

A folder is a directory with `cur/` (and `new/`, `tmp/`); one file per message. Hierarchies:

- Maildir++ (Dovecot, Courier, Evolution): the top maildir is INBOX, the others sit inside it
  as `.Parent.Child`; names are modified UTF-7 on disk (Dovecot's default, RFC 3501 §5.1.3).
- KMail: a folder `X/`, its children inside `.X.directory/`.
- Thunderbird's maildir store: a folder `X/`, its children inside `X.sbd/`; file names have
  no info suffix, the state is in `X-Mozilla-Status` (comm-central `nsMsgMaildirStore.cpp`).
- Plain nesting (mbsync `SubFolders Verbatim`): `Parent/Child/`.

State is in the name: `<unique>:2,<letters>` (cr.yp.to/proto/maildir.html; the letters D F P R S
T sorted); Windows-hosted stores use `;` or `!` instead of `:` (mbsync `InfoDelimiter`,
Evolution). `new/` holds mail no client has looked at yet. `tmp/` holds deliveries under way and
is never read. INTERNALDATE is the file's mtime: delivery sets it and clients keep it (mbsync
`CopyArrivalDate` uses the same); the delivery time that starts a Maildir name is the fallback.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from mailaudit.migrate.stores.base import Flag, Role, SourceFolder, StoredMessage
from mailaudit.migrate.stores.mozilla import mozilla_state
from mailaudit.migrate.stores.shared import (
    MAX_DEPTH,
    UnreadableStore,
    add_folder,
    file_chunks,
    joined,
    mtime_date,
    read_head,
    read_header_block,
    refusing_load,
    role_for,
)

MAILDIR_LETTERS = {
    "D": Flag.DRAFT,
    "F": Flag.FLAGGED,
    "P": Flag.FORWARDED,  # "passed": resent/forwarded/bounced
    "R": Flag.ANSWERED,
    "S": Flag.SEEN,
}
KEYWORD_FLAGS = {"$Forwarded": Flag.FORWARDED}
SKIP_TRASHED = "trashed (Maildir T flag), not yet expunged"
INFO = re.compile(r"[:;!]2,([A-Za-z]*)$")
INBOX_NAMES = frozenset({"maildir", "inbox"})  # a top maildir with one of these names is INBOX


def is_maildir(path: Path) -> bool:
    cur = path / "cur"
    return cur.is_dir() and not cur.is_symlink()


class MaildirStore:
    """A tree of maildirs under one folder."""

    def __init__(self, root: Path) -> None:
        if not root.is_dir():
            raise UnreadableStore(root, "not a folder")
        self.root = root
        self._dirs: dict[SourceFolder, Path] = {}
        try:
            found = list(self._walk_top(root))
        except OSError as error:
            raise UnreadableStore(root, error.strerror or str(error)) from error
        if not found:
            raise UnreadableStore(root, "no maildir (a folder with cur/) in it")
        for path, folder_dir in found:
            role = Role.INBOX if path == ("INBOX",) else role_for(path)
            add_folder(self._dirs, path, role, folder_dir)

    def folders(self) -> Iterator[SourceFolder]:
        yield from self._dirs

    def messages(self, folder: SourceFolder) -> Iterator[StoredMessage]:
        folder_dir = self._dirs[folder]
        relative = folder_dir.relative_to(self.root).as_posix()
        entries: list[tuple[str, str, os.DirEntry[str]]] = []
        for sub in ("new", "cur"):
            try:
                with os.scandir(folder_dir / sub) as scan:
                    entries += [(e.name, sub, e) for e in scan if e.is_file(follow_symlinks=False)]
            except FileNotFoundError:
                continue
        letters = MAILDIR_LETTERS | _keyword_letters(folder_dir)
        for name, sub, entry in sorted(entries, key=lambda found: found[:2]):
            if not name.startswith("."):
                yield _message(folder, entry, sub == "new", relative, letters)

    def _walk_top(self, root: Path) -> Iterator[tuple[tuple[str, ...], Path]]:
        if not is_maildir(root):
            yield from self._walk(root, ())
            return
        plus = [
            c
            for c in _subfolders(root)
            if c.startswith(".") and not KMAIL.fullmatch(c) and is_maildir(root / c)
        ]
        inbox = bool(plus) or root.name.casefold() in INBOX_NAMES
        top = ("INBOX",) if inbox else (folder_name(root.name),)
        yield top, root
        for child in plus:  # Maildir++: every other folder inside INBOX, flat, dot-separated
            names = tuple(folder_name(n) for n in child[1:].split(".") if n)
            if names:
                yield names, root / child
        yield from self._walk(root, () if inbox else top)

    def _walk(
        self, directory: Path, parent: tuple[str, ...]
    ) -> Iterator[tuple[tuple[str, ...], Path]]:
        """The folders whose parent is `parent` and whose directories are in `directory`."""
        if len(parent) >= MAX_DEPTH:
            return
        for child in _subfolders(directory):
            kmail = KMAIL.fullmatch(child)
            if kmail:
                yield from self._walk(directory / child, (*parent, folder_name(kmail[1])))
            elif child.endswith(".sbd"):
                yield from self._walk(directory / child, (*parent, folder_name(child[:-4])))
            elif child not in ("cur", "new", "tmp") and not child.startswith("."):
                path = (*parent, folder_name(child))
                if is_maildir(directory / child):
                    yield path, directory / child
                yield from self._walk(directory / child, path)


KMAIL = re.compile(r"\.(.+)\.directory")


def _subfolders(directory: Path) -> list[str]:
    with os.scandir(directory) as scan:
        return sorted(e.name for e in scan if e.is_dir(follow_symlinks=False))


def _keyword_letters(folder_dir: Path) -> dict[str, Flag]:
    """Dovecot writes keywords as the letters a-z; `dovecot-keywords` says which letter is which
    ("0 $Forwarded" makes `a` mean $Forwarded; Dovecot's maildir-keywords.c)."""
    try:
        text = read_head(folder_dir / "dovecot-keywords", 64 * 1024).decode("utf-8", "replace")
    except OSError:
        return {}
    letters = {}
    for line in text.splitlines():
        index, _, keyword = line.partition(" ")
        if index.isdigit() and int(index) < 26 and keyword.strip() in KEYWORD_FLAGS:
            letters[chr(ord("a") + int(index))] = KEYWORD_FLAGS[keyword.strip()]
    return letters


def _message(
    folder: SourceFolder,
    entry: os.DirEntry[str],
    in_new: bool,
    relative: str,
    known: dict[str, Flag],
) -> StoredMessage:
    """One message file: what its name, its status and (for Thunderbird) its headers say.
    Listed in thousands, so no Path is made until the message is loaded."""
    match = INFO.search(entry.name)
    unique = entry.name[: match.start()] if match else entry.name
    key = f"{relative}/{unique}"
    where = entry.path
    try:
        info = entry.stat(follow_symlinks=False)
        date = mtime_date(info) or _delivery_time(unique)
        flags: frozenset[Flag] = frozenset()
        skip = note = None
        if match:
            letters = match[1]
            flags = frozenset(known[c] for c in letters if c in known)
            skip = SKIP_TRASHED if "T" in letters else None
        elif not in_new:
            # Thunderbird's maildir store writes no info suffix: its state is in the headers.
            state = mozilla_state(read_header_block(Path(where)))
            if state is not None:
                flags, skip, note = state.flags, state.skip, state.note
    except OSError as error:
        reason = f"unreadable: {error.strerror or error}"
        load = refusing_load(Path(where), reason)
        return StoredMessage(folder, key, 0, frozenset(), None, load, reason)
    chunks = lambda: file_chunks(Path(where))  # noqa: E731
    return StoredMessage(folder, key, info.st_size, flags, date, joined(chunks), skip, note, chunks)


def _delivery_time(unique: str) -> datetime | None:
    """Maildir names start with the delivery time in Unix seconds (cr.yp.to/proto/maildir.html)."""
    match = re.match(r"(\d{9,11})\.", unique)
    return datetime.fromtimestamp(int(match[1]), timezone.utc) if match else None


def folder_name(on_disk: str) -> str:
    """A folder name as the client shows it: modified UTF-7 decoded where it is valid."""
    return decode_modified_utf7(on_disk) if "&" in on_disk else on_disk


def decode_modified_utf7(text: str) -> str:
    """RFC 3501 §5.1.3; the text itself when it is not valid modified UTF-7."""
    out = []
    position = 0
    for match in re.finditer(r"&([A-Za-z0-9+,]*)-", text):
        out.append(text[position : match.start()])
        encoded = match[1]
        if not encoded:
            out.append("&")
        else:
            try:
                raw = base64.b64decode(encoded.replace(",", "/") + "=" * (-len(encoded) % 4))
                out.append(raw.decode("utf-16-be"))
            except (ValueError, UnicodeDecodeError):
                return text
        position = match.end()
    rest = text[position:]
    return text if "&" in rest else "".join(out) + rest
