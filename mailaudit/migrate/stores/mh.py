"""MH folders: Claws Mail, Sylpheed and nmh.

A folder is a directory; each message a file named by its number (nmh's `rmm` renames a removed
one to `,N`, which is not a number and so not read); subfolders are subdirectories.

State, where a client kept it:

- `.mh_sequences` (nmh `mh-sequence(5)`): lines `name: 1-3 7`, continued on indented lines;
  `unseen`, `flagged` and `replied` are read.
- `.claws_mark` (Claws Mail) or `.sylpheed_mark` (Sylpheed and old Claws): a 32-bit version (2)
  then pairs of 32-bit message number and flag word, in the writer's byte order (Sylpheed
  `libsylph/procmsg.c` `procmsg_read_mark_file`; Claws `src/procmsg.c`). Flag bits
  (`procmsg.h`): 1 new, 2 unread, 4 marked, 8 deleted, 16 replied, 32 forwarded. A later record
  for the same number wins, as in the reader.

Without either, nothing is known: the message goes up unflagged. INTERNALDATE: the newest
Received, else Date, else the file's mtime.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Iterator
from pathlib import Path

from mailaudit.migrate.stores.base import Flag, SourceFolder, StoredMessage
from mailaudit.migrate.stores.shared import folder_tree, read_head, whole_file_message

MARK_FILES = (".claws_mark", ".sylpheed_mark")
MARK_VERSION = 2
MARK_LIMIT = 64 * 1024 * 1024  # 8 bytes a message: millions of messages
SEQUENCES_LIMIT = 16 * 1024 * 1024
NEW, UNREAD, MARKED, DELETED, REPLIED, FORWARDED = 1, 2, 4, 8, 16, 32
SKIP_DELETED = "marked deleted, not yet expunged"
NUMBER = re.compile(r"[1-9][0-9]{0,9}")


def is_mh_folder(path: Path) -> bool:
    try:
        with os.scandir(path) as scan:
            for entry in scan:
                if entry.name in (".mh_sequences", *MARK_FILES) or (
                    NUMBER.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
                ):
                    return True
    except OSError:
        return False
    return False


class MhStore:
    """A tree of MH folders (Claws' `~/Mail`, one folder, or nmh's `Mail`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._dirs = folder_tree(root, is_mh_folder, "no MH folder (numbered message files) in it")

    def folders(self) -> Iterator[SourceFolder]:
        yield from self._dirs

    def messages(self, folder: SourceFolder) -> Iterator[StoredMessage]:
        directory = self._dirs[folder]
        with os.scandir(directory) as scan:
            numbers = sorted(
                int(e.name)
                for e in scan
                if NUMBER.fullmatch(e.name) and e.is_file(follow_symlinks=False)
            )
        marks = read_marks(directory)
        sequences = read_sequences(directory)
        relative = directory.relative_to(self.root).as_posix()
        for number in numbers:
            path = directory / str(number)
            flags: set[Flag] = set()
            skip = None
            if number in marks:
                bits = marks[number]
                flags |= {Flag.SEEN} if not bits & (NEW | UNREAD) else set()
                flags |= {f for bit, f in ((MARKED, Flag.FLAGGED), (REPLIED, Flag.ANSWERED),
                                           (FORWARDED, Flag.FORWARDED)) if bits & bit}  # fmt: skip
                skip = SKIP_DELETED if bits & DELETED else None
            elif sequences:
                if not in_sequence(sequences, "unseen", number):
                    flags.add(Flag.SEEN)
                if in_sequence(sequences, "flagged", number):
                    flags.add(Flag.FLAGGED)
                if in_sequence(sequences, "replied", number):
                    flags.add(Flag.ANSWERED)
            yield whole_file_message(folder, path, f"{relative}/{number}", frozenset(flags), skip)


def read_marks(directory: Path) -> dict[int, int]:
    """Message number -> flag word from Claws' or Sylpheed's mark file; {} when there is none."""
    for name in MARK_FILES:
        try:
            data = read_head(directory / name, MARK_LIMIT)
        except OSError:
            continue
        for order in ("<", ">"):
            if len(data) >= 4 and struct.unpack(order + "I", data[:4])[0] == MARK_VERSION:
                usable = (len(data) - 4) // 8 * 8
                pairs = struct.iter_unpack(order + "II", data[4 : 4 + usable])
                return dict(pairs)
    return {}


def read_sequences(directory: Path) -> dict[str, list[tuple[int, int]]]:
    """nmh's `.mh_sequences`: sequence name -> ranges of message numbers (first, last)."""
    try:
        text = read_head(directory / ".mh_sequences", SEQUENCES_LIMIT).decode("ascii", "replace")
    except OSError:
        return {}
    sequences: dict[str, list[tuple[int, int]]] = {}
    name = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and name is not None:
            values = line
        else:
            name, _, values = line.partition(":")
            name = name.strip()
        ranges = sequences.setdefault(name, [])
        for item in values.split():
            low, _, high = item.partition("-")
            if low.isdigit() and (not high or high.isdigit()):
                ranges.append((int(low), int(high or low)))
    return sequences


def in_sequence(sequences: dict[str, list[tuple[int, int]]], name: str, number: int) -> bool:
    return any(first <= number <= last for first, last in sequences.get(name, ()))
